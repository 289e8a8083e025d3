"""Time each stage of `make test` and print the figures (no timing is asserted anywhere).

Run from the repository root with the project's environment: `make bench`, or
`.venv/bin/python benchmarks/stages.py`. The stages are the ones `make test` runs, in order.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

STAGES = [
    ("unit tests", [sys.executable, "-m", "pytest", "-q", "-m", "not browser", "tests"]),
    (
        "examples (chapters + docstrings)",
        [sys.executable, "-m", "pytest", "-q", "coursekit", "docs"],
    ),
    ("site build (--strict, labs executed)", [str(BIN / "mkdocs"), "build", "--strict", "--quiet"]),
    ("link check", [sys.executable, "-m", "bookhooks.linkcheck", "site"]),
    (
        "browser test",
        [sys.executable, "-m", "pytest", "-q", "-m", "browser", "tests/test_browser.py"],
    ),
]


def main() -> int:
    total, failed = 0.0, []
    print(f"{'stage':<40} {'seconds':>8}  result")
    for name, command in STAGES:
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
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
