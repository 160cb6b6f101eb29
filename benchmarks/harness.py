"""Run competing tools side by side: alternating runs, warm-up, wall time and peak RSS per run.

Each tool is a whole process (interpreter start-up included), as a user would run it. Runs
alternate between tools, in an order rotated every round, so that page cache, CPU frequency
drift and the clean-up after a heavy neighbour affect all of them alike.
Peak RSS and CPU time (user + system) come from os.wait4's rusage of each child. On a busy
machine wall times swing with the scheduler while CPU times stay close to an idle run's, so
both are reported.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from dataclasses import dataclass, field


@dataclass
class Tool:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    ok_codes: tuple[int, ...] = (0, 1)


@dataclass
class Timing:
    tool: str
    walls: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)  # user + system seconds
    failures: list[str] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.walls) if self.walls else float("nan")

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpus) if self.cpus else float("nan")

    @property
    def peak_rss_mib(self) -> float:
        return max(self.rss_kib) / 1024 if self.rss_kib else float("nan")


def bench_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment every tool runs in. PYTHONDONTWRITEBYTECODE is dropped: a user's install
    has compiled bytecode (pip compiles at install time), and recompiling every module on every
    run would measure the compiler, not the tool."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def run_once(tool: Tool, timeout: float = 600) -> tuple[float, int, int, str, float]:
    """(wall s, peak RSS KiB, exit code, stderr tail, CPU s) of one whole-process run."""
    env = bench_env(tool.env)
    start = time.perf_counter()
    proc = subprocess.Popen(tool.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.0005)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode("utf-8", "replace")[-300:] if proc.stderr else ""
    proc.stderr and proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    return wall, int(usage.ru_maxrss), code, err, usage.ru_utime + usage.ru_stime


def compare(tools: list[Tool], runs: int = 5, warmup: int = 1, timeout: float = 600) -> dict[str, Timing]:
    timings = {t.name: Timing(t.name) for t in tools}
    for i in range(warmup + runs):
        # Rotate the order each round: the run after a heavy tool (GGUFReader maps 716 MiB) pays
        # for the memory the kernel reclaims, and that must not always be the same tool.
        for tool in tools[i % len(tools):] + tools[:i % len(tools)]:
            wall, rss, code, err, cpu = run_once(tool, timeout)
            if code not in tool.ok_codes:
                timings[tool.name].failures.append(f"exit {code}: {err.strip()}")
                continue
            if i >= warmup:
                timings[tool.name].walls.append(wall)
                timings[tool.name].rss_kib.append(rss)
                timings[tool.name].cpus.append(cpu)
    return timings


def table(timings: dict[str, Timing], reference: str) -> str:
    ref = timings[reference].median
    lines = [f"| tool | median s | min-max s | peak RSS MiB | {reference} is faster by |", "|---|---:|---:|---:|---:|"]
    for t in sorted(timings.values(), key=lambda t: t.median):
        span = f"{min(t.walls):.3f}-{max(t.walls):.3f}" if t.walls else "-"
        ratio = "-" if t.tool == reference or not t.walls else f"{t.median / ref:.1f}x"
        note = f" ({len(t.failures)} failed runs)" if t.failures else ""
        lines.append(f"| {t.tool}{note} | {t.median:.3f} | {span} | {t.peak_rss_mib:.0f} | {ratio} |")
    return "\n".join(lines)
