"""Reading client configs, replacing them atomically with a private backup, and showing diffs
with every secret masked."""

from __future__ import annotations

import difflib
import os
import re
import tempfile

from numerai_mcp.install.errors import Refused

BACKUP_SUFFIX = ".numerai-mcp.bak"
SECRET_LOOKING = re.compile(r"(?i)((?:key|token|secret|auth|password)[^=:\n]*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)")


def read_config(path: str) -> str | None:
    """The config's text exactly as stored (newlines kept), None when there is no file."""
    if not os.path.exists(path):  # a dangling symlink too: writing goes through it
        return None
    if not os.path.isfile(path):
        raise Refused(f"{path} is not a regular file; it was left untouched")
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            return fh.read()
    except UnicodeDecodeError:
        raise Refused(f"{path} is not UTF-8 text; it was left untouched") from None
    except OSError as exc:
        raise Refused(f"{path} cannot be read ({exc.strerror}); it was left untouched") from None


def write_atomic(path: str, text: str, private: bool, retired: tuple[str, ...] = ()) -> str | None:
    """Replace the file's content atomically; return the backup's path, if there was a file.

    `retired` are secrets this edit takes out of the file (now in the credentials file): the
    backup masks them, so that no file we write keeps a plain-text key.
    """
    real = os.path.realpath(path)  # keep a symlinked config (dotfiles) a symlink
    folder = os.path.dirname(real)
    os.makedirs(folder, exist_ok=True)
    backup = None
    mode = 0o600
    if os.path.exists(real):
        mode = os.stat(real).st_mode & 0o777
        backup = real + BACKUP_SUFFIX
        with open(real, "rb") as src:
            data = src.read()
        for secret in retired:
            data = data.replace(secret.encode(), b"****")
        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as dst:
            dst.write(data)
        os.chmod(backup, 0o600)
    if private:
        mode = 0o600
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(real) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return backup


def masked(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, "****")
    return SECRET_LOOKING.sub(lambda m: m.group(1) + '"****"', text)


def show_diff(old: str, new: str, path: str, secret: str | None) -> None:
    # No context lines: neighbouring entries may hold other tools' tokens.
    for line in difflib.unified_diff(old.splitlines(), new.splitlines(), path, path, n=0, lineterm=""):
        print("    " + masked(line, secret))

