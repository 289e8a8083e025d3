"""Every built page is accessible and its HTML valid (issue 14, items 3 and 4).

axe-core (the npm package pinned in ``tests/book/axe/package-lock.json``, installed by
``make install``) runs in every page the build wrote (``site/**/index.html``: the chapters, the
reference, the lab), in the light palette and in the dark one, and no page may have a violation
whose impact is serious or critical. The browser asks for ``prefers-color-scheme: dark`` and
starts with no stored palette, so the first page shows the dark palette, as the toggle
(overrides/partials/palette.html) follows the media query; on each page, the toggle (a reader's
click on the button the header shows) then shows the other one. The palette last chosen is kept,
so the next page opens in it.

What it costs is kept to one page load and two runs of axe per page:

- in the palette the page opens in, the rules of WCAG 2.0/2.1 A and AA and axe's best practices
  whose violations can be serious or critical (axe gives each rule its impact; a rule whose
  impact is minor or moderate cannot fail this test, so it is not run), axe's experimental
  rules left out as axe's tags leave them out;
- in the other palette, the two rules that read colours (``color-contrast``,
  ``link-in-text-block``) only: the markup is the same, only the colours change;
- the colour rules check one element of each kind: the first element holding text for each
  chain of tags, classes and inline styles from the body down (``pre > code > span.mi`` in a
  code block...), which the stylesheets give the same colours, and the link around it if any
  (axe's own selector for these rules is narrowed to that sample); a page holds a few hundred
  kinds against many thousand elements, and the colour rules are most of axe's time on a page;
- KaTeX's HTML rendering of formulas (``.katex-html``: glyph boxes, ``aria-hidden``, in the
  colour of the text around them, thousands of elements on a page of math) is removed before
  axe runs; the MathML beside it, which assistive technology reads, stays.

The HTML check parses every built page and fails on what the Nu validator reported in our
markup: duplicate ids, a ``tabindex`` that is not a number, ``autocomplete`` on a checkbox, an
attribute name that is not one, a ``<style>`` in the body, a dialog without a name. The fixes
live in ``bookhooks/markup.py`` (the theme's and the plugins' markup) and
``docs/assets/accessibility.js`` (what Material builds in the browser). The reference pages
(item 9) are checked here too, as built.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bookhooks.examples import ROOT

try:  # the shared fixtures, unless they live in tests/book/conftest.py
    from test_browser import base_url, browser, site  # noqa: F401
except ImportError:
    pass
from test_browser import (
    open_page,  # returns once the page it opened has loaded
    prefer_colour_scheme,  # the system's preference, and no palette stored
    site_pages,  # every page the build wrote: ./, maths/calculus/, ...
)

pytestmark = pytest.mark.browser

AXE = ROOT / "tests" / "book" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
PALETTE_RULES = ["color-contrast", "link-in-text-block"]  # the rules that read colours
SCHEMES = {"slate": "dark", "default": "light"}  # Material's name of each palette
FAILING = ["serious", "critical"]

# Once the page's fonts are in and Material and docs/assets/accessibility.js have done their
# work (two frames): mark one element of each kind for the colour rules, drop KaTeX's HTML,
# and return the ids of the rules that can fail (arguments: the tags, the failing impacts).
_PREPARE_JS = """
    const [tags, failing, colourRules, done] = arguments;
    const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
    document.fonts.ready.then(frame).then(frame).then(() => {
      const kinds = new Set();
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let text = walker.nextNode(); text; text = walker.nextNode()) {
        const element = text.parentElement;
        if (!text.data.trim() || element.closest('.katex-html')) continue;
        let kind = '';
        for (let e = element; e && e !== document.body; e = e.parentElement) {
          kind = `${e.tagName}.${e.getAttribute('class') || ''}` +
                 `[${e.getAttribute('style') || ''}]>${kind}`;
        }
        if (kinds.has(kind)) continue;
        kinds.add(kind);
        element.setAttribute('data-colour-sample', '');
        // A link whose text is in a <code>, say.
        element.closest('a[href]')?.setAttribute('data-colour-sample', '');
      }
      document.querySelectorAll('.katex-html').forEach((e) => e.remove());
      axe.configure({rules: [
        {id: 'color-contrast', selector: '[data-colour-sample]'},
        {id: 'link-in-text-block',
         selector: 'a[href][data-colour-sample], [role=link][data-colour-sample]'},
      ]});
      const rules = axe._audit.rules.filter((rule) =>
        rule.tags.some((tag) => tags.includes(tag)) && !rule.tags.includes('experimental') &&
        failing.includes(rule.impact));
      done({
        sample: document.querySelectorAll('[data-colour-sample]').length,
        rules: rules.map((rule) => rule.id),
        colourRules: colourRules.filter((id) => rules.some((rule) => rule.id === id)),
      });
    });
