"""Code that fits: no line of a chapter's code block or a docstring example is over 88 characters.

At 1280 px a code block of the site holds 88 characters without scrolling; a longer line hides its
end (often a comment or an output) behind a scroll bar, and on a phone most of it. A long output is
shortened by the example itself (round it, print fewer items, print a shape), never wrapped: the
page shows what the example printed.
"""

from __future__ import annotations

import ast
import doctest
import re
from pathlib import Path

import pytest
from sybil import Document
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

from bookhooks.examples import ROOT

LIMIT = 88
PAGES = sorted((ROOT / "docs").rglob("*.md"))
LABS = sorted((ROOT / "docs" / "labs").glob("*.py"))
MODULES = sorted((ROOT / "coursekit").rglob("*.py"))
FENCE = RawFencedCodeBlockLexer(
    info_pattern=re.compile(r"(?P<info>[^\n]*)$\n", re.MULTILINE),
    mapping={"info": "info", "source": "source"},
)


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


def long_lines(lines: list[str], first_line: int, where: str) -> list[str]:
    return [f"{where}:{first_line + i}: {len(line)} characters: {line.strip()[:60]}..."
            for i, line in enumerate(lines) if len(line) > LIMIT]


def page_problems(page: Path) -> list[str]:
    text = page.read_text(encoding="utf-8")
    document = Document(text, str(page))
    problems = []
    for fence in FENCE(document):
        body = str(fence.lexemes["source"])
        # the body starts on the line after the fence's opening line
        first = text.count("\n", 0, fence.start) + 2
        problems += long_lines(body.splitlines(), first, shown(page))
    return problems


def docstring_problems(module: Path) -> list[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    parser = doctest.DocTestParser()
    problems = []
    nodes = [tree] + [n for n in ast.walk(tree)
                      if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    for node in nodes:
        docstring = ast.get_docstring(node, clean=False)
        if not docstring:
            continue
        start = node.body[0].lineno if node.body else 1
        where = shown(module)
        for example in parser.get_examples(docstring):
            lines = (example.source + example.want).splitlines()
            indent = " " * example.indent
            problems += long_lines([indent + line for line in lines], start + example.lineno,
                                   where)
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_line_of_a_chapter_code_block_is_over_88_characters(page):
    problems = page_problems(page)
    assert not problems, "\n".join(problems)


def lab_code_lines(lab: Path) -> list[tuple[int, str]]:
    """The lines of a jupytext percent-format lab's code cells (Markdown cells are prose)."""
    code, found = True, []
    for number, line in enumerate(lab.read_text(encoding="utf-8").splitlines(), start=1):
        if line.startswith("# %%"):
            code = "[markdown]" not in line
        elif code:
            found.append((number, line))
    return found


@pytest.mark.parametrize("lab", LABS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_line_of_a_lab_code_cell_is_over_88_characters(lab):
    problems = [problem for number, line in lab_code_lines(lab)
                for problem in long_lines([line], number, shown(lab))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("module", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_line_of_a_docstring_example_is_over_88_characters(module):
    problems = docstring_problems(module)
    assert not problems, "\n".join(problems)


def test_the_checks_see_a_long_line(tmp_path):
    long = "x = " + "1 + " * 30 + "1"
    page = tmp_path / "page.md"
    page.write_text(f"# A page\n\nSome prose.\n\n```python\n{long}\n```\n", encoding="utf-8")
    module = tmp_path / "module.py"
    module.write_text(f'def f():\n    """Add.\n\n    >>> {long}\n    """\n', encoding="utf-8")
    assert [p.split(": ")[0] for p in page_problems(page)] == ["page.md:6"]
    assert [p.split(": ")[0] for p in docstring_problems(module)] == ["module.py:4"]
