"""Streaming PUT of a file to a presigned URL, verified end to end.

numerapi reads the whole file into memory and ignores the PUT status. Here the body is
streamed in fixed-size chunks (memory stays flat whatever the size), the MD5 is computed
on the way and compared with the store's ETag, the byte count is checked before and
after, and transient failures are retried (a PUT to the same key is idempotent).

Nothing answering at all is not transient in the same way: a refused connection means nothing
listens at the URL's address (typically a sandbox emulator that has stopped), so it fails at once
with what to do; other failures to connect (DNS, timeouts) get `connect_retries` quick retries.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import logging
import os
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from numerai_mcp.api.errors import UploadError
from numerai_mcp.netutil import is_loopback
from numerai_mcp.progress import AsyncProgress
from numerai_mcp.redact import redact

log = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024


@dataclass(frozen=True)
class PutResult:
    size: int
    md5: str
    etag: str | None
    status: int
    attempts: int
    seconds: float

    @property
    def mib_per_s(self) -> float:
        return self.size / (1024 * 1024) / self.seconds if self.seconds > 0 else float("inf")


def _describe_refusal(status: int, body: str) -> UploadError:
    code = _xml_field(body, "Code")
    message = _xml_field(body, "Message")
    detail = f"{code}: {message}" if code or message else body[:200].strip()
    if "expired" in body.lower():
        return UploadError(
            f"The presigned upload URL has expired (HTTP {status}, {detail}).",
            hint="Call upload_model with operation='get_upload_auth' for a fresh URL, then put_file again "
            "(or use operation='upload', which does both).",
        )
    if code == "SignatureDoesNotMatch":
        return UploadError(
            f"The store rejected the upload signature (HTTP {status}, {detail}).",
            hint="The URL may have been altered or copied incompletely; request a new one with get_upload_auth.",
        )
    return UploadError(
        f"The store refused the upload (HTTP {status}, {detail}).",
        hint="Request a fresh URL with get_upload_auth; a URL is bound to the key that asked for it.",
    )


def _refused(exc: BaseException) -> bool:
    """True when the connection was actively refused: nothing listens at that address."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or getattr(seen, "errno", None) == errno.ECONNREFUSED:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _nothing_answers(url: str, exc: BaseException, refused: bool) -> UploadError:
    parts = urlsplit(url)
    host = parts.hostname or "?"
    where = f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    again = ("call upload_model operation='get_upload_auth' again for a new URL and put_file it "
             "(or use operation='upload', which does both)")
    if refused and is_loopback(host):
        return UploadError(
            f"Nothing is listening at {where}, where this presigned URL points: the sandbox emulator that issued it "
            "has stopped.", hint=f"Nothing was uploaded; {again}.")
    what = "is listening" if refused else "answers"
    reason = "connection refused" if refused else f"{type(exc).__name__}: {redact(exc) or 'no connection'}"
    return UploadError(f"Nothing {what} at {where}, where this presigned URL points ({reason}).",
                       hint=f"Nothing was uploaded. Check the network connection (proxy, firewall, VPN), then {again}.")


def _xml_field(body: str, name: str) -> str | None:
    match = re.search(rf"<{name}>(.*?)</{name}>", body, re.DOTALL)
    return match.group(1).strip() if match else None


async def _file_chunks(
    path: Path, size: int, digest: hashlib._Hash, progress: AsyncProgress | None
) -> AsyncIterator[bytes]:
    """Yield the file in chunks, hashing as we go. The next chunk is read and hashed in a
    thread while the current one is sent, so disk, MD5 and network overlap."""
    loop = asyncio.get_running_loop()
    with path.open("rb") as handle:

        def read_and_hash() -> bytes:
            chunk = handle.read(CHUNK_SIZE)
            digest.update(chunk)  # hashlib releases the GIL for large buffers
            return chunk

        sent, reported_at = 0, time.monotonic()
        pending = loop.run_in_executor(None, read_and_hash)
        try:
            while chunk := await pending:
                pending = loop.run_in_executor(None, read_and_hash)
                sent += len(chunk)
                yield chunk
                if progress is not None and time.monotonic() - reported_at >= 0.25:
                    reported_at = time.monotonic()
                    await progress(sent, size, f"uploaded {sent / 2**20:.1f} of {size / 2**20:.1f} MiB")
        finally:  # an abandoned attempt must not leave a read racing the close of the file
            await asyncio.wait([pending])
    if sent != size:
        raise UploadError(f"The file changed size while it was being uploaded ({size} → {sent} bytes).")


async def put_file(
    url: str,
    path: Path,
    *,
    http: httpx.AsyncClient,
    timeout: float = 600.0,
    retries: int = 3,
    backoff: float = 0.5,
    progress: AsyncProgress | None = None,
    connect_retries: int = 2,
) -> PutResult:
    """PUT `path` to `url` with no Content-Type (the presigned signature covers an empty one).

    `retries` bounds retries after 5xx and cut connections (the store is there); `connect_retries`
    bounds retries when nothing answers at all, and a refused connection is never retried."""
    size = path.stat().st_size
    started = time.monotonic()
    last_error: str = ""
    connect_failures = 0
    for attempt in range(1, retries + 2):
        if attempt > 1:
            await asyncio.sleep(min(backoff * 2 ** (attempt - 2), 8.0))
        digest = hashlib.md5(usedforsecurity=False)
        headers = {"Content-Length": str(size)}
        try:
            chunks = _file_chunks(path, size, digest, progress)
            response = await http.put(url, content=chunks, headers=headers, timeout=httpx.Timeout(timeout, connect=15.0))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # never reached anything: nothing was sent
            refused = _refused(exc)
            connect_failures += 1
            last_error = f"{type(exc).__name__}: {redact(exc) or 'no connection'}"
            log.info("upload attempt %d could not connect: %s", attempt, "refused" if refused else last_error)
            if refused or connect_failures > connect_retries:
                raise _nothing_answers(url, exc, refused) from None
            continue
        except httpx.TransportError as exc:
            last_error = f"{type(exc).__name__}: {redact(exc) or 'connection lost'}"
            log.info("upload attempt %d failed: %s", attempt, last_error)
            continue
        if response.status_code >= 500:
            last_error = f"HTTP {response.status_code}"
            log.info("upload attempt %d failed: %s", attempt, last_error)
            continue
        if response.status_code >= 300:
            raise _describe_refusal(response.status_code, response.text)
        md5 = digest.hexdigest()
        etag = (response.headers.get("ETag") or "").strip('"') or None
        if etag and "-" not in etag and etag != md5:
            last_error = f"the store's ETag {etag} does not match the file's MD5 {md5}"
            log.warning("upload attempt %d stored different bytes: %s", attempt, last_error)
            continue
        if os.stat(path).st_size != size:
            raise UploadError(f"{path} changed size during the upload; upload it again once it is complete.")
        if progress is not None:
            await progress(size, size, "upload complete")
        return PutResult(size=size, md5=md5, etag=etag, status=response.status_code, attempts=attempt,
                         seconds=time.monotonic() - started)
    raise UploadError(
        f"The upload failed after {retries + 1} attempts ({last_error}).",
        hint="Check the connection and retry put_file; if the URL has expired, call get_upload_auth first.",
    )
