"""The presigned object store (`/_store/<key>`), behaving like S3 where clients can tell.

PUT: needs a valid, unexpired signature for PUT on that key, no Content-Type (it is part
of the signed string), a Content-Length (S3 refuses chunked uploads with 501 and a missing
length with 411) not above the maximum object size. The body is streamed to a temp file in
1 MiB batches hashed and written by a worker thread while the next batch arrives, checked against the declared
length and renamed into place, so memory stays bounded for any size and a broken upload
leaves nothing behind. Success is 200 with `ETag: "<md5 hex>"`. GET (pickle downloads and
datasets) streams the file with its ETag. Errors are S3-style XML bodies.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import tempfile
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO
from xml.sax.saxutils import escape

from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, Response

from numerai_mcp.emulator import signing
from numerai_mcp.emulator.core import DATASET_PREFIX, PICKLE_PREFIX, Emulator
from numerai_mcp.emulator.state import StoredObject, now_iso

log = logging.getLogger("numerai_mcp.emulator")

_BATCH = 1024 * 1024
_VALID_KEY_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./")


def s3_error(status: int, code: str, message: str, extra: tuple[tuple[str, str], ...] = ()) -> Response:
    fields = "".join(f"<{name}>{escape(value)}</{name}>" for name, value in extra)
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{escape(message)}</Message>'
            f"{fields}<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>")
    return Response(body, status_code=status, media_type="application/xml")


def s3_fault_body(status: int) -> bytes:
    code, message = (("ServiceUnavailable", "Please reduce your request rate.") if status == 503
                     else ("InternalError", "We encountered an internal error. Please try again."))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            "</Error>").encode()


def _valid_key(key: str) -> bool:
    parts = key.split("/")
    return (bool(key) and set(key) <= _VALID_KEY_CHARS and all(p not in ("", ".", "..") for p in parts)
            and key.startswith((PICKLE_PREFIX, DATASET_PREFIX)))


async def store_endpoint(request: Request) -> Response:
    emulator: Emulator = request.app.state.emulator
    key = request.path_params["key"]
    method = request.method if request.method != "HEAD" else "GET"
    if not _valid_key(key):
        return s3_error(404, "NoSuchKey", "The specified key does not exist.", (("Key", key),))
    with emulator.store.read() as world:
        master = world.master_key
    try:
        owner = signing.verify(master, method, key, dict(request.query_params), request.headers.get("content-type", ""))
    except signing.Denied as denied:
        return s3_error(denied.status, denied.code, denied.message, denied.extra)
    emulator.count(f"store_{method.lower()}")
    if method == "PUT":
        return await _put(emulator, request, key, owner)
    if method == "GET":
        return _get(emulator, key, head=request.method == "HEAD")
    return s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")


def _get(emulator: Emulator, key: str, head: bool) -> Response:
    path = emulator.object_path(key)
    if not path.is_file():
        return s3_error(404, "NoSuchKey", "The specified key does not exist.", (("Key", key),))
    with emulator.store.read() as world:
        known = world.objects.get(key)
    etag = known.md5 if known else _md5_of(path)
    if head:
        return Response(status_code=200, media_type="application/octet-stream",
                        headers={"ETag": f'"{etag}"', "Content-Length": str(path.stat().st_size)})
    return FileResponse(path, headers={"ETag": f'"{etag}"'}, media_type="application/octet-stream")


def _md5_of(path: Path) -> str:
    digest = hashlib.md5()  # noqa: S324 - an ETag, not security
    with open(path, "rb") as handle:
        while chunk := handle.read(_BATCH):
            digest.update(chunk)
    return digest.hexdigest()


async def _put(emulator: Emulator, request: Request, key: str, owner: str) -> Response:
    if not key.startswith(PICKLE_PREFIX):
        return s3_error(403, "AccessDenied", "Access Denied")
    if "chunked" in request.headers.get("transfer-encoding", "").lower():
        return s3_error(501, "NotImplemented", "A header you provided implies functionality that is not "
                        "implemented", (("Header", "Transfer-Encoding"),))
    length_text = request.headers.get("content-length")
    if length_text is None or not length_text.isdigit():
        return s3_error(411, "MissingContentLength", "You must provide the Content-Length HTTP header.")
    declared = int(length_text)
    limit = emulator.settings.max_object_size
    if declared > limit:
        return s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
                        (("ProposedSize", str(declared)), ("MaxSizeAllowed", str(limit))))
    with emulator.store.read() as world:
        api_key = world.keys.get(owner)
    if api_key is None:
        return s3_error(403, "AccessDenied", "Access Denied")
    target = emulator.object_path(key)
    target.parent.mkdir(parents=True, exist_ok=True)
    received, md5 = await _stream_to(request, target, declared)
    if received is None:
        return s3_error(400, "IncompleteBody", "You did not provide the number of bytes specified by the "
                        "Content-Length HTTP header")
    with emulator.store.change() as world:
        world.objects[key] = StoredObject(key, received, md5, api_key.account_id, owner, now_iso())
    log.info("store: PUT %s (%d bytes)", key, received)
    return Response(status_code=200, headers={"ETag": f'"{md5}"'})


class _DiskWriter:
    """Hashes and writes batches on one worker thread, in order, with at most `depth` in flight.

    The event loop keeps receiving while the previous batch is hashed and written, so the
    network, MD5 and the disk overlap; memory stays at a few batches whatever the size.
    """

    def __init__(self, handle: BinaryIO, depth: int = 2) -> None:
        self._handle, self._depth = handle, depth
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="emulator-put")
        self._inflight: deque[Future[None]] = deque()
        self.md5 = hashlib.md5()  # noqa: S324 - S3's ETag is the MD5 of the object

    def _work(self, data: bytes) -> None:
        self.md5.update(data)
        self._handle.write(data)

    async def write(self, data: bytes) -> None:
        self._inflight.append(self._pool.submit(self._work, data))
        while len(self._inflight) > self._depth:
            await asyncio.wrap_future(self._inflight.popleft())

    async def close(self) -> None:
        try:
            while self._inflight:
                await asyncio.wrap_future(self._inflight.popleft())
            await asyncio.wrap_future(self._pool.submit(self._handle.flush))
        finally:
            self._pool.shutdown(wait=True)


async def _stream_to(request: Request, target: Path, declared: int) -> tuple[int | None, str]:
    """Write the body to `target` atomically; (bytes received or None when short/long/cut, md5 hex)."""
    tmp_dir = target.parent / ".tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
    received, pending, pending_size = 0, [], 0
    ok = False
    try:
        with os.fdopen(fd, "wb") as handle:
            writer = _DiskWriter(handle)
            try:
                async for chunk in request.stream():
                    received += len(chunk)
                    if received > declared:
                        return None, ""
                    pending.append(chunk)
                    pending_size += len(chunk)
                    if pending_size >= _BATCH:
                        await writer.write(b"".join(pending))
                        pending, pending_size = [], 0
                if pending:
                    await writer.write(b"".join(pending))
            finally:
                await writer.close()
        if received != declared:
            return None, ""
        os.replace(tmp_name, target)
        ok = True
        return received, writer.md5.hexdigest()
    except ClientDisconnect:
        return None, ""
    finally:
        if not ok:
            Path(tmp_name).unlink(missing_ok=True)
