"""The presigned store behaves like S3 where a client can tell: signatures, expiry,
Content-Type, Content-Length, ETag = MD5, streaming to disk."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from tests.support.emulator_api import UPLOAD_AUTH, Gql, set_clock

PAYLOAD = os.urandom(200_000)


def _upload_auth(api: Gql, filename: str = "my model.pkl") -> dict[str, Any]:
    return api.data(UPLOAD_AUTH, {"filename": filename, "modelId": api.model_id()})["computePickleUploadAuth"]


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _objects(emulator: Any) -> dict[str, dict[str, Any]]:
    return {o["key"]: o for o in emulator.state()["objects"]}


def test_upload_auth_returns_a_server_side_key_and_a_put_url(api: Gql) -> None:
    auth = _upload_auth(api, "dir/my model.pkl")
    stem, suffix = auth["filename"].removesuffix(".pkl").rsplit("-", 1)
    assert stem == "my_model" and len(suffix) == 12 and suffix.isalnum()
    assert auth["url"].startswith(f"{api.url}/_store/pickles/{auth['filename']}?")
    assert auth["accelerated"] is False
    assert _upload_auth(api)["filename"] != _upload_auth(api)["filename"]


def test_put_stores_the_bytes_and_answers_the_md5_etag(emulator: Any, api: Gql) -> None:
    auth = _upload_auth(api)
    response = httpx.put(auth["url"], content=PAYLOAD)
    md5 = hashlib.md5(PAYLOAD).hexdigest()  # noqa: S324
    assert response.status_code == 200 and response.headers["etag"] == f'"{md5}"'
    stored = _objects(emulator)[f"pickles/{auth['filename']}"]
    assert stored["size"] == len(PAYLOAD) and stored["md5"] == md5
    assert stored["publicId"] == api.auth.removeprefix("Token ").split("$")[0]


def test_put_with_a_content_type_is_refused_like_s3(emulator: Any, api: Gql) -> None:
    auth = _upload_auth(api)
    response = httpx.put(auth["url"], content=PAYLOAD, headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text
    assert response.headers["content-type"].startswith("application/xml")
    assert f"pickles/{auth['filename']}" not in _objects(emulator)


def test_expired_url_is_access_denied(emulator: Any, api: Gql) -> None:
    emulator.set_faults(url_lifetime_s=60)
    auth = _upload_auth(api)
    set_clock(emulator.url, advance_s=61)
    response = httpx.put(auth["url"], content=PAYLOAD)
    assert response.status_code == 403
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in response.text
    assert f"pickles/{auth['filename']}" not in _objects(emulator)


@pytest.mark.parametrize("tamper", ["signature", "expiry", "key", "method"])
def test_any_change_to_a_signed_url_breaks_its_signature(emulator: Any, api: Gql, tamper: str) -> None:
    auth = _upload_auth(api)
    url, method = auth["url"], "PUT"
    query = parse_qs(urlsplit(url).query)
    if tamper == "signature":
        sig = query["Signature"][0]
        url = _with_query(url, Signature=("0" if sig[0] != "0" else "1") + sig[1:])
    elif tamper == "expiry":
        url = _with_query(url, Expires=str(int(query["Expires"][0]) + 3600))
    elif tamper == "key":
        url = url.replace(auth["filename"], "other-AAAAAAAAAAAA.pkl")
    else:
        method = "GET"
    response = httpx.request(method, url, content=PAYLOAD if method == "PUT" else None)
    assert response.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in response.text
    assert not [k for k in _objects(emulator) if k.startswith("pickles/")]


def test_a_url_cannot_be_rebound_to_another_account(emulator: Any, api: Gql) -> None:
    rival_auth = emulator.add_key(["upload_submission", "read_user_info"], username="rival")
    rival_public = rival_auth.removeprefix("Token ").split("$")[0]
    auth = _upload_auth(api)
    response = httpx.put(_with_query(auth["url"], Owner=rival_public), content=PAYLOAD)
    assert response.status_code == 403 and "SignatureDoesNotMatch" in response.text
    # and the rival cannot register the demo account's upload as its own pickle
    assert httpx.put(auth["url"], content=PAYLOAD).status_code == 200
    rival = Gql(emulator.url, rival_auth)
    [message] = rival.errors('mutation($f: String!) { createComputePickleUpload(filename: $f, tournament: 8) { id } }',
                             {"f": auth["filename"]})
    assert message.startswith(f"No uploaded file named '{auth['filename']}' for this account.")
    assert emulator.state()["pickles"] == []


def test_chunked_upload_without_content_length_is_refused_like_s3(emulator: Any, api: Gql) -> None:
    auth = _upload_auth(api)

    def chunks() -> Iterator[bytes]:
        yield PAYLOAD[:1000]
        yield PAYLOAD[1000:]

    response = httpx.put(auth["url"], content=chunks())
    assert response.status_code == 501 and "<Code>NotImplemented</Code>" in response.text
    assert "<Header>Transfer-Encoding</Header>" in response.text
    assert f"pickles/{auth['filename']}" not in _objects(emulator)


def test_download_auth_serves_the_assigned_or_named_pickle(emulator: Any, api: Gql) -> None:
    auth = _upload_auth(api)
    httpx.put(auth["url"], content=PAYLOAD)
    model_id = api.model_id()
    create = ('mutation($f: String!, $m: ID) { createComputePickleUpload(filename: $f, tournament: 8, modelId: $m) '
              "{ id } }")
    pickle_id = api.data(create, {"f": auth["filename"], "m": model_id})["createComputePickleUpload"]["id"]
    download = ("query($m: ID!, $p: ID) { computePickleDownloadAuth(modelId: $m, pickleId: $p) { filename url } }")
    got = api.data(download, {"m": model_id, "p": pickle_id})["computePickleDownloadAuth"]
    assert got["filename"] == auth["filename"]
    response = httpx.get(got["url"])
    assert response.status_code == 200 and response.content == PAYLOAD
    assert response.headers["etag"] == f'"{hashlib.md5(PAYLOAD).hexdigest()}"'  # noqa: S324
    head = httpx.head(got["url"])
    assert head.status_code == 200 and head.headers["content-length"] == str(len(PAYLOAD))
    assert head.headers["etag"] == response.headers["etag"]
    assert httpx.put(got["url"], content=b"overwrite").status_code == 403  # a GET URL cannot write
    assert api.errors(download, {"m": model_id, "p": None}) == [
        "Model demo_model has no pickle assigned; pass pickleId."]


def test_unknown_keys_and_paths_outside_the_store_are_not_found(emulator: Any) -> None:
    for path in ("/_store/pickles/nothing.pkl", "/_store/../state.json", "/_store/pickles/%2e%2e/x"):
        response = httpx.get(f"{emulator.url}{path}?Expires=1&Owner=&Signature=x")
        assert response.status_code in (403, 404), path


def test_objects_above_the_maximum_size_are_refused(tmp_path: Path) -> None:
    from numerai_mcp.emulator.control import start_emulator

    with start_emulator(data_dir=tmp_path, extra_args=["--max-object-size", "1000"]) as small:
        api = Gql(small.url, small.auth)
        auth = _upload_auth(api)
        response = httpx.put(auth["url"], content=b"x" * 1001)
        assert response.status_code == 400 and "<Code>EntityTooLarge</Code>" in response.text
        assert "<MaxSizeAllowed>1000</MaxSizeAllowed>" in response.text
        assert httpx.put(auth["url"], content=b"x" * 1000).status_code == 200
        assert [o["size"] for o in small.state()["objects"]] == [1000]


@pytest.mark.slow
def test_a_256_mib_put_streams_to_disk_with_bounded_memory(emulator: Any, api: Gql) -> None:
    """The emulator's peak RSS (VmHWM) may grow by a few MB, never by the upload's size."""
    size, block = 256 * 1024**2, os.urandom(1024**2)
    auth = _upload_auth(api)

    def body() -> Iterator[bytes]:
        for _ in range(size // len(block)):
            yield block

    peak_before = _peak_rss(emulator.process.pid)
    response = httpx.put(auth["url"], content=body(), headers={"Content-Length": str(size)}, timeout=300)
    growth = _peak_rss(emulator.process.pid) - peak_before
    assert response.status_code == 200
    expected = hashlib.md5()  # noqa: S324
    for chunk in body():
        expected.update(chunk)
    assert response.headers["etag"] == f'"{expected.hexdigest()}"'
    assert growth < 24 * 1024**2, f"peak RSS grew by {growth / 1024**2:.1f} MiB"
    assert _objects(emulator)[f"pickles/{auth['filename']}"]["size"] == size


def _peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")
