"""How the book's examples are collected: the one Sybil setup shared by pytest and the site build."""

from __future__ import annotations

from doctest import ELLIPSIS, NORMALIZE_WHITESPACE
from pathlib import Path
from unittest import SkipTest

from sybil import Sybil
from sybil.evaluators.doctest import NUMBER
from sybil.parsers.markdown import ClearNamespaceParser, PythonCodeBlockParser, SkipParser
from sybil.parsers.rest import DocTestParser

ROOT = Path(__file__).resolve().parent.parent

# NUMBER lets a printed float match to the precision written on the page (0.333 matches 1/3).
OPTIONFLAGS = ELLIPSIS | NORMALIZE_WHITESPACE | NUMBER

def _restore_defaults(namespace: dict) -> None:
    """After each page: a page may switch torch to float64; the next page starts as usual."""
    import torch

    torch.set_default_dtype(torch.float32)


chapters = Sybil(
    parsers=[
        PythonCodeBlockParser(doctest_optionflags=OPTIONFLAGS),
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
