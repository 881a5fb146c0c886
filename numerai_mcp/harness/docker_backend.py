"""Validate with Numerai's own image when a Docker engine answers.

Runs `ghcr.io/numerai/numerai_predict_py_3_X:<tag> --debug --model …` with the pickle and the
live data mounted read-only, networking disabled, 4 GB of memory (no swap) and 1 CPU, then
reads its log into the same checks as the local backend.

It speaks the Docker Engine HTTP API directly (httpx over the engine's unix socket, or
tcp:// from DOCKER_HOST) rather than through the docker SDK: the handful of calls needed is
small and stable, and httpx is already a dependency, so there is no optional extra to install.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from numerai_mcp.harness.facts import NO_FACTS, NumeraiFacts
from numerai_mcp.harness.outcome import RunContext, crash_checks, fix_for, numerai_sequence, strict_fix
from numerai_mcp.harness.predictions import UnreadablePredictions, numerai_failure, read_summary, strict_results
from numerai_mcp.harness.verdict import Check
from numerai_mcp.harness.watchdog import Breach

if TYPE_CHECKING:
    import httpx

    from numerai_mcp.harness.catalogue import Runtime
    from numerai_mcp.harness.sandbox import Limits

API_VERSION = "v1.41"
PING_TIMEOUT_S = 1.0
DEFAULT_SOCKET = "/var/run/docker.sock"
LOG_TAIL_LINES = 2000
MAX_OUTPUT_ENTRIES = 10_000  # the container may fill /out with files: look at this many at most


class DockerUnavailableError(RuntimeError):
    """backend='docker' was asked for but no engine answers."""


@dataclass
class DockerRun:
    checks: list[Check]
    live_data_source: str
    log_tail: list[str]
    result: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------ engine connection


def _engine_address(env: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """(base URL, unix socket path or None) from DOCKER_HOST, default the local socket."""
    host = (env if env is not None else os.environ).get("DOCKER_HOST", "").strip()
    if not host:
        return "http://docker", DEFAULT_SOCKET
    if host.startswith("unix://"):
        return "http://docker", host.removeprefix("unix://")
    if host.startswith("tcp://"):
        return "http://" + host.removeprefix("tcp://"), None
    raise DockerUnavailableError(f"DOCKER_HOST={host!r} is not supported (use unix:// or tcp://).")


def _client(timeout: float) -> httpx.Client:
    import httpx

    base, socket_path = _engine_address()
    transport = httpx.HTTPTransport(uds=socket_path) if socket_path else None
    return httpx.Client(base_url=f"{base}/{API_VERSION}", transport=transport, timeout=timeout)


def engine_available(timeout: float = PING_TIMEOUT_S) -> bool:
    """True when a Docker engine answers /_ping within `timeout` seconds."""
    try:
        base, socket_path = _engine_address()
    except DockerUnavailableError:
        return False
    if socket_path and not os.path.exists(socket_path):
        return False
    try:
        with _client(timeout) as client:
            return client.get("/_ping").status_code == 200
    except Exception:
        return False


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.status_code >= 400:
        try:
            message = response.json().get("message", response.text)
        except ValueError:
            message = response.text
        raise DockerUnavailableError(f"Docker could not {what}: {message.strip()[:500]}")


def _ensure_image(client: httpx.Client, ref: str, progress: Any) -> None:
    if client.get(f"/images/{quote(ref, safe='')}/json").status_code == 200:
        return
    image, _, tag = ref.rpartition(":")
    progress(f"pulling {ref}")
    with client.stream("POST", "/images/create", params={"fromImage": image, "tag": tag}, timeout=None) as response:
        _raise_for(response, f"pull {ref}")
        for line in response.iter_lines():
            if '"error"' in line:
                raise DockerUnavailableError(f"Docker could not pull {ref}: {json.loads(line).get('error')}")


def demultiplex(raw: bytes) -> Iterator[tuple[int, bytes]]:
    """Split a non-TTY container log stream into (stream, payload) frames (1 stdout, 2 stderr)."""
    offset = 0
    while offset + 8 <= len(raw):
        stream, size = raw[offset], int.from_bytes(raw[offset + 4:offset + 8], "big")
        yield stream, raw[offset + 8:offset + 8 + size]
        offset += 8 + size


def _run_container(client: httpx.Client, ref: str, cmd: Sequence[str], binds: Sequence[str], limits: Limits,
                   entrypoint: Sequence[str] | None = None) -> tuple[int, bool, bool, list[str]]:
    """(exit status, timed out, OOM killed, log lines) of one container run; the container is removed."""
    body: dict[str, Any] = {
        "Image": ref, "Cmd": list(cmd), "NetworkDisabled": True, "Env": ["PYTHONHASHSEED=0"],
        "HostConfig": {"Binds": list(binds), "NetworkMode": "none", "Memory": limits.memory_bytes,
                       "MemorySwap": limits.memory_bytes, "NanoCpus": int(limits.cpus * 1e9),
                       "PidsLimit": limits.processes, "ReadonlyRootfs": False, "AutoRemove": False},
    }
    if entrypoint is not None:
        body["Entrypoint"] = list(entrypoint)
    created = client.post("/containers/create", json=body)
    _raise_for(created, f"create a container from {ref}")
    container = created.json()["Id"]
    timed_out = False
    try:
        _raise_for(client.post(f"/containers/{container}/start"), "start the container")
        try:
            waited = client.post(f"/containers/{container}/wait", timeout=limits.wall_s + min(5.0, limits.wall_s))
            status = int(waited.json().get("StatusCode", -1))
        except Exception:  # httpx timeout: the run exceeded the wall limit
            timed_out = True
            client.post(f"/containers/{container}/kill", params={"signal": "KILL"})
            status = -1
        state = client.get(f"/containers/{container}/json").json().get("State", {})
        logs = _bounded_logs(client, container)
    finally:
        client.delete(f"/containers/{container}", params={"force": 1})
    text = b"".join(payload for _, payload in demultiplex(logs)).decode("utf-8", "replace")
    return status, timed_out, bool(state.get("OOMKilled")), text.splitlines()


def _bounded_logs(client: httpx.Client, container: str, max_bytes: int = 4 * 1024**2) -> bytes:
    """The container's last log lines, read as a stream and cut at `max_bytes` (a pickle may print gigabytes)."""
    buffer = bytearray()
    with client.stream("GET", f"/containers/{container}/logs",
                       params={"stdout": 1, "stderr": 1, "tail": LOG_TAIL_LINES}) as response:
        for chunk in response.iter_bytes():
            buffer += chunk[: max_bytes - len(buffer)]
            if len(buffer) >= max_bytes:
                break
    return bytes(buffer)


