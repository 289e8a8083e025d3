"""Open the built site in headless Chromium, with every host but 127.0.0.1 unreachable.

Besides loading every page, the tests read what each copy button copies and paste every page's
Python blocks into a fresh Python (``tests/book/run_copies.py``), ``>>>`` sessions at the classic
prompt, so that a copy that would not run when pasted fails here, naming its page and block.

Needs Debian's ``chromium`` and ``chromium-driver``. Without them the tests are skipped with
that reason; under ``CI=true`` a missing browser is a failure, so CI cannot pass without it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bookhooks import static_site
from bookhooks.examples import ROOT

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
# BOOK_SITE points the browser tests at a site built elsewhere (mkdocs build -d DIR).
SITE = Path(os.environ.get("BOOK_SITE", ROOT / "site"))
# A hung page fails after this long. The print page (every chapter, 4.5 MB) takes 16 s alone
# here, and took over 30 s in CI while the other worker ran, with axe injected into it.
PAGE_LOAD_SECONDS = 120


def _require_browser():
    if CHROMIUM and CHROMEDRIVER:
        return
    message = ("needs Debian's chromium and chromium-driver "
               "(apt-get install chromium chromium-driver)")
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but the browser is missing: {message}")
    pytest.skip(message)


@pytest.fixture(scope="module")
def site() -> Path:
    if not (SITE / "index.html").exists():
        subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                        "-d", str(SITE)],
                       cwd=ROOT, check=True)
    return SITE


@pytest.fixture(scope="module")
def base_url(site):
    server = static_site.serve(site)
    yield static_site.url(server)
    server.shutdown()


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
    driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
    driver.set_script_timeout(PAGE_LOAD_SECONDS)
    yield driver
    driver.quit()


def open_page(browser, url: str) -> None:
    """Open ``url`` and return once that page, not the one before it, has loaded.

    Twice in CI a test read the page it had left (0 images, no notes) right after
    ``browser.get``; waiting for the document's own URL and ``readyState`` rules that out.
    """
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        browser.get(url)
        WebDriverWait(browser, PAGE_LOAD_SECONDS).until(lambda b: b.execute_script(
            "return document.readyState === 'complete' && document.URL") == url)
    except TimeoutException:
        pytest.fail(f"{url} did not load within {PAGE_LOAD_SECONDS} s")


def prefer_colour_scheme(browser, base_url: str, preference: str) -> None:
    """The system asks for the ``preference`` colour scheme ("dark" or "light"), and no palette
    is stored: the next page shows the first palette whose media query matches.

    The palette a reader chose is kept in localStorage (where Material keeps it).
    """
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": preference}]})
    open_page(browser, f"{base_url}/404.html")
    browser.execute_script("localStorage.clear()")


def _open(browser, url):
    browser.get_log("browser")
    browser.get_log("performance")  # start each page with empty logs
    open_page(browser, url)


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


# Shows an element that sits in a content tab that is not selected, or in a collapsed
# block (an exercise's solution, a closed <details>: its innerText is empty), as a reader would.
_REVEAL_FUNCTION = """
    function reveal(element) {
      for (let d = element.closest('details'); d; d = d.parentElement.closest('details')) {
        d.open = true;
      }
      const block = element.closest('.tabbed-block');
      if (block === null || block.getClientRects().length > 0) return;
      const index = [...block.parentElement.children].indexOf(block);
      block.closest('.tabbed-set').querySelectorAll('.tabbed-labels > label')[index].click();
    }
"""

# What each copy button on the page copies, read as Material 9.8's own copy function reads it
# (bundle.js: the data-copy of an ancestor if any, else the innerText of the <code> while
# data-md-copying is set on it, trimEnd()), with what the block shows and where it stands.
_COPIES_JS = _REVEAL_FUNCTION + """
    return [...document.querySelectorAll('article button.md-code__button[data-md-type="copy"]')]
      .map((button) => {
        const code = document.querySelector(button.getAttribute('data-clipboard-target'));
        reveal(code);
        code.setAttribute('data-md-copying', '');
        const holder = code.closest('[data-copy]');
        const copied = holder ? holder.getAttribute('data-copy') : code.innerText;
        code.removeAttribute('data-md-copying');
        const block = code.closest('.highlight');
        return {
          copied: copied.trimEnd(),
          shown: code.innerText,
          language: block ? ([...block.classList].find((c) => c.startsWith('language-')) || '')
                              .replace('language-', '') : '',
          skipped: code.closest('.skipped-example')?.getAttribute('data-skip-reason') ?? null,
          signature: code.closest('.doc-signature') !== null,
          solution: code.closest('details.success') !== null,
        };
      });
