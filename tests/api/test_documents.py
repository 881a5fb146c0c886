"""Guard: every GraphQL document the package sends, or tells a model to send, is valid against
Numerai's real schema (tests/fixtures/numerai-schema-upload.graphql), with graphql-core's
standard rules and none of the leniency Numerai grants (so a change that would only work
by luck at Numerai fails here first).

Documents are found three ways, so a new one is checked wherever it is written:
module-level strings of every module (e.g. api/operations.py, built from fragments),
string literals anywhere in the source, and `query …`/`mutation …` snippets quoted in
backticks in tool descriptions and prompts. The emulator is left out: it is the server.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, build_schema, parse, validate

import numerai_mcp
from numerai_mcp.api import operations
from tests.conftest import FIXTURES

PACKAGE = Path(numerai_mcp.__file__).parent
SKIPPED = ("numerai_mcp.__main__", "numerai_mcp.emulator")  # runs the CLI on import; the server side
# a keyword, optional name and variables, then a selection set that selects something
_KEYWORD = re.compile(r"^\s*(query|mutation|subscription)\b[^{]*\{\s*[_A-Za-z]")
_SNIPPET = re.compile(r"`((?:query|mutation)\b[^`]*)`")


def _reference() -> GraphQLSchema:
    return build_schema((FIXTURES / "numerai-schema-upload.graphql").read_text(encoding="utf-8"))


def _is_operation(text: str) -> bool:
    """A keyword-led text must be a document; a `{ … }` text counts when it parses as one."""
    if _KEYWORD.match(text):
        return True
    if not text.lstrip().startswith("{"):
        return False
    try:
        return any(isinstance(d, OperationDefinitionNode) for d in parse(text).definitions)
    except GraphQLError:
        return False


def _from_text(where: str, text: str) -> dict[str, str]:
    found = {where: text} if _is_operation(text) else {}
    for index, snippet in enumerate(_SNIPPET.findall(text)):
        # prompt templates go through str.format, which turns {{ }} into { }
        snippet = snippet.replace("{{", "{").replace("}}", "}")
        if _is_operation(snippet):
            found[f"{where} snippet {index}"] = snippet
    return found


def _modules() -> list[str]:
    names = [m.name for m in pkgutil.walk_packages(numerai_mcp.__path__, "numerai_mcp.")]
    return [n for n in names if not n.startswith(SKIPPED)]


def sent_documents() -> dict[str, str]:
    """Where each document is written -> its text."""
    found: dict[str, str] = {}
    for name in _modules():
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if isinstance(value, str) and not attribute.startswith("__"):
                found.update(_from_text(f"{name}.{attribute}", value))
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent)
        if relative.parts[1] == "emulator" or relative.name == "__main__.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        pieces = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
        for node in ast.walk(tree):  # whole literals; f-strings are checked as the module-level values they build
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in pieces:
                found.update(_from_text(f"{relative}:{node.lineno}", node.value))
    unique: dict[str, str] = {}
    for where, text in found.items():
        unique.setdefault(" ".join(text.split()), where)
    return {where: text for text, where in unique.items()}


DOCUMENTS = sent_documents()


def test_every_document_of_the_client_is_found() -> None:
    """The operations module's documents are all among those checked (the finder works)."""
    texts = {" ".join(t.split()) for t in DOCUMENTS.values()}
    constants = [v for k, v in vars(operations).items() if k.isupper() and isinstance(v, str) and _is_operation(v)]
    assert len(constants) >= 17
    assert {" ".join(c.split()) for c in constants} <= texts
    assert "query { __typename }" in texts  # doctor and check_api_credentials, written inline


@pytest.mark.parametrize("where", sorted(DOCUMENTS))
def test_document_is_valid_against_numerais_schema(where: str) -> None:
    document = parse(DOCUMENTS[where])
    errors = validate(_reference(), document)
    assert [e.message for e in errors] == [], DOCUMENTS[where]