# ------------------------------------------------------------------ log interpretation

_ERROR_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^Invalid pickle - "), "load pickle", "unpickling"),
    (re.compile(r"^Pickle incompatible with "), "load pickle", "python_mismatch"),
    (re.compile(r"^Import error reading pickle - "), "load pickle", "module_not_found"),
    (re.compile(r"^Local dataset not found"), "load data", "data_error"),
    (re.compile(r"^Invalid pickle function - .* must have 1 or 2 arguments"), "signature", "signature"),
    (re.compile(r"^Pickle function is invalid - returned None$"), "not None", "returned_none"),
    (re.compile(r"^Pickle function is invalid - returned .* instead of pd\.DataFrame$"), "type", "wrong_type"),
    (re.compile(r"^Pickle function returned 0 predictions"), "not empty", "empty"),
    (re.compile(r"^Pickle function returned at least 1 NaN prediction"), "no NaN", "nan"),
    (re.compile(r"^Pickle function returned invalid predictions"), "range", "out_of_range"),
    (re.compile(r"^Pickle function is invalid - "), "run predict", "predict_type_error"),
)
_MISSING_MODULE = re.compile(r"No module named '([^']+)'")


def classify_log(lines: Sequence[str]) -> tuple[str, str, str] | None:
    """(check name, failure kind, message) from numerai-predict's first ERROR line, or None."""
    for line in lines:
        if not line.startswith("ERROR:root:"):
            continue
        message = line.removeprefix("ERROR:root:")
        for pattern, check, kind in _ERROR_RULES:
            if pattern.search(message):
                return check, kind, message
        kind = "memory" if "Unable to allocate" in message or "MemoryError" in message else "predict_exception"
        return "run predict", kind, message
    return None


