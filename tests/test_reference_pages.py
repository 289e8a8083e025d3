"""Every public module of coursekit has an API reference page, and the nav lists it."""

import pkgutil

import yaml

import coursekit
from bookhooks.examples import ROOT

PUBLIC_MODULES = sorted(
    m.name for m in pkgutil.iter_modules(coursekit.__path__)
    if not m.name.startswith("_")
)


def nav_paths(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from nav_paths(item)
    elif isinstance(node, dict):
        for value in node.values():
            yield from nav_paths(value)


def mkdocs_nav():
    # mkdocs.yml may hold !!python tags in other projects; ours is plain YAML.
    return set(nav_paths(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]))


def test_every_public_module_has_a_reference_page():
    missing = []
    for name in PUBLIC_MODULES:
        page = ROOT / "docs" / "reference" / f"{name}.md"
        if not page.exists() or f"::: coursekit.{name}" not in page.read_text():
            missing.append(f"docs/reference/{name}.md with '::: coursekit.{name}'")
    assert not missing, "missing reference pages: " + ", ".join(missing)


def test_every_reference_page_is_in_the_nav():
    nav = mkdocs_nav()
    pages = sorted(p.relative_to(ROOT / "docs").as_posix()
                   for p in (ROOT / "docs" / "reference").glob("*.md"))
    assert [p for p in pages if p not in nav] == []


def test_the_reference_index_links_every_module_page():
    index = (ROOT / "docs" / "reference" / "index.md").read_text()
    missing = [name for name in PUBLIC_MODULES if f"]({name}.md)" not in index]
    assert missing == []
