"""Judge a pickle's predictions from the CSV it produced, in trusted code, without pandas.

The sandboxed runner only hands back what predict returned (as CSV); every check that
decides PASS/FAIL is computed here, by the server, which never unpickles anything. The
file is untrusted input: it is opened without following links or blocking, must be a
regular file under a size cap, and is read as a stream whose memory is bounded by the
number of live rows (ids are only remembered when they are live ids).

Numerai's output checks (not empty, no NaN in any column, first column within [0, 1]) get
numerai-predict's wording; the stricter ones (column name, index = live ids, one row per
id, numeric, not constant, per-era ties) the wording our runner used to give.
"""

from __future__ import annotations

import csv
import io
import math
import os
import stat
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

MAX_PREDICTION_BYTES = 64 * 1024**2
MAX_COLUMNS = 10_000
NUMERAI_NAN = "Pickle function returned at least 1 NaN prediction"
NUMERAI_EMPTY = "Pickle function returned 0 predictions"
NUMERAI_RANGE = "Pickle function returned invalid predictions. Ensure values are between 0 and 1."
_NAN_TEXT = {"nan", "-nan", "+nan"}


class UnreadablePredictions(ValueError):
    """The predictions file is not something we read (not regular, too big, not CSV)."""


@dataclass(frozen=True)
class LiveIds:
    """The live data's ids in order, and each id's era (None when the data has no era column)."""

    ids: Sequence[str]
    eras: Sequence[str] | None = None
    columns: Sequence[str] | None = None  # the live file's columns (what predict can read), when known

    def positions(self) -> dict[str, int]:
        return {identifier: position for position, identifier in enumerate(self.ids)}


@dataclass
class Summary:
    """What the trusted reader learnt from the predictions file."""

    rows: int = 0
    columns: list[str] = field(default_factory=list)
    nan_columns: list[str] = field(default_factory=list)
    non_numeric: list[str] = field(default_factory=list)       # bools count as non-numeric here
    first_unrangeable: bool = False                             # first column has text Numerai cannot range
    first_out_of_range: int = 0
    first_distinct: list[float] = field(default_factory=list)   # up to 2
    in_order: bool = True
    missing: int = 0
    extra: int = 0
    duplicated: int = 0
    extra_examples: list[str] = field(default_factory=list)
    tied_eras: list[str] = field(default_factory=list)
    live_rows: int | None = None
    has_eras: bool = False


