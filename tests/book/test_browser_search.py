"""The site's search ranks the pages that hold every word of a query first (issue 14, item 8).

Material's search ORs the words of a query; ``docs/assets/search-ranking.js`` reorders each
answer so that the pages holding all the words come first. Which pages hold all of them is read
here from the search index the build wrote (``search/search_index.json``), independently of the
script: a page holds a word when its title or text, or those of one of its sections, contain a
word that starts with it (as lunr matches a query word typed without a wildcard after stemming,
a prefix test is the lenient reading; the queries below are chosen so that both readings agree).
"""

from __future__ import annotations

import json
import re

import pytest

try:  # the shared fixtures, unless they live in tests/book/conftest.py
    from test_browser import base_url, browser, site  # noqa: F401
except ImportError:
    pass
from test_browser import open_page  # returns once the page it opened has loaded

pytestmark = pytest.mark.browser

# Two-word queries whose words each occur on many pages, both together on few.
QUERIES = ["mode collapse", "rotary positions", "weight decay"]

# The pages of the answer, in the order the search panel lists them, once it has answered.
_RESULTS_JS = """
    const done = arguments[arguments.length - 1];
    const query = arguments[0];
    const input = document.querySelector('input.md-search__input');
    document.getElementById('__search').checked = true;
    input.focus();
    input.value = query;
    input.dispatchEvent(new Event('input', {bubbles: true}));
    input.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true, key: 'e'}));
    const started = Date.now();
    (function poll() {
      const meta = document.querySelector('.md-search-result__meta');
      const items = [...document.querySelectorAll(
        '.md-search-result__list > .md-search-result__item > a.md-search-result__link')];
      if (items.length > 0 && meta && /\\d/.test(meta.textContent)) {
        done(items.map((a) => new URL(a.href).pathname));
      } else if (Date.now() - started > 15000) {
        done(null);
      } else {
        setTimeout(poll, 100);
      }
    })();
"""


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", re.sub(r"<[^>]+>", " ", text).lower()))


def _pages_holding_every_word(index: dict, query: str) -> set[str]:
    """The pages (their location without a section anchor) where every query word starts a
    word of the page's title or text, sections included."""
    found: dict[str, set[str]] = {}
    for doc in index["docs"]:
        page = doc["location"].split("#")[0]
        words = _words(doc.get("title", "") + " " + doc.get("text", ""))
        found.setdefault(page, set()).update(
            q for q in query.split() if any(w.startswith(q) for w in words))
    return {page for page, hit in found.items() if hit == set(query.split())}


def _pages_holding_some_word(index: dict, query: str) -> set[str]:
    return {doc["location"].split("#")[0] for doc in index["docs"]
            if any(w.startswith(q) for q in query.split()
                   for w in _words(doc.get("title", "") + " " + doc.get("text", "")))}


@pytest.fixture(scope="module")
def search_index(site) -> dict:
    return json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("query", QUERIES)
def test_search_lists_pages_with_every_word_first(browser, base_url, search_index, query):
    expected = {f"/{page}" for page in _pages_holding_every_word(search_index, query)}
    assert expected, f"no page holds every word of {query!r}: pick another query"
    open_page(browser, base_url + "/")
    browser.set_script_timeout(20)
    listed = browser.execute_async_script(_RESULTS_JS, query)
    assert listed is not None, f"search gave no answer to {query!r} within 15 s"
    some = _pages_holding_some_word(search_index, query) - {p.lstrip("/") for p in expected}
    assert some, f"{query!r}: no page holds only some of the words, so the order proves nothing"
    first = listed[:len(expected)]  # the panel lists the first ten, more as it scrolls
    assert set(first) <= expected, (
        f"{query!r}: the first {len(first)} results are {first}, but only {sorted(expected)} "
        "hold every word")
