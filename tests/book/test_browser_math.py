"""The typeset math of the built site, measured in headless Chromium (issue 14, item 1).

KaTeX typesets the book's LaTeX at build time (``bookhooks/typeset.py``) and the site serves its
fonts. On real pages that hold each construct (linear algebra: display sums, a matrix, norms,
``\\cos``, tables and admonitions; training a network: ``\\log 10``), the tests measure what a
reader sees:

- KaTeX's fonts are loaded, from this site only;
- a display ``\\sum`` is at least 1.5 times the height of the text's font;
- a matrix's brackets are as tall as its rows;
- the two bars of every ``\\lVert x \\rVert`` (and ``\\lvert x \\rvert``) are of equal height;
- ``\\log``, ``\\cos`` and their kin stand apart from the letter or number they apply to;
- ``\\operatorname*{arg\\,min}_x`` in a display formula has its ``x`` beneath it;
- math in a table cell or an admonition is not shrunk: it has the size of the body text's math.

Heights are those of the glyphs' boxes (a DOM range over each piece of text), in CSS pixels.
"""

from __future__ import annotations

import pytest

try:  # the shared fixtures, unless they live in tests/book/conftest.py
    from test_browser import base_url, browser, site  # noqa: F401
except ImportError:
    pass
from test_browser import open_page  # returns once the page it opened has loaded

pytestmark = pytest.mark.browser

PAGES = ["maths/linear-algebra/", "training/training-a-network/"]
FUNCTION_NAMES = ["log", "cos", "sin", "exp", "det", "tr"]

# Everything the tests check, measured on the open page once its fonts have loaded, with every
# collapsed block (an exercise's solution) opened, as its reader opens it: closed, its math has
# no boxes to measure.
_MEASURE_JS = """
    const done = arguments[arguments.length - 1];
    const functionNames = arguments[0];
    for (const details of document.querySelectorAll('article details')) details.open = true;
    document.fonts.ready.then(() => {
      // The box of the glyphs of an element: the union of a range over each of its texts.
      const box = (element) => {
        const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
        let top = Infinity, bottom = -Infinity, left = Infinity, right = -Infinity;
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
          if (!node.textContent.replace(/\\u200b/g, '').trim()) continue;
          const range = document.createRange();
          range.selectNodeContents(node);
          const r = range.getBoundingClientRect();
          top = Math.min(top, r.top); bottom = Math.max(bottom, r.bottom);
          left = Math.min(left, r.left); right = Math.max(right, r.right);
        }
        return {top, bottom, left, right, height: bottom - top};
      };
      const size = (element) => parseFloat(getComputedStyle(element).fontSize);
      const all = (selector) => [...document.querySelectorAll(selector)];
      const formula = (element) => element.closest('.katex')
        .querySelector('annotation').textContent;

      const pairs = [];
      for (const html of all('article .katex-html')) {
        const open = [];
        for (const bar of html.querySelectorAll('.mopen, .mclose')) {
          if (!/^[\\u2225\\u2016\\u2223|]$/.test(bar.textContent)) continue;
          if (bar.classList.contains('mopen')) open.push(bar);
          else if (open.length) {
            pairs.push({formula: formula(bar), left: box(open.pop()).height,
                        right: box(bar).height});
          }
        }
      }
      const nextAtom = (element) => {
        let next = element.nextElementSibling;
        while (next && next.classList.contains('mspace')) next = next.nextElementSibling;
        return next;
      };
      done({
        text: size(document.querySelector('article p')),
        paragraphMath: all('article p > .katex').map(size),
        fonts: [...document.fonts].filter((f) => f.family.startsWith('KaTeX_'))
          .map((f) => ({family: f.family, status: f.status})),
        fontFiles: performance.getEntriesByType('resource').map((e) => e.name)
          .filter((name) => /\\.(woff2?|ttf)$/.test(name)),
        sums: all('article .katex-display .mop.large-op').filter((e) => e.textContent === '\\u2211')
          .map((e) => ({formula: formula(e), height: box(e).height})),
        matrices: all('article .katex-html .minner').filter((e) => e.querySelector('.mtable'))
          .map((e) => ({formula: formula(e), rows: box(e.querySelector('.mtable')).height,
                        left: box(e.querySelector(':scope > .mopen')).height,
                        right: box(e.querySelector(':scope > .mclose')).height})),
        pairs,
        operators: all('article .katex-html .mop')
          .filter((e) => functionNames.includes(e.textContent) && nextAtom(e)
                         && nextAtom(e).classList.contains('mord'))
          .map((e) => ({formula: formula(e), name: e.textContent,
                        gap: box(nextAtom(e)).left - box(e).right})),
        limits: all('article .katex-display .mop.op-limits')
          .filter((e) => [...e.querySelectorAll('.mop')].some((m) => m.textContent === 'argmin'))
          .map((e) => {
            const name = [...e.querySelectorAll('.mop')].find((m) => m.textContent === 'argmin');
            const below = e.querySelector('.katex-sizing');
            return {formula: formula(e), name: box(name), below: below && box(below)};
          }),
        tableMath: all('article table .katex').map(size),
        admonitionMath: all('article .admonition .katex, article details .katex').map(size),
        tableScripts: all('article table .katex-html .msupsub .mord').map(size),
      });
    });
"""


