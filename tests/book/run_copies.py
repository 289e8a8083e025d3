"""Run each page's copied code blocks, in page order, as a reader pasting them would.

Usage: ``python run_copies.py [--workers N] [--timeout S] FOLDER [FOLDER ...]``

Each ``FOLDER`` is one page. Its ``blocks.json`` holds a list of ``{"text": ..., "session":
bool}``, what the copy buttons copied. A session (the copy of a ``>>>`` block) is typed line by
line into :class:`code.InteractiveConsole`, which behaves as the classic ``python`` prompt of
3.10-3.12: a compound statement ends only at a blank line. Any other block is run whole, as a
script or a notebook cell runs it. A page's blocks share one namespace, as in one interpreter.

Written to the folder: ``results.json``, one entry per block, ``null`` when it ran, else
``{"error": "Type: message", "syntax": bool, "line": "the line that failed"}``; and
``output.txt``, what the page printed (a crash's message is there).

Each page runs in its own process, with the folder as its working directory and
``COURSEKIT_FIGURE_DIR`` inside it, forked from this one after it imported torch, NumPy and
matplotlib and nothing else. Importing them is most of a fresh Python's start (about 2 s of CPU,
for each of some 35 pages); a process that has only imported them is as fresh as a new
interpreter for the page: its namespace is empty and torch's settings are untouched, so nothing
one page imports, defines or switches (``torch.set_default_dtype``) reaches another.
"""

from __future__ import annotations

import argparse
import code
import contextlib
import io
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path

FIGURE_DIR_ENV = "COURSEKIT_FIGURE_DIR"  # coursekit.figures.FIGURE_DIR_ENV, not imported here


class RecordingConsole(code.InteractiveConsole):
    """The classic prompt, recording each exception instead of only printing it."""

    def __init__(self, namespace: dict) -> None:
        super().__init__(locals=namespace, filename="<stdin>")
        self.errors: list[BaseException] = []

    def showsyntaxerror(self, *args, **kwargs) -> None:
        self.errors.append(sys.exc_info()[1])

    def showtraceback(self, *args, **kwargs) -> None:
        self.errors.append(sys.exc_info()[1])


def _describe(error: BaseException, line: str) -> dict:
    # The last line, "Type: message"; a SyntaxError's line and caret come as "line".
    return {"error": traceback.format_exception_only(error)[-1].strip(),
            "syntax": isinstance(error, SyntaxError), "line": line}


def paste_session(console: RecordingConsole, text: str) -> dict | None:
    """Type ``text`` into the prompt line by line; the first exception it raised, if any.

    Material's copy drops trailing whitespace, so a copy never ends with a blank line: the
    reader's own Enter after the paste ends the last statement, the blank line pushed here.
    """
    console.errors.clear()
    first: dict | None = None
    for line in text.split("\n") + [""]:
        try:
            console.push(line)
        except SystemExit as error:  # the prompt lets it through: the reader's Python quits
            console.resetbuffer()
            return first or _describe(error, line)
        if console.errors and first is None:
            first = _describe(console.errors[0], line)
    if console.buffer:  # still waiting for more: an open bracket or string
        unfinished = "\n".join(console.buffer)
        console.resetbuffer()
        first = first or {"error": "the copy ends inside an unfinished statement",
                          "syntax": True, "line": unfinished.splitlines()[0]}
    return first


def run_block(namespace: dict, text: str, index: int) -> dict | None:
    """Run a plain (definition) block whole; the exception it raised, if any."""
    try:
        exec(compile(text, f"<block {index}>", "exec"), namespace)
    except SyntaxError as error:
        return _describe(error, error.text or "")
    except BaseException as error:  # SystemExit included: the reader's Python would stop
        frames = [f for f in traceback.extract_tb(error.__traceback__)
                  if f.filename == f"<block {index}>"]
        line = text.split("\n")[frames[-1].lineno - 1] if frames else ""
        return _describe(error, line)
    return None


def run_page(blocks: list[dict]) -> list[dict | None]:
    """Run one page's blocks in one namespace; for each, ``None`` or what it raised."""
    namespace: dict = {"__name__": "__main__"}
    console = RecordingConsole(namespace)
    results = []
    for index, block in enumerate(blocks):
        # What the blocks print is the page's business (Sybil checks it), not this run's.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            if block["session"]:
                results.append(paste_session(console, block["text"]))
            else:
                results.append(run_block(namespace, block["text"], index))
    return results


def _run_page_in_child(folder: Path) -> None:
    """In the forked process: become a fresh Python in ``folder``, run the page, exit."""
    os.chdir(folder)
    os.environ[FIGURE_DIR_ENV] = str(folder / "figures")
    output = os.open(folder / "output.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(output, 1)
    os.dup2(output, 2)
    status = 1
    try:
        blocks = json.loads((folder / "blocks.json").read_text(encoding="utf-8"))
        (folder / "results.json").write_text(json.dumps(run_page(blocks)), encoding="utf-8")
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)  # no cleanup of what the parent owns


def run_pages(folders: list[Path], workers: int, timeout: float) -> None:
    """Run each page folder in its own forked process, ``workers`` at a time."""
    waiting = list(folders)
    running: dict[int, tuple[Path, float]] = {}  # pid -> (folder, deadline)
    while waiting or running:
        while waiting and len(running) < workers:
            folder = waiting.pop(0).resolve()
            pid = os.fork()
            if pid == 0:
                _run_page_in_child(folder)
            running[pid] = (folder, time.monotonic() + timeout)
        pid, _status = os.waitpid(-1, os.WNOHANG)
        if pid:
            del running[pid]
            continue
        for pid, (folder, deadline) in list(running.items()):
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                with open(folder / "output.txt", "a", encoding="utf-8") as output:
                    output.write(f"\nkilled after {timeout:.0f} s\n")
        time.sleep(0.05)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for one page")
    parser.add_argument("folders", nargs="+", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    # One thread each: two pages at once on two cores; more threads only fight for them.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import matplotlib.pyplot  # noqa: F401  (see the module docstring: the slow imports, once)
    import numpy  # noqa: F401
    import torch  # noqa: F401

    run_pages(args.folders, args.workers, args.timeout)


if __name__ == "__main__":
    sys.path.pop(0)  # this script's folder, tests/: a reader's Python does not have it
    main(sys.argv[1:])