"""


def page_copies(browser) -> list[dict]:
    """Every code block of the open page: what its copy button copies, shows, its language."""
    return browser.execute_script(_COPIES_JS)


@pytest.fixture(scope="module")
def visited(browser, base_url, site) -> dict[str, dict]:
    """Every page of the site, opened once (a page load is the slow part): its console errors,
    the other hosts it asked for, and its code blocks (``page_copies``)."""
    visits = {}
    for page in site_pages(site):
        _open(browser, f"{base_url}/{page.removeprefix('./')}")
        visits[page] = {
            "errors": [e["message"] for e in browser.get_log("browser")
                       if e["level"] == "SEVERE"],
            "foreign": [u for u in _requested_urls(browser)
                        if urlsplit(u).hostname != "127.0.0.1"],
            "blocks": page_copies(browser),
        }
    return visits


def test_every_page_loads_without_console_errors_or_foreign_requests(visited):
    assert "./" in visited and len(visited) >= 5
    problems = []
    for page, visit in visited.items():
        if visit["errors"]:
            problems.append(f"{page}: console errors {visit['errors']}")
        if visit["foreign"]:
            problems.append(f"{page}: requests to other hosts {visit['foreign']}")
    assert not problems, "\n".join(problems)


def test_math_is_rendered_as_mathml(browser, base_url):
    _open(browser, f"{base_url}/training/pytorch-basics/")
    text = browser.execute_script(  # with the solutions open, as a reader opens them
        "document.querySelectorAll('article details').forEach((d) => { d.open = true; });"
        "return document.querySelector('article').innerText")
    assert "$$" not in text and "\\(" not in text and "\\[" not in text
    widths = browser.execute_script(
        "return [...document.querySelectorAll('article math')]"
        ".map(m => m.getBoundingClientRect().width)")
    assert len(widths) >= 3 and all(w > 0 for w in widths)


def _clicked_copies(browser) -> list[str]:
    """Click every copy button on the page, as a reader would, and return what each copied."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    origin = "http://" + urlsplit(browser.current_url).netloc
    browser.execute_cdp_cmd("Browser.grantPermissions", {
        "origin": origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    # Headless Chromium does not focus the page it loads, and the clipboard answers only a
    # focused document: emulate focus, as a reader's window has it.
    browser.execute_cdp_cmd("Emulation.setFocusEmulationEnabled", {"enabled": True})
    copied = []
    for button in browser.find_elements(By.CSS_SELECTOR, "article button.md-code__button"
                                                         '[data-md-type="copy"]'):
        browser.execute_script(_REVEAL_FUNCTION + "reveal(arguments[0]);", button)
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        emptied = browser.execute_async_script("""
            const done = arguments[arguments.length - 1];
            navigator.clipboard.writeText('').then(() => done('ok'), (e) => done('ERROR ' + e));
        """)
        assert emptied == "ok", f"cannot empty the clipboard before a copy: {emptied}"
        ActionChains(browser).move_to_element(button).click().perform()
        copied.append(browser.execute_async_script("""
            const done = arguments[arguments.length - 1];
            setTimeout(() => navigator.clipboard.readText()
                                 .then(done, (e) => done('ERROR ' + e)), 100);
        """))
    return copied


def test_copy_button_copies_what_the_extraction_reads_and_it_runs_as_a_script(
        browser, base_url, tmp_path):
    _open(browser, f"{base_url}/training/pytorch-basics/")
    clicked = _clicked_copies(browser)
    assert len(clicked) >= 8
    blocks = page_copies(browser)
    assert clicked == [block["copied"] for block in blocks]
    assert any(block["solution"] for block in blocks)  # the exercises' solutions are copied too
    for marker in (">>>", "... ", "tensor([3., 4.])\n", "SumBackward0\n    MulBackward0"):
        assert marker not in "\n".join(clicked), f"copied text still holds {marker!r}"
    # Paste the chapter's blocks (not the solutions, one of which shows an error on purpose;
    # the copy-and-run test below runs those), in page order, into one script: it must run.
    joined = "\n".join(copy for copy, block in zip(clicked, blocks, strict=True)
                       if not block["solution"])
    assert "x = torch.tensor([1., 2.], requires_grad=True)" in joined
    script = tmp_path / "pasted.py"
    script.write_text(joined + "\nprint('z =', z.item(), 'x.grad =', x.grad.tolist())\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "z = 11.0 x.grad = [3.0, 4.0]" in result.stdout


# --- Every copied block of every page runs ------------------------------------------------

PYTHON_LANGUAGES = {"python", "pycon"}  # pycon: the reference pages' docstring examples
RUN_COPIES = Path(__file__).with_name("run_copies.py")
TRACEBACK = "Traceback (most recent call last)"
# Labs are left out: mkdocs-jupyter renders their cells as <pre> without <code>, so Material
# gives them no copy button; the lab's own .ipynb download is what a reader runs, and the build
# executes it (allow_errors: false).
LAB_PAGES = "labs/"


def _python_blocks(visited: dict[str, dict]) -> dict[str, list[dict]]:
    """The Python code blocks of every page but the labs, in page order, with their index.

    A reference page's signatures (mkdocstrings' ``.doc-signature`` blocks, such as
    ``lp_norm(x: Tensor | ndarray, p: float) -> Tensor``) are shown as Python but are not code
    to run; their examples are.
    """
    pages = {}
    for page, visit in visited.items():
        if page.startswith(LAB_PAGES):
            continue
        blocks = [dict(block, index=index) for index, block in enumerate(visit["blocks"])
                  if block["language"] in PYTHON_LANGUAGES and not block["signature"]]
        if blocks:
            pages[page] = blocks
    return pages


def _is_session(shown: str) -> bool:
    """A doctest-style block, as copy-runnable.js recognises one."""
    return any(line.startswith(">>>") for line in shown.split("\n"))


def _problems(page: str, blocks: list[dict], folder: Path) -> list[str]:
    """A line for each of the page's blocks that failed when pasted (``run_copies.py``)."""
    results = folder / "results.json"
    if not results.exists():
        output = (folder / "output.txt").read_text(encoding="utf-8", errors="replace")
        return [f"{page}: the pasted blocks crashed Python:\n{output[-2000:]}"]
    problems = []
    outcomes = json.loads(results.read_text(encoding="utf-8"))
    for block, outcome in zip(blocks, outcomes, strict=True):
        if outcome is None:
            continue
        if outcome["syntax"] or TRACEBACK not in block["shown"]:
            first_line = block["copied"].split("\n")[0]
            problems.append(f"{page} block {block['index']} ({first_line!r}): "
                            f"{outcome['error']} at line {outcome['line']!r}")
    return problems


def test_every_python_block_runs_when_its_copy_is_pasted(visited, tmp_path):
    """Each page's copies, in page order, pasted into one fresh Python: a ``>>>`` session line by
    line at the classic prompt, a definition block whole. A block may raise only where the page
    shows the traceback; a block the page skips (``.skipped-example``) is not run."""
    pages = _python_blocks(visited)
    assert len(pages) >= 10 and "training/pytorch-basics/" in pages
    assert any(block["skipped"] for blocks in pages.values() for block in blocks), \
        "no skipped example found: is bookhooks.skips wired into the build?"
    # An unopened <details> (an exercise's solution) reads as empty: reveal() must open it.
    unseen = [f"{page} block {block['index']}" for page, blocks in pages.items()
              for block in blocks if not block["shown"].strip()]
    assert not unseen, f"blocks read as empty (not revealed): {unseen}"
    to_run = {page: [block for block in blocks if block["skipped"] is None]
              for page, blocks in pages.items()}
    folders = {page: tmp_path / (page.strip("./").replace("/", "-") or "home") for page in pages}
    for page, blocks in to_run.items():
        folders[page].mkdir()
        (folders[page] / "blocks.json").write_text(json.dumps(
            [{"text": block["copied"], "session": _is_session(block["shown"])}
             for block in blocks]), encoding="utf-8")
    # Pages are independent, two at a time; the longest first, so both workers end together.
    order = sorted(pages, key=lambda page: -sum(len(b["copied"]) for b in to_run[page]))
    subprocess.run([sys.executable, str(RUN_COPIES), "--workers", "2", "--timeout", "300",
                    *(str(folders[page]) for page in order)], check=True, timeout=900)
    problems = [problem for page in pages
                for problem in _problems(page, to_run[page], folders[page])]
    assert not problems, "\n".join(problems)


def test_a_skipped_example_shows_readers_why_it_is_not_run(browser, base_url):
    _open(browser, f"{base_url}/training/gpu-and-distributed/")
    notes = browser.execute_script(
        "return [...document.querySelectorAll('article .skipped-example')]"
        ".map(e => getComputedStyle(e, '::before').content)")
    assert notes and all(note == '"Not run when the book is built: needs a CUDA GPU; run by '
                         'make gpu-check"' for note in notes), notes


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
