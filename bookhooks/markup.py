"""The built pages' HTML, made valid, accessible and quick to show where the theme and the plugins
fall short.

MkDocs hooks (``bookhooks/mkdocs_hooks.py``) call these on every page; each one is a small,
documented rewrite of markup that the book does not write itself:

- ``page_content`` (a page's own HTML, before the theme wraps it, and before the search index
  reads it):

  - a long name in inline code (``coursekit.training.models.AlexNet``) may wrap on a phone
    after a ``.`` or ``_`` (``<wbr>``), not between two letters and not off the screen;
  - math readable in search results: the search index gets each formula's LaTeX (KaTeX keeps it
    in its MathML's annotation) in a ``hidden`` span, instead of the text of KaTeX's HTML and
    of its MathML run together, and both renderings are left out of the index
    (``data-search-exclude``, which Material's search plugin honours);
  - each table in a box of its own (``<div class="table-box">``): Material's script wraps every
    table in a scrolling box as the page loads, and a table that is a child of the article itself
    makes that a style recalculation of the whole article (the theme's stylesheet has rules on
    siblings), one per table; inside its own box only the table is restyled;
  - on a reference page, a chapter named by its path in a docstring (``docs/maths/calculus.md``)
    links to that chapter;
  - on a lab page (mkdocs-jupyter's nbconvert template): the copy buttons' stray ``,``
    attribute dropped and their role (a button) said, and the declarations of its stylesheet
    that browsers drop as invalid removed or written validly (``0`` durations as ``0s``,
    ``overflow: overlay`` as ``auto``, which is what Chromium treats it as).

- ``page_html`` (the whole page, after the theme):

  - Material's nav labels carry ``tabindex=""`` (not a number): ``-1``, which is what the
    empty value means to a browser (not in the tab order), and keeps Material's
    ``label[tabindex]`` behaviour;
  - ``autocomplete="off"`` is allowed on text inputs only: dropped from Material's checkboxes;
  - the search dialog gets a name (``aria-label="Search"``);
  - a lab's ``<style>`` elements, which nbconvert puts in the body, move to the head, after the
    site's own stylesheets (so the cascade is the same);
  - ``assets/search-ranking.js`` is loaded before Material's bundle, so that it can rank the
    search results (see that file).
"""

from __future__ import annotations

import re

from mkdocs.utils import get_relative_url

LAB_PREFIX = "labs/"
REFERENCE_PREFIX = "reference/"
SEARCH_RANKING_JS = "assets/search-ranking.js"

# --- A page's own HTML ----------------------------------------------------------------------

# An inline code span (not a block) and the places in a dotted or snake_case name after which a
# line may break: after a "." or "_" that has a letter or digit on both sides.
_INLINE_CODE = re.compile(r"(?<!<pre>)<code>(?P<text>[^<]*)</code>")
_NAME_BREAK = re.compile(r"(?<=[A-Za-z0-9][._])(?=[A-Za-z0-9])")
LONG_NAME = 24  # characters; a shorter span always fits a phone's line


def breakable_names(content: str) -> str:
    """Let a long dotted or snake_case name in inline code wrap after a ``.`` or ``_``
    (``<wbr>``), never inside a word; a shorter span stays as it is."""

    def soften(match: re.Match) -> str:
        text = match["text"]
        if len(text) < LONG_NAME or " " in text:
            return match[0]
        return f"<code>{_NAME_BREAK.sub('<wbr>', text)}</code>"

    return _INLINE_CODE.sub(soften, content)


_KATEX_MATHML = re.compile(
    r'<span class="katex-mathml">(?P<mathml>.*?<annotation encoding="application/x-tex">'
    r"(?P<tex>.*?)</annotation>)",
    re.DOTALL,
)
_KATEX_HTML = '<span class="katex-html" aria-hidden="true">'


def searchable_math(content: str) -> str:
    """Give the search index each KaTeX formula's LaTeX, and neither of its renderings."""
    content = _KATEX_MATHML.sub(
        lambda m: (f'<span class="search-math" hidden>{m["tex"].strip()}</span>'
                   f'<span class="katex-mathml" data-search-exclude>{m["mathml"]}'),
        content,
    )
    return content.replace(_KATEX_HTML, _KATEX_HTML[:-1] + " data-search-exclude>")


