"""Does the pickle reproduce the training environment's predictions? Compared in trusted code, without numpy.

Two sources of "expected" predictions: a bundle's probe (rows and the training model's predictions for them,
stored by `numerai_mcp.bundle.export`), checked by build_pickle; and a file the user made in the training
environment (`validate_pickle(expectedPredictions=...)`). Either way the pickle ran in the sandbox and what it
returned was read back bounded (harness.predictions.read_values); this module only compares numbers.

Matching rules: values within a relative 1e-6; for rank outputs (a bundle ranking per era, or predictions that
are per-era ranks) the per-era order instead: rows whose expected values differ by more than that tolerance must
come out in the same order, near-ties in any order. A mismatch names the largest differences and the likely
cause: only rows with missing features differ (imputation / fill values), tiny differences everywhere (dtype:
float32 somewhere), or an alternative the build tried that does reproduce them (column order, a scaler).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from numerai_mcp.harness.verdict import Check

REL_TOL = 1e-6
ABS_TOL = 1e-9
DTYPE_REL = 1e-3   # all differences below this: precision, not a different model
SHOW = 5
CHECK_NAME = "reproduces the training model"

# what each alternative the build script tried means, when it reproduces the expected predictions
HYPOTHESES = {
    "sorted_columns": ("column order", "the training predictions come out when the features are taken in "
                       "alphabetical order: the model was trained on sorted columns but the bundle lists them in "
                       "another order. Export with features=sorted(features) (the training order)."),
    "row_columns": ("column order", "the training predictions come out when the features are taken in the column "
                    "order of the probe rows: the model was trained on the frame's own column order. Export with "
                    "features=<that order>."),
    "reversed_columns": ("column order", "the training predictions come out with the feature order reversed: "
                         "export with the features in the order the model was trained with."),
    "standardize": ("missing preprocessing", "the training predictions come out when the features are "
                    "standardized first: a StandardScaler (or similar) step is missing from the bundle. Export "
                    "the whole Pipeline (scaler + model), not only the last step."),
    "no_scale": ("extra preprocessing", "the training predictions come out when the bundle's scaling is left "
                 "out: the model was trained on unscaled features. Export the model without the scaler."),
}


@dataclass
class Comparison:
    """How the pickle's output compared with the expected predictions."""

    rows: int
    matched: int
    by_ranks: bool
    max_difference: float = 0.0            # relative difference (values) or |rank difference| (ranks)
    missing: list[str] = field(default_factory=list)        # expected ids the pickle gave no number for
    mismatched: list[str] = field(default_factory=list)     # ids whose value or order differs
    worst: list[tuple[str, float, float]] = field(default_factory=list)  # (id, expected, pickle's), largest first

    @property
    def passed(self) -> bool:
        return not self.missing and not self.mismatched and self.rows > 0


