"""How the book's examples are collected: one Sybil setup, shared by pytest and the site build."""

from __future__ import annotations

import contextlib
import io
from bisect import bisect_right
from doctest import ELLIPSIS, NORMALIZE_WHITESPACE
from pathlib import Path
from unittest import SkipTest

import sybil.evaluators.doctest
from sybil import Document, Example, Sybil
from sybil.document import PythonDocStringDocument
from sybil.evaluators.doctest import NUMBER
from sybil.evaluators.python import PythonEvaluator
from sybil.example import NotEvaluated
from sybil.parsers.markdown import (
    ClearNamespaceParser,
    CodeBlockParser,
    PythonCodeBlockParser,
    SkipParser,
)
from sybil.parsers.rest import DocTestParser
from sybil.typing import Parser

from bookhooks import glue as glue_module
from bookhooks.glue import Glue

ROOT = Path(__file__).resolve().parent.parent

# NUMBER lets a printed float match to the precision written on the page (0.333 matches 1/3).
OPTIONFLAGS = ELLIPSIS | NORMALIZE_WHITESPACE | NUMBER


def _rounds_to(expected: str, actual: str, tolerance: float = 1e-12) -> bool:
    """NUMBER as the page promises it: the actual value rounds to the digits written.

    Sybil (like pytest) accepts a difference of a whole unit in the last digit written, so a
    page saying ``tensor(12.)`` would pass for 11.0; half a unit is what rounding allows.
    """
    return abs(float(expected) - float(actual)) <= tolerance / 2 * (1 + 1e-9)


sybil.evaluators.doctest.float_approx_equal = _rounds_to


class DefinitionEvaluator(PythonEvaluator):
    """Run a plain (non-``>>>``) block, and fail it if it prints: output nobody checks has no
    place on a page. Make such a block a ``>>>`` session, so that its output is compared.

    Plain blocks, the hidden ones included, may call ``glue(name, value)`` (``bookhooks.glue``)
    to put a value from the run into the page's prose."""

    def __call__(self, example) -> str | None:
        if "glue" not in example.namespace:
            example.namespace["glue"] = Glue(Path(example.path))
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            super().__call__(example)
        if printed.getvalue():
            return ("a plain python block printed output that the page does not check:\n"
                    f"{printed.getvalue()[:300]}\nwrite it as a >>> session so the output "
                    "is shown and compared")
        return None


def _python_blocks() -> PythonCodeBlockParser:
    parser = PythonCodeBlockParser(doctest_optionflags=OPTIONFLAGS)
    parser.codeblock_parser = CodeBlockParser("python", DefinitionEvaluator())
    return parser


def _restore_defaults(namespace: dict) -> None:
    """After each page: a page may switch torch to float64; the next page starts as usual."""
    import torch

    torch.set_default_dtype(torch.float32)


def _check_glue(namespace: dict) -> None:
    """After a page ran: every ``{glue}`name``` in its prose must have been recorded."""
    recorder = namespace.get("glue")
    if not isinstance(recorder, Glue):
        return
    text = recorder.page.read_text(encoding="utf-8")
    glue_module.fill(text, recorder.values, str(recorder.page))


def _after_page(namespace: dict) -> None:
    _restore_defaults(namespace)
    _check_glue(namespace)


chapters = Sybil(
    parsers=[
        _python_blocks(),
        SkipParser(),
        ClearNamespaceParser(),
    ],
    path=str(ROOT / "docs"),
    patterns=["*.md"],
    name="chapters",
    teardown=_after_page,
)


class FreshDocstringDocument(PythonDocStringDocument):
    """A module's docstrings, each run as a student runs it: pasted into a fresh Python.

    Sybil's own ``.py`` document imports the module and runs every docstring in its globals,
    one shared namespace per file, so an example that forgets ``import torch`` (or imports it
    only in an earlier docstring) passes under pytest and raises ``NameError`` when copied.
    Here the module is not imported, and the namespace is emptied (Python adds only the
    builtins) whenever an example from a new docstring starts.
    """

    def __init__(self, text: str, path: str) -> None:
        super().__init__(text, path)
        self.pop_evaluator(self.import_document)
        self.push_evaluator(self._start_each_docstring_afresh)
        self.docstring_starts: list[int] = []
        self._docstring_running: int | None = None

    @classmethod
    def parse(cls, path: str, *parsers: Parser, encoding: str = "utf-8") -> Document:
        document = super().parse(path, *parsers, encoding=encoding)
        document.docstring_starts = sorted(
            start for start, _end, _text in cls.extract_docstrings(document.text))
        return document

    def _start_each_docstring_afresh(self, example: Example) -> None:
        """Empty the namespace at a docstring's first example, then let the doctest run it."""
        docstring = bisect_right(self.docstring_starts, example.start)
        if docstring != self._docstring_running:
            # clear(), not a new dict: every Example holds this same dict. The docstrings
            # Sybil has no setup or fixtures, so nothing else lives here to be kept.
            self.namespace.clear()
            self._docstring_running = docstring
        raise NotEvaluated()


docstrings = Sybil(
    parsers=[DocTestParser(optionflags=OPTIONFLAGS)],
    path=str(ROOT / "coursekit"),
    patterns=["*.py"],
    name="docstrings",
    document_types={".py": FreshDocstringDocument},
)


def run_page(path: Path) -> int:
    """Run every example on one chapter, in order, as pytest would; return how many ran.

    A failing example raises with the page's file and line; a skipped one is passed over.
    """
    document = chapters.parse(Path(path))
    ran = 0
    try:
        for example in document.examples():
            try:
                example.evaluate()
            except SkipTest:
                continue
            ran += 1
    finally:
        _restore_defaults(document.namespace)
    _check_glue(document.namespace)
    return ran
