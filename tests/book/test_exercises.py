"""Every chapter ends with ``## Exercises``: 6 to 12 numbered exercises, each with a checked answer.

An exercise is a top-level numbered list item of the section; its solution is a collapsed block
``??? success "Solution"`` inside the item, holding at least one ``python`` fence that starts
with ``>>>``. Sybil runs that fence like any other on the page (it reads indented fences), so
the answer key is checked against the package on every run and cannot drift from it.
"""

from __future__ import annotations

import doctest
import re
from pathlib import Path

import pytest

from bookhooks.examples import ROOT, chapters

DOCS = ROOT / "docs"
# A chapter is a page directly in one of the book's parts (not the home, about or authors' pages).
PARTS = ("applications", "maths", "training", "blocks", "language")
CHAPTERS = sorted(page for part in PARTS for page in (DOCS / part).glob("*.md"))
FEWEST, MOST = 6, 12

FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
HEADING = re.compile(r"^## (?P<title>.+?)\s*$")
EXERCISE = re.compile(r"^(?P<number>\d+)\. \S")
SOLUTION = re.compile(r'^(?P<indent>[ \t]+)\?\?\? success "Solution"\s*$')


def headings(lines: list[str]) -> list[tuple[int, str]]:
    """The ``##`` headings of a page, as (line index, title), leaving out those in fences."""
    found, fence = [], None
    for index, line in enumerate(lines):
        opening = FENCE.match(line)
        if opening and fence is None:
            fence = opening.group(1)
        elif opening and line.strip() == fence[0] * len(line.strip()) and \
                len(line.strip()) >= len(fence):
            fence = None
        elif fence is None and (match := HEADING.match(line)):
            found.append((index, match["title"]))
    return found


def exercise_problems(page: Path) -> list[str]:
    """What is wrong with the page's ``## Exercises`` section, or ``["missing"]`` without one."""
    text = page.read_text(encoding="utf-8")
    lines = text.split("\n")
    found = headings(lines)
    starts = [index for index, title in found if title == "Exercises"]
    if not starts:
        return ["missing"]
    problems = []
    if found[-1][1] != "Exercises":
        problems.append(f"'## Exercises' is not the last ## section (then: {found[-1][1]!r})")
    start = starts[-1]
    end = next((index for index, _ in found if index > start), len(lines))
    items = [(index, EXERCISE.match(lines[index])) for index in range(start + 1, end)]
    items = [(index, match) for index, match in items if match]
    numbers = [int(match["number"]) for _, match in items]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"exercises must be numbered 1, 2, 3, ...: got {numbers}")
    if not FEWEST <= len(numbers) <= MOST:
        problems.append(f"{len(numbers)} exercises; a chapter has {FEWEST} to {MOST}")
    # The line of each >>> statement Sybil collects: a checked solution, not a shown one.
    sessions = {text.count("\n", 0, example.region.start) for example in
                chapters.parse(page).examples()
                if isinstance(example.region.parsed, doctest.Example)}
    bounds = [index for index, _ in items] + [end]
    for (first, match), last in zip(items, bounds[1:], strict=False):
        body = lines[first + 1:last]
        solution = next((i for i, line in enumerate(body) if SOLUTION.match(line)), None)
        where = f"exercise {match['number']} (line {first + 1})"
        if solution is None:
            problems.append(f'{where}: no indented ??? success "Solution" block')
            continue
        checked = [first + 1 + i for i in range(solution, len(body))
                   if first + 1 + i in sessions]
        if not checked:
            problems.append(f"{where}: its solution holds no python >>> fence that Sybil runs")
    return problems


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: str(p.relative_to(DOCS)))
def test_a_chapter_ends_with_its_exercises(page):
    problems = exercise_problems(page)
    if problems == ["missing"]:
        pytest.fail(f"{page.relative_to(ROOT)} has no '## Exercises' section")
    assert not problems, f"{page.relative_to(ROOT)}:\n" + "\n".join(problems)


def test_the_book_has_chapters_in_every_part():
    assert {page.parent.name for page in CHAPTERS} == set(PARTS)


def _page(tmp_path: Path, exercises: int, solution: str) -> Path:
    items = "".join(f"{n}. Compute {n} + 1.\n\n{solution.format(n=n, m=n + 1)}\n"
                    for n in range(1, exercises + 1))
    page = tmp_path / "page.md"
    page.write_text(f"# T\n\n## Idea\n\nText.\n\n## Exercises\n\n{items}", encoding="utf-8")
    return page


CHECKED = '    ??? success "Solution"\n\n        ```python\n        >>> {n} + 1\n        {m}\n' \
          "        ```\n"


def test_the_check_accepts_a_good_section_and_names_what_is_wrong(tmp_path):
    assert exercise_problems(_page(tmp_path, 6, CHECKED)) == []
    assert exercise_problems(_page(tmp_path, 5, CHECKED)) == [
        "5 exercises; a chapter has 6 to 12"]
    unchecked = CHECKED.replace("```python", "```py")
    assert "holds no python >>> fence" in exercise_problems(_page(tmp_path, 6, unchecked))[0]
    bare = "    The answer is {m}.\n"
    assert "no indented ??? success" in exercise_problems(_page(tmp_path, 6, bare))[0]
    page = _page(tmp_path, 6, CHECKED)
    page.write_text(page.read_text(encoding="utf-8") + "\n## Summary\n\nText.\n",
                    encoding="utf-8")
    assert exercise_problems(page)[0].startswith("'## Exercises' is not the last")
    page.write_text("# T\n\n```markdown\n## Exercises\n```\n", encoding="utf-8")
    assert exercise_problems(page) == ["missing"]  # a heading inside a fence is not one
