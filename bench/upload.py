"""Benchmark: upload a 1 GiB file to the emulator through the MCP server's put_file.

Measures, in one run and against the same emulator:
- put_file through the real MCP server (stdio subprocess): throughput and the server process's
  peak RSS growth during the upload (VmHWM after the call minus VmRSS before; the peak is reset
  through /proc/PID/clear_refs first);
- a baseline that does what numerapi does: read the whole file into memory, then PUT it.

Goal (issue 2): peak RSS growth under 64 MiB, throughput at least the baseline's.

Usage: python bench/upload.py [--size-mib 1024] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from numerai_mcp.emulator.control import start_emulator

BASELINE = r"""
# What numerapi does (requests -> urllib3 -> http.client): the whole file in memory, one PUT.
import sys, time, http.client, urllib.parse
def rss(kind):
    for line in open("/proc/self/status"):
        if line.startswith(kind):
            return int(line.split()[1]) * 1024
url, path = sys.argv[1], sys.argv[2]
parts = urllib.parse.urlsplit(url)
before = rss("VmRSS:")
start = time.monotonic()
with open(path, "rb") as f:
    data = f.read()
conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
conn.request("PUT", parts.path + ("?" + parts.query if parts.query else ""), body=data)
status = conn.getresponse().status
elapsed = time.monotonic() - start
print(status, elapsed, rss("VmHWM:") - before)
"""


def status_bytes(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith(key):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def server_pid() -> int:
    """The `numerai_mcp serve` child this process spawned over stdio."""
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if int(stat[1]) == me and b"numerai_mcp serve" in cmdline:
            return int(entry.name)
    raise RuntimeError("MCP server process not found")


def make_file(path: Path, size_mib: int) -> None:
    block = os.urandom(1024 * 1024)
    with path.open("wb") as handle:
        for i in range(size_mib):
            handle.write(block[:-8] + i.to_bytes(8, "little"))  # every MiB differs: a real MD5 workload


async def run(size_mib: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="numerai-mcp-bench-") as tmp:
        tmp_path = Path(tmp)
        blob = tmp_path / "big-model.pkl"
        make_file(blob, size_mib)
        with start_emulator(data_dir=tmp_path / "emulator") as emulator:
            env = {"NUMERAI_API_URL": emulator.url, "NUMERAI_MCP_AUTH": emulator.auth,
                   "NUMERAI_MCP_CACHE_DIR": str(tmp_path / "cache"),
                   "NUMERAI_MCP_CREDENTIALS_FILE": str(tmp_path / "none")}
            params = StdioServerParameters(command=sys.executable, args=["-m", "numerai_mcp", "serve", "--log-level", "WARNING"], env=env)
            async with Client(stdio_client(params)) as client:
                models = await client.call_tool("graphql_query", {"query": "query { account { models { id } } }"})
                model_id = models.structured_content["data"]["account"]["models"][0]["id"]
                auth = await client.call_tool("upload_model", {"operation": "get_upload_auth", "modelId": model_id})
                url = auth.structured_content["uploadAuth"]["url"]
                pid = server_pid()
                Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak-RSS counter
                rss_before = status_bytes(pid, "VmRSS:")
                started = time.monotonic()
                result = await client.call_tool("upload_model", {"operation": "put_file", "presignedUrl": url,
                                                                 "localPath": str(blob), "skipValidation": True})
                ours_s = time.monotonic() - started
                assert not result.is_error, result.content
                ours_growth = status_bytes(pid, "VmHWM:") - rss_before
                auth2 = await client.call_tool("upload_model", {"operation": "get_upload_auth", "modelId": model_id})
                url2 = auth2.structured_content["uploadAuth"]["url"]
            out = subprocess.run([sys.executable, "-c", BASELINE, url2, str(blob)], capture_output=True, text=True, check=True)
            status, base_s, base_growth = out.stdout.split()
            assert status.startswith("2"), out.stdout
    size = size_mib * 1024 * 1024
    return {
        "size_mib": size_mib,
        "put_file_seconds": round(ours_s, 2),
        "put_file_mib_per_s": round(size / 2**20 / ours_s, 1),
        "put_file_peak_rss_growth_mib": round(ours_growth / 2**20, 1),
        "baseline_seconds": round(float(base_s), 2),
        "baseline_mib_per_s": round(size / 2**20 / float(base_s), 1),
        "baseline_peak_rss_growth_mib": round(int(base_growth) / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    numbers = asyncio.run(run(args.size_mib))
    if args.json:
        print(json.dumps(numbers, indent=2))
    else:
        print(f"upload of {numbers['size_mib']} MiB to the emulator")
        print(f"  put_file (MCP server, streaming): {numbers['put_file_seconds']:>7} s  {numbers['put_file_mib_per_s']:>7} MiB/s"
              f"  peak RSS growth {numbers['put_file_peak_rss_growth_mib']:>7} MiB")
        print(f"  baseline (read all, then PUT):    {numbers['baseline_seconds']:>7} s  {numbers['baseline_mib_per_s']:>7} MiB/s"
              f"  peak RSS growth {numbers['baseline_peak_rss_growth_mib']:>7} MiB")
    ok = numbers["put_file_peak_rss_growth_mib"] < 64 and numbers["put_file_mib_per_s"] >= numbers["baseline_mib_per_s"]
    print("goals met" if ok else "goals NOT met", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
