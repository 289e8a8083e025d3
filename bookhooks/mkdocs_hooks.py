"""MkDocs hooks that make the book self-contained and verified.

- Figures: a page that links ``figures/<name>.svg`` gets it from its own examples. Pages whose
  figures are missing or older than the page or the package are run (as pytest runs them), and
  each figure is served at ``figures/<name>.svg``.
- Math: LaTeX (``$...$`` and ``$$...$$``, marked by ``pymdownx.arithmatex``) is typeset by KaTeX
  at build time (``bookhooks.typeset``), and KaTeX's stylesheet and fonts are served by the site:
  no script runs in the browser, and no request goes to another host. A formula KaTeX cannot
  typeset fails the build, naming its page.
- Glue: ``{glue}`name``` in a page's prose becomes the value an example on that page recorded
  with ``glue(name, value)`` (``bookhooks.glue``); pages whose record is missing or stale are run
  first, and an unknown name fails the build.
- Reference: the API reference's pages, nav and index are generated from the package tree
  (``bookhooks.reference``) into the nav's ``Reference`` entry.
- Skips and live checks: skipped examples are marked on the page (``bookhooks.skips``); under
  ``mkdocs serve`` each page's examples run as it is served (``bookhooks.live``).
- Labs: each ``docs/labs/*.py`` (jupytext percent format) is also offered as a real ``.ipynb``,
  and the notebook template's MathJax/RequireJS scripts from CDNs are dropped.
- Notebooks: each chapter is also served as a notebook beside its page
  (``bookhooks.notebooks``), linked at its top; with ``repo_url`` set, so is "Open in Colab".
- Markup: what the theme and the plugins emit is made valid and accessible (unique line
  anchors, no empty ``tabindex``, a named search dialog, the lab's CSS), formulas reach the
  search index as LaTeX, and search ranks pages with every word first (``bookhooks.markup``).
"""

from __future__ import annotations

import html
import logging
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import matplotlib  # noqa: E402

matplotlib.use("Agg")  # pages that draw figures run here; no display is ever needed

from mkdocs.exceptions import PluginError  # noqa: E402
from mkdocs.structure.files import File  # noqa: E402

# Imported now: MkDocs puts this folder's parent on sys.path only while it loads the hooks.
from bookhooks import glue, live, markup, notebooks, reference, skips, typeset  # noqa: E402
from bookhooks.examples import run_page  # noqa: E402
from coursekit.figures import FIGURE_DIR_ENV  # noqa: E402

log = logging.getLogger("mkdocs.hooks.coursekit")

FIGURE_DIR = ROOT / ".cache" / "figures"
FIGURE_LINK = re.compile(r"\]\((?:\.\./)*figures/([a-z0-9][a-z0-9-]*)\.svg\)")
LAB_PREFIX = "labs/"


# --- Figures ------------------------------------------------------------------------------

def _figures_on(page_source: str) -> list[str]:
    return sorted(set(FIGURE_LINK.findall(page_source)))


def _newest_package_mtime() -> float:
    return max(p.stat().st_mtime for p in (ROOT / "coursekit").rglob("*.py"))


def _needs_run(page: Path, text: str, package_mtime: float) -> list[str]:
    """Why ``page`` must run before the build: its figures or glued values are missing or old."""
    reasons = []
    names = _figures_on(text)
    if names:
        oldest_ok = max(page.stat().st_mtime, package_mtime)
        paths = [FIGURE_DIR / f"{name}.svg" for name in names]
        if not all(p.exists() and p.stat().st_mtime >= oldest_ok for p in paths):
            reasons.append("to draw " + ", ".join(names))
    if glue.references(text) and glue.recorded(page, text) is None:
        reasons.append("to glue its numbers into the text")
    return reasons


def on_startup(command: str, dirty: bool, **kwargs) -> None:
    """Under ``mkdocs serve``, pages' examples run as they are served (``bookhooks.live``)."""
    live.start(command)


