"""Lighthouse's mobile scores of every chapter page of the built site, printed as a table.

Run from the repository root: `make lighthouse` (builds the site if needed and installs
Lighthouse 12.2.3 from npm under .cache/node), or `.venv/bin/python benchmarks/lighthouse.py`
with the site in site/. Each page is served from site/ on 127.0.0.1, gzip-compressed as a static
host serves it, and audited with Lighthouse's
default mobile preset (simulated slow 4G and a slower CPU) in headless Chromium. The exit
status is 1 if a page scores under 90 for performance or under 95 for accessibility.

Lighthouse's 4x CPU slowdown assumes a fast desktop host; on a slower one it warns that the
scores suffer. By default the slowdown is calibrated from the host's BenchmarkIndex as
Lighthouse's throttling guide says (``cpu_slowdown``), and the index and multiplier are printed
above the table; ``--cpu-slowdown 4`` gives Lighthouse's own default.

Scores move by a few points from run to run, more on a busy machine: this is a benchmark for
the notes, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bookhooks is the repository's, not installed

from bookhooks import static_site  # noqa: E402

LIGHTHOUSE_VERSION = "12.2.3"
LOCAL_LIGHTHOUSE = ROOT / ".cache" / "node" / "node_modules" / ".bin" / "lighthouse"
CHROME_FLAGS = ("--headless=new --no-sandbox --disable-gpu --disable-background-networking "
                "--disable-component-update")
PERFORMANCE, ACCESSIBILITY = 90, 95


def chapter_pages(docs: Path = ROOT / "docs") -> list[str]:
    """The site path of every page written in docs/ (chapters, labs, home): not the generated
    reference."""
    pages = []
    for source in sorted(docs.rglob("*")):
        relative = source.relative_to(docs)
        if source.suffix == ".md" or (relative.parts[0] == "labs" and source.suffix == ".py"):
            stem = relative.with_suffix("")
            path = "" if stem.as_posix() == "index" else stem.as_posix() + "/"
            pages.append(path.removesuffix("index/"))
    return pages


def _lighthouse_command() -> list[str]:
    if LOCAL_LIGHTHOUSE.exists():
        return [str(LOCAL_LIGHTHOUSE)]
    if shutil.which("npx"):
        return ["npx", "--yes", f"lighthouse@{LIGHTHOUSE_VERSION}"]
    raise SystemExit("needs Lighthouse: `make lighthouse` installs it (npm), or npx on the PATH")


def cpu_slowdown(benchmark_index: float) -> float:
    """The CPU slowdown that makes this host stand for Lighthouse's mid-tier phone.

    Lighthouse's default of 4x assumes a fast desktop host (a BenchmarkIndex near 1533); its
    throttling guide (docs/throttling.md, "CPU throttling") sends a slower host to the
    Lighthouse team's calculator, whose steps are these: 1300 and up, 3x plus 1x per 233 more;
    800 to 1300, 2x to 3x; 150 to 800, 1x to 2x; under 150, 1x.
    """
    if benchmark_index >= 1300:
        return 3 + (benchmark_index - 1300) / 233
    if benchmark_index >= 800:
        return 2 + (benchmark_index - 800) / 500
    return 1 + max(0.0, benchmark_index - 150) / 650


def audit(url: str, command: list[str], slowdown: float | None = None,
          save: Path | None = None) -> dict:
    """One Lighthouse run on ``url``: its scores (0-100) and the measurements behind them.
    ``slowdown``: the CPU slowdown multiplier, Lighthouse's default (4) if None; ``save``: a
    folder to keep the whole report in, as ``<page>.json``."""
    extra = [] if slowdown is None else [f"--throttling.cpuSlowdownMultiplier={slowdown}"]
    result = subprocess.run(
        [*command, url, "--output=json", "--output-path=stdout", "--quiet", *extra,
         "--only-categories=performance,accessibility", f"--chrome-flags={CHROME_FLAGS}"],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")})
    if result.returncode:
        raise RuntimeError(f"lighthouse failed on {url}:\n{result.stderr[-2000:]}")
    report = json.loads(result.stdout)
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
        name = urlsplit(url).path.strip("/").replace("/", "-") or "home"
        (save / f"{name}.json").write_text(result.stdout, encoding="utf-8")
    audits = report["audits"]
    failed_a11y = [ref["id"] for ref in report["categories"]["accessibility"]["auditRefs"]
                   if ref["weight"] and audits[ref["id"]]["score"] not in (None, 1)]
    return {
        "performance": round(100 * report["categories"]["performance"]["score"]),
        "accessibility": round(100 * report["categories"]["accessibility"]["score"]),
        "lcp_s": audits["largest-contentful-paint"]["numericValue"] / 1000,
        "tbt_ms": audits["total-blocking-time"]["numericValue"],
        "dom": int(audits["dom-size"]["numericValue"]),
        "failed_a11y": failed_a11y,
        "benchmark_index": report["environment"]["benchmarkIndex"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site", help="the built site")
    parser.add_argument("pages", nargs="*",
                        help="site paths to audit, e.g. maths/linear-algebra/ (default: "
                             "every chapter page)")
    parser.add_argument("--cpu-slowdown", default="auto",
                        help="Lighthouse's CPU slowdown multiplier: a number, or 'auto' (the "
                             "default) to calibrate it from this host's BenchmarkIndex, "
                             "measured on the first page (see cpu_slowdown)")
    parser.add_argument("--save", type=Path, help="a folder for each page's full JSON report")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").exists():
        raise SystemExit(f"no built site in {args.site}: run `make site` first")
    pages = args.pages or [page for page in chapter_pages()
                           if (args.site / page / "index.html").exists()]  # built, in the nav
    command = _lighthouse_command()
    server = static_site.serve(args.site, compress=True)
    base = static_site.url(server) + "/"
    below = []
    try:
        if args.cpu_slowdown == "auto":
            index = audit(base + pages[0], command)["benchmark_index"]
            slowdown = cpu_slowdown(index)
            print(f"host BenchmarkIndex {index:.0f}: CPU slowdown {slowdown:.2f}x")
        else:
            slowdown = float(args.cpu_slowdown)
            print(f"CPU slowdown {slowdown:g}x")
        print(f"{'page':<42} {'perf':>4} {'a11y':>4} {'LCP s':>6} {'TBT ms':>6} {'DOM':>6}  "
              "failed a11y audits", flush=True)
        for page in pages:
            scores = audit(base + page, command, slowdown, args.save)
            print(f"{page or './':<42} {scores['performance']:>4} {scores['accessibility']:>4} "
                  f"{scores['lcp_s']:>6.1f} {scores['tbt_ms']:>6.0f} {scores['dom']:>6}  "
                  f"{' '.join(scores['failed_a11y'])}", flush=True)
            if (scores["performance"] < PERFORMANCE
                    or scores["accessibility"] < ACCESSIBILITY):
                below.append(page or "./")
    finally:
        server.shutdown()
    if below:
        print(f"under {PERFORMANCE} performance or {ACCESSIBILITY} accessibility: "
              + ", ".join(below))
        return 1
    print(f"every page: performance >= {PERFORMANCE}, accessibility >= {ACCESSIBILITY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
