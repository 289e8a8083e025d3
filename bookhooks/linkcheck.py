"""Check every link in a built site: each local ``href``/``src`` must name a file that exists,
and each ``#fragment`` an element id on its page. External links are listed, not fetched (the
build machine has no network). Run as ``python -m bookhooks.linkcheck site``.
"""

from __future__ import annotations

import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

LINK_ATTRIBUTES = {"href", "src"}


class _PageLinks(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in LINK_ATTRIBUTES and value is not None and tag != "base":
                self.links.append(value)
            elif name in ("id", "name") and value:
                self.ids.add(value)


def _parse(path: Path) -> _PageLinks:
    page = _PageLinks()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def _target_file(site: Path, page: Path, link_path: str) -> Path:
    if link_path.startswith("/"):
        target = site / link_path.lstrip("/")
    else:
        target = page.parent / link_path
    if link_path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target


def check_site(site: Path) -> tuple[list[str], int]:
    """Return the broken links (one message each) and the number of local links checked."""
    site = Path(site).resolve()
    if not (site / "index.html").is_file():
        raise FileNotFoundError(f"site must be a built site folder with index.html, got {site}")
    pages = {p: _parse(p) for p in sorted(site.rglob("*.html"))}
    broken, checked = [], 0
    for page, parsed in pages.items():
        for link in parsed.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc or link.startswith(("mailto:", "javascript:")):
                continue  # external: listed by --external, never fetched
            checked += 1
            where = page.relative_to(site)
            target = page if not parts.path else _target_file(site, page, unquote(parts.path))
            if not target.is_file():
                broken.append(f"{where}: link {link!r} -> no such file")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{where}: link {link!r} -> no id {parts.fragment!r} "
                                  f"in {target.relative_to(site)}")
    return broken, checked


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    site = Path(args[0] if args else "site")
    broken, checked = check_site(site)
    for message in broken:
        print(message)
    print(f"linkcheck: {checked} local links in {site}, {len(broken)} broken")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