def _close(expected: float, actual: float) -> bool:
    return math.isclose(actual, expected, rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _ranks(values: Sequence[float]) -> list[float]:
    """Average ranks as fractions in (0, 1], like pandas' rank(method='average', pct=True)."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        stop = start
        while stop + 1 < len(order) and values[order[stop + 1]] == values[order[start]]:
            stop += 1
        for position in order[start:stop + 1]:
            ranks[position] = (start + stop + 2) / 2 / len(values)
        start = stop + 1
    return ranks


def _order_breaks(ids: Sequence[str], expected: Sequence[float], actual: Sequence[float]) -> set[str]:
    """Ids whose pickle output breaks the expected order (near-ties in `expected` may come in any order)."""
    order = sorted(range(len(ids)), key=expected.__getitem__)
    groups: list[list[int]] = []
    for position in order:
        if groups and _close(expected[groups[-1][-1]], expected[position]):
            groups[-1].append(position)
        else:
            groups.append([position])
    broken: set[str] = set()
    for lower, upper in zip(groups, groups[1:]):
        top, bottom = max(actual[i] for i in lower), min(actual[j] for j in upper)
        if top >= bottom:
            broken.update(ids[i] for i in lower if actual[i] >= bottom)
            broken.update(ids[j] for j in upper if actual[j] <= top)
    return broken


def compare(expected: Mapping[str, float], actual: Mapping[str, float], *, eras: Mapping[str, str] | None = None,
            by_ranks: bool = False) -> Comparison:
    """Compare per id; with `by_ranks`, compare the order within each era (one era when `eras` is None)."""
    ids = [i for i in expected if math.isfinite(expected[i])]
    missing = [i for i in ids if i not in actual or not math.isfinite(actual[i])]
    present = [i for i in ids if i not in set(missing)]
    result = Comparison(rows=len(ids), matched=0, by_ranks=by_ranks, missing=missing[:1000])
    differences: list[tuple[float, str, float, float]] = []
    if by_ranks:
        groups: dict[str, list[str]] = {}
        for identifier in present:
            groups.setdefault(str(eras.get(identifier, "")) if eras else "", []).append(identifier)
        mismatched: set[str] = set()
        for members in groups.values():
            want = [expected[i] for i in members]
            got = [actual[i] for i in members]
            mismatched |= _order_breaks(members, want, got)
            for identifier, rank_want, rank_got in zip(members, _ranks(want), _ranks(got)):
                if identifier in mismatched:  # a near-tie in another order is no difference
                    differences.append((abs(rank_got - rank_want), identifier, rank_want, rank_got))
    else:
        mismatched = set()
        for identifier in present:
            want, got = expected[identifier], actual[identifier]
            if not _close(want, got):
                mismatched.add(identifier)
            differences.append((abs(got - want) / max(abs(want), ABS_TOL), identifier, want, got))
    differences.sort(reverse=True)
    result.mismatched = [i for i in present if i in mismatched][:1000]
    result.matched = len(present) - len(mismatched)
    result.max_difference = differences[0][0] if differences else 0.0
    result.worst = [(identifier, want, got) for _, identifier, want, got in differences[:SHOW]
                    if identifier in mismatched]
    return result


def likely_cause(result: Comparison, *, nan_rows: set[str] | None = None, reproducing: Sequence[str] = (),
                 rest_matches: bool = False) -> tuple[str, str]:
    """(cause, explanation with the fix) for a failed comparison; `rest_matches`: the rows without missing
    values alone do match."""
    if result.missing and not result.mismatched:
        return ("rows", f"the pickle returned no prediction for {len(result.missing)} expected id(s), e.g. "
                        f"{result.missing[:3]}: it must return one prediction per live row, indexed by its id.")
    for name in reproducing:
        if name in HYPOTHESES:
            return HYPOTHESES[name]
    bad = set(result.mismatched)
    if nan_rows and bad and (bad <= nan_rows or rest_matches):
        return ("missing values", f"only rows with missing features differ ({len(bad & nan_rows)} of {len(nan_rows)} "
                                  "rows with a missing value): the pickle fills missing values differently from "
                                  "training. "
                                  "Export with the training imputation (the pipeline's SimpleImputer, or fill_values = "
                                  "the values used in training).")
    if not result.by_ranks and result.max_difference < DTYPE_REL:
        return ("dtype", f"every difference is small (at most {result.max_difference:.1e} relative): the numbers are "
                         "computed at another precision, typically float32 in training and float64 here (or the "
                         "reverse). Cast the features the same way in both, or accept it if the ranks agree.")
    share = len(bad) / max(1, result.rows)
    return ("different model", f"{share:.0%} of the rows differ, by up to {result.max_difference:.3g}: most often the "
                               "features are taken in another order than in training, a preprocessing step (scaler, "
                               "imputer) is missing or extra, or the file is from another training run.")


def check(result: Comparison, *, what: str, nan_rows: set[str] | None = None, reproducing: Sequence[str] = (),
          rest_matches: bool = False) -> Check:
    """The check 'reproduces the training model' for a comparison of `what` (e.g. 'the 1000 probe rows')."""
    rule = "per-era order" if result.by_ranks else f"relative {REL_TOL:g}"
    if result.passed:
        return Check(name=CHECK_NAME, status="pass",
                     message=f"the pickle reproduces the training predictions on {what} ({result.rows} rows, "
                             f"{rule}; largest difference {result.max_difference:.1e}).")
    cause, explanation = likely_cause(result, nan_rows=nan_rows, reproducing=reproducing, rest_matches=rest_matches)
    shown = "; ".join(f"{identifier}: expected {want:.6g}, got {got:.6g}" for identifier, want, got in result.worst)
    unit = "rank" if result.by_ranks else "value"
    return Check(name=CHECK_NAME, status="fail",
                 message=f"the pickle does NOT reproduce the training predictions on {what}: "
                         f"{len(result.mismatched)} of {result.rows} rows differ ({rule})"
                         f"{f', {len(result.missing)} missing' if result.missing else ''}. Largest {unit} "
                         f"differences: {shown or 'none'}. Likely cause: {cause}.",
                 fix=explanation)


# ------------------------------------------------------------------ what the pickle must reproduce


@dataclass
class Expected:
    """Predictions the pickle must reproduce, and the rows it must make them on.

    From a bundle's probe (build_pickle): `values` per id, `live`/`benchmarks` files holding the probe rows, each
    row's era, whether to compare by per-era order, the probe rows with missing values and the alternatives the
    build found to explain a mismatch. From a user's file (validate_pickle(expectedPredictions=...)): only `file`;
    the rest is read from it and from the validation's live data."""

    values: dict[str, float] = field(default_factory=dict)
    file: Path | None = None
    live: Path | None = None
    benchmarks: Path | None = None
    eras: dict[str, str] | None = None
    by_ranks: bool | None = None          # None: values first, then the per-era order
    nan_rows: set[str] | None = None
    explained_by: Sequence[str] = ()
    what: str = ""
    unknown_ids: int = 0


MAX_EXPECTED_BYTES = 1024**3
_READ_SCRIPT = r"""
import json, math, os, sys
import pandas as pd
import pyarrow.parquet as pq
expected_path, live_path, out = sys.argv[1], sys.argv[2], sys.argv[3]
if expected_path.lower().endswith(".csv"):
    frame = pd.read_csv(expected_path, dtype={0: str})
    frame = frame.set_index(frame.columns[0])
else:
    frame = pd.read_parquet(expected_path)
if "id" in frame.columns and frame.index.name != "id":
    frame = frame.set_index("id")
numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c]) and c not in ("era",)]
column = "prediction" if "prediction" in numeric else (numeric[0] if numeric else None)
if column is None:
    answer = {"error": "%s has no numeric prediction column" % expected_path}
else:
    live_columns = pq.read_schema(live_path).names
    features = [c for c in live_columns if c.startswith("feature")]
    live = pd.read_parquet(live_path, columns=features)
    ids = pd.Index([str(i) for i in live.index])
    values = frame[column]
    values.index = [str(i) for i in values.index]
    values = values[~values.index.duplicated()]
    known = values[values.index.isin(ids)]
    nan_rows = [str(i) for i in live.index[live.isna().any(axis=1).to_numpy()]]
    answer = {"ids": list(known.index), "values": [float(v) if math.isfinite(v) else None for v in known],
              "column": str(column), "unknown": int(len(values) - len(known)), "nan_rows": nan_rows}
with open(out, "w") as handle:
    json.dump(answer, handle)
sys.stdout.flush(); sys.stderr.flush()
os._exit(0)
"""


def load_expected(expected: Expected, python: Path, env: Mapping[str, str], live: Path, work: Path) -> Expected:
    """Fill an Expected from the user's file (run with the runtime's Python: parquet or CSV, indexed by id; the
    'prediction' column, else the first numeric one), keeping the ids of `live`, whose rows with missing
    features it also lists. Raises ValueError with what is wrong with the file."""
    import json
    import subprocess

    if expected.file is None:
        return expected
    out = work / "expected.json"
    done = subprocess.run([str(python), "-I", "-c", _READ_SCRIPT, str(expected.file), str(live), str(out)],
                          capture_output=True, text=True, env={**env, "PYTHONDONTWRITEBYTECODE": "1"}, timeout=600,
                          stdin=subprocess.DEVNULL)
    try:
        answer = json.loads(out.read_text())
    except (OSError, ValueError):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1][:300]
        raise ValueError(f"The expected predictions {expected.file} cannot be read ({last}): give a parquet or CSV "
                         "file indexed by id with a 'prediction' column.") from None
    if "error" in answer:
        raise ValueError(f"{answer['error']}: give one prediction column, indexed by id.")
    if not answer["ids"]:
        raise ValueError(f"None of the ids in {expected.file} are in the live data: make the expected predictions "
                         "on the same live file you validate with (liveData).")
    values = {i: (math.nan if v is None else float(v)) for i, v in zip(answer["ids"], answer["values"])}
    return Expected(values=values, file=expected.file, by_ranks=expected.by_ranks, nan_rows=set(answer["nan_rows"]),
                    what=expected.what or f"the live data (expected predictions from {expected.file.name}, column "
                                          f"{answer['column']!r})", unknown_ids=int(answer["unknown"]))


