"""Input checks that run before any network call: paths, GraphQL documents, names, log paging."""

from __future__ import annotations

from pathlib import Path

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from numerai_mcp.api.deploy import MAX_PAGE_CHARS, page_logs
from numerai_mcp.api.models import LogLine
from numerai_mcp.api.slots import SlotRuleError, check_model_name
from numerai_mcp.config import Settings
from numerai_mcp.pyversion import find_python_version
from numerai_mcp.tools.graphql import check_document
from numerai_mcp.tools.paths import check_input_file, check_output_file


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(allowed_roots=(tmp_path.resolve(),), cache_dir=tmp_path / "cache")


def test_good_pickle_path_resolves(tmp_path: Path, settings: Settings) -> None:
    pkl = tmp_path / "model.pkl"
    pkl.write_bytes(b"\x80\x05.")
    assert check_input_file(str(pkl), settings) == pkl.resolve()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.pkl", "does not exist"),
        (lambda d: (d / "dir.pkl").mkdir() or d / "dir.pkl", "is a directory"),
        (lambda d: (d / "model.txt").write_text("x") and d / "model.txt", "extension '.txt'"),
        (lambda d: (d / "empty.pkl").write_bytes(b"") or d / "empty.pkl", "is empty"),
    ],
)
def test_bad_paths_are_refused_with_the_reason(tmp_path: Path, settings: Settings, make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ToolError, match=message):
        check_input_file(str(make(tmp_path)), settings)


def test_path_escape_through_dotdot_and_symlink_is_refused(tmp_path: Path) -> None:
    inside = tmp_path / "inside"
    inside.mkdir()
    outside = tmp_path / "outside.pkl"
    outside.write_bytes(b"\x80\x05.")
    (inside / "link.pkl").symlink_to(outside)
    settings = Settings(allowed_roots=(inside.resolve(),))
    for raw in (str(inside / ".." / "outside.pkl"), str(inside / "link.pkl")):
        with pytest.raises(ToolError, match="outside the directories"):
            check_input_file(raw, settings)


def test_oversized_file_is_refused(tmp_path: Path, settings: Settings) -> None:
    pkl = tmp_path / "big.pkl"
    with pkl.open("wb") as f:
        f.truncate(2048)  # sparse: cheap
    with pytest.raises(ToolError, match="over the"):
        check_input_file(str(pkl), settings, max_bytes=1024)


def test_output_path_needs_an_existing_writable_directory(tmp_path: Path, settings: Settings) -> None:
    assert check_output_file(str(tmp_path / "out.pkl"), settings).name == "out.pkl"
    with pytest.raises(ToolError, match="does not exist"):
        check_output_file(str(tmp_path / "nope" / "out.pkl"), settings)
    with pytest.raises(ToolError, match="must end with"):
        check_output_file(str(tmp_path / "out.bin"), settings)


def test_graphql_documents_are_judged_by_parsing() -> None:
    assert check_document("query { account { username } }", allow_mutations=False) == "query"
    assert check_document("{ __schema { types { name } } }", allow_mutations=False) == "query"
    # a mutation hidden behind a comment and a second operation is still found
    sneaky = "# query only\nquery A { rounds { number } }\nmutation B { addModel(name: \"x\", tournament: 8) { id } }"
    with pytest.raises(ToolError, match="read-only"):
        check_document(sneaky, allow_mutations=False)
    assert check_document(sneaky, allow_mutations=True) == "mutation"
    # the word "mutation" inside a string does not make a query a mutation
    assert check_document('query { dataset(filename: "mutation { x }") }', allow_mutations=False) == "query"
    with pytest.raises(ToolError, match="Malformed GraphQL at line 1"):
        check_document("query { account { username }", allow_mutations=False)
    with pytest.raises(ToolError, match="Subscriptions"):
        check_document("subscription { x }", allow_mutations=True)
    with pytest.raises(ToolError, match="no operation"):
        check_document("fragment F on Account { username }", allow_mutations=False)


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "empty"), ("a" * 21, "at most 20"), ("my-model", "contains '-'"), ("my model!", "contains")],
)
def test_model_names_are_checked_locally(name: str, message: str) -> None:
    with pytest.raises(SlotRuleError, match=message):
        check_model_name(name)
    assert check_model_name(" good_name_1 ") == "good_name_1"


def test_log_paging_bounds_pages_and_lines() -> None:
    lines = [LogLine(timestamp=i, message=f"line {i}") for i in range(10)]
    first = page_logs(lines, trigger_id="t", offset=0, limit=4)
    assert [line.message for line in first.lines] == ["line 0", "line 1", "line 2", "line 3"] and first.next_offset == 4
    last = page_logs(lines, trigger_id="t", offset=8, limit=4)
    assert len(last.lines) == 2 and last.next_offset is None and last.total == 10
    huge = [LogLine(timestamp=i, message="x" * 10_000) for i in range(20)]
    page = page_logs(huge, trigger_id="t", offset=0, limit=20)
    assert sum(len(line.message or "") for line in page.lines) <= MAX_PAGE_CHARS + 200
    assert page.next_offset == len(page.lines) and "more characters" in page.lines[0].message


@pytest.mark.parametrize(
    ("texts", "version"),
    [(("numerai_predict_py_3_12", None), "3.12"), ((None, "Python 3.10"), "3.10"), (("py3.13",), "3.13"), (("latest",), None)],
)
def test_python_version_of_an_image(texts: tuple[str | None, ...], version: str | None) -> None:
    assert find_python_version(*texts) == version