@pytest.fixture(scope="module")
def measured(browser, base_url) -> dict[str, dict]:
    """Each page of ``PAGES``, opened once and measured (``_MEASURE_JS``)."""
    pages = {}
    for page in PAGES:
        open_page(browser, f"{base_url}/{page}")
        pages[page] = browser.execute_async_script(_MEASURE_JS, FUNCTION_NAMES)
    return pages


def _every(measured, key):
    return [(page, item) for page, values in measured.items() for item in values[key]]


def test_katex_fonts_are_loaded_from_this_site(measured, base_url):
    for page, values in measured.items():
        loaded = {f["family"] for f in values["fonts"] if f["status"] == "loaded"}
        assert {"KaTeX_Main", "KaTeX_Math", "KaTeX_Size1"} <= loaded, (page, values["fonts"])
        assert values["fontFiles"], f"{page} loaded no font file"
        for url in values["fontFiles"]:
            assert url.startswith(f"{base_url}/assets/katex/fonts/"), (page, url)


def test_a_display_sum_is_at_least_one_and_a_half_times_the_text(measured):
    sums = _every(measured, "sums")
    assert len(sums) >= 3
    for page, sum_ in sums:
        ratio = sum_["height"] / measured[page]["text"]
        assert ratio >= 1.5, f"{page}: the sum of {sum_['formula']!r} is {ratio:.2f} x the text"


def test_the_brackets_of_a_matrix_are_as_tall_as_its_rows(measured):
    matrices = _every(measured, "matrices")
    assert matrices, "no matrix with brackets found"
    for page, matrix in matrices:
        for side in ("left", "right"):
            assert matrix[side] >= 0.95 * matrix["rows"], (page, matrix)


def test_the_two_bars_of_a_norm_are_of_equal_height(measured):
    pairs = _every(measured, "pairs")
    assert len(pairs) >= 20
    unequal = [(page, pair) for page, pair in pairs if abs(pair["left"] - pair["right"]) > 0.5]
    assert not unequal, unequal


def test_function_names_stand_apart_from_their_arguments(measured):
    operators = _every(measured, "operators")
    assert {"log", "cos"} <= {operator["name"] for _, operator in operators}
    for page, operator in operators:
        minimum = 0.1 * measured[page]["text"]  # a thin space is 1/6 of the math's em
        assert operator["gap"] >= minimum, (page, operator)


def test_argmin_in_a_display_has_its_variable_beneath_it(measured):
    limits = _every(measured, "limits")
    assert len(limits) >= 2
    for page, limit in limits:
        name, below = limit["name"], limit["below"]
        assert below is not None, (page, limit)
        assert below["top"] >= name["bottom"] - 2, (page, limit)
        assert name["left"] <= below["left"] and below["right"] <= name["right"], (page, limit)


def test_math_in_tables_and_admonitions_is_the_size_of_the_body_text_math(measured):
    page = "maths/linear-algebra/"
    values = measured[page]
    body_math = max(values["paragraphMath"])
    assert values["text"] <= body_math
    assert values["tableMath"] and values["admonitionMath"]
    for where in ("tableMath", "admonitionMath"):
        assert min(values[where]) >= body_math, (where, sorted(set(values[where])))
    assert min(values["tableScripts"]) >= 0.6 * values["text"], sorted(set(values["tableScripts"]))
