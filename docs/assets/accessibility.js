// What the theme's markup lacks for keyboard and screen-reader users, added as each page is
// shown (also after Material's instant navigation); tests/book/test_browser_a11y.py checks
// every page with axe-core.
// - A block that scrolls (a code block, a wide table, a long formula, a lab's output) and holds
//   nothing focusable can be focused, so that the keyboard can scroll it. Material does this
//   for code blocks only on devices with a hover pointer, and takes it back when a block is
//   resized there: such a block gets it back.
// - The link of a code annotation, which shows its number from CSS only, gets a name.
// - The bar of a code block's buttons is a <nav>: it is no landmark (role "none"), so that a
//   screen reader's list of landmarks holds the site's navigation only, not one per block.

const FOCUSABLE = 'a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])';
const MARK = "data-scroll-focus"; // a block this script made focusable

function scrolls(element) {
  const style = getComputedStyle(element);
  const sideways = /auto|scroll/.test(style.overflowX) && element.scrollWidth > element.clientWidth;
  const down = /auto|scroll/.test(style.overflowY) && element.scrollHeight > element.clientHeight;
  return sideways || down;
}

// Nothing inside these scrolls (a code block's highlighted words, a formula's glyph boxes, a
// drawing): their insides are not looked at, and on a long page they are most of its elements.
const NEVER_SCROLLS_INSIDE = "code, .katex, math, svg";

function candidates(root) {
  const found = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_ELEMENT, {
    acceptNode(element) {
      found.push(element);
      return element.matches(NEVER_SCROLLS_INSIDE) ? NodeFilter.FILTER_REJECT
                                                    : NodeFilter.FILTER_ACCEPT;
    },
  });
  while (walker.nextNode());
  return found;
}

function makeScrollersFocusable() {
  const content = document.querySelector(".md-content");
  if (content === null) return;
  // Every size is read before any attribute is written, so the page is laid out once.
  const scrollers = candidates(content).filter((element) =>
    !element.hasAttribute("tabindex") && !element.matches(FOCUSABLE) && scrolls(element) &&
    element.querySelector(FOCUSABLE) === null);
  for (const element of scrollers) {
    element.setAttribute("tabindex", "0");
    element.setAttribute(MARK, "");
  }
}

function nameAnnotationsAndCodeBars() {
  for (const link of document.querySelectorAll('a[href*="_annotation_"]:not([aria-label])')) {
    if (link.textContent.trim() !== "") continue;
    const number = link.getAttribute("href").split("_annotation_").pop();
    link.setAttribute("aria-label", `Code annotation ${number}`);
  }
  for (const bar of document.querySelectorAll("nav.md-code__nav:not([role])")) {
    bar.setAttribute("role", "none");
  }
}

function fixPage() {
  makeScrollersFocusable();
  nameAnnotationsAndCodeBars();
}

// Material adds the annotations and the button bars, and may drop a code block's tabindex,
// after the page is shown: watch for both.
let pending = false;
new MutationObserver((changes) => {
  for (const change of changes) {
    const element = change.target;
    if (change.type === "attributes" && element.hasAttribute(MARK) &&
        !element.hasAttribute("tabindex") && scrolls(element)) {
      element.setAttribute("tabindex", "0");
    }
  }
  if (!pending) {
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      nameAnnotationsAndCodeBars();
    });
  }
}).observe(document.body, {subtree: true, childList: true, attributes: true,
                           attributeFilter: ["tabindex"]});

let resizing = null;
window.addEventListener("load", makeScrollersFocusable); // once fonts and images have their size
window.addEventListener("resize", () => {
  clearTimeout(resizing);
  resizing = setTimeout(makeScrollersFocusable, 200);
});

if (typeof document$ !== "undefined") {
  document$.subscribe(fixPage);
} else {
  document.addEventListener("DOMContentLoaded", fixPage);
}
