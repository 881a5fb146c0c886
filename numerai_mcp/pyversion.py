"""Python minor versions as users, Numerai and its images write them: one parser for the whole package.

"3.12", "3.12.1", "py3.12", "py312", "cp312", "Python 3.12", "python3.12", "numerai_predict_py_3_12" and
"ghcr.io/numerai/numerai_predict_py_3_12:a78dedd" all mean "3.12". Standard library only: the catalogue, the
API models and the upload flow all read versions, and none of them should pull in the others to do it.
"""

from __future__ import annotations

import re

from numerai_mcp.errors import InvalidInputError

NUMERAI_PYTHONS: tuple[str, ...] = ("3.10", "3.11", "3.12", "3.13")

_FORMS = (
    re.compile(r"^(?:ghcr\.io/numerai/)?numerai_predict_py_3_(\d{1,2})(?::[\w.-]+)?$"),
    re.compile(r"^(?:python|py|cpython|cp)?[\s_-]*3\.(\d{1,2})(?:\.\d+)?$"),
    re.compile(r"^(?:python|py|cp)3(\d{2})$"),
)


def parse_python_version(text: str) -> str:
    """The minor version `text` names, e.g. "3.12"; ValueError with the accepted spellings otherwise."""
    found = find_python_version(text)
    if found is None:
        raise InvalidInputError(
            f"{text!r} is not a Python version. Write it as '3.12', 'Python 3.12' or 'numerai_predict_py_3_12' "
            f"(Numerai runs {', '.join(NUMERAI_PYTHONS)})."
        )
    return found


def find_python_version(*texts: str | None) -> str | None:
    """The minor version named by the first of `texts` that names one (e.g. an image's `image`, then its `name`)."""
    for text in texts:
        cleaned = str(text or "").strip().lower()
        for form in _FORMS:
            match = form.match(cleaned)
            if match:
                return f"3.{int(match.group(1))}"
    return None
