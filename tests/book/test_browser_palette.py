"""The light/dark toggle in the header (overrides/partials/palette.html) in headless Chromium.

It does what Material's palette toggle does (follows the reader's system on a first visit, keeps
a choice from page to page, switches on Enter) without Material's palette component, which
re-applies the palette after every load at the cost of restyling the whole page.
"""

from __future__ import annotations

import json

import pytest

try:  # the shared fixtures, unless they live in tests/book/conftest.py
    from test_browser import base_url, browser, site  # noqa: F401
except ImportError:
    pass
from test_browser import (
    open_page,  # returns once the page it opened has loaded
    prefer_colour_scheme,  # the system's preference, and no palette stored
)

pytestmark = pytest.mark.browser

CHAPTER, OTHER_CHAPTER = "blocks/attention/", "maths/linear-algebra/"

# What the header shows: the palette, the toggle's one visible label, the browser's colours.
_SHOWN_JS = """
    const header = getComputedStyle(document.querySelector('header.md-header'));
    const hex = '#' + header.backgroundColor.match(/\\d+/g).slice(0, 3)
      .map((value) => (+value).toString(16).padStart(2, '0')).join('');
    const labels = document.querySelectorAll('[data-palette-toggle] label:not([hidden])');
    const meta = (name) => document.querySelector(`meta[name="${name}"]`)?.content ?? null;
    return {
      scheme: document.body.getAttribute('data-md-color-scheme'),
      labels: Array.from(labels, (label) => label.title),
      colorScheme: meta('color-scheme'), themeColor: meta('theme-color'), headerColor: hex,
      stored: localStorage.getItem(__md_scope.pathname + '.__palette'),
    };
"""


def _shown(browser, base_url, page: str) -> dict:
    open_page(browser, f"{base_url}/{page}")
    return browser.execute_script(_SHOWN_JS)


@pytest.mark.parametrize(("preference", "scheme", "offered"), [
    ("dark", "slate", "Switch to light mode"),
    ("light", "default", "Switch to dark mode"),
])
def test_a_first_visit_follows_the_system_preference(browser, base_url, preference, scheme,
                                                     offered):
    prefer_colour_scheme(browser, base_url, preference)
    shown = _shown(browser, base_url, CHAPTER)
    assert shown["scheme"] == scheme
    assert shown["labels"] == [offered]
    assert shown["colorScheme"] == preference
    assert shown["themeColor"] == shown["headerColor"]


def test_a_palette_chosen_is_kept_on_the_next_page(browser, base_url):
    prefer_colour_scheme(browser, base_url, "dark")
    assert _shown(browser, base_url, CHAPTER)["scheme"] == "slate"
    browser.execute_script(
        "document.querySelector('[data-palette-toggle] label:not([hidden])').click()")
    now = browser.execute_script(_SHOWN_JS)
    assert (now["scheme"], now["labels"], now["colorScheme"]) == (
        "default", ["Switch to dark mode"], "light")
    assert json.loads(now["stored"])["color"]["scheme"] == "default"

    later = _shown(browser, base_url, OTHER_CHAPTER)  # the system still prefers dark
    assert (later["scheme"], later["labels"]) == ("default", ["Switch to dark mode"])


def test_enter_on_the_focused_toggle_switches_the_palette(browser, base_url):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    prefer_colour_scheme(browser, base_url, "light")
    assert _shown(browser, base_url, CHAPTER)["scheme"] == "default"
    browser.execute_script("document.querySelector('[data-palette-toggle] input').focus()")
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    assert browser.execute_script(_SHOWN_JS)["scheme"] == "slate"
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    assert browser.execute_script(_SHOWN_JS)["scheme"] == "default"


def test_loading_a_page_does_not_switch_its_palette_again(browser, base_url):
    """The palette is applied before the content exists: once loaded, nothing marks the body as
    switching (Material's component does, and restyles every element of the page for it)."""
    prefer_colour_scheme(browser, base_url, "dark")
    watcher = browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
        window.__switches = 0;
        new MutationObserver((changes) => { window.__switches += changes.length; })
          .observe(document, {subtree: true, attributes: true,
                              attributeFilter: ['data-md-color-switching']});
    """})
    try:
        open_page(browser, f"{base_url}/{CHAPTER}")
        browser.execute_async_script(  # two frames: Material's component switches in the first
            "const done = arguments[0];"
            "requestAnimationFrame(() => requestAnimationFrame(() => done()));")
        assert browser.execute_script("return window.__switches") == 0
        assert browser.execute_script("return document.body.dataset.mdColorScheme") == "slate"
        assert browser.find_elements("css selector", '[data-md-component="palette"]') == []
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument",
                                {"identifier": watcher["identifier"]})
