"""Credentials parsing and redaction: the key is accepted in every documented form and never shown."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from numerai_mcp.api.credentials import Credentials, load_credentials
from numerai_mcp.api.errors import CredentialsError, GraphQLError
from numerai_mcp.redact import RedactingFilter, redact

PUBLIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
SECRET = "s3cretS3CRETs3cretS3CRETs3cretXYZ0123456789abcd"


@pytest.mark.parametrize(
    "value",
    [
        f"{PUBLIC}${SECRET}",
        f"Token {PUBLIC}${SECRET}",
        f"Token Token {PUBLIC}${SECRET}",  # Numerai's docs produce this doubled prefix
        f"  token   {PUBLIC}${SECRET}\n",
    ],
)
def test_accepts_every_documented_form(value: str) -> None:
    creds = Credentials.parse(value)
    assert (creds.public_id, creds.secret_key) == (PUBLIC, SECRET)
    assert creds.header == f"Token {PUBLIC}${SECRET}"


@pytest.mark.parametrize("value", ["", "Token ", PUBLIC, f"{PUBLIC}$", f"${SECRET}", f"{PUBLIC}$a$b", "Token A B$C"])
def test_rejects_malformed_keys_without_echoing_them(value: str) -> None:
    with pytest.raises(CredentialsError) as info:
        Credentials.parse(value)
    assert "PUBLIC_ID$SECRET_KEY" in str(info.value)


def test_environment_precedence_and_partner_check(tmp_path: Path) -> None:
    file = tmp_path / "credentials"
    file.write_text(f"{PUBLIC}$fromfile{SECRET}\n")
    base = {"NUMERAI_MCP_CREDENTIALS_FILE": str(file)}
    assert load_credentials({**base, "NUMERAI_MCP_AUTH": f"Token {PUBLIC}${SECRET}"}).secret_key == SECRET
    assert load_credentials({**base, "NUMERAI_PUBLIC_ID": PUBLIC, "NUMERAI_SECRET_KEY": SECRET}).secret_key == SECRET
    assert load_credentials(base).secret_key == f"fromfile{SECRET}"
    assert load_credentials({"NUMERAI_MCP_CREDENTIALS_FILE": str(tmp_path / "absent")}) is None
    with pytest.raises(CredentialsError, match="NUMERAI_SECRET_KEY is not set"):
        load_credentials({"NUMERAI_PUBLIC_ID": PUBLIC})


def test_repr_str_and_errors_never_show_the_secret() -> None:
    creds = Credentials.parse(f"{PUBLIC}${SECRET}")
    assert SECRET not in repr(creds) and SECRET not in str(creds) and SECRET not in f"{creds}"
    error = GraphQLError([f"bad header Token {PUBLIC}${SECRET}"])
    assert SECRET not in str(error) and PUBLIC in str(error)


def test_redact_masks_unregistered_key_shapes() -> None:
    other = "QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ$neverRegisteredSecret123456"
    text = redact(f"Authorization: Token {other} and bare {other}")
    assert "neverRegisteredSecret123456" not in text
    assert "QQQQQQQQ" in text  # the public part still tells which key was meant


def test_log_filter_redacts_messages_args_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    creds = Credentials.parse(f"{PUBLIC}${SECRET}")
    logger = logging.getLogger("numerai_mcp.test_redaction")
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115
    handler.addFilter(RedactingFilter())
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record) + (record.exc_text or ""))

    keep = Keep()
    keep.addFilter(RedactingFilter())
    logger.addHandler(keep)
    try:
        logger.warning("header %s", creds.header)
        try:
            raise RuntimeError(f"boom {creds.header}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(keep)
        handler.close()
    assert records and all(SECRET not in r for r in records)
    assert any("RuntimeError" in r for r in records)


def test_per_request_key_release_keeps_a_configured_key_masked() -> None:
    from numerai_mcp.redact import forget_secret

    configured = Credentials.parse(f"{PUBLIC}$configuredSecretValue0001")
    per_request = Credentials.parse(f"{PUBLIC}$configuredSecretValue0001")  # same key sent in a header
    forget_secret(per_request.secret_key)  # the request ends
    assert "configuredSecretValue0001" not in redact(f"x {configured.secret_key} y")


def test_the_session_secret_watch_finds_a_planted_leak(tmp_path: Path) -> None:
    from tests.support.secret_watch import SecretWatch

    watch = SecretWatch()
    watch.add_secret_from_auth(f"Token {PUBLIC}$plantedSecret0123456789")
    watch.observe("tool x", "all clean here")
    assert watch.leaks() == []
    watch.observe("tool y", "oops plantedSecret0123456789")
    leaked_file = tmp_path / "verdict.json"
    leaked_file.write_text("plantedSecret0123456789")
    found = watch.leaks([leaked_file])
    assert len(found) == 2 and found[0].startswith("tool y") and found[1] == f"file {leaked_file}"