# A table as Markdown writes it (no attributes): the tables Material's script wraps.
_TABLE = re.compile(r"<table>.*?</table>", re.DOTALL)


def boxed_tables(content: str) -> str:
    """Put each table in a ``<div class="table-box">`` of its own (see the module's docstring)."""
    return _TABLE.sub(lambda match: f'<div class="table-box">{match[0]}</div>', content)


_CHAPTER_PATH = re.compile(r"<code>docs/(?P<path>[A-Za-z0-9_/-]+\.md)</code>")


def link_chapter_paths(content: str, page_url: str, chapter_urls: dict[str, str]) -> str:
    """``<code>docs/maths/calculus.md</code>`` becomes a link to that chapter, where it is one
    (``chapter_urls``: a chapter's path under ``docs/`` to its URL)."""

    def link(match: re.Match) -> str:
        url = chapter_urls.get(match["path"])
        if url is None:
            return match[0]
        return f'<a href="{get_relative_url(url, page_url)}">{match[0]}</a>'

    return _CHAPTER_PATH.sub(link, content)


# Declarations of the lab's stylesheet that are not valid CSS (browsers drop them) and what
# replaces them: the valid form of what was meant, or nothing.
_LAB_CSS_FIXES = [
    (re.compile(r"(transition-(?:duration|delay)):0(?=[;}])"), r"\1:0s"),
    (re.compile(r"overflow:overlay(?=[;}])"), "overflow:auto"),
    (re.compile(r"(?<=[;{])cursor:normal;?"), ""),
    (re.compile(r"(?<=[;{])box-(?:orient|align|pack):[a-z]+;?"), ""),
    (re.compile(r"(?<=[;{])(?:-webkit-)?transform:translate[XY]?\([^)]*\),[^;}]*;?"), ""),
]
# The template writes `<clipboard-copy for="cell-1", aria-label=...>`, which reaches the page
# as an attribute named ",".
_CLIPBOARD_COPY = re.compile(r'<clipboard-copy\s+,=""\s*')


def lab_content(content: str) -> str:
    """The lab page's HTML (mkdocs-jupyter's template), with valid attributes and CSS."""
    content = _CLIPBOARD_COPY.sub('<clipboard-copy role="button" ', content)
    for pattern, replacement in _LAB_CSS_FIXES:
        content = pattern.sub(replacement, content)
    return content


def page_content(content: str, src_uri: str, page_url: str,
                 chapter_urls: dict[str, str]) -> str:
    """Every rewrite of a page's own HTML (see the module's docstring)."""
    content = breakable_names(content)
    content = searchable_math(content)
    content = boxed_tables(content)
    if src_uri.startswith(REFERENCE_PREFIX):
        content = link_chapter_paths(content, page_url, chapter_urls)
    if src_uri.startswith(LAB_PREFIX):
        content = lab_content(content)
    return content


# --- The whole page -------------------------------------------------------------------------

_EMPTY_TABINDEX = re.compile(r'\stabindex=""')
_CHECKBOX = re.compile(r'<input\b[^>]*\btype="checkbox"[^>]*>')
_SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
_STYLE = re.compile(r"<style\b[^>]*>.*?</style>\s*", re.DOTALL)
# Where the theme's bundle is loaded from, as this page refers to it (on 404.html too).
_BUNDLE = re.compile(r'<script src="(?P<base>[^"]*?)assets/javascripts/bundle\.[^"]*"')


def _without_autocomplete(match: re.Match) -> str:
    return re.sub(r'\s+autocomplete="[^"]*"', "", match[0])


def page_html(output: str, src_uri: str) -> str:
    """Every rewrite of the whole page (see the module's docstring)."""
    output = _EMPTY_TABINDEX.sub(' tabindex="-1"', output)
    output = _CHECKBOX.sub(_without_autocomplete, output)
    output = output.replace(_SEARCH_DIALOG, _SEARCH_DIALOG[:-1] + ' aria-label="Search">')
    head, separator, body = output.partition("</head>")
    if not separator:
        return output
    if src_uri.startswith(LAB_PREFIX):
        styles = "".join(_STYLE.findall(body))
        body = _STYLE.sub("", body)
        head += styles
    bundle = _BUNDLE.search(body)
    if bundle:
        head += f'<script src="{bundle["base"]}{SEARCH_RANKING_JS}"></script>\n'
    return head + separator + body
