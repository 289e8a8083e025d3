"""Numbers in the prose that come from a run: recorded by an example, put into the text at build.

A page computes a value in a checked example and records it under a name in a hidden block::

    <!-- invisible-code-block: python
    glue("digits-accuracy", f"{accuracy:.0%}")
    -->

and its prose refers to the name as ``{glue}`digits-accuracy```. The run of a page's examples
(pytest, or the site build when the record is missing or older than the page or the package)
writes the values to ``.cache/glue/``; the build replaces each reference with its value and fails
on a name the page's run never recorded. So a number in the text cannot drift from the code.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GLUE_DIR = ROOT / ".cache" / "glue"
REFERENCE = re.compile(r"\{glue\}`([a-z0-9][a-z0-9-]*)`")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def page_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def newest_package_mtime() -> float:
    """When a file of the package last changed: a value glued before that may be stale."""
    return max(p.stat().st_mtime for p in (ROOT / "coursekit").rglob("*.py"))


def record_path(page: Path) -> Path:
    """Where the values glued by ``page`` are kept (one JSON file per page)."""
    page = Path(page).resolve()
    if ROOT not in page.parents:  # a page outside the book (a test's temporary page)
        return page.parent / ".glue" / f"{page.name}.json"
    return GLUE_DIR / (page.relative_to(ROOT).as_posix().replace("/", "__") + ".json")


class Glue:
    """``glue(name, value)``: record ``value`` (shown with ``str``) for ``{glue}`name``` on a page.

    A fresh ``Glue`` is made for each run of a page, so a run starts with no values and a
    name the page no longer records cannot linger. A value that differs from the one the last
    run of the same page and package recorded (``make test`` runs every page under two CPU
    profiles) raises: the text would then depend on the machine.
    """

    def __init__(self, page: Path) -> None:
        self.page = Path(page)
        self.path = record_path(self.page)
        text = self.page.read_text(encoding="utf-8")
        self.previous = recorded(self.page, text) or {}
        self.values: dict[str, str] = {}
        self.digest = page_digest(text)
        self.package_mtime = newest_package_mtime()
        self._write()

    def __call__(self, name: str, value: object) -> None:
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"glue name must be lower-case letters, digits and dashes, "
                             f"got {name!r}")
        shown = str(value)
        before = self.previous.get(name)
        if before is not None and before != shown:
            raise ValueError(f"glue({name!r}) is {shown!r} in this run but was {before!r} in "
                             "the last run of the same page: round it to the digits the "
                             "computation determines on any machine")
        self.values[name] = shown
        self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        record = {"page_sha256": self.digest, "package_mtime": self.package_mtime,
                  "values": self.values}
        temporary.write_text(json.dumps(record, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self.path)


_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")


def _prose(text: str) -> list[tuple[bool, str]]:
    """The text cut into (is_prose, chunk) runs of lines: fenced code blocks are not prose, so
    a page can show the ``{glue}`name``` syntax itself in a code block."""
    runs: list[tuple[bool, str]] = []
    fence = None
    for line in text.splitlines(keepends=True):
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match[1]
            runs.append((False, line))
            continue
        if fence is not None:
            if match and match[1][0] == fence[0] and len(match[1]) >= len(fence) \
                    and not line.strip()[len(match[1]):].strip():
                fence = None
            runs.append((False, line))
            continue
        runs.append((True, line))
    return runs


def references(text: str) -> list[str]:
    """The glue names a page's prose refers to (not its code blocks), in order of first use."""
    names = [n for prose, chunk in _prose(text) if prose for n in REFERENCE.findall(chunk)]
    return list(dict.fromkeys(names))


def recorded(page: Path, text: str) -> dict[str, str] | None:
    """The values the last run of ``page`` recorded; None if that run is older than this text
    of the page or than the package (then the page must run again)."""
    path = record_path(page)
    if not path.exists():
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    if record.get("page_sha256") != page_digest(text):
        return None
    if record.get("package_mtime", 0) < newest_package_mtime():
        return None
    return record["values"]


def fill(text: str, values: dict[str, str], where: str) -> str:
    """Replace every ``{glue}`name``` in ``text``; raise ``ValueError`` naming an unknown name."""
    missing = [name for name in references(text) if name not in values]
    if missing:
        raise ValueError(f"{where} refers to {{glue}}`{missing[0]}` but no example on the page "
                         f"records it (glue({missing[0]!r}, value) in an invisible block); "
                         f"recorded: {sorted(values) or 'none'}")
    return "".join(REFERENCE.sub(lambda match: values[match[1]], chunk) if prose else chunk
                   for prose, chunk in _prose(text))
