"""The API reference is generated from the package tree (bookhooks.reference): a page for every
public module, all of them in the nav and in the index, each linking the chapters that use it."""

import ast
import re

import yaml

from bookhooks import mkdocs_hooks, reference
from bookhooks.examples import ROOT


def nav_paths(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from nav_paths(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from nav_paths(value)


def public_module_files():
    """Public modules found by walking the files, independently of bookhooks.reference."""
    names = []
    for path in (ROOT / "coursekit").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if not any(p.startswith("_") for p in parts):
            names.append(".".join(parts))
    return sorted(names)


def test_every_public_module_gets_a_page_in_the_nav_and_the_index():
    pages = reference.pages()
    nav = set(nav_paths(reference.nav()))
    index = pages["reference/index.md"]
    modules = public_module_files()
    assert len(modules) >= 20
    for name in modules:
        page = "reference/" + "/".join(name.split(".")[1:]) + ".md"
        assert f"::: {name}\n" in pages[page], page
        assert page in nav, page
        assert f"[{name}](" in index, name


def test_the_nav_of_mkdocs_yml_gets_the_generated_reference():
    config = {"nav": yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]}
    mkdocs_hooks.on_config(config)
    entry = next(item for item in config["nav"] if reference.NAV_TITLE in item)
    assert entry[reference.NAV_TITLE] == reference.nav()
    sections = [next(iter(s)) for s in entry[reference.NAV_TITLE][1:]]
    assert sections[:2] == ["Math", "Training"] and sections[-1] == "Book tools"
    assert sections.index("Deep learning today") > 1  # applications come after the basics


def test_a_module_page_links_the_chapters_that_import_it():
    page = reference.pages()["reference/maths/linalg.md"]
    assert "[Linear algebra](../../maths/linear-algebra.md)" in page


def test_a_new_module_gets_a_page_without_any_list_edited_by_hand(tmp_path):
    package = tmp_path / "coursekit"
    (package / "maths").mkdir(parents=True)
    (package / "maths" / "__init__.py").write_text('"""Math: numbers."""\n')
    (package / "maths" / "norms.py").write_text('"""Norms of vectors."""\n')
    (package / "maths" / "_private.py").write_text('"""Not API."""\n')
    (package / "figures.py").write_text('"""Figures."""\n')
    docs = tmp_path / "docs"
    (docs / "maths").mkdir(parents=True)
    (docs / "maths" / "norms.md").write_text("# Norms\n\nfrom coursekit.maths.norms import x\n")
    pages = reference.pages(package, docs)
    assert sorted(pages) == ["reference/figures.md", "reference/index.md",
                             "reference/maths/norms.md"]
    row = ("| [coursekit.maths.norms](maths/norms.md) | Norms of vectors. "
           "| [Norms](../maths/norms.md) |")
    assert row in pages["reference/index.md"]
    assert reference.nav(package) == [
        "reference/index.md",
        {"Math": [{"coursekit.maths.norms": "reference/maths/norms.md"}]},
        {"Book tools": [{"coursekit.figures": "reference/figures.md"}]},
    ]


def test_a_module_page_does_not_name_again_the_chapter_its_docstring_names(tmp_path):
    package = tmp_path / "coursekit"
    (package / "maths").mkdir(parents=True)
    (package / "maths" / "__init__.py").write_text('"""Math: numbers."""\n')
    (package / "maths" / "norms.py").write_text(
        '"""Norms of vectors.\n\nThe chapter ``docs/maths/norms.md`` teaches them."""\n')
    (package / "maths" / "sums.py").write_text('"""Sums."""\n')
    docs = tmp_path / "docs"
    (docs / "maths").mkdir(parents=True)
    for chapter in ("norms", "other"):
        (docs / "maths" / f"{chapter}.md").write_text(
            f"# {chapter.title()}\n\nfrom coursekit.maths.norms import x\n"
            "from coursekit.maths.sums import y\n")
    pages = reference.pages(package, docs)
    norms = pages["reference/maths/norms.md"]
    assert "Used in [Other](../../maths/other.md)." in norms and "[Norms]" not in norms
    assert "Taught in [Norms](../../maths/norms.md), [Other](../../maths/other.md)." in pages[
        "reference/maths/sums.md"]


SPHINX_ROLE = re.compile(r":(?:func|class|meth|mod|attr|exc|data|obj):`[^`]*`")


def test_no_public_docstring_holds_a_sphinx_role_that_the_reference_would_show_raw():
    """mkdocstrings renders Markdown: ``:func:`name``` would show as is; write ``name``."""
    found = []
    for name in public_module_files():
        path = ROOT / (name.replace(".", "/") + ".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes = [tree] + [n for n in ast.walk(tree) if isinstance(
            n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        for node in nodes:
            docstring = ast.get_docstring(node) or ""
            for role in SPHINX_ROLE.findall(docstring):
                found.append(f"{name}.{getattr(node, 'name', '')}: {role}")
    assert not found, "\n".join(found)


def test_writing_a_chapter_sits_in_a_last_section_for_authors_after_the_reference():
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    titles = [next(iter(item)) for item in nav]
    assert titles[-2:] == [reference.NAV_TITLE, "For authors"]
    assert nav[-1]["For authors"] == [{"Writing a chapter": "writing-a-chapter.md"}]
    assert "writing-a-chapter.md" not in set(nav_paths(nav[:-1]))


def _returns_sections(obj):
    """Every (path, Returns or Yields section) of the public objects under ``obj``."""
    for member in obj.members.values():
        if member.is_alias or member.name.startswith("_"):
            continue
        if member.docstring is not None:
            for section in member.docstring.parse("google"):
                if section.kind.value in ("returns", "yields"):
                    yield member.path, section
        if member.is_module or member.is_class:
            yield from _returns_sections(member)


def test_a_returns_section_is_one_item_on_the_reference_pages():
    # Google style continues a Returns description on lines indented deeper than its first;
    # a continuation at the same indent becomes a second row of the reference page's table.
    import griffe

    package = griffe.load("coursekit", search_paths=[str(ROOT)])
    sections = list(_returns_sections(package))
    assert len(sections) > 50
    split = [f"{path}: {[item.description for item in section.value]}"
             for path, section in sections if len(section.value) > 1]
    assert not split, "\n".join(split)
