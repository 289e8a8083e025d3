"""The API reference, generated from the package tree: a page per public module, its nav, its index.

``coursekit/<part>/<module>.py`` gets the page ``reference/<part>/<module>.md`` (a top-level
module, ``reference/<module>.md``), which renders the module's docstrings with mkdocstrings
and links the chapters that import it. The reference's nav and its index page are built from
the same walk, so a public module without a page, or a page missing from the nav, cannot
happen. Nothing is imported: the summaries are read from the files with ``ast``.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "coursekit"
DOCS = ROOT / "docs"
NAV_TITLE = "Reference"
TOP_LEVEL_TITLE = "Book tools"
# The parts of the book, in reading order, which is also the order they may depend on each
# other in (tests/test_layering.py): a part imports only from the parts before it.
PARTS = ["maths", "training", "blocks", "language", "applications"]


@dataclass(frozen=True)
class Module:
    name: str  # coursekit.maths.linalg
    part: str | None  # maths, or None for a top-level module
    summary: str  # the docstring's first line
    named_chapters: tuple[str, ...] = ()  # chapters the docstring names: maths/calculus.md

    @property
    def page(self) -> str:
        """The page's path under ``docs/``: ``reference/maths/linalg.md``."""
        return "reference/" + "/".join(self.name.split(".")[1:]) + ".md"


def _docstring(path: Path) -> str:
    return (ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or "").strip()


def _summary(path: Path) -> str:
    docstring = _docstring(path)
    return docstring.splitlines()[0] if docstring else ""


CHAPTER_PATH = re.compile(r"\bdocs/([A-Za-z0-9_/-]+\.md)\b")


def _named_chapters(path: Path) -> tuple[str, ...]:
    """The chapters a module's docstring names by their path (``docs/maths/calculus.md``)."""
    return tuple(dict.fromkeys(CHAPTER_PATH.findall(_docstring(path))))


def parts(package: Path = PACKAGE) -> dict[str, str]:
    """Each part (a subpackage) in book order, with its title: the words before the colon of
    its docstring's first line."""
    found = {}
    inits = [i for i in package.glob("*/__init__.py") if not i.parent.name.startswith("_")]
    unknown = sorted(i.parent.name for i in inits if i.parent.name not in PARTS)
    if unknown:
        raise ValueError(f"subpackages {unknown} are not parts named in PARTS ({PARTS})")
    for init in sorted(inits, key=lambda i: PARTS.index(i.parent.name)):
        summary = _summary(init)
        found[init.parent.name] = summary.split(":")[0] if ":" in summary else init.parent.name
    return found


def public_modules(package: Path = PACKAGE) -> list[Module]:
    """Every public module, the parts' in book order, then the top-level ones."""
    modules = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package.parent).with_suffix("").parts
        if any(piece.startswith("_") for piece in relative) or len(relative) > 3:
            continue  # private modules, __init__ and __main__
        part = relative[1] if len(relative) == 3 else None
        modules.append(Module(".".join(relative), part, _summary(path), _named_chapters(path)))
    order = {part: i for i, part in enumerate(PARTS)}
    return sorted(modules, key=lambda m: (m.part is None, order.get(m.part, 0), m.name))


def chapters_using(module: Module, docs: Path = DOCS) -> list[Path]:
    """The chapters (outside the reference) whose text names the module."""
    pattern = module.name
    return sorted(p for p in docs.rglob("*.md")
                  if "reference" not in p.relative_to(docs).parts
                  and _names(p.read_text(encoding="utf-8"), pattern))


def _names(text: str, module: str) -> bool:
    start = text.find(module)
    while start != -1:
        end = start + len(module)
        if end == len(text) or not (text[end].isalnum() or text[end] == "_"):
            return True
        start = text.find(module, end)
    return False


def _title(page: Path) -> str:
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return page.stem


def _link(from_page: str, to_page: str) -> str:
    return os.path.relpath(to_page, os.path.dirname(from_page)).replace(os.sep, "/")


def module_page(module: Module, docs: Path = DOCS) -> str:
    """The Markdown of a module's reference page.

    The page opens with the module's docstring, after a line that links the chapters using the
    module, less those the docstring names itself (``docs/<chapter>.md``, which the site links):
    a docstring that says which chapter teaches the module is not followed by a generated line
    that says it again.
    """
    chapters = [c for c in chapters_using(module, docs)
                if c.relative_to(docs).as_posix() not in module.named_chapters]
    lines = [f"# {module.name}", ""]
    if chapters:
        links = ", ".join(f"[{_title(c)}]({_link(module.page, c.relative_to(docs).as_posix())})"
                          for c in chapters)
        lead = "Used in" if module.named_chapters else "Taught in"
        lines += [f"{lead} {links}.", ""]
    lines += [f"::: {module.name}", ""]
    return "\n".join(lines)


def index_page(package: Path = PACKAGE, docs: Path = DOCS) -> str:
    """The reference's index: one table per part, each module with its summary and chapters."""
    titles = parts(package)
    lines = ["# API reference", "",
             "The reference of the `coursekit` package, generated from its docstrings and its",
             "tree. Every example in a docstring runs in a fresh interpreter under the test "
             "suite, like the examples in the chapters, and its output is checked.", ""]
    modules = public_modules(package)
    groups = [(titles[p], [m for m in modules if m.part == p]) for p in titles]
    groups.append((TOP_LEVEL_TITLE, [m for m in modules if m.part is None]))
    for title, members in groups:
        if not members:
            continue
        lines += [f"## {title}", "", "| Module | What it holds | Chapters |", "|---|---|---|"]
        for m in members:
            chapters = ", ".join(
                f"[{_title(c)}]({_link('reference/index.md', c.relative_to(docs).as_posix())})"
                for c in chapters_using(m, docs))
            lines.append(f"| [{m.name}]({_link('reference/index.md', m.page)}) | "
                         f"{m.summary} | {chapters} |")
        lines.append("")
    return "\n".join(lines)


def nav(package: Path = PACKAGE) -> list:
    """The reference's nav: the index, then one section per part and one for the rest."""
    titles = parts(package)
    modules = public_modules(package)
    sections: list = ["reference/index.md"]
    for part, title in titles.items():
        members = [{m.name: m.page} for m in modules if m.part == part]
        if members:
            sections.append({title: members})
    rest = [{m.name: m.page} for m in modules if m.part is None]
    if rest:
        sections.append({TOP_LEVEL_TITLE: rest})
    return sections


def pages(package: Path = PACKAGE, docs: Path = DOCS) -> dict[str, str]:
    """Every generated page, by its path under ``docs/``."""
    generated = {"reference/index.md": index_page(package, docs)}
    for module in public_modules(package):
        generated[module.page] = module_page(module, docs)
    return generated
