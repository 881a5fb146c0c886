"""Where the Numerai key comes from at install time, and the private file it is stored in.

The key is parsed by the package's own rule (`Credentials.parse`: any `Token `/`Bearer `
prefixes, `PUBLIC_ID$SECRET_KEY`) and stored where the server looks for it
(`credentials_file`), so that no client config needs to hold it. It travels only through the
environment, the terminal and that file: never argv, never the output.
"""

from __future__ import annotations

import getpass
import os
import tempfile
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from numerai_mcp.api.credentials import Credentials, credentials_file, load_credentials
from numerai_mcp.api.errors import CredentialsError
from numerai_mcp.install.errors import Failed
from numerai_mcp.install.output import Console

SCOPES_NEEDED = "upload_submission, read_submission_info, read_user_info"


@dataclass
class KeyPlan:
    """What happens to the key: where it came from, and whether the credentials file gets it."""

    key: str = ""  # PUBLIC_ID$SECRET_KEY, normalised; "" when there is none
    origin: str = ""  # NUMERAI_MCP_AUTH, NUMERAI_PUBLIC_ID/NUMERAI_SECRET_KEY, prompt or file
    store: bool = False
    key_in_env: bool = False  # the key stays in the user's environment (asked for, or answered)


def stored_path(env: Mapping[str, str]) -> Path:
    """The credentials file the server will read (absolute: it may go into a client's config)."""
    return Path(os.path.abspath(credentials_file(env)))


def is_default_path(path: Path, env: Mapping[str, str]) -> bool:
    return path == stored_path({k: v for k, v in env.items() if k != "NUMERAI_MCP_CREDENTIALS_FILE"})


def normalised(value: str) -> str:
    """`[Token ]PUBLIC$SECRET` as the one line the credentials file holds; CredentialsError if malformed."""
    parsed = Credentials.parse(value)
    return f"{parsed.public_id}${parsed.secret_key}"


def key_from_env(env: Mapping[str, str]) -> tuple[str, str] | None:
    """(key, origin) from NUMERAI_MCP_AUTH or NUMERAI_PUBLIC_ID + NUMERAI_SECRET_KEY, None when unset."""
    auth = env.get("NUMERAI_MCP_AUTH", "")
    public, secret = env.get("NUMERAI_PUBLIC_ID", ""), env.get("NUMERAI_SECRET_KEY", "")
    try:
        if auth:
            return normalised(auth), "NUMERAI_MCP_AUTH"
        if public or secret:
            if not (public and secret):
                raise Failed("only one of NUMERAI_PUBLIC_ID and NUMERAI_SECRET_KEY is set; "
                             "set both (or NUMERAI_MCP_AUTH) and run again.")
            return normalised(f"{public}${secret}"), "NUMERAI_PUBLIC_ID/NUMERAI_SECRET_KEY"
    except CredentialsError:
        if auth:
            raise Failed("NUMERAI_MCP_AUTH is not of the form PUBLIC_ID$SECRET_KEY; fix it "
                         "(quote it: '$' is special in shells) and run again.") from None
        raise Failed("NUMERAI_PUBLIC_ID/NUMERAI_SECRET_KEY must not contain spaces or '$'.") from None
    return None


def stored_key(path: Path) -> str | None:
    """The key the credentials file holds, read by the server's own reader; None if absent or bad."""
    try:
        found = load_credentials({"NUMERAI_MCP_CREDENTIALS_FILE": str(path)})
    except CredentialsError:
        return None
    return f"{found.public_id}${found.secret_key}" if found else None


