"""Live verification while writing: under ``mkdocs serve``, a saved page's examples run again.

While the site is served, each page's examples are run when the page is rendered, unless they
already ran for this exact text of the page and this version of the package (the result is kept
in memory and in ``.cache/live/``, so only changed pages run again, and the first start after a
clean checkout runs every page once). A page whose example fails is still served, with a banner
at its top that gives the file, the line, what the page expects and what the run printed; the
terminal says the same. ``mkdocs build`` (and so ``make test``) is not affected: there a failing
example still fails the build.

The MkDocs hooks call :func:`start` from ``on_startup``, :func:`record` when their figure step
has run a page, and :func:`banner` from ``on_page_markdown``.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import traceback
from dataclasses import dataclass
from pathlib import Path

from sybil.example import SybilFailure

from bookhooks.examples import run_page
from bookhooks.glue import newest_package_mtime

ROOT = Path(__file__).resolve().parent.parent
CACHE_DIR = ROOT / ".cache" / "live"

log = logging.getLogger("mkdocs.hooks.coursekit")


@dataclass(frozen=True)
class Result:
    """How a page's examples fared for one text of the page and one version of the package."""

    page_sha256: str
    package_mtime: float
    failure: str | None  # the first failing example, described; None when all passed


_serving = False
_results: dict[Path, Result] = {}


def start(command: str) -> None:
    """Switch live verification on when MkDocs is serving (``command == "serve"``), else off."""
    global _serving
    _serving = command == "serve"
    if _serving:
        # Every chapter imports torch (seconds): import it now, so the first save after the
        # server starts shows its result as quickly as the later ones.
        import torch  # noqa: F401


def serving() -> bool:
    """True under ``mkdocs serve``: a failing example is shown on its page, not raised."""
    return _serving


def cache_path(page: Path) -> Path:
    """Where the last result for ``page`` is kept between server starts."""
    page = Path(page).resolve()
    try:
        key = page.relative_to(ROOT).as_posix()
    except ValueError:  # a page outside the repository (a test's temporary project)
        key = page.as_posix().lstrip("/")
    return CACHE_DIR / (key.replace("/", "__") + ".json")


def describe(error: BaseException, page: Path) -> str:
    """A failing example as the author needs it: file and line, then expected and got.

    Sybil's own failure already reads ``Example at FILE, line N ... Expected: ... Got: ...``;
    an exception raised by a plain block is located from its traceback, whose frames Sybil
    compiles under the page's path and line numbers.
    """
    shown = _shown_path(page)
    if isinstance(error, SybilFailure):
        return str(error).replace(str(page), shown)
    lines = [frame.lineno for frame in traceback.extract_tb(error.__traceback__)
             if frame.filename == str(page)]
    where = f"{shown}, line {lines[-1]}" if lines else shown
    raised = "".join(traceback.format_exception_only(error)).strip()
    return f"Example at {where} raised:\n{raised}"


def record(page: Path, text: str, error: BaseException | None) -> str | None:
    """Keep the outcome of a run of ``page`` (whose text was ``text``); return its description."""
    page = Path(page).resolve()
    failure = None if error is None else describe(error, page)
    result = Result(_digest(text), newest_package_mtime(), failure)
    _results[page] = result
    path = cache_path(page)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(result.__dict__, indent=1), encoding="utf-8")
    os.replace(temporary, path)
    return failure


def check(page: Path) -> str | None:
    """The failure of ``page``'s examples (None if they all pass), running them only when the
    page's text or the package has changed since the last recorded run."""
    page = Path(page).resolve()
    text = page.read_text(encoding="utf-8")
    known = _known(page, text)
    if known is not None:
        return known.failure
    log.info("Running the examples of %s", _shown_path(page))
    cwd = os.getcwd()
    try:
        os.chdir(ROOT)  # where pytest runs them, so relative paths mean the same
        run_page(page)
    except Exception as error:  # any exception is the page's failure, never the server's
        return record(page, text, error)
    finally:
        os.chdir(cwd)
    return record(page, text, None)


def render_banner(failure: str) -> str:
    """The failure as a Material ``failure`` admonition, in HTML so that Markdown leaves the
    message (``<SumBackward0>``, ``*``, indentation) exactly as printed."""
    return ('<div class="admonition failure example-failure">\n'
            '<p class="admonition-title">An example on this page fails</p>\n'
            "<p>What the page shows below is not what its code prints. Fix the page (or the "
            "package) and save: this banner goes when every example passes. "
            "<code>mkdocs build</code> and <code>make test</code> fail until then.</p>\n"
            f"<pre><code>{html.escape(failure)}</code></pre>\n"
            "</div>\n")


def banner(markdown: str, page) -> str:
    """Under ``mkdocs serve``, put a banner under the page's title if one of its examples fails,
    and say so in the terminal; otherwise return ``markdown`` unchanged."""
    source = page.file.abs_src_path
    if not _serving or not source or not source.endswith(".md"):
        return markdown
    failure = check(Path(source))
    if failure is None:
        return markdown
    log.error("An example on %s fails (the page is served with a banner):\n%s",
              page.file.src_uri, failure)
    return _insert_after_title(markdown, render_banner(failure))


def _insert_after_title(markdown: str, block: str) -> str:
    lines = markdown.splitlines(keepends=True)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].startswith("# "):
        head, tail = "".join(lines[:first + 1]), "".join(lines[first + 1:])
        return f"{head}\n{block}\n{tail}"
    return f"{block}\n{markdown}"


def _known(page: Path, text: str) -> Result | None:
    """The recorded result for this text of ``page`` and the current package, if there is one."""
    wanted = (_digest(text), newest_package_mtime())
    result = _results.get(page)
    if result is None:
        path = cache_path(page)
        if path.exists():
            try:
                result = Result(**json.loads(path.read_text(encoding="utf-8")))
            except (ValueError, TypeError):  # a cache file from another version: run again
                return None
            _results[page] = result
    if result is None or (result.page_sha256, result.package_mtime) != wanted:
        return None
    return result


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _shown_path(page: Path) -> str:
    try:
        return page.relative_to(ROOT).as_posix()
    except ValueError:
        return str(page)
