"""Time each stage of `make test` and print the figures (no timing is asserted anywhere).

Run from the repository root with the project's environment: `make bench`, or
`.venv/bin/python benchmarks/stages.py`. The stages are the ones `make test` runs, in order.
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


def main() -> int:
    total, failed = 0.0, []
    print(f"{'stage':<40} {'seconds':>8}  result")
    for name, command, env in STAGES:
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                                env={**os.environ, **env})
        seconds = time.perf_counter() - start
        total += seconds
        status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
        if result.returncode:
            failed.append(name)
        print(f"{name:<40} {seconds:8.1f}  {status}")
    print(f"{'total':<40} {total:8.1f}  (target: under 180 s on 2 cores)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