class Terminal:
    """The user's terminal (/dev/tty), even when stdin is the piped script: questions and hidden input."""

    def __init__(self) -> None:
        self.fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)  # OSError when there is none

    @classmethod
    def open(cls) -> Terminal | None:
        try:
            return cls()
        except OSError:
            return None

    def write(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def ask_yes(self, question: str, default: bool) -> bool:
        self.write(question + " ")
        with open(os.dup(self.fd), encoding="utf-8", errors="replace", closefd=True) as tty:
            answer = tty.readline().strip()
        return answer[:1].lower() == "y" if answer else default

    def hidden(self, prompt: str) -> str:
        try:
            return getpass.getpass(prompt)  # reads /dev/tty itself, with echo off
        except EOFError:
            return ""

    def close(self) -> None:
        with suppress(OSError):
            os.close(self.fd)


def explanation(path: Path) -> str:
    return (
        "\nnumerai-mcp needs a Numerai API key to upload and deploy your model.\n"
        "Create one at numer.ai -> Account -> Custom API Keys, with these scopes:\n"
        f"  needed:   {SCOPES_NEEDED}\n"
        "  optional: download_submission\n"
        "  never:    stake (the server never stakes; a key without it is safer)\n"
        f"It is stored in {path}, readable only by you,\n"
        "and no agent-client config will contain it.\n"
    )


def prompt_for_key(tty: Terminal, path: Path) -> str | None:
    """Up to three tries at pasting the key with hidden input; None when skipped."""
    tty.write(explanation(path))
    for _ in range(3):
        entered = tty.hidden("Paste the key as PUBLIC_ID$SECRET_KEY (input hidden; Enter to skip): ")
        if not entered:
            return None
        try:
            return normalised(entered)
        except CredentialsError:
            tty.write("That is not of the form PUBLIC_ID$SECRET_KEY (the two parts joined by a '$'). Try again.\n")
    return None


def decide(env: Mapping[str, str], out: Console, *, sandbox: bool, key_in_env: bool, embed_key: bool,
           interactive: bool, again: str) -> KeyPlan:
    """Settle the key before any client is touched; a bad key stops here, having changed nothing.

    `again` is how to run this installer again to add a key later (it differs for the script).
    """
    plan = KeyPlan(key_in_env=key_in_env)
    if sandbox:
        out.info("Sandbox mode: no Numerai key is needed.")
        return plan
    path = stored_path(env)
    tty = Terminal.open() if interactive and not out.dry_run else None
    try:
        found = key_from_env(env)
        if found:
            plan.key, plan.origin = found
            if key_in_env or embed_key:
                return plan
            question = (f"Store the key from {plan.origin} in {path} (readable only by you) "
                        "so every agent client can use it? [Y/n]")
            if tty and not tty.ask_yes(question, True):
                plan.key_in_env = True
            else:
                plan.store = True
            return plan
        stored = stored_key(path)
        if stored:
            plan.key, plan.origin = stored, "file"
            out.info(f"Numerai key: using the one stored in {path}.")
            return plan
        if path.is_file():
            out.warn(f"{path} does not hold a PUBLIC_ID$SECRET_KEY line; a key given now replaces it.")
        if key_in_env:
            raise Failed("--key-in-env, but NUMERAI_MCP_AUTH (or NUMERAI_PUBLIC_ID + NUMERAI_SECRET_KEY) is not set.")
        entered = prompt_for_key(tty, path) if tty else None
        if entered:
            plan.key, plan.origin, plan.store = entered, "prompt", not embed_key
            return plan
    finally:
        if tty:
            tty.close()
    if embed_key:
        raise Failed("--embed-key, but no key was given: set NUMERAI_MCP_AUTH, or run interactively to paste it.")
    if out.dry_run and interactive:
        out.info(f"[dry-run] would ask for your Numerai key (hidden input) and store it in {path} (mode 0600)")
    else:
        out.warn("no Numerai key set. The server still starts (its sandbox and public queries work). "
                 f"To add your key later, {again}: it asks for it with hidden input.")
    return plan


def store(plan: KeyPlan, env: Mapping[str, str], out: Console) -> None:
    """Write the key to the credentials file: mode 0600 in a 0700 folder, atomically."""
    if not plan.store:
        return
    path = stored_path(env)
    lines: list[str] = []
    with suppress(OSError, UnicodeDecodeError):
        lines = path.read_text(encoding="utf-8").splitlines()
    if lines[:1] == [plan.key]:
        out.info(f"Numerai key: already stored in {path}")
        if not out.dry_run:
            path.chmod(0o600)
        return
    out.doing(f"store the Numerai key from {plan.origin} in {path} (mode 0600, directory 0700)")
    if out.dry_run:
        return
    old_umask = os.umask(0o077)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if is_default_path(path, env):
            path.parent.chmod(0o700)
        if path.is_file():
            out.info(f"Numerai key: replacing the key stored in {path}.")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".credentials.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(plan.key + "\n")
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except BaseException:
            with suppress(OSError):
                os.unlink(tmp)
            raise
    finally:
        os.umask(old_umask)
