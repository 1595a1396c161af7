"""Page load from wrk (Debian's ``wrk``) with a Lua script over many reader pages.

wrk is a C load generator: on two shared cores a Python client would spend
the CPU the server needs. The script picks a random page per request from a
list (front, article, story, search pages), counts statuses per thread, and
prints one JSON line in ``done()`` with the latency percentiles.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SCRIPT = r"""
local paths = {%(paths)s}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function request() return wrk.format("GET", paths[math.random(#paths)]) end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do counts[code] = (counts[code] or 0) + n end
  end
  local parts = {}
  for code, n in pairs(counts) do table.insert(parts, string.format('"%%d":%%d', code, n)) end
  io.write(string.format(
    'WRKJSON {"requests":%%d,"seconds":%%.3f,"p50_ms":%%.2f,"p90_ms":%%.2f,"p99_ms":%%.2f,' ..
    '"max_ms":%%.2f,"errors":{"connect":%%d,"read":%%d,"write":%%d,"timeout":%%d},' ..
    '"statuses":{%%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(90) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    table.concat(parts, ",")))
end
"""


class WrkMissing(RuntimeError):
    """wrk is not installed (``apt-get install wrk``)."""


@dataclass
class WrkRun:
    """A running wrk; ``finish()`` stops it (SIGINT: wrk then reports) and parses the JSON."""

    proc: subprocess.Popen[str]
    script: Path

    def finish(self) -> dict[str, Any]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=60)
        for line in out.splitlines():
            if line.startswith("WRKJSON "):
                result: dict[str, Any] = json.loads(line[len("WRKJSON "):])
                statuses = {int(k): v for k, v in result["statuses"].items()}
                result["server_errors"] = sum(v for k, v in statuses.items() if k >= 500)
                result["rps"] = round(result["requests"] / max(result["seconds"], 1e-9), 1)
                return result
        raise RuntimeError(f"wrk printed no result:\n{out[-2000:]}")


def start(base_url: str, paths: list[str], folder: Path, *, connections: int = 64,
          threads: int = 2, seconds: int = 3600, timeout_s: int = 30) -> WrkRun:
    """Start wrk against ``base_url`` for at most ``seconds`` (stop it earlier with finish)."""
    exe = shutil.which("wrk")
    if exe is None:
        raise WrkMissing("wrk is not installed: apt-get install wrk")
    script = folder / "pages.lua"
    script.write_text(_SCRIPT % {"paths": ",".join(json.dumps(p) for p in paths)})
    args = [exe, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"--timeout={timeout_s}s",
            "-s", str(script), base_url]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,  # noqa: S603
                            text=True)
    return WrkRun(proc, script)