def _rows(lines: Sequence[str]) -> int | None:
    for line in lines:
        match = re.search(r"Predicting on (\d+) rows", line)
        if match:
            return int(match.group(1))
    return None


def log_checks(lines: Sequence[str], status: int, timed_out: bool, oom: bool, ctx: RunContext
               ) -> tuple[list[Check], str | None]:
    """Numerai's checks, in order, from the container's log and exit status (a failure's explanation only)."""
    if timed_out or oom or status not in (0, 1):
        stage = "predict" if any("Predicting on" in line for line in lines) else "load"
        breach = Breach("memory", f"would exceed {ctx.memory_bytes / 1024**3:.0f} GB of memory: the container was "
                                  "OOM-killed") if oom else None
        return crash_checks({"stage": stage}, 137 if oom else status, timed_out, ctx, lines, breach)
    failure = classify_log(lines) if status != 0 else None
    if status == 1 and failure is None:
        failure = ("run predict", "crash", next((l for l in reversed(lines) if l.strip()), "exit status 1"))
    if failure is None:
        return numerai_sequence(None, passed="passed (numerai-predict log)"), None
    module = _MISSING_MODULE.search(failure[2])
    exception = {"missing_module": module.group(1)} if module else None
    return numerai_sequence(failure[0], failure[2], fix_for(failure[1], ctx, exception),
                            passed="passed (numerai-predict log)"), failure[1]


def output_checks(out: Path, ctx: RunContext) -> tuple[list[Check], str | None]:
    """For a run that exited 0: the checks computed here from the predictions CSV it wrote (untrusted file).

    The container ran the pickle, so its log cannot make a run pass: the predictions must be there
    and pass Numerai's output checks as computed by us.
    """
    candidates: list[Path] = []
    if out.is_dir():
        with os.scandir(out) as entries:
            candidates = sorted(Path(entry.path) for entry in itertools.islice(entries, MAX_OUTPUT_ENTRIES)
                                if entry.name.startswith("live_predictions-") and entry.name.endswith(".csv"))
    summary, why = None, "the container exited 0 without writing live_predictions-*.csv"
    if candidates:
        try:
            summary = read_summary(candidates[0], live=None)
        except UnreadablePredictions as exc:
            why = str(exc)
    if summary is None:
        return numerai_sequence("run predict", f"predict returned no predictions: {why}",
                                fix_for("no_predictions", ctx)), "no_predictions"
    failure = numerai_failure(summary)
    checks = numerai_sequence(failure[0] if failure else None, failure[2] if failure else "",
                              fix_for(failure[1], ctx) if failure else None, passed="passed (checked here)")
    checks += [Check(name=name, status=status, message=message,  # type: ignore[arg-type]
                     fix=strict_fix(name) if status in ("fail", "warn") else None)
               for name, status, message in strict_results(summary)]
    return checks, failure[1] if failure else None


# ------------------------------------------------------------------ entry point