def on_pre_build(config, **kwargs) -> None:
    """Run each page whose figures or glued values are missing or stale."""
    os.environ[FIGURE_DIR_ENV] = str(FIGURE_DIR)
    package_mtime = _newest_package_mtime()
    docs = Path(config["docs_dir"])
    for page in sorted(docs.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        reasons = _needs_run(page, text, package_mtime)
        if not reasons:
            continue
        where = page.relative_to(docs.parent) if docs.parent in page.parents else page
        log.info("Running %s %s", where, " and ".join(reasons))
        cwd = os.getcwd()
        try:
            os.chdir(ROOT)
            run_page(page)
        except Exception as error:  # the page's own failure, with its file and line
            if live.serving():  # shown at the top of the page; the server keeps serving
                live.record(page, text, error)
                continue
            raise PluginError(f"{where}: an example failed while running the page "
                              f"{' and '.join(reasons)}:\n{error}") from error
        finally:
            os.chdir(cwd)
        live.record(page, text, None)
        missing = [f"{name}.svg" for name in _figures_on(text)
                   if not (FIGURE_DIR / f"{name}.svg").exists()]
        if missing:
            raise PluginError(f"{where} links {', '.join(missing)} but no "
                              "example on it calls savefig() with that name")


def on_config(config, **kwargs):
    """Fill the nav's ``Reference`` entry with the generated reference, one page per module."""
    for item in config["nav"] or []:
        if isinstance(item, dict) and reference.NAV_TITLE in item:
            item[reference.NAV_TITLE] = reference.nav()
    return config


def on_files(files, config, **kwargs):
    """Serve every linked figure at ``figures/<name>.svg``, every lab as a notebook, and the
    generated reference pages."""
    docs = Path(config["docs_dir"])
    if docs.resolve() == reference.DOCS:  # the book itself, not a test's small site
        for path, text in reference.pages().items():
            files.append(File.generated(config, path, content=text))
    names = set()
    for page in docs.rglob("*.md"):
        names.update(_figures_on(page.read_text(encoding="utf-8")))
    # A figure can be missing only under `mkdocs serve`, when its page's example failed (the
    # page's banner says so); `mkdocs build` has stopped in on_pre_build already.
    for name in sorted(name for name in names if (FIGURE_DIR / f"{name}.svg").exists()):
        files.append(File.generated(config, f"figures/{name}.svg",
                                    abs_src_path=str(FIGURE_DIR / f"{name}.svg")))
    for chapter in sorted(docs.glob("*/*.md")):
        src_uri = chapter.relative_to(docs).as_posix()
        if notebooks.is_chapter(src_uri):
            values = glue.recorded(chapter, chapter.read_text(encoding="utf-8"))
            files.append(File.generated(config, notebooks.notebook_path(src_uri),
                                        content=notebooks.notebook_json(
                                            chapter, values=values, figure_dir=FIGURE_DIR,
                                            repo_url=config.get("repo_url"),
                                            site_url=config.get("site_url"),
                                            src_uri=src_uri)))
    for lab in sorted((docs / "labs").glob("*.py")):
        files.append(File.generated(config, f"{LAB_PREFIX}{lab.stem}/{lab.stem}.ipynb",
                                    content=_notebook_json(lab)))
    try:
        katex_files = typeset.assets()  # KaTeX's stylesheet and fonts
    except RuntimeError as error:
        raise PluginError(str(error)) from error
    for path, source in katex_files.items():
        files.append(File.generated(config, path, abs_src_path=str(source)))
    return files


# --- Labs ---------------------------------------------------------------------------------

def _notebook_json(lab: Path) -> str:
    import jupytext

    notebook = jupytext.read(lab, fmt="py:percent")
    return jupytext.writes(notebook, fmt="ipynb")


def _is_lab(page) -> bool:
    return page.file.src_uri.startswith(LAB_PREFIX) and page.file.src_uri.endswith(".py")


# nbconvert's template loads MathJax (empty src here) and, for Mermaid diagrams, modules from a
# CDN; the book needs neither, and makes no request to another host.
_CDN_SCRIPT = re.compile(
    r"<script[^>]*src=\"(?:https?://[^\"]*)?\"[^>]*>\s*</script>"
    r"|<script type=\"text/x-mathjax-config\">.*?</script>"
    r"|<script type=\"module\">(?:(?!</script>).)*?https?://(?:(?!</script>).)*?</script>",
    re.DOTALL,
)


def _lab_download_link(page) -> str:
    name = Path(page.file.src_uri).stem
    return (f'<p class="lab-download"><a href="{name}.ipynb" download>Download this lab as a '
            f"Jupyter notebook ({name}.ipynb)</a> or as the plain script "
            f'<a href="{name}.py" download>{name}.py</a>.</p>\n')


def _chapter_links(page, config) -> str:
    """The chapter's notebook, to download and, when the book has a GitHub ``repo_url``, to
    open in Colab; an empty string on any other page.

    Colab reads a notebook from GitHub, and the notebooks are built, not committed: the link
    points at the built site as ``mkdocs gh-deploy`` pushes it to ``remote_branch``
    (``gh-pages`` by default), where the notebook lies at the path the site serves it from.
    """
    src_uri = page.file.src_uri
    if not notebooks.is_chapter(src_uri):
        return ""
    path = notebooks.notebook_path(src_uri)
    name = path.rsplit("/", 1)[-1]
    colab = notebooks.colab_url(config.get("repo_url"),
                                config.get("remote_branch") or "gh-pages", path)
    opens = f' or <a href="{html.escape(colab)}">open it in Colab</a>' if colab else ""
    return (f'<p class="lab-download chapter-notebook"><a href="{name}" download>Download this '
            f"chapter as a Jupyter notebook ({name})</a>{opens}.</p>\n")


# --- Math ---------------------------------------------------------------------------------

_ARITHMATEX = re.compile(
    r'<(?P<tag>span|div) class="arithmatex">(?P<tex>.*?)</(?P=tag)>', re.DOTALL
)
_DELIMITERS = [(r"\(", r"\)"), (r"\[", r"\]"), ("$$", "$$"), ("$", "$")]


def _formula(match: re.Match) -> tuple[str, bool]:
    """The LaTeX of one arithmatex match, without its delimiters, and whether it is display."""
    tex = html.unescape(match["tex"]).strip()
    for left, right in _DELIMITERS:
        if tex.startswith(left) and tex.endswith(right):
            tex = tex[len(left):len(tex) - len(right)]
            break
    return tex.strip(), match["tag"] == "div"


def typeset_math(content: str) -> str:
    """Typeset every formula of a page's HTML with KaTeX, in one call to the engine; raise
    ``ValueError`` naming the first formula it cannot typeset."""
    rendered = iter(typeset.render([_formula(m) for m in _ARITHMATEX.finditer(content)]))

    def replace(match: re.Match) -> str:  # the matches come in the order they were found
        html_ = next(rendered)
        if match["tag"] == "span":
            return html_
        # A display formula wider than the page scrolls in this box; the keyboard can focus it.
        return f'<div class="math-block" tabindex="0">{html_}</div>'

    return _ARITHMATEX.sub(replace, content)


def on_page_markdown(markdown: str, page, config, files, **kwargs) -> str:
    source = page.file.abs_src_path
    if source and glue.references(markdown):
        values = glue.recorded(Path(source), Path(source).read_text(encoding="utf-8")) or {}
        try:
            markdown = glue.fill(markdown, values, page.file.src_uri)
        except ValueError as error:
            if not live.serving():  # under serve, the page's banner shows why its run failed
                raise PluginError(str(error)) from error
    markdown = skips.mark_skipped(markdown)
    markdown = live.banner(markdown, page)
    return markdown


def on_page_content(content: str, page, config, files, **kwargs) -> str:
    try:
        content = typeset_math(content)
    except (ValueError, RuntimeError) as error:  # a formula KaTeX rejects, or KaTeX is missing
        raise PluginError(f"{page.file.src_uri}: {error}") from error
    if _is_lab(page):
        content = _lab_download_link(page) + _CDN_SCRIPT.sub("", content)
    links = _chapter_links(page, config)
    if links:  # below the chapter's title
        head, title_end, body = content.partition("</h1>")
        content = head + title_end + "\n" + links + body if title_end else links + content
    # Valid, accessible HTML where the theme and plugins fall short (bookhooks.markup).
    chapters = {f.src_uri: f.url for f in files.documentation_pages()}
    return markup.page_content(content, page.file.src_uri, page.url, chapters)


def on_page_context(context, page, config, nav, **kwargs):
    if _is_lab(page):
        # Material's download button on the lab page points at the real notebook.
        page.nb_url = f"{Path(page.file.src_uri).stem}.ipynb"
    return context


def on_post_page(output: str, page, config, **kwargs) -> str:
    """The theme's markup made valid and accessible, and the search ranking loaded
    (``bookhooks.markup``)."""
    return markup.page_html(output, page.file.src_uri)


def on_post_template(output: str, template_name: str, config, **kwargs) -> str:
    """The same for ``404.html``, a template MkDocs renders without a page."""
    if template_name != "404.html":
        return output
    return markup.page_html(output, template_name)
