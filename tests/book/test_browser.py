"""Open the built site in headless Chromium, with every host but 127.0.0.1 unreachable.

Needs Debian's ``chromium`` and ``chromium-driver``. Without them the tests are skipped with
that reason; under ``CI=true`` a missing browser is a failure, so CI cannot pass without it.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bookhooks.examples import ROOT

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SITE = ROOT / "site"


def _require_browser():
    if CHROMIUM and CHROMEDRIVER:
        return
    message = "needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but the browser is missing: {message}")
    pytest.skip(message)


@pytest.fixture(scope="module")
def site() -> Path:
    if not (SITE / "index.html").exists():
        subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"],
                       cwd=ROOT, check=True)
    return SITE


@pytest.fixture(scope="module")
def base_url(site):
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--window-size=1280,900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
                 # The network is blocked: any host but 127.0.0.1 fails to resolve.
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _open(browser, url):
    browser.get_log("browser")
    browser.get_log("performance")  # start each page with empty logs
    browser.get(url)


def _requested_urls(browser) -> list[str]:
    urls = []
    for entry in browser.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    return [u for u in urls if urlsplit(u).scheme in ("http", "https", "ws", "wss")]


def site_pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).parent.as_posix() + "/"
                  for p in site.rglob("index.html"))


def test_every_page_loads_without_console_errors_or_foreign_requests(browser, base_url, site):
    pages = site_pages(site)
    assert "./" in pages and len(pages) >= 5
    problems = []
    for page in pages:
        url = f"{base_url}/{page.removeprefix('./')}"
        _open(browser, url)
        errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        foreign = [u for u in _requested_urls(browser) if urlsplit(u).hostname != "127.0.0.1"]
        if errors:
            problems.append(f"{page}: console errors {errors}")
        if foreign:
            problems.append(f"{page}: requests to other hosts {foreign}")
    assert not problems, "\n".join(problems)


def test_math_is_rendered_as_mathml(browser, base_url):
    _open(browser, f"{base_url}/training/pytorch-basics/")
    text = browser.execute_script("return document.querySelector('article').innerText")
    assert "$$" not in text and "\\(" not in text and "\\[" not in text
    widths = browser.execute_script(
        "return [...document.querySelectorAll('article math')]"
        ".map(m => m.getBoundingClientRect().width)")
    assert len(widths) >= 3 and all(w > 0 for w in widths)


def _copied_blocks(browser) -> list[str]:
    """Click every copy button on the page, as a reader would, and return what each copied."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    origin = "http://" + urlsplit(browser.current_url).netloc
    browser.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    copied = []
    for button in browser.find_elements(By.CSS_SELECTOR, "article button.md-code__button"):
        if not button.is_displayed():  # a block in a content tab that is not selected
            label = browser.execute_script("""
                const block = arguments[0].closest('.tabbed-block');
                const index = [...block.parentElement.children].indexOf(block);
                return block.closest('.tabbed-set').querySelectorAll('.tabbed-labels > label')[index];
            """, button)
            label.click()
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        browser.execute_async_script(
            "navigator.clipboard.writeText('').then(arguments[arguments.length - 1])")
        ActionChains(browser).move_to_element(button).click().perform()
        copied.append(browser.execute_async_script("""
            const done = arguments[arguments.length - 1];
            setTimeout(() => navigator.clipboard.readText().then(done, e => done('ERROR ' + e)), 100);
        """))
    return copied


def test_copy_button_copies_code_that_runs(browser, base_url, tmp_path):
    _open(browser, f"{base_url}/training/pytorch-basics/")
    copied = _copied_blocks(browser)
    assert len(copied) >= 8
    joined = "\n".join(copied)
    assert "x = torch.tensor([1., 2.], requires_grad=True)" in joined
    for marker in (">>>", "... ", "tensor([3., 4.])\n", "SumBackward0\n    MulBackward0"):
        assert marker not in joined, f"copied text still holds {marker!r}"
    # Paste every block, in page order, into a fresh Python: it must run.
    script = tmp_path / "pasted.py"
    script.write_text(joined + "\nprint('z =', z.item(), 'x.grad =', x.grad.tolist())\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "z = 11.0 x.grad = [3.0, 4.0]" in result.stdout


def test_search_finds_a_page_by_a_word_in_its_body(browser, base_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    _open(browser, f"{base_url}/")
    box = WebDriverWait(browser, 10).until(
        ready.element_to_be_clickable((By.CSS_SELECTOR, "input.md-search__input")))
    box.click()
    box.send_keys("AccumulateGrad")
    WebDriverWait(browser, 20).until(lambda b: b.find_elements(
        By.CSS_SELECTOR, ".md-search-result__item a[href*='pytorch-basics']"))


def test_lab_page_shows_executed_output(browser, base_url, site):
    labs = sorted(p.parent.name for p in (site / "labs").glob("*/index.html"))
    assert labs, "no lab page was built under site/labs/"
    for lab in labs:
        _open(browser, f"{base_url}/labs/{lab}/")
        outputs = browser.execute_script(
            "return [...document.querySelectorAll('.jp-OutputArea-output')]"
            ".map(o => o.innerText.trim()).filter(t => t.length > 0)")
        assert outputs, f"lab {lab} shows no executed output"
        links = browser.execute_script(
            "return [...document.querySelectorAll('a[href$=\".ipynb\"]')].map(a => a.href)")
        assert links, f"lab {lab} has no link to its .ipynb"
