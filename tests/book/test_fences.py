"""Zero silent skips: every Python fence in docs/ is run by Sybil, and every skip says why.

Sybil only collects a fence whose info string is exactly ``python``; ``py``, ``pycon`` or
``python title="x.py"`` would be shown on the site but never run. These tests lex the pages the
way Sybil does and fail on any such fence, naming its file and line.
"""

import re
from pathlib import Path

import pytest
from sybil import Document
from sybil.parsers.markdown.lexers import RawFencedCodeBlockLexer

from bookhooks.examples import ROOT, chapters

DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
PYTHON_LEXERS = {"python", "python3", "py", "py3", "pycon", "ipython", "ipython3", "pytb"}
ANY_FENCE = RawFencedCodeBlockLexer(
    info_pattern=re.compile(r"(?P<info>[^\n]*)$\n", re.MULTILINE), mapping={"info": "info"}
)
SKIP = re.compile(r"<!--+\s*skip:\s*(?P<action>\w+)(?P<arguments>[^\n]*?)\s*(?:-->|$)",
                  re.MULTILINE)


def language(info: str) -> str:
    """The lexer name of a fence's info string: ``python title="x"`` -> ``python``."""
    words = info.strip().lstrip("{").lstrip(".").split()
    return words[0].lower().rstrip("}") if words else ""


def python_fences(page: Path):
    document = Document(page.read_text(encoding="utf-8"), str(page))
    for region in ANY_FENCE(document):
        if language(region.lexemes["info"]) in PYTHON_LEXERS:
            yield document, region


def line_of(document: Document, offset: int) -> int:
    return document.text.count("\n", 0, offset) + 1


def test_docs_have_pages():
    assert len(PAGES) >= 4, "expected the chapters under docs/"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_fence_is_run_by_sybil(page):
    collected = [example.region for example in chapters.parse(page).examples()]
    problems = []
    for document, fence in python_fences(page):
        where = f"{page.relative_to(ROOT)}:{line_of(document, fence.start)}"
        info = fence.lexemes["info"].strip()
        if info != "python":
            problems.append(f"{where}: fence ```{info} is never run; fence it exactly ```python")
        elif not any(fence.start <= r.start < fence.end for r in collected):
            problems.append(f"{where}: python fence was not collected (empty block?)")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_skip_gives_a_reason(page):
    text = page.read_text(encoding="utf-8")
    problems = []
    for match in SKIP.finditer(text):
        where = f"{page.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}"
        action, arguments = match["action"], match["arguments"].strip()
        if action in ("next", "start") and not re.search(r"""^["']|reason\s*=""", arguments):
            problems.append(f"{where}: 'skip: {action}' needs a reason, e.g. "
                            f"<!-- skip: {action} \"needs a CUDA GPU\" -->")
        if action == "next":
            following = text[match.end():].lstrip().splitlines()[:2]
            if len(following) == 2 and following[0].startswith("```") and \
                    following[1].startswith(">>>"):
                problems.append(f"{where}: 'skip: next' before a >>> block skips only its "
                                "first statement; use skip: start / skip: end around it")
    assert not problems, "\n".join(problems)


def test_the_fence_check_catches_a_hidden_block(tmp_path):
    page = tmp_path / "page.md"
    page.write_text('# t\n\n```py\nprint(1)\n```\n\n```python title="x.py"\nx = 1\n```\n'
                    "\n```python\n>>> 1 + 1\n2\n```\n", encoding="utf-8")
    infos = [fence.lexemes["info"].strip() for _, fence in python_fences(page)]
    assert infos == ["py", 'python title="x.py"', "python"]
    collected = [e.region for e in chapters.parse(page).examples()]
    assert len(collected) == 1  # only the exact `python` fence runs


LABS = sorted((DOCS / "labs").glob("*.py"))


@pytest.mark.parametrize("lab", LABS, ids=lambda p: str(p.relative_to(ROOT)))
def test_labs_hold_no_latex(lab):
    """Lab text cells are rendered by nbconvert, not converted to MathML: LaTeX would show raw."""
    import jupytext

    notebook = jupytext.read(lab, fmt="py:percent")
    raw = [cell.source for cell in notebook.cells
           if cell.cell_type == "markdown" and re.search(r"\$[^$\n]+\$|\\\(|\\\[", cell.source)]
    assert not raw, f"{lab.name}: LaTeX in a text cell would show as raw $...$: {raw[0][:80]!r}"
