"""The built site's layout in headless Chromium: code that fits, figures that follow the theme and
read on a phone, and pages that fit a phone's width (issue 14, items 2, 5 and 6).

Every page is opened once and measured at 1280 x 900 and as a 390 x 844 phone, by resizing the
same page once (the site's search index is not loaded: it is not measured, and parsing it took a
third of the time):

- at 1280 px no code block (a chapter's ``pre > code``, a lab's cells and outputs) scrolls
  sideways;
- at 390 px the page itself does not scroll sideways (wide equations and tables scroll in their
  own box), no inline code breaks between two letters, no code uses ``break-all``, and no line
  of a lab's output wraps (its numbers stay whole);
- every figure (``figures/*.svg``) and every lab plot has a transparent background, and on the
  dark palette is shown inverted; the smallest text of every figure is at least 10 px at 390 px.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

try:  # the shared fixtures, unless they live in tests/book/conftest.py
    from test_browser import base_url, browser, site  # noqa: F401
except ImportError:
    pass
from test_browser import (
    open_page,  # returns once the page it opened has loaded
    site_pages,  # every page the build wrote: ./, maths/calculus/, ...
)

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
MIN_FIGURE_TEXT_PX = 10.0
FIGURE_IMAGES = 'article img[src*="figures/"]'
LAB_IMAGES = "article .jp-OutputArea-output img"

# Every code block of the page whose box scrolls sideways: its index among the page's blocks,
# its widths and the first characters of its longest line. Hidden tabs and closed details are
# shown first, as a reader would open them.
_CODE_JS = """
    const done = arguments[arguments.length - 1];
    const style = document.createElement('style');
    style.textContent = '.tabbed-set > .tabbed-content > .tabbed-block {display: block !important}';
    document.head.appendChild(style);
    document.querySelectorAll('article details').forEach((d) => { d.open = true; });
    // The width of one column in a block's font, measured once per font (on a canvas: a probe
    // in the page would lay the page out again for every block).
    const context = document.createElement('canvas').getContext('2d');
    const columns = new Map();
    const column = (css) => {
      const font = `${css.fontStyle} ${css.fontWeight} ${css.fontSize} ${css.fontFamily}`;
      if (!columns.has(font)) {
        context.font = font;
        columns.set(font, context.measureText('x'.repeat(88)).width / 88);
      }
      return columns.get(font);
    };
    document.fonts.ready.then(() => {
      const boxes = [...document.querySelectorAll('article pre')]
        .map((pre) => pre.querySelector(':scope > code') || pre)
        .filter((box) => box.clientWidth > 0);
      const blocks = boxes.map((box, index) => {
        const css = getComputedStyle(box);
        const room = (box.clientWidth - parseFloat(css.paddingLeft)
                      - parseFloat(css.paddingRight)) / column(css);
        const lines = box.innerText.split('\\n');
        const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), '');
        return {index, room: Math.floor(room), scroll: box.scrollWidth, client: box.clientWidth,
                columns: longest.length, line: longest.slice(0, 60)};
      });
      style.remove();
      done(blocks);
    });
"""

# The height of each of the lab's outputs, to tell at 390 px whether a line of one wrapped.
_OUTPUT_HEIGHTS_JS = """
    return [...document.querySelectorAll('article .jp-OutputArea-output pre')]
      .map((pre) => ({height: pre.clientHeight, text: pre.innerText.slice(0, 60)}));
"""

# The phone measurements of the open page.
_PHONE_JS = """
    document.querySelectorAll('article details').forEach((d) => { d.open = true; });
    const width = window.innerWidth;
    const root = document.documentElement;
    // What sticks out past the right edge, outside any box that scrolls or clips it.
    const clipped = (el) => {
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX;
        if (o === 'auto' || o === 'scroll' || o === 'hidden' || o === 'clip') return true;
      }
      return false;
    };
    const sticking = root.scrollWidth > width
      ? [...document.querySelectorAll('article *')]
          .filter((el) => el.getBoundingClientRect().right > width + 1 && !clipped(el))
          .slice(0, 5)
          .map((el) => `${el.tagName.toLowerCase()}.${[...el.classList].join('.')} `
                       + `right=${Math.round(el.getBoundingClientRect().right)}`)
      : [];
    // Where each inline code span that runs over two lines (as an inline or in a box of its
    // own) breaks: the characters either side.
    const range = document.createRange();
    const splits = [];
    const code = [...document.querySelectorAll('article code')];
    for (const span of code) {
      if (span.closest('pre')) continue;
      if (span.getClientRects().length < 2 && span.getBoundingClientRect().height
          < 1.8 * parseFloat(getComputedStyle(span).fontSize)) continue;
      let top = null, before = '';
      const walker = document.createTreeWalker(span, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (let i = 0; i < node.data.length; i++) {
          range.setStart(node, i);
          range.setEnd(node, i + 1);
          const rect = range.getClientRects()[0];
          if (rect && top !== null && rect.top > top + 2) {
            splits.push({text: span.textContent.slice(0, 60), at: before + '|' + node.data[i]});
          }
          if (rect) top = rect.top;
          before = node.data[i];
        }
      }
    }
    const breakAll = code.filter((c) => ['break-all'].includes(getComputedStyle(c).wordBreak)
                                        || getComputedStyle(c).overflowWrap === 'anywhere')
                         .length;
    const figures = [...document.querySelectorAll(arguments[0])].map((img) => ({
      src: new URL(img.getAttribute('src'), location.href).pathname,
      width: img.getBoundingClientRect().width,
      natural: img.naturalWidth,
    }));
    return {scrollWidth: root.scrollWidth, width, sticking, splits, breakAll, figures};