def open_untrusted(path: Path, max_bytes: int = MAX_PREDICTION_BYTES) -> io.TextIOWrapper:
    """Open a file another (untrusted) process wrote: no symlink, no FIFO or device, bounded size."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UnreadablePredictions(f"the predictions file cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadablePredictions("the predictions file is not a regular file")
        if info.st_size > max_bytes:
            raise UnreadablePredictions(f"the predictions file is larger than {max_bytes // 1024**2} MiB")
        return io.TextIOWrapper(io.BufferedReader(io.FileIO(fd, "r", closefd=True)), encoding="utf-8",
                                errors="replace", newline="")
    except BaseException:
        os.close(fd)
        raise


def _bounded_lines(handle: io.TextIOWrapper, max_bytes: int) -> Iterator[str]:
    """Lines, stopping with an error once more than max_bytes were read (the file may still grow)."""
    seen = 0
    for line in handle:
        seen += len(line)
        if seen > max_bytes:
            raise UnreadablePredictions(f"the predictions are larger than {max_bytes // 1024**2} MiB")
        yield line


def _number(text: str, bools: bool) -> float | None:
    """The float a CSV cell holds (NaN for an empty cell), None when it is not a number."""
    if text == "":
        return math.nan
    if text.strip().lower() in _NAN_TEXT:
        return None  # pandas writes NaN as an empty cell: the text 'nan' came from an object column
    if bools and text in ("True", "False"):
        return 1.0 if text == "True" else 0.0
    try:
        return float(text)
    except ValueError:
        return None


def summarize(handle: io.TextIOWrapper, live: LiveIds | None, max_bytes: int = MAX_PREDICTION_BYTES) -> Summary:
    """Stream the CSV (header: index label, then columns) into a Summary; raises UnreadablePredictions."""
    reader = csv.reader(_bounded_lines(handle, max_bytes))
    try:
        header = next(reader)
    except StopIteration:
        raise UnreadablePredictions("the predictions file is empty (no header)") from None
    except csv.Error as exc:
        raise UnreadablePredictions(f"the predictions are not CSV ({exc})") from None
    if len(header) < 2:
        raise UnreadablePredictions("the predictions have no column")
    if len(header) - 1 > MAX_COLUMNS:
        raise UnreadablePredictions(f"the predictions have more than {MAX_COLUMNS} columns")
    columns = header[1:]
    summary = Summary(columns=columns[:50], live_rows=len(live.ids) if live else None,
                      has_eras=bool(live and live.eras is not None))
    nan_seen = [False] * len(columns)
    text_seen = [False] * len(columns)
    positions = live.positions() if live else {}
    seen_live: set[int] = set()
    per_era: dict[str, list[float]] = {}
    try:
        for row in reader:
            if len(row) != len(header):
                raise UnreadablePredictions(f"row {summary.rows + 1} has {len(row)} fields for {len(header)} "
                                            "header fields")
            _add_row(summary, row, nan_seen, text_seen, live, positions, seen_live, per_era)
    except csv.Error as exc:
        raise UnreadablePredictions(f"the predictions are not valid CSV ({exc})") from None
    summary.nan_columns = [name for name, seen in zip(columns, nan_seen) if seen][:20]
    summary.non_numeric = [name for name, seen in zip(columns, text_seen) if seen][:20]
    if live is not None:
        summary.missing = len(live.ids) - len(seen_live)
        summary.in_order = summary.in_order and summary.rows == len(live.ids)
        summary.tied_eras = sorted(era for era, values in per_era.items()
                                   if len(values) > 1 and len(set(values)) / len(values) < 0.5)[:3]
    return summary


def _add_row(summary: Summary, row: list[str], nan_seen: list[bool], text_seen: list[bool], live: LiveIds | None,
             positions: dict[str, int], seen_live: set[int], per_era: dict[str, list[float]]) -> None:
    index = summary.rows
    summary.rows += 1
    first: float | None = None
    for column, cell in enumerate(row[1:]):
        value = _number(cell, bools=False)
        if value is None:
            text_seen[column] = True
            if column == 0:
                value = _number(cell, bools=True)  # Numerai's range check treats booleans as 0/1
                summary.first_unrangeable |= value is None
        if value is not None and math.isnan(value):
            nan_seen[column] = True
        if column == 0:
            first = value
    if first is not None and not math.isnan(first):
        if not 0.0 <= first <= 1.0:
            summary.first_out_of_range += 1
        if len(summary.first_distinct) < 2 and first not in summary.first_distinct:
            summary.first_distinct.append(first)
    if live is None:
        return
    identifier = row[0]
    position = positions.get(identifier)
    if position is None:
        summary.extra += 1
        summary.in_order = False
        if len(summary.extra_examples) < 3:
            summary.extra_examples.append(identifier[:40])
        return
    if position in seen_live:
        summary.duplicated += 1
        summary.in_order = False
        return
    seen_live.add(position)
    if position != index:
        summary.in_order = False
    if live.eras is not None and first is not None:
        per_era.setdefault(str(live.eras[position]), []).append(first)


def numerai_failure(summary: Summary) -> tuple[str, str, str] | None:
    """(Numerai check, failure kind, Numerai's message) of the first output check that fails, or None."""
    if summary.rows == 0:
        return "not empty", "empty", NUMERAI_EMPTY
    if summary.nan_columns:
        return "no NaN", "nan", NUMERAI_NAN
    if summary.first_unrangeable:
        return "range", "out_of_range", (f"{NUMERAI_RANGE} (the first column, {summary.columns[0]!r}, holds "
                                         "values that are not numbers)")
    if summary.first_out_of_range:
        return "range", "out_of_range", NUMERAI_RANGE
    return None


def strict_results(summary: Summary) -> list[tuple[str, str, str]]:
    """(check, status, message) of the stricter checks, in order."""
    results = []
    columns = summary.columns
    if columns == ["prediction"]:
        results.append(("column named prediction", "pass", "one column named 'prediction'"))
    elif "prediction" in columns:
        results.append(("column named prediction", "warn",
                        f"columns {columns[:5]}: only the first is scored; return just 'prediction'"))
    else:
        results.append(("column named prediction", "fail",
                        f"the output columns are {columns[:5]}, not ['prediction']: Numerai's docs require a "
                        "'prediction' column"))
    if summary.live_rows is None:
        results.append(("index matches live ids", "skip", "the live ids are not known here"))
    elif summary.in_order:
        results.append(("index matches live ids", "pass", f"indexed by the {summary.live_rows} live ids, in order"))
    elif not (summary.missing or summary.extra or summary.duplicated):
        results.append(("index matches live ids", "pass", "indexed by the live ids (in a different order)"))
    else:
        examples = f" (examples of unknown ids: {summary.extra_examples})" if summary.extra_examples else ""
        results.append(("index matches live ids", "fail",
                        f"the index is not the live ids: {summary.missing} missing, {summary.extra} extra, "
                        f"{summary.duplicated} duplicated{examples}"))
    if summary.live_rows is not None:
        ok = summary.rows == summary.live_rows
        results.append(("row count", "pass" if ok else "fail",
                        f"{summary.rows} rows for {summary.live_rows} live rows" if ok
                        else f"{summary.rows} rows returned for {summary.live_rows} live rows"))
    if summary.non_numeric:
        results.append(("numeric", "fail", f"non-numeric prediction column(s): {summary.non_numeric[:5]}"))
        return results
    results.append(("numeric", "pass", "all columns numeric"))
    if len(summary.first_distinct) <= 1:
        value = summary.first_distinct[0] if summary.first_distinct else None
        results.append(("not constant", "fail", f"every prediction is the same value ({value!r}): it carries no "
                                                "signal"))
    else:
        results.append(("not constant", "pass", "more than one distinct value"))
    if not summary.has_eras:
        results.append(("per-era ranks", "skip", "no era column in the live data"))
    elif summary.tied_eras:
        results.append(("per-era ranks", "warn", f"more than half of the predictions tie within era(s) "
                                                 f"{summary.tied_eras}: Numerai ranks per era, so ties lose "
                                                 "information"))
    else:
        results.append(("per-era ranks", "pass", "predictions rank cleanly within each era (values in [0, 1])"))
    return results


def read_summary(path: Path, live: LiveIds | None, max_bytes: int = MAX_PREDICTION_BYTES) -> Summary:
    """open_untrusted + summarize."""
    with open_untrusted(path, max_bytes) as handle:
        return summarize(handle, live, max_bytes)


def read_values(path: Path, ids: Collection[str], max_bytes: int = MAX_PREDICTION_BYTES) -> dict[str, float]:
    """The first column's numbers for the wanted ids (NaN for text that is no number); others are skipped, so
    memory is bounded by `ids`. Raises UnreadablePredictions like read_summary."""
    wanted = set(ids)
    values: dict[str, float] = {}
    with open_untrusted(path, max_bytes) as handle:
        reader = csv.reader(_bounded_lines(handle, max_bytes))
        try:
            header = next(reader)
            if len(header) < 2:
                raise UnreadablePredictions("the predictions have no column")
            for row in reader:
                if len(row) >= 2 and row[0] in wanted and row[0] not in values:
                    number = _number(row[1], bools=True)
                    values[row[0]] = math.nan if number is None else number
        except StopIteration:
            raise UnreadablePredictions("the predictions file is empty (no header)") from None
        except csv.Error as exc:
            raise UnreadablePredictions(f"the predictions are not valid CSV ({exc})") from None
    return values
