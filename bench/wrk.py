"""Driving load with wrk (C, event loop): it takes far less of the machine than Python
clients, so more of the shared cores serve the requests being measured.

``run(url, headers, connections, seconds)`` returns what wrk counted: requests, seconds,
latency percentiles (ms), errors, and the CPU time wrk itself used."""

from __future__ import annotations

import resource
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field

# Printed by wrk when the run is done: what the report needs, in one parsable line.
_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d %d %d %d %d %d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
"""
_ERRORS = ["connect", "read", "write", "status", "timeout"]


def available() -> bool:
    return shutil.which("wrk") is not None


@dataclass
class WrkResult:
    requests: int = 0
    seconds: float = 0.0
    percentiles_ms: dict[str, float] = field(default_factory=dict)  # p50, p95, p99, max
    errors: dict[str, int] = field(default_factory=dict)
    cpu_seconds: float = 0.0


def run(url: str, headers: dict[str, str], connections: int, seconds: float) -> WrkResult:
    """One wrk run: ``connections`` kept busy for ``seconds`` (one thread per two cores'
    worth of connections at most: the server needs the cores more)."""
    threads = max(1, min(2, connections))
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as script:
        script.write(_SCRIPT)
        script.flush()
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "-s",
            script.name,
        ]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [*command, url], capture_output=True, text=True, timeout=seconds + 60, check=True
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = parse(done.stdout)
    result.cpu_seconds = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return result


def parse(report: str) -> WrkResult:
    line = next((x for x in report.splitlines() if x.startswith("RESULT ")), None)
    if line is None:
        raise ValueError(f"wrk printed no result:\n{report}")
    n = [int(x) for x in line.split()[1:]]
    return WrkResult(
        requests=n[0],
        seconds=n[1] / 1e6,
        percentiles_ms={
            "p50": n[2] / 1000,
            "p95": n[3] / 1000,
            "p99": n[4] / 1000,
            "max": n[5] / 1000,
        },
        errors={kind: count for kind, count in zip(_ERRORS, n[6:], strict=True) if count},
    )