"""

# Run axe with the rules given and return the violations, each with a few of its targets, and
# the palette shown.
_AXE_RUN_JS = """
    const [rules, done] = arguments;
    const options = {runOnly: {type: 'rule', values: rules}, resultTypes: ['violations']};
    axe.run(document, options).then((result) => done({
      scheme: document.body.getAttribute('data-md-color-scheme'),
      violations: result.violations.map((v) => ({
        id: v.id, impact: v.impact, count: v.nodes.length,
        targets: v.nodes.slice(0, 3).map((n) => n.target.join(' ')),
        summary: (v.nodes[0].failureSummary || '').split('\\n').slice(0, 2).join(' '),
      })),
    }), (error) => done({error: String(error)}));
"""

# The palette toggle, as a reader clicks it (the one label the header shows switches to the other
# palette); then wait until it has switched (the body is marked while it does, with transitions
# off) and the page is drawn.
_TOGGLE_JS = """
    const done = arguments[arguments.length - 1];
    const before = document.body.getAttribute('data-md-color-scheme');
    document.querySelector('[data-palette-toggle] label:not([hidden])').click();
    const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
    (async () => {
      for (let i = 0; i < 60; i++) {
        await frame();
        if (document.body.getAttribute('data-md-color-scheme') !== before &&
            !document.body.hasAttribute('data-md-color-switching')) break;
      }
      await frame();
      done(document.body.getAttribute('data-md-color-scheme'));
    })();
"""



def _require_axe():
    if AXE.exists():
        return
    message = f"needs axe-core ({AXE.relative_to(ROOT)}): run make install"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {message}")
    pytest.skip(message)


@pytest.fixture(scope="module")
def audits(browser, base_url, site) -> dict:
    """axe's violations on every page in each palette, the palette the first page showed, the
    rules run, and the seconds it all took (and of that, in page loads and in axe)."""
    _require_axe()
    axe = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                                  {"source": AXE.read_text(encoding="utf-8")})
    results, first, rules, start = {}, None, set(), time.monotonic()
    seconds = Counter()
    try:
        prefer_colour_scheme(browser, base_url, "dark")
        for page in site_pages(site):
            began = time.monotonic()
            open_page(browser, f"{base_url}/{page.removeprefix('./')}")
            loaded = time.monotonic()
            prepared = browser.execute_async_script(_PREPARE_JS, TAGS, FAILING, PALETTE_RULES)
            rules.update(prepared["rules"])
            shown = browser.execute_async_script(_AXE_RUN_JS, prepared["rules"])
            first = first or shown.get("scheme")
            browser.execute_async_script(_TOGGLE_JS)
            other = browser.execute_async_script(_AXE_RUN_JS, prepared["colourRules"])
            seconds["load"] += loaded - began
            seconds["axe"] += time.monotonic() - loaded
            for result in (shown, other):
                entry = results.setdefault((SCHEMES.get(result.get("scheme"), "?"), page),
                                           {"violations": []})
                if "error" in result:
                    entry["error"] = result["error"]
                entry["violations"] += result.get("violations", [])
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", axe)
        prefer_colour_scheme(browser, base_url, "light")
    return {"results": results, "first": first, "rules": rules,
            "seconds": time.monotonic() - start, "load": seconds["load"],
            "axe": seconds["axe"]}


def test_the_first_page_follows_the_browsers_dark_preference(audits):
    assert audits["first"] == "slate"


# What the audit must catch, put into a page: text at 2.3:1, a link told from its sentence by
# colour alone, a box that scrolls and cannot be focused, a dialog without a name.
_FAULTS_JS = """
    document.querySelector('article').insertAdjacentHTML('afterbegin', `
      <p style="color: #999; background: #bbb">Faint text.</p>
      <p style="color: #333">Read <a href="#" style="color: #226; text-decoration: none">this
        link</a> in a sentence.</p>
      <div style="overflow: auto; height: 2em"><p>Line</p><p>Line</p><p>Line</p></div>
      <div role="dialog">A dialog.</div>`);
