"""put_file when nothing answers where the presigned URL points: a refused connection is final (nothing
listens there) and is said at once, with what to call; other failures to connect get a few quick retries."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx
import pytest

from numerai_mcp.api.errors import UploadError
from numerai_mcp.api.upload import put_file

pytestmark = pytest.mark.anyio


def _refusing_port() -> tuple[socket.socket, int]:
    """A port that is bound but not listening: every connection to it is refused."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    return holder, holder.getsockname()[1]


async def test_a_refused_loopback_url_fails_at_once_naming_the_stopped_emulator(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"x" * 4096)
    holder, port = _refusing_port()
    try:
        async with httpx.AsyncClient() as http:
            began = time.monotonic()
            with pytest.raises(UploadError) as failure:
                await put_file(f"http://127.0.0.1:{port}/_store/pickles/model.pkl?Expires=1&Signature=x", path,
                               http=http, retries=8, backoff=0.5)
            elapsed = time.monotonic() - began
    finally:
        holder.close()
    message = str(failure.value)
    assert f"Nothing is listening at 127.0.0.1:{port}, where this presigned URL points" in message
    assert "sandbox emulator that issued it has stopped" in message
    assert "operation='get_upload_auth'" in message and "Nothing was uploaded" in message
    assert elapsed < 3.0, f"{elapsed:.1f} s to report a refused connection"


async def test_a_host_that_cannot_be_reached_gets_a_few_retries_then_says_check_the_connection(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"x")
    attempts: list[str] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        attempts.append(request.url.host)
        raise httpx.ConnectError("[Errno -2] Name or service not known", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        with pytest.raises(UploadError) as failure:
            await put_file("https://numerai-uploads.s3.amazonaws.com/model.pkl?X-Amz-Signature=x", path, http=http,
                           retries=8, backoff=0.01, connect_retries=2)
    message = str(failure.value)
    assert len(attempts) == 3  # the first try and connect_retries=2, not the 9 that retries=8 allows for 5xx
    assert "Nothing answers at numerai-uploads.s3.amazonaws.com:443, where this presigned URL points" in message
    assert "Check the network connection" in message and "get_upload_auth" in message
    assert "sandbox" not in message