def _prepare_data(client: httpx.Client, ref: str, work: Path, limits: Limits, cache_dir: Path,
                  live_data: Path | None, benchmark_data: Path | None, facts: NumeraiFacts,
                  features: Sequence[str]) -> tuple[Path, Path, str]:
    """Host paths of live + benchmark files, and where they came from. Synthetic data is written
    by the image itself, so the host needs no pandas."""
    from numerai_mcp.harness import livedata

    if live_data is not None and benchmark_data is not None:
        return Path(live_data), Path(benchmark_data), f"user files {live_data} and {benchmark_data}"
    why, downloaded = facts.live_unavailable, facts.live
    if live_data is None and downloaded is not None:
        return downloaded.live, Path(benchmark_data or downloaded.benchmarks), downloaded.source
    names = list(dict.fromkeys(features)) or livedata.default_feature_names()
    spec = {"seed": 0, "rows": livedata.SYNTHETIC_ROWS, "features": names,
            "benchmarks": list(livedata.BENCHMARK_COLUMNS), "bench": "/gen/live_benchmark_models.parquet"}
    binds = [f"{work}:/gen"]
    if live_data is not None:
        shutil.copyfile(live_data, work / "user_live.parquet")
        spec["ids_from"] = "/gen/user_live.parquet"
    else:
        spec["live"] = "/gen/live.parquet"
    status, _, _, lines = _run_container(client, ref, ["-c", livedata._SYNTH_SCRIPT, json.dumps(spec)], binds,
                                         limits, entrypoint=["python"])
    if status != 0:
        raise DockerUnavailableError("The image could not write synthetic live data: " + " | ".join(lines[-5:]))
    if live_data is not None:
        return Path(live_data), work / "live_benchmark_models.parquet", f"user file {live_data} (synthetic benchmarks)"
    return (work / "live.parquet", work / "live_benchmark_models.parquet",
            f"synthetic ({livedata.SYNTHETIC_ROWS} rows, {len(names)} features); Numerai's files not used: {why}")


def run_in_docker(path: Path, target: Runtime, *, ctx: RunContext, limits: Limits, cache_dir: Path,
                  live_data: Path | None = None, benchmark_data: Path | None = None,
                  facts: NumeraiFacts = NO_FACTS, features: Sequence[str] = (),
                  timings: dict[str, float] | None = None, progress: Any = None) -> DockerRun:
    """Run the pickle in Numerai's image; raise DockerUnavailableError when no engine answers."""
    timings = timings if timings is not None else {}
    say = progress or (lambda message: None)
    if not engine_available(timeout=5.0):
        raise DockerUnavailableError(
            "No Docker engine answered (DOCKER_HOST or /var/run/docker.sock). Start Docker, or validate with "
            "backend='local' (the default when no engine runs)."
        )
    ref = target.docker_ref
    work = Path(tempfile.mkdtemp(prefix="numerai-mcp-docker-"))
    try:
        with _client(30.0) as client:
            started = time.perf_counter()
            _ensure_image(client, ref, say)
            timings["provision"] = round(time.perf_counter() - started, 4)
            live, bench, source = _prepare_data(client, ref, work, limits, cache_dir, live_data, benchmark_data,
                                                facts, features)
            model_dir, out = work / "model", work / "out"
            model_dir.mkdir()
            out.mkdir()
            out.chmod(0o777)
            shutil.copyfile(path, model_dir / "model.pkl")
            binds = [f"{model_dir}:/model:ro", f"{live}:/data/live.parquet:ro",
                     f"{bench}:/data/live_benchmark_models.parquet:ro", f"{out}:/out"]
            cmd = ["--debug", "--model", "/model/model.pkl", "--dataset", "/data/live.parquet",
                   "--benchmarks", "/data/live_benchmark_models.parquet", "--output_dir", "/out"]
            started = time.perf_counter()
            status, timed_out, oom, lines = _run_container(client, ref, cmd, binds, limits)
            timings["run"] = round(time.perf_counter() - started, 4)
        checks, kind = log_checks(lines, status, timed_out, oom, ctx)
        if status == 0 and kind is None and not timed_out and not oom:
            checks, kind = output_checks(out, ctx)
        tail = [line for line in lines if line.startswith(("INFO:", "ERROR:", "DEBUG:root:Request"))][-25:]
        if not tail:
            tail = lines[-25:]
        return DockerRun(checks=checks, live_data_source=source, log_tail=tail, result={"rows": _rows(lines)})
    finally:
        shutil.rmtree(work, ignore_errors=True)