def reproduction_check(expected: Expected, actual: Mapping[str, float] | None, eras: Mapping[str, str] | None,
                       failure: str | None = None) -> Check:
    """The check for a run whose predictions (by id) are `actual`; `failure` when the run produced none."""
    if actual is None:
        return Check(name=CHECK_NAME, status="fail" if expected.live is not None else "skip",
                     message=f"not compared: the pickle produced no predictions on {expected.what}"
                             f"{': ' + failure if failure else ''}.",
                     fix="Make the pickle run first (see the failed checks), then compare again.")
    eras = expected.eras or eras
    if expected.by_ranks is None:
        result = compare(expected.values, actual)
        if not result.passed and not result.missing:
            ranked = compare(expected.values, actual, eras=eras, by_ranks=True)
            if ranked.passed:  # Numerai ranks per era: the same order is the same model
                return Check(name=CHECK_NAME, status="pass",
                             message=f"the pickle reproduces the per-era order of the training predictions on "
                                     f"{expected.what} ({ranked.rows} rows); the values differ (up to "
                                     f"{result.max_difference:.2g} relative), e.g. ranks versus raw scores, which "
                                     "Numerai's per-era ranking makes equivalent.")
    else:
        result = compare(expected.values, actual, eras=eras, by_ranks=expected.by_ranks)
    rest_matches = False
    if not result.passed and expected.nan_rows:  # do the rows without missing values match on their own?
        rest = {i: v for i, v in expected.values.items() if i not in expected.nan_rows}
        rest_matches = bool(rest) and compare(rest, actual, eras=eras, by_ranks=result.by_ranks).passed
    found = check(result, what=expected.what, nan_rows=expected.nan_rows, reproducing=expected.explained_by,
                  rest_matches=rest_matches)
    if expected.unknown_ids and found.status == "pass":
        found.message += f" {expected.unknown_ids} id(s) of the file are not in the live data and were ignored."
    return found