"""

# Once every image has loaded (or failed): the CSS filter of the page's figures and lab plots on
# the light and on the dark palette, and for each lab plot (a PNG in the page) whether its
# corner pixel is transparent.
_THEME_JS = """
    const done = arguments[arguments.length - 1];
    const images = [...document.querySelectorAll('article img')];
    Promise.all(images.map((img) => img.complete ? null : new Promise((settle) => {
      img.addEventListener('load', settle);
      img.addEventListener('error', settle);
    }))).then(() => {
      if (images.length === 0) return done({light: [], dark: [], corners: []});
      const body = document.body;
      const scheme = body.getAttribute('data-md-color-scheme');
      const filters = (palette) => {
        body.setAttribute('data-md-color-scheme', palette);
        return [...document.querySelectorAll(arguments[0])]
          .map((img) => getComputedStyle(img).filter);
      };
      const light = filters('default'), dark = filters('slate');
      body.setAttribute('data-md-color-scheme', scheme);
      const corners = [...document.querySelectorAll(arguments[1])].map((img) => {
        const canvas = document.createElement('canvas');
        canvas.width = Math.max(1, img.naturalWidth);
        canvas.height = Math.max(1, img.naturalHeight);
        const context = canvas.getContext('2d');
        context.drawImage(img, 0, 0);
        return context.getImageData(1, 1, 1, 1).data[3];
      });
      done({light, dark, corners});
    });
