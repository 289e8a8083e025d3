"""The print page (the whole book on one page, ``print_page/index.html``), finished.

mkdocs-print-site-plugin joins the chapters' HTML into one page, each chapter in a
``<section class="print-page" id="<key>">`` (the key is the page's URL, ``maths-calculus``),
and renders it with the theme after the build; ``bookhooks/whole_book.py`` calls ``finish`` on
what it wrote. The plugin prefixes the ids of headings, footnotes and tabs with the chapter's
key and rewrites every in-page link (``#x`` becomes ``#<key>-x``); ``finish`` does the rest:

- every other id (and ``name``, ``for``) in a chapter gets the chapter's key too, so the line
  anchors of code blocks (``__codelineno-0-1``, on every page) are unique and the links the
  plugin rewrote reach them;
- a link into a page the print page leaves out (the API reference) goes to that page;
- in a build without directory URLs (the offline archive) the page's images and downloads,
  which the plugin writes relative to the site's root, are made relative to ``print_page/``;
- the copy buttons are left out (``no-copy``): a printed page shows none, and each chapter's
  copies are checked on the chapter's own page;
- the ``<style>`` elements (the lab's, the plugin's) move to the head, after the site's
  stylesheets, as on the lab's own page;
- the theme's ``base`` (where the search finds its index), which the plugin takes from the
  404 page (``/``), is the site's folder seen from ``print_page/``, as on any other page, so
  that it holds from the disk or under a sub-path too.
"""

from __future__ import annotations

import posixpath
import re

from mkdocs.utils import get_relative_url
from mkdocs_print_site_plugin.urls import get_page_key

__all__ = ["finish"]

_CHAPTER = re.compile(r'<section class="print-page" id="(?P<key>[^"]+)"')
_NAMED = re.compile(r'(?P<lead>\s(?:id|name|for)=")(?P<value>[^"]*)"')
_ANCHOR_LINK = re.compile(r'href="#(?P<target>[^"]+)"')
_IDS = re.compile(r'\s(?:id|name)="([^"]+)"')
_LOCAL_LINK = re.compile(r'(?P<lead><(?:img|a)\b[^>]*?\s(?:src|href)=")(?P<url>[^"#][^"]*)"')
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|/|\.\./)", re.IGNORECASE)
_PAGE_DIV = '<div id="print-site-page" class="'
_STYLE = re.compile(r"<style\b[^>]*>.*?</style>\s*", re.DOTALL)
_BASE = re.compile(r'(<script id="__config" type="application/json">.*?"base":\s*)"[^"]*"',
                   re.DOTALL)


def _with_key(chapter: str, key: str) -> str:
    """The chapter's HTML (after its section's opening tag), every id prefixed with ``key``."""
    def rename(match: re.Match) -> str:
        value = match["value"]
        if not value or value.startswith(f"{key}-"):  # print-site's own (the tabs)
            return match[0]
        return f'{match["lead"]}{key}-{value}"'

    return _NAMED.sub(rename, chapter)


def _unique_ids(chapters: str) -> str:
    """Each chapter's ids, names and label targets prefixed with the chapter's key."""
    starts = [m.start() for m in _CHAPTER.finditer(chapters)] + [len(chapters)]
    parts = [chapters[:starts[0]]]
    for start, end in zip(starts[:-1], starts[1:], strict=True):
        section = _CHAPTER.match(chapters, start)
        # A chapter runs to the next one; the parts' headings between them have ids in single
        # quotes (section-1-2), which the pattern leaves alone. A heading print-site adds to a
        # chapter without one has the section's id: it becomes <key>-<key>.
        parts.append(section[0] + _with_key(chapters[section.end():end], section["key"]))
    return "".join(parts)


def _links_out(chapters: str, ids: set[str], page_urls: list[str], print_url: str) -> str:
    """Links to an id that is not on the print page, into a page it leaves out, go there."""
    urls = {get_page_key(url): url for url in page_urls}
    keys = sorted(urls, key=len, reverse=True)  # the longest key that fits names the page

    def relink(match: re.Match) -> str:
        target = match["target"]
        if target in ids:
            return match[0]
        if target == get_page_key(print_url):  # the home page's link to this page: its top
            return 'href="#print-site-page"'
        for key in keys:
            if target == key or target.startswith(f"{key}-"):
                fragment = target[len(key) + 1:]
                url = get_relative_url(urls[key], print_url)
                return f'href="{url}{"#" + fragment if fragment else ""}"'
        return match[0]

    return _ANCHOR_LINK.sub(relink, chapters)


def _from_subfolder(chapters: str) -> str:
    """Root-relative image and download URLs made relative to ``print_page/``."""
    def relative(match: re.Match) -> str:
        if _EXTERNAL.match(match["url"]):
            return match[0]
        return f'{match["lead"]}../{match["url"]}"'

    return _LOCAL_LINK.sub(relative, chapters)


def finish(html: str, page_urls: list[str], print_url: str,
           directory_urls: bool = True) -> str:
    """The print page's HTML, finished (see the module's docstring).

    Args:
        html: the page as mkdocs-print-site-plugin wrote it.
        page_urls: the URL of every page of the site (``maths/calculus/``), the pages the print
            page leaves out included.
        print_url: the print page's own URL (``print_page/``).
        directory_urls: whether the site was built with directory URLs.

    Returns:
        The finished page.

    Raises:
        ValueError: if ``html`` holds no print page (``<div id="print-site-page">`` in an
            ``<article>``).

    Example:
        >>> from bookhooks.printpage import finish
        >>> page = ('<html><head></head><body><article><div id="print-site-page" class="">'
        ...         '<section class="print-page" id="a"><a id="x" href="#a-x"></a>'
        ...         '<a href="#reference-f">f</a></section></div></article></body></html>')
        >>> out = finish(page, ["a/", "reference/"], "print_page/")
        >>> 'id="a-x"' in out, 'href="../reference/#f"' in out, "no-copy" in out
        (True, True, True)
    """
    head, separator, body = html.partition("</head>")
    start = body.find(_PAGE_DIV)
    end = body.find("</article>", start)
    if not separator or start < 0 or end < 0:
        raise ValueError('html must be a print page with <div id="print-site-page"> in an '
                         f"<article>, got {html[:80]!r}...")
    chapters = _unique_ids(body[start:end])
    ids = set(_IDS.findall(body[:start] + chapters + body[end:]))
    chapters = _links_out(chapters, ids, page_urls, print_url)
    if not directory_urls:
        chapters = _from_subfolder(chapters)
    chapters = chapters.replace(_PAGE_DIV, _PAGE_DIV + "no-copy ", 1)
    body = body[:start] + chapters + body[end:]
    folder = posixpath.dirname(print_url if not print_url.endswith("/") else print_url + "x")
    body = _BASE.sub(lambda m: f'{m[1]}"{posixpath.relpath(".", folder)}"', body, count=1)
    styles = "".join(_STYLE.findall(body))
    body = _STYLE.sub("", body)
    return head + styles + separator + body
