"""Light, dark and phone screenshots of six representative pages, for a reviewer.

Run from the repository root: `make screenshots` (not part of `make test`). Builds the site if
site/ has none, serves it on 127.0.0.1, and writes ``screenshots/<page>-{light,dark,phone}.png``
(git ignores the folder): a 1280 x 900 window on the light and on the dark palette, and a
390 x 844 phone (at twice its pixel density) on the light one. Each shot is scrolled to what the
page is about to show: its first figure, table or plot; the home page from its top.

Needs Debian's ``chromium`` and ``chromium-driver`` and the project's selenium.
"""

from __future__ import annotations

import argparse
import base64
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # bookhooks is the repository's, not installed

from bookhooks import static_site  # noqa: E402

# name: (site path, what to scroll to first; None for the top of the page)
PAGES = {
    "home": ("", None),
    "linear-algebra": ("maths/linear-algebra/", 'article img[src*="figures/"]'),
    "training-a-network": ("training/training-a-network/", 'article img[src*="figures/"]'),
    "deep-learning-nowadays": ("applications/deep-learning-nowadays/",
                               'article img[src*="figures/"]'),
    "reference-linear-algebra": ("reference/maths/linalg/", "article table"),
    "lab-digits": ("labs/digits/", "article .jp-OutputArea-output img"),
}
SHOTS = {
    "light": {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
    "dark": {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
    "phone": {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True},
}


def _browser(profile: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        raise SystemExit("needs Debian's chromium and chromium-driver "
                         "(apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
                 "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


# Material's header swaps the site's name for the page's title with a transition as the page
# scrolls; a shot taken during it shows both, one over the other.
_STILL = "*, *::before, *::after {transition: none !important; animation: none !important}"


def _shoot(browser, url: str, shot: str, target: str | None, path: Path) -> None:
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", SHOTS[shot])
    scheme = "dark" if shot == "dark" else "light"
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {
        "features": [{"name": "prefers-color-scheme", "value": scheme}]})
    browser.get(url)
    # As on a first visit: Material picks the palette that matches prefers-color-scheme.
    browser.execute_script("localStorage.clear()")
    browser.get(url)
    palette = browser.execute_script(
        "const style = document.createElement('style'); style.textContent = arguments[0];"
        "document.head.appendChild(style);"
        "return document.body.getAttribute('data-md-color-scheme')", _STILL)
    expected = "slate" if scheme == "dark" else "default"
    if palette != expected:
        raise SystemExit(f"{url}: the {shot} shot shows the {palette!r} palette, not {expected!r}")
    if target:
        browser.execute_script(
            "const el = document.querySelector(arguments[0]);"
            "if (el) { el.scrollIntoView({block: 'start'}); window.scrollBy(0, -80); }", target)
    browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "Promise.all([document.fonts.ready,"
        "             ...[...document.images].map((i) => i.decode().catch(() => null))])"
        ".then(() => setTimeout(done, 300));")
    png = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})["data"]
    path.write_bytes(base64.b64decode(png))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site", help="the built site")
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").exists():
        subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
                        "--site-dir", str(args.site)], cwd=ROOT, check=True)
    args.out.mkdir(parents=True, exist_ok=True)
    server = static_site.serve(args.site)
    base = static_site.url(server) + "/"
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as profile:
        browser = _browser(Path(profile))
        try:
            for name, (page, target) in PAGES.items():
                for shot in SHOTS:
                    path = args.out / f"{name}-{shot}.png"
                    _shoot(browser, base + page, shot, target, path)
                    print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path,
                          flush=True)
        finally:
            browser.quit()
            server.shutdown()
    print(f"{len(PAGES) * len(SHOTS)} screenshots in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
