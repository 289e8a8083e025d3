"""Time each stage of `make test` and print the figures (no timing is asserted anywhere).

Run from the repository root with the project's environment: `make bench`, or
`.venv/bin/python benchmarks/stages.py`. The stages are the ones `make test` runs, in order.

Each stage's wall-clock seconds are printed beside its CPU seconds: the time the machine's CPUs
were busy while it ran (``/proc/stat``: every process, the Jupyter kernels and the browser
included), so run it on an otherwise idle machine. Two cores give at most twice the wall-clock
time in CPU time, so the CPU total says how long `make test` must take on two cores however its
work is scheduled: at least half of it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

PYTEST = [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadfile"]
# The second CPU profile of `make test` (see the Makefile's PORTABLE).
PORTABLE = {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
            "ONEDNN_MAX_CPU_ISA": "SSE41", "OMP_NUM_THREADS": "1"}

STAGES = [
    ("lint (ruff)", [str(BIN / "ruff"), "check", "."], {}),
    ("unit tests + examples", PYTEST + ["-m", "not browser", "tests", "coursekit", "docs"], {}),
    # The chapters' second-profile check is their notebooks' run in the stage above.
    ("docstrings + other pages, second profile",
     PYTEST + ["coursekit", *sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("docs/*.md"))],
     PORTABLE),
    ("site build (--strict, labs executed)", [str(BIN / "mkdocs"), "build", "--strict", "--quiet"],
     {}),
    ("link check", [sys.executable, "-m", "bookhooks.linkcheck", "site"], {}),
    ("browser tests", PYTEST + ["-m", "browser", "tests/book"], {}),
]


BUDGET_SECONDS, CORES = 180, 2


def busy_cpu_seconds() -> float:
    """CPU seconds the machine has spent busy since it booted, over all its cores: user, nice,
    system and interrupt time in ``/proc/stat`` (not idle, I/O wait or time stolen by a host)."""
    fields = Path("/proc/stat").read_text(encoding="ascii").split("\n", 1)[0].split()
    user, nice, system, _idle, _iowait, irq, softirq = map(int, fields[1:8])
    return (user + nice + system + irq + softirq) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    total, total_cpu, failed = 0.0, 0.0, []
    print(f"{'stage':<40} {'seconds':>8} {'CPU s':>8}  result")
    for name, command, env in STAGES:
        start, start_cpu = time.perf_counter(), busy_cpu_seconds()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                                env={**os.environ, **env})
        seconds = time.perf_counter() - start
        cpu = busy_cpu_seconds() - start_cpu
        total, total_cpu = total + seconds, total_cpu + cpu
        status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
        if result.returncode:
            failed.append(name)
        print(f"{name:<40} {seconds:8.1f} {cpu:8.1f}  {status}")
    print(f"{'total':<40} {total:8.1f} {total_cpu:8.1f}")
    print(f"target: under {BUDGET_SECONDS} s on {CORES} cores, which give at most "
          f"{BUDGET_SECONDS * CORES} CPU seconds; this work needs at least "
          f"{total_cpu / CORES:.0f} s on {CORES} cores")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
