"""The whole book offline and in print, in headless Chromium (issue 18, item 4).

- The offline archive (``downloads/coursekit-book.zip``, built with the site by
  ``bookhooks/whole_book.py``), unzipped and opened from the disk (``file://``): the home page
  and a chapter load with no console error, the chapter's formulas and figures are there, and
  the search finds a page by a word in its body.
- The print page (``print_page/``): every page of the nav that it holds (all but the API
  reference) shows up with the same first heading as on its own page, its formulas are KaTeX's,
  every figure loads, and the page logs no console error.
"""

from __future__ import annotations

import html as html_module
import re
import zipfile
from pathlib import Path

import pytest
import yaml
from mkdocs_print_site_plugin.urls import get_page_key

from bookhooks import offline
from bookhooks.examples import ROOT

try:  # the shared fixtures, unless they live in tests/book/conftest.py
    from test_browser import base_url, browser, site  # noqa: F401
except ImportError:
    pass
from test_browser import open_page  # returns once the page it opened has loaded

pytestmark = pytest.mark.browser

LEFT_OUT = "reference/"  # print-site's exclude in mkdocs.yml

# Resolves once every image of the selector has loaded or failed; returns those that failed.
_BROKEN_IMAGES_JS = """
    const done = arguments[arguments.length - 1];
    const images = [...document.querySelectorAll(arguments[0])];
    Promise.all(images.map((img) => img.complete ? null
        : new Promise((resolve) => { img.onload = img.onerror = resolve; })))
      .then(() => done({count: images.length,
                        broken: images.filter((i) => !(i.complete && i.naturalWidth > 0))
                                      .map((i) => i.src)}));
"""


def _nav_pages(items) -> list[str]:
    pages = []
    for item in items:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        if isinstance(value, list):
            pages += _nav_pages(value)
        elif not value.startswith(LEFT_OUT):
            pages.append(value)
    return pages


def _url(src: str) -> str:
    """A page's URL with directory URLs: ``maths/calculus.md`` -> ``maths/calculus/``."""
    stem = re.sub(r"\.(md|py)$", "", src)
    return "" if stem == "index" else re.sub(r"(^|/)index$", "", stem) + "/"


def _first_heading(html: str) -> str:
    article = html[html.index("<article"):]
    heading = re.search(r"<h1\b[^>]*>(.*?)</h1>", article, re.DOTALL)[1]
    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", "", heading)).replace("¶", "")
                    .split())


def _errors(browser) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


@pytest.fixture(scope="module")
def archive(site, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("offline")
    with zipfile.ZipFile(site / offline.ARCHIVE) as book:
        book.extractall(folder)
    return folder / "coursekit-book"


@pytest.mark.parametrize("page", ["index.html", "maths/calculus.html"])
def test_the_archive_opens_from_the_disk_with_no_console_error(browser, archive, page):
    browser.get_log("browser")
    open_page(browser, (archive / page).as_uri())
    images = browser.execute_async_script(_BROKEN_IMAGES_JS, "article img")
    assert not images["broken"], images
    assert _errors(browser) == []
    if page != "index.html":
        assert images["count"] >= 1
        assert browser.execute_script("return document.querySelectorAll('.katex').length") > 5


def test_the_archives_search_finds_a_page_from_the_disk(browser, archive):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")
    open_page(browser, (archive / "index.html").as_uri())
    box = WebDriverWait(browser, 10).until(
        ready.element_to_be_clickable((By.CSS_SELECTOR, "input.md-search__input")))
    box.click()
    box.send_keys("AccumulateGrad")
    results = WebDriverWait(browser, 20).until(lambda b: b.find_elements(
        By.CSS_SELECTOR, ".md-search-result__item a[href*='pytorch-basics.html']"))
    assert results[0].get_attribute("href").startswith("file://")
    assert _errors(browser) == []


def test_the_print_page_holds_every_chapter_with_its_math_and_figures(browser, base_url, site):
    with open(ROOT / "mkdocs.yml", encoding="utf-8") as file:
        nav = yaml.load(file, Loader=yaml.BaseLoader)["nav"]  # the nav holds no YAML tags
    chapters = {_url(src): _first_heading((site / _url(src) / "index.html")
                                          .read_text(encoding="utf-8"))
                for src in _nav_pages(nav)}
    assert len(chapters) >= 15 and "maths/calculus/" in chapters
    browser.get_log("browser")
    open_page(browser, f"{base_url}/print_page/")
    keys = [get_page_key(url) for url in chapters]
    script = """
        return Object.fromEntries(arguments[0].map((key) => {
          const heading = document.getElementById(key)?.querySelector('h1');
          return [key, heading ? heading.textContent.replace('¶', '').trim() : null];
        }));
    """
    # The 4.5 MB page may still be settling after its load event on a busy machine (seen once
    # in CI: every heading read as missing): read again until every section shows a heading.
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        shown = WebDriverWait(browser, 30, poll_frequency=0.5).until(
            lambda b: (lambda read: read if None not in read.values() else False)(
                b.execute_script(script, keys)))
    except TimeoutException:  # let the assertion below say which headings are missing
        shown = browser.execute_script(script, keys)
    assert {url: shown[get_page_key(url)] for url in chapters} == chapters
    math = browser.execute_script("""
        const page = document.getElementById('print-site-page');
        return [page.querySelectorAll('.katex').length, page.querySelectorAll('.arithmatex')
                .length, page.innerText.includes('\\\\frac')];
    """)
    assert math[0] > 100 and math[1:] == [0, False], math
    images = browser.execute_async_script(_BROKEN_IMAGES_JS, "#print-site-page img")
    figures = sorted(p.name for p in (site / "figures").glob("*.svg"))
    assert images["count"] >= len(figures) and not images["broken"], images
    assert _errors(browser) == []
