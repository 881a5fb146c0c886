"""The runtimes catalogue: shipped pins, version spellings, live default, cache override, module data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

from numerai_mcp.harness import catalogue as cat
from numerai_mcp.harness.catalogue import (
    CATALOGUE_DEFAULT_PYTHON,
    LIVE_DEFAULT_SOURCE,
    SUPPORTED_PYTHONS,
    PinListError,
    UnknownRuntimeError,
    cached_pins_path,
    load_catalogue,
    parse_python_version,
    parse_requirements,
    write_cached_images,
)
from numerai_mcp.harness.modules import distribution_for_module, is_stdlib

FIXTURE_PINS = Path(__file__).resolve().parents[1] / "fixtures" / "numerai_predict_requirements"
PYENV = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions"


def live_rows(default: str = "3.12", tag: str = "a78dedd") -> list[dict]:
    """Rows shaped like computePickleDockerImages."""
    return [
        {
            "id": f"00000000-0000-4000-8000-0000000003{minor}",
            "name": f"Python 3.{minor}",
            "image": f"numerai_predict_py_3_{minor}",
            "tag": tag,
            "default": f"3.{minor}" == default,
            "deprecated": False,
            "experimental": minor == 13,
            "insertedAt": "2026-04-01T00:00:00Z",
        }
        for minor in (10, 11, 12, 13)
    ]


# ------------------------------------------------------------------ shipped pins


@pytest.mark.parametrize("python", SUPPORTED_PYTHONS)
def test_shipped_pins_are_exactly_the_fixture_lists(tmp_path: Path, python: str) -> None:
    expected = {}
    for line in (FIXTURE_PINS / f"py{python}.txt").read_text().splitlines():
        name, _, version = line.strip().partition("==")
        expected[name.lower().replace("_", "-")] = version
    runtime = load_catalogue(tmp_path).get(python)
    assert dict(runtime.pins) == expected
    assert runtime.pins_source == "shipped numerai-predict@19d1769"
    assert runtime.image == f"numerai_predict_py_{python.replace('.', '_')}"
    assert runtime.docker_ref == f"ghcr.io/numerai/numerai_predict_py_{python.replace('.', '_')}:19d1769"


def test_key_pins_match_the_reference_table(tmp_path: Path) -> None:
    catalogue = load_catalogue(tmp_path)
    table = {  # numerai-api.md §7
        "3.10": ("1.26.4", "2.2.1", "2.2.1", "4.0.0", "1.7.5", "2.0.1"),
        "3.11": ("2.1.3", "3.1.1", "2.3.1", "4.6.0", "3.0.2", "2.7.1"),
        "3.12": ("2.1.3", "3.1.1", "2.3.1", "4.5.0", "3.0.2", "2.7.1"),
        "3.13": ("2.2.6", "3.1.2", "2.3.3", "4.5.0", "3.0.5", "2.10.0"),
    }
    for python, versions in table.items():
        runtime = catalogue.get(python)
        got = tuple(runtime.pin(n) for n in ("numpy", "cloudpickle", "pandas", "lightgbm", "xgboost", "torch"))
        assert got == versions, python
        assert runtime.pin("Scikit_Learn") == runtime.pin("scikit-learn") == "1.6.1"
        assert runtime.pin("agents") is None


def test_requirements_text_round_trips_as_a_constraints_file(tmp_path: Path) -> None:
    runtime = load_catalogue(tmp_path).get("3.13")
    text = runtime.requirements_text()
    assert text.endswith("\n") and "numpy==2.2.6\n" in text
    assert parse_requirements(text) == dict(runtime.pins)
    names = [line.split("==")[0] for line in text.splitlines()]
    assert names == sorted(names)


# ------------------------------------------------------------------ requirement parsing


def test_parse_requirements_accepts_comments_blank_lines_and_trailing_spaces() -> None:
    text = "# pinned\n\nNumPy==2.1.3   \nscikit_learn==1.6.1 # sklearn\npython-dateutil==2.9.0.post0\n"
    pins = parse_requirements(text)
    assert pins == {"numpy": "2.1.3", "scikit-learn": "1.6.1", "python-dateutil": "2.9.0.post0"}


@pytest.mark.parametrize(
    "line",
    ["numpy>=2", "numpy", "-e git+https://github.com/x/y", "numpy==2.1; python_version<'3.13'", "numpy[extra]==2.1",
     "<html>Not Found</html>", "numpy == 2.1"],
)
def test_parse_requirements_rejects_anything_but_exact_pins(line: str) -> None:
    with pytest.raises(PinListError, match=r"line 2 is not an exact pin 'name==version'"):
        parse_requirements(f"pandas==2.3.1\n{line}\n", source="remote list")


def test_parse_requirements_rejects_empty_and_conflicting_lists() -> None:
    with pytest.raises(PinListError, match="holds no pins"):
        parse_requirements("# nothing\n\n")
    with pytest.raises(PinListError, match="pins numpy twice"):
        parse_requirements("numpy==2.1.3\nNumPy==2.2.0\n")


# ------------------------------------------------------------------ versions


@pytest.mark.parametrize(
    "text",
    ["3.12", "3.12.1", "py3.12", "py312", "cp312", "Python 3.12", "python3.12", " PYTHON 3.12 ",
     "numerai_predict_py_3_12", "ghcr.io/numerai/numerai_predict_py_3_12:a78dedd"],
)
def test_get_accepts_every_spelling(tmp_path: Path, text: str) -> None:
    assert parse_python_version(text) == "3.12"
    assert load_catalogue(tmp_path).get(text).python == "3.12"


@pytest.mark.parametrize("text", ["", "twelve", "3", "2.7", "3.x", "numerai_predict_py_2_7", "4.1"])
def test_parse_python_version_rejects_non_versions_clearly(text: str) -> None:
    with pytest.raises(ValueError, match="is not a Python version. Write it as '3.12'"):
        parse_python_version(text)


@pytest.mark.parametrize("text", ["3.9", "Python 3.14", "banana"])
def test_get_unknown_version_lists_supported_ones(tmp_path: Path, text: str) -> None:
    with pytest.raises(UnknownRuntimeError) as info:
        load_catalogue(tmp_path).get(text)
    assert isinstance(info.value, ValueError)
    assert "3.10, 3.11, 3.12, 3.13" in str(info.value)


# ------------------------------------------------------------------ default and live tags


def test_default_without_live_data_is_the_catalogue_default(tmp_path: Path) -> None:
    catalogue = load_catalogue(tmp_path)
    assert (catalogue.default_python, catalogue.default_source) == (CATALOGUE_DEFAULT_PYTHON, "catalogue")
    assert catalogue.default.python == "3.12"
    assert catalogue.notes == ()


def test_live_images_set_default_tags_and_ids(tmp_path: Path) -> None:
    catalogue = load_catalogue(tmp_path, live_images=live_rows(default="3.11"))
    assert catalogue.default_python == "3.11"
    assert catalogue.default_source == LIVE_DEFAULT_SOURCE
    runtime = catalogue.get("3.13")
    assert runtime.tag == "a78dedd"
    assert runtime.docker_ref == "ghcr.io/numerai/numerai_predict_py_3_13:a78dedd"
    assert runtime.image_id == "00000000-0000-4000-8000-000000000313"
    assert runtime.experimental and not runtime.deprecated
    # pins still come from the shipped list, and the source says the live image differs
    assert runtime.pins_tag == "19d1769"
    assert runtime.pins_source.startswith("shipped numerai-predict@19d1769; the live image is @a78dedd")


def test_deprecated_rows_lose_to_current_ones(tmp_path: Path) -> None:
    rows = live_rows()
    old = dict(rows[2], id="old", tag="0000000", deprecated=True, default=False, insertedAt="2027-01-01")
    catalogue = load_catalogue(tmp_path, live_images=[old, *rows])
    assert catalogue.get("3.12").tag == "a78dedd"


def test_live_default_without_pins_falls_back_with_a_note(tmp_path: Path) -> None:
    rows = [*live_rows(default="none"), {"id": "x", "name": "Python 3.14", "image": "numerai_predict_py_3_14",
                                          "tag": "abc1234", "default": True}]
    catalogue = load_catalogue(tmp_path, live_images=rows)
    assert catalogue.default_python == CATALOGUE_DEFAULT_PYTHON
    assert "3.14" not in catalogue.runtimes
    assert any("Python 3.14 but no pin list" in n for n in catalogue.notes)
    assert any("live default Python 3.14 has no known pin list" in n for n in catalogue.notes)


def test_unparseable_live_row_is_noted_not_fatal(tmp_path: Path) -> None:
    catalogue = load_catalogue(tmp_path, live_images=[{"id": "1", "name": "R 4.3", "image": "numerai_r"}])
    assert set(catalogue.runtimes) == set(SUPPORTED_PYTHONS)
    assert any("names no Python version" in n for n in catalogue.notes)


# ------------------------------------------------------------------ cache override


def write_cached(cache: Path, python: str, tag: str, text: str) -> Path:
    path = cached_pins_path(cache, python, tag)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_cached_list_overrides_shipped(tmp_path: Path) -> None:
    shipped = load_catalogue(tmp_path).get("3.12")
    text = shipped.requirements_text().replace("numpy==2.1.3", "numpy==2.2.0")
    write_cached(tmp_path, "3.12", "a78dedd", text)
    runtime = load_catalogue(tmp_path).get("3.12")
    assert runtime.pin("numpy") == "2.2.0"
    assert runtime.tag == runtime.pins_tag == "a78dedd"
    assert runtime.pins_source.startswith("cached numerai-predict@a78dedd (20")
    assert load_catalogue(tmp_path).get("3.11").pins_source == "shipped numerai-predict@19d1769"


def test_cached_list_of_the_live_tag_wins_over_newer_ones(tmp_path: Path) -> None:
    live = write_cached(tmp_path, "3.12", "a78dedd", "numpy==2.1.3\n")
    newer = write_cached(tmp_path, "3.12", "bbbbbbb", "numpy==9.9.9\n")
    os.utime(live, (1_700_000_000, 1_700_000_000))
    assert newer.stat().st_mtime > live.stat().st_mtime
    assert load_catalogue(tmp_path).get("3.12").pin("numpy") == "9.9.9"  # offline: newest
    live_catalogue = load_catalogue(tmp_path, live_images=live_rows(tag="a78dedd"))
    runtime = live_catalogue.get("3.12")
    assert (runtime.pin("numpy"), runtime.pins_source) == ("2.1.3", "cached numerai-predict@a78dedd (2023-11-14)")


def test_shipped_list_serves_a_live_tag_equal_to_its_commit(tmp_path: Path) -> None:
    write_cached(tmp_path, "3.12", "other00", "numpy==9.9.9\n")
    assert load_catalogue(tmp_path).get("3.12").pin("numpy") == "9.9.9"
    runtime = load_catalogue(tmp_path, live_images=live_rows(tag="19d1769")).get("3.12")
    assert (runtime.pin("numpy"), runtime.pins_source) == ("2.1.3", "shipped numerai-predict@19d1769")


def test_corrupt_cached_list_is_ignored_with_a_note(tmp_path: Path) -> None:
    bad = write_cached(tmp_path, "3.12", "a78dedd", "<html>rate limited</html>\n")
    catalogue = load_catalogue(tmp_path)
    assert catalogue.get("3.12").pins_source == "shipped numerai-predict@19d1769"
    assert any(str(bad) in note and "not an exact pin" in note for note in catalogue.notes)


def test_cached_images_keep_live_tags_and_default_offline(tmp_path: Path) -> None:
    write_cached_images(tmp_path, live_rows(default="3.13", tag="c0ffee1"), source="http://127.0.0.1:1")
    catalogue = load_catalogue(tmp_path)
    assert catalogue.default_python == "3.13"
    assert catalogue.default_source.startswith("catalogue (last `runtimes update`, 20")
    assert catalogue.get("3.10").tag == "c0ffee1"
    # explicit live rows win over the remembered ones
    assert load_catalogue(tmp_path, live_images=live_rows(default="3.12")).default_source == LIVE_DEFAULT_SOURCE


def test_damaged_images_file_is_ignored_with_a_note(tmp_path: Path) -> None:
    path = cat.images_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    catalogue = load_catalogue(tmp_path)
    assert catalogue.default_source == "catalogue"
    assert any("unreadable" in n for n in catalogue.notes)


def test_cached_pins_for_a_new_python_add_a_runtime(tmp_path: Path) -> None:
    write_cached(tmp_path, "3.14", "abc1234", "numpy==2.3.0\ncloudpickle==3.1.2\n")
    rows = [*live_rows(), {"id": "new", "name": "Python 3.14", "image": "numerai_predict_py_3_14", "tag": "abc1234"}]
    runtime = load_catalogue(tmp_path, live_images=rows).get("3.14")
    assert runtime.pins == {"numpy": "2.3.0", "cloudpickle": "3.1.2"}
    assert runtime.docker_ref == "ghcr.io/numerai/numerai_predict_py_3_14:abc1234"


def test_cached_pins_path_refuses_path_tricks(tmp_path: Path) -> None:
    for tag in ("../x", "a/b", "", ".hidden"):
        with pytest.raises(ValueError, match="not a usable image tag"):
            cached_pins_path(tmp_path, "3.12", tag)


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "file.txt"
    cat.write_atomically(target, "a==1\n")
    cat.write_atomically(target, "a==2\n")
    assert target.read_text() == "a==2\n"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


# ------------------------------------------------------------------ module data


@pytest.mark.parametrize(
    ("module", "distribution"),
    [("sklearn", "scikit-learn"), ("sklearn.linear_model._base", "scikit-learn"), ("lightgbm.sklearn", "lightgbm"),
     ("PIL.Image", "pillow"), ("yaml", "pyyaml"), ("google.protobuf.message", "protobuf"),
     ("google.cloud.storage.blob", "google-cloud-storage"), ("dateutil.tz", "python-dateutil"),
     ("numerai_tools.scoring", "numerai-tools"), ("typing_extensions", "typing-extensions"),
     ("agents", None), ("agents.models", None), ("my_research_lib", None), ("google", None)],
)
def test_distribution_for_module(module: str, distribution: str | None) -> None:
    assert distribution_for_module(module) == distribution


def test_module_map_agrees_with_installed_metadata() -> None:
    """Every import name the dev venv's installed distributions provide maps to that distribution
    whenever a numerai_predict image pins it (checks the curated data against real metadata)."""
    pinned = {name for python in SUPPORTED_PYTHONS for name in cat.shipped_pins(python)}
    checked = 0
    for module, dists in metadata.packages_distributions().items():
        names = {cat.normalize_distribution(d) for d in dists} & pinned
        if not names or module.startswith("_") or not module.isidentifier():
            continue
        checked += 1
        assert distribution_for_module(module) in names, (module, dists)
    assert checked >= 20


@pytest.mark.parametrize(
    ("module", "present_in"),
    [("os", SUPPORTED_PYTHONS), ("collections.abc", SUPPORTED_PYTHONS), ("posix", SUPPORTED_PYTHONS),
     ("tomllib", ("3.11", "3.12", "3.13")), ("distutils", ("3.10", "3.11")), ("imp", ("3.10", "3.11")),
     ("telnetlib", ("3.10", "3.11", "3.12")), ("numpy", ()), ("agents", ())],
)
def test_is_stdlib_per_version(module: str, present_in: tuple[str, ...]) -> None:
    assert {p for p in SUPPORTED_PYTHONS if is_stdlib(module, p)} == set(present_in)


@pytest.mark.parametrize("python", SUPPORTED_PYTHONS)
def test_shipped_stdlib_table_matches_the_interpreter(python: str) -> None:
    interpreters = sorted(PYENV.glob(f"{python}.*/bin/python{python}"))
    if not interpreters:
        pytest.skip(f"no pyenv Python {python} here to compare against")
    code = "import sys, json; print(json.dumps(sorted(sys.stdlib_module_names)))"
    out = subprocess.run([str(interpreters[-1]), "-I", "-c", code], capture_output=True, text=True, check=True)
    shipped = json.loads((Path(cat.__file__).parent / "data" / "stdlib_modules.json").read_text())[python]
    assert shipped == json.loads(out.stdout)


def test_catalogue_import_stays_light() -> None:
    code = ("import sys; import numerai_mcp.harness.catalogue as c; c.load_catalogue(c.Path('/nonexistent'));"
            "print(sorted(m for m in ('numpy', 'pandas', 'httpx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"
