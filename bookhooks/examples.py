"""How the book's examples are collected: the one Sybil setup shared by pytest and the site build."""

from __future__ import annotations

import contextlib
import io
from doctest import ELLIPSIS, NORMALIZE_WHITESPACE
from pathlib import Path
from unittest import SkipTest

import sybil.evaluators.doctest
from sybil import Sybil
from sybil.evaluators.doctest import NUMBER
from sybil.evaluators.python import PythonEvaluator
from sybil.parsers.markdown import (
    ClearNamespaceParser,
    CodeBlockParser,
    PythonCodeBlockParser,
    SkipParser,
)
from sybil.parsers.rest import DocTestParser

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
    place on a page. Make such a block a ``>>>`` session, so that its output is compared."""

    def __call__(self, example) -> str | None:
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


chapters = Sybil(
    parsers=[
        _python_blocks(),
        SkipParser(),
        ClearNamespaceParser(),
    ],
    path=str(ROOT / "docs"),
    patterns=["*.md"],
    name="chapters",
    teardown=_restore_defaults,
)

docstrings = Sybil(
    parsers=[DocTestParser(optionflags=OPTIONFLAGS)],
    path=str(ROOT / "coursekit"),
    patterns=["*.py"],
    name="docstrings",
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
    return ran
