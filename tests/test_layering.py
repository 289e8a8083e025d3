"""The package's shape, read from its imports: parts depend one way, no cycles, no shims.

The parts of the book are subpackages of ``coursekit``, ranked in the order they may depend on
each other: a module may import from its own part and from a part ranked lower, never higher
(the math uses nothing else; applications may use training and the math). Private modules
(``_validation``) and top-level modules serve every part. No module imports a private name
from a public module, no two modules import each other (directly or round a circle), and no
module hides an import behind a module-level ``__getattr__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bookhooks.examples import ROOT
from bookhooks.reference import PARTS  # lowest first: a part imports from those before it


def module_name(path: Path, package_root: Path) -> str:
    parts = list(path.relative_to(package_root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, package: str) -> list[tuple[str, list[str], int]]:
    """Every import of ``package``'s modules in ``path``: (module, names taken, line)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    current = module_name(path, path_root(path, package))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names
                      if alias.name.split(".")[0] == package]
        elif isinstance(node, ast.ImportFrom):
            base = resolve(node, current, path.name == "__init__.py")
            if base.split(".")[0] != package:
                continue
            names = [alias.name for alias in node.names]
            found.append((base, names, node.lineno))
    return found


def path_root(path: Path, package: str) -> Path:
    for parent in path.parents:
        if parent.name == package:
            return parent
    raise ValueError(f"{path} is not inside a package named {package}")


def resolve(node: ast.ImportFrom, current: str, is_init: bool) -> str:
    if not node.level:
        return node.module or ""
    here = current.split(".") if is_init else current.split(".")[:-1]
    base = here[: len(here) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def part_of(module: str) -> str | None:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 2 and pieces[1] in PARTS else None


def is_private(module: str) -> bool:
    return any(piece.startswith("_") and piece != "__init__" for piece in module.split("."))


def problems(package_root: Path) -> list[str]:
    package = package_root.name
    files = sorted(package_root.rglob("*.py"))
    modules = {module_name(f, package_root) for f in files}
    graph: dict[str, set[str]] = {}
    found = []
    for path in files:
        here = module_name(path, package_root)
        where = path.relative_to(package_root.parent)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in tree.body):
            found.append(f"{where}: a module-level __getattr__ hides imports; import directly")
        for target, names, line in imports_of(path, package):
            # `from coursekit.maths import linalg` names a module, not an attribute.
            targets = [f"{target}.{n}" for n in names if f"{target}.{n}" in modules] or [target]
            for module in targets:
                if module != here and module in modules:
                    graph.setdefault(here, set()).add(module)
                mine, theirs = part_of(here), part_of(module)
                if theirs and (mine is None and not here.endswith("__main__")
                               or mine and PARTS.index(theirs) > PARTS.index(mine)):
                    found.append(f"{where}:{line}: {here} ({mine or 'top level'}) imports "
                                 f"{module} ({theirs}), against the direction of the parts")
            if not is_private(target):
                private = [n for n in names if n.startswith("_") and f"{target}.{n}" not in modules]
                if private:
                    found.append(f"{where}:{line}: imports private {', '.join(private)} from "
                                 f"public {target}; move it to a private module")
    found += [f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(graph)]
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules (depth-first search)."""
    seen, stack, on_stack, out = set(), [], set(), []

    def visit(node: str) -> None:
        seen.add(node)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in on_stack:
                out.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in seen:
                visit(nxt)
        stack.pop()
        on_stack.discard(node)

    for node in sorted(graph):
        if node not in seen:
            visit(node)
    return out


def test_the_package_keeps_its_layers():
    found = problems(ROOT / "coursekit")
    assert not found, "\n".join(found)


def test_every_part_is_a_subpackage_named_in_the_layer_order():
    subpackages = {p.parent.name for p in (ROOT / "coursekit").glob("*/__init__.py")}
    assert subpackages, "coursekit has no subpackages"
    assert subpackages <= set(PARTS), f"parts not ranked in PARTS: {subpackages - set(PARTS)}"


def write_package(root: Path, files: dict[str, str]) -> Path:
    package = root / "pkg"
    for name, text in files.items():
        path = package / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    for folder in {p.parent for p in package.rglob("*.py")} | {package}:
        (folder / "__init__.py").touch()
    return package


@pytest.mark.parametrize(("files", "expected"), [
    ({"maths/a.py": "from pkg.training import b\n", "training/b.py": ""},
     "against the direction"),
    ({"maths/a.py": "from pkg.maths.b import _helper\n", "maths/b.py": "def _helper(): pass\n"},
     "imports private _helper from public pkg.maths.b"),
    ({"maths/a.py": "from pkg.maths import b\n", "maths/b.py": "from . import a\n"},
     "import cycle: pkg.maths.a -> pkg.maths.b -> pkg.maths.a"),
    ({"maths/a.py": "def __getattr__(name):\n    import pkg.maths.b\n", "maths/b.py": ""},
     "module-level __getattr__"),
])
def test_the_checker_catches(tmp_path, files, expected):
    found = problems(write_package(tmp_path, files))
    assert any(expected in line for line in found), found


def test_the_checker_allows_imports_down_the_layers_and_from_private_modules(tmp_path):
    package = write_package(tmp_path, {
        "_validation.py": "def check(): pass\n",
        "maths/a.py": "from pkg._validation import check\n",
        "applications/c.py": "from pkg.maths.a import check\nfrom pkg.training import b\n",
        "training/b.py": "from ..maths import a\n",
    })
    assert problems(package) == []


def test_every_public_module_declares_its_api_in_all():
    problems = []
    for path in sorted((ROOT / "coursekit").rglob("*.py")):
        relative = path.relative_to(ROOT)
        if any(piece.startswith("_") for piece in relative.with_suffix("").parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        defined = set()
        declared = None
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names = {t.id for t in targets if isinstance(t, ast.Name)}
                defined |= names
                if "__all__" in names:
                    declared = ast.literal_eval(node.value)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                defined |= {(a.asname or a.name).split(".")[0] for a in node.names}
        if declared is None and not relative.name == "__init__.py":
            problems.append(f"{relative}: no __all__")
        elif declared is not None:
            problems += [f"{relative}: __all__ names {name!r}, which it does not define"
                         for name in declared if name not in defined]
    assert not problems, "\n".join(problems)