"""


def test_the_audit_finds_a_fault_of_each_kind_it_was_written_for(browser, base_url):
    _require_axe()
    open_page(browser, f"{base_url}/")
    browser.execute_script(AXE.read_text(encoding="utf-8"))
    browser.execute_script(_FAULTS_JS)
    prepared = browser.execute_async_script(_PREPARE_JS, TAGS, FAILING, PALETTE_RULES)
    assert {*PALETTE_RULES, "scrollable-region-focusable", "aria-dialog-name",
            "button-name", "link-name", "duplicate-id-aria"} <= set(prepared["rules"])
    assert prepared["colourRules"] == PALETTE_RULES
    found = {v["id"] for v in browser.execute_async_script(_AXE_RUN_JS, prepared["rules"])
             ["violations"] if v["impact"] in FAILING}
    assert {*PALETTE_RULES, "scrollable-region-focusable", "aria-dialog-name"} <= found


def test_every_page_in_both_palettes_has_no_serious_accessibility_violation(audits):
    results = audits["results"]
    pages = {page for _, page in results}
    assert len(pages) >= 40 and "./" in pages and any(p.startswith("labs/") for p in pages)
    assert any(p.startswith("reference/") for p in pages)
    problems = [f"{page}: shown in no palette Material names ({palette})"
                for palette, page in results if palette == "?"]
    problems += [f"{page}: not audited in the {palette} palette"
                 for page in pages for palette in SCHEMES.values()
                 if (palette, page) not in results]
    for (palette, page), result in sorted(results.items()):
        if "error" in result:
            problems.append(f"{palette} {page}: axe failed: {result['error']}")
        for v in result["violations"]:
            if v["impact"] in FAILING:
                problems.append(f"{palette} {page}: {v['id']} ({v['impact']}, {v['count']} "
                                f"elements) at {v['targets']}: {v['summary']}")
    print(f"\naxe: {len(pages)} pages in 2 palettes, {len(audits['rules'])} rules, in "
          f"{audits['seconds']:.1f} s ({audits['load']:.1f} s loading pages, "
          f"{audits['axe']:.1f} s in axe)")
    assert not problems, f"{len(problems)} serious or critical violations:\n" + "\n".join(
        problems[:60])


# --- Valid HTML ------------------------------------------------------------------------------

_ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_:][-A-Za-z0-9_:.]*$")
_INTEGER = re.compile(r"^-?\d+$")


class _Checker(HTMLParser):
    """The errors of one page that the Nu validator reported in the book's markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: Counter[str] = Counter()
        self.errors: list[str] = []
        self.in_body = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "body":
            self.in_body = True
        if "id" in values:
            self.ids[values["id"]] += 1
        for name, _ in attrs:
            if not _ATTRIBUTE_NAME.match(name):
                self.errors.append(f"<{tag}> has an attribute named {name!r}")
        if "tabindex" in values and not _INTEGER.match(values["tabindex"] or ""):
            self.errors.append(f"<{tag} id={values.get('id')!r}> has tabindex="
                               f"{values['tabindex']!r}, not an integer")
        if tag == "input" and values.get("type") in ("checkbox", "radio") \
                and "autocomplete" in values:
            self.errors.append(f"<input type={values['type']} id={values.get('id')!r}> has "
                               "autocomplete, allowed on text inputs only")
        if tag == "style" and self.in_body:
            self.errors.append("a <style> in the body")
        if values.get("role") == "dialog" and not (values.get("aria-label")
                                                  or values.get("aria-labelledby")):
            self.errors.append(f"<{tag} class={values.get('class')!r}> is a dialog without "
                               "a name")

    handle_startendtag = handle_starttag

    def report(self) -> list[str]:
        duplicates = sorted(name for name, count in self.ids.items() if count > 1)
        if duplicates:
            self.errors.append(f"{len(duplicates)} duplicate ids: {duplicates[:5]}")
        return self.errors


def html_errors(text: str) -> list[str]:
    checker = _Checker()
    checker.feed(text)
    checker.close()
    return checker.report()


def test_the_checker_finds_each_error_it_looks_for():
    page = ('<html><head></head><body><div id="a"></div><a id="a"></a>'
            '<label tabindex="">x</label><input type="checkbox" autocomplete="off">'
            '<clipboard-copy ,="" for="c"></clipboard-copy><style>p{}</style>'
            '<div role="dialog"></div></body></html>')
    errors = "\n".join(html_errors(page))
    for expected in ("duplicate ids: ['a']", "tabindex=''", "autocomplete",
                     "attribute named ','", "<style> in the body", "dialog without a name"):
        assert expected in errors, expected
    assert html_errors('<html><head><style></style></head><body><label tabindex="-1" '
                       'id="x"></label><div role="dialog" aria-label="Search"></div>'
                       "</body></html>") == []


def test_every_built_page_is_free_of_the_html_errors_of_our_markup(site: Path):
    pages = sorted(site.rglob("index.html")) + [site / "404.html"]
    assert len(pages) >= 40
    problems = [f"{page.relative_to(site)}: {error}" for page in pages
                for error in html_errors(page.read_text(encoding="utf-8"))]
    assert not problems, "\n".join(problems)


# --- The reference pages (issue 14, item 9) -------------------------------------------------

_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


def test_every_reference_page_states_its_summary_once_with_no_raw_role_or_private_member(site):
    from bookhooks import reference

    problems = []
    for module in reference.public_modules():
        page = site / module.page.removesuffix(".md") / "index.html"
        text = page.read_text(encoding="utf-8")
        article = text[text.index("<article"):text.index("</article>")]
        paragraphs = [" ".join(_TAG.sub("", p).split()) for p in _PARAGRAPH.findall(article)]
        summary = " ".join(_TAG.sub("", module.summary).replace("``", "").split())
        opening = [p for p in paragraphs[:3] if p.startswith(summary[:30])]
        if len(opening) != 1:
            problems.append(f"{module.name}: its summary opens the page {len(opening)} times")
        if re.search(r":(?:func|class|meth|mod|attr|exc):", _TAG.sub("", article)):
            problems.append(f"{module.name}: a raw Sphinx role on the page")
        private = re.findall(r'id="(coursekit\.[\w.]*\._[\w.]*)"', article)
        if private:
            problems.append(f"{module.name}: private members {private[:3]}")
    assert not problems, "\n".join(problems)
