"""Write the text `coursekit.applications.charlm.course_text()` trains on: the book's chapters.

``python -m bookhooks.corpus`` joins the Markdown of every chapter (not the reference pages,
which hold only ``:::`` lines) in sorted path order and writes it into the package, so that a
reader who installed coursekit with pip trains on the same text as the book. Run it when the
chapters have changed enough to be worth a new corpus; the chapters' outputs then change too.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
TARGET = ROOT / "coursekit" / "applications" / "data" / "course-text.md"


def chapters(docs: Path = DOCS) -> list[Path]:
    return sorted(p for p in docs.rglob("*.md") if "reference" not in p.relative_to(docs).parts)


def write(docs: Path = DOCS, target: Path = TARGET) -> int:
    """Join the chapters under ``docs`` into ``target``; return how many were joined."""
    files = chapters(docs)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n\n".join(f.read_text(encoding="utf-8") for f in files),
                      encoding="utf-8")
    return len(files)


def main() -> int:
    count = write()
    print(f"wrote {TARGET.relative_to(ROOT)} from {count} chapters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