"""



def _resize(browser, size: dict) -> None:
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        **size, "deviceScaleFactor": 1, "mobile": size["width"] < 600})


# Material's search index and its worker: not measured here, and parsing the index on every
# page load took about a third of the time.
_NOT_LOADED = ["*/search/search_index.json", "*/assets/javascripts/workers/*"]


@pytest.fixture(scope="module")
def layout(browser, base_url, site) -> dict[str, dict]:
    """Every page, opened once and measured at 1280 px and at 390 px. The window is resized
    once a page: a page is measured first at the width the last one ended at."""
    selector = f"{FIGURE_IMAGES}, {LAB_IMAGES}"

    def desktop() -> dict:
        return {"code": browser.execute_async_script(_CODE_JS),
                "outputs": browser.execute_script(_OUTPUT_HEIGHTS_JS),
                "theme": browser.execute_async_script(_THEME_JS, selector, LAB_IMAGES)}

    def phone() -> dict:
        return {"phone": browser.execute_script(_PHONE_JS, FIGURE_IMAGES),
                "phone_outputs": browser.execute_script(_OUTPUT_HEIGHTS_JS)}

    measured = {}
    widths = [(DESKTOP, desktop), (PHONE, phone)]
    browser.execute_cdp_cmd("Network.enable", {})
    browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": _NOT_LOADED})
    try:
        _resize(browser, DESKTOP)
        for page in site_pages(site):
            open_page(browser, f"{base_url}/{page.removeprefix('./')}")
            (_, first), (size, second) = widths
            measured[page] = first()
            _resize(browser, size)
            measured[page].update(second())
            widths.reverse()
    finally:
        browser.execute_cdp_cmd("Network.setBlockedURLs", {"urls": []})
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return measured


def test_every_code_block_has_room_for_88_columns_at_1280_px(layout):
    blocks = [(page, block) for page, m in layout.items() for block in m["code"]]
    assert len(blocks) > 100
    narrow = [f"{page} block {block['index']}: room for {block['room']} columns"
              for page, block in blocks if block["room"] < 88]
    assert not narrow, "\n".join(narrow)


def test_no_code_block_scrolls_sideways_at_1280_px(layout):
    total = sum(len(m["code"]) for m in layout.values())
    problems = [f"{page} block {b['index']}: {b['columns']} columns, {b['scroll']} px in "
                f"{b['client']} px: {b['line']!r}"
                for page, m in layout.items() for b in m["code"] if b["scroll"] > b["client"] + 1]
    assert not problems, (f"{len(problems)} of {total} code blocks scroll sideways at 1280 px:\n"
                          + "\n".join(problems))


def test_no_page_scrolls_sideways_on_a_390_px_phone(layout):
    problems = [f"{page}: {m['phone']['scrollWidth']} px wide in {m['phone']['width']} px "
                f"{m['phone']['sticking']}"
                for page, m in layout.items()
                if m["phone"]["scrollWidth"] > m["phone"]["width"]]
    assert not problems, "\n".join(problems)


def test_no_identifier_breaks_between_two_letters_on_a_phone(layout):
    assert all(m["phone"]["breakAll"] == 0 for m in layout.values()), \
        {page: m["phone"]["breakAll"] for page, m in layout.items() if m["phone"]["breakAll"]}
    problems = [f"{page}: {split['text']!r} breaks at {split['at']!r}"
                for page, m in layout.items() for split in m["phone"]["splits"]
                if re.fullmatch(r"[A-Za-z0-9]\|[A-Za-z0-9]", split["at"])]
    assert not problems, "\n".join(problems)


def test_lab_outputs_keep_their_lines_and_numbers_whole_on_a_phone(layout):
    outputs = [(page, desktop, phone) for page, m in layout.items()
               for desktop, phone in zip(m["outputs"], m["phone_outputs"], strict=True)]
    assert len(outputs) >= 5
    wrapped = [f"{page}: {desktop['height']} px high at 1280 px, {phone['height']} px at 390 px:"
               f" {desktop['text']!r}"
               for page, desktop, phone in outputs if phone["height"] > desktop["height"] + 1]
    assert not wrapped, "\n".join(wrapped)


def test_figures_and_lab_plots_are_inverted_on_the_dark_palette_only(layout):
    filters = [(page, light, dark) for page, m in layout.items()
               for light, dark in zip(m["theme"]["light"], m["theme"]["dark"], strict=True)]
    assert len(filters) >= 10 and any(page.startswith("labs/") for page, _, _ in filters)
    problems = [f"{page}: filter {light!r} on the light palette, {dark!r} on the dark one"
                for page, light, dark in filters if light != "none" or "invert(1)" not in dark]
    assert not problems, "\n".join(problems)


def test_lab_plots_have_transparent_backgrounds(layout):
    corners = {page: m["theme"]["corners"] for page, m in layout.items()
               if page.startswith("labs/")}
    assert corners and all(corners.values()), f"no plot on a lab page: {corners}"
    opaque = {page: alphas for page, alphas in corners.items() if any(alphas)}
    assert not opaque, f"lab plots whose corner pixel is not transparent (alpha): {opaque}"


# The background of the figure, and of each axes: the first patch of each.
_BACKGROUNDS = re.compile(r'<g id="(?:figure|axes)_\d+">\s*<g id="patch_\d+">\s*<path [^>]*?'
                          r'style="([^"]*)"')


def test_every_figure_has_transparent_backgrounds(layout, site):
    shown = {figure["src"] for m in layout.values() for figure in m["phone"]["figures"]}
    assert len(shown) >= 10
    problems = []
    for src in sorted(shown):
        if not (site / src.lstrip("/")).exists():
            problems.append(f"{src}: not in the site")
            continue
        svg = (site / src.lstrip("/")).read_text(encoding="utf-8")
        styles = _BACKGROUNDS.findall(svg)
        if not styles or any("fill: none" not in style for style in styles):
            problems.append(f"{Path(src).name}: backgrounds {styles[:3]}")
    assert not problems, "\n".join(problems)


def _smallest_text_and_width(svg: Path) -> tuple[float, float]:
    """The smallest font size in an SVG figure and its viewBox width, in the same units."""
    text = svg.read_text(encoding="utf-8")
    sizes = [float(size) for size in re.findall(r"font-size: ?([0-9.]+)px", text)]
    if not sizes:
        raise AssertionError(f"{svg.name} has no SVG text (drawn as paths?)")
    return min(sizes), float(re.search(r'viewBox="[-0-9.]+ [-0-9.]+ ([0-9.]+)', text)[1])


def test_figure_text_is_at_least_10_px_on_a_390_px_phone(layout, site):
    shown = [(page, figure) for page, m in layout.items() for figure in m["phone"]["figures"]]
    assert len(shown) >= 10
    problems = []
    for page, figure in shown:
        svg = site / figure["src"].lstrip("/")
        if not svg.exists() or not figure["natural"]:
            problems.append(f"{page} {figure['src']}: not in the site")
            continue
        smallest, width = _smallest_text_and_width(svg)
        on_screen = smallest * figure["width"] / width
        if on_screen < MIN_FIGURE_TEXT_PX:
            problems.append(f"{page} {Path(figure['src']).name}: {on_screen:.1f} px "
                            f"({smallest:.1f} pt in {width:.0f} pt, shown {figure['width']:.0f}"
                            " px wide)")
    assert not problems, "\n".join(problems)
