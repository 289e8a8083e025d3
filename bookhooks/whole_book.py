"""MkDocs hooks for the whole book offline and in print (after ``bookhooks/mkdocs_hooks.py``).

- Print: mkdocs-print-site-plugin (``mkdocs.yml``) writes every chapter on one page,
  ``print_page/index.html``, once the build is done. It keeps each page's HTML as Markdown made
  it, before the book's hooks typeset its math and mend its markup: here it gets each page's
  finished HTML instead, and the page it writes is finished by ``bookhooks.printpage`` and
  ``bookhooks.markup`` (unique ids, links into the pages it leaves out, the theme's fixes).
- Offline: ``downloads/coursekit-book.zip`` is the site built for reading from the disk
  (``bookhooks.offline``), in a second process started once this build's examples have run,
  so that the two builds share the machine's cores; this build waits for it at the end and
  zips it in. Under ``mkdocs serve`` it is not built. In the offline build itself, the home
  page says that it is that archive, and iframe-worker's shim is served by the site.

The home page links both; ``on_files`` lists them as files of the site (written by the end of
the build), so that the strict build's link check knows them.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File
from mkdocs_print_site_plugin import urls as print_site_urls

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bookhooks import live, markup, offline, printpage  # noqa: E402

log = logging.getLogger("mkdocs.hooks.coursekit.whole_book")

PRINT_PAGE = "print_page/index.html"  # print_page_basename: print_page/index in mkdocs.yml
OFFLINE_HOME = ("This copy of the site is the offline archive (`coursekit-book.zip`): every "
                "page, figure and formula, and the search, work from the disk, with no network.")


class _NotLastFilter(logging.Filter):
    """mkdocstrings adds the autorefs plugin after the plugins of ``mkdocs.yml`` and the hooks,
    and print-site then warns that it is not last, which fails a strict build; it runs after
    autorefs' work all the same (it calls it on the print page itself)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "'print-site' should be defined as the *last* plugin" not in record.getMessage()


logging.getLogger("mkdocs.plugins").addFilter(_NotLastFilter())

# print-site 2.9 prefixes the ids of a chapter's headings, footnotes and list items with a
# pattern that, from every tag, scans the rest of the line for an id: over a line of KaTeX's
# HTML (thousands of tags) that is quadratic (93 s in one build of this book, by cProfile; the
# cost follows the shape of the pages' HTML, not their size alone). bookhooks.printpage gives
# every id of each chapter the same prefix after the build, in one pass; the plugin's step is
# skipped (tests/book/test_whole_book.py checks that the name replaced is still the plugin's).
print_site_urls.update_anchor_ids = lambda page_html, page_key: page_html

_archive: dict = {}  # the offline build under way: its process, folder, log and start time
_page_urls: list[str] = []  # every page of the build under way, the generated ones included


def _print_site(config):
    plugin = config["plugins"].get("print-site")
    return plugin if plugin is not None and plugin.config.get("enabled") else None


def _is_book(config) -> bool:
    return Path(config["docs_dir"]).resolve() == ROOT / "docs"


def on_config(config, **kwargs):
    """In the offline build, iframe-worker's shim comes from the site, not from a CDN."""
    if offline.is_offline(config):
        polyfills = config["extra"].get("polyfills", [])
        config["extra"]["polyfills"] = [offline.SHIM_PATH if str(p) == offline.CDN_SHIM else p
                                        for p in polyfills]
    return config


def on_pre_build(config, **kwargs) -> None:
    """Start the offline build, now that this build's examples have run (``mkdocs_hooks``)."""
    _stop()
    if not _is_book(config) or offline.is_offline(config) or live.serving():
        return
    folder = Path(tempfile.mkdtemp(prefix="coursekit-offline-"))
    output = open(folder / "build.log", "w", encoding="utf-8")  # the child writes it
    strict = "--strict" if config["strict"] else "--no-strict"  # as strict as this build
    process = subprocess.Popen([sys.executable, "-m", "bookhooks.offline", str(folder / "site"),
                                strict], cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
    _archive.update(process=process, folder=folder, output=output, start=time.monotonic())


def on_files(files, config, **kwargs):
    if _print_site(config) is not None:
        files.append(File.generated(config, PRINT_PAGE, content=""))  # print-site writes it
    if offline.is_offline(config):
        if not offline.SHIM.is_file():
            raise PluginError(f"{offline.SHIM.relative_to(ROOT)} is missing: run make install")
        files.append(File.generated(config, offline.SHIM_PATH, abs_src_path=str(offline.SHIM)))
    elif _is_book(config):
        files.append(File.generated(config, offline.ARCHIVE, content=b""))  # zipped at the end
    return files


def on_env(env, config, files, **kwargs):
    _page_urls[:] = [f.url for f in files.documentation_pages()]
    return env


def on_page_markdown(markdown: str, page, config, files, **kwargs) -> str:
    """In the offline build, the home page's paragraph that offers the archive says that this
    is the archive."""
    if not offline.is_offline(config) or page.file.src_uri != "index.md":
        return markdown
    paragraphs = markdown.split("\n\n")
    return "\n\n".join(OFFLINE_HOME if f"]({offline.ARCHIVE})" in p else p for p in paragraphs)


@event_priority(-100)  # after every other hook and plugin: the page's HTML as it is published
def on_page_content(content: str, page, config, files, **kwargs) -> str:
    if _print_site(config) is not None:
        page.html = content  # what print-site joins into the print page
    return content


@event_priority(-50)  # after print-site has written the print page
def on_post_build(config, **kwargs) -> None:
    site = Path(config["site_dir"])
    if _print_site(config) is not None:
        _finish_print_page(config, site)
    if _archive:
        _zip_offline_site(site)


def on_build_error(error, **kwargs) -> None:
    _stop()


def _finish_print_page(config, site: Path) -> None:
    path = site / PRINT_PAGE
    print_url = "print_page/" if config["use_directory_urls"] else PRINT_PAGE
    html = printpage.finish(path.read_text(encoding="utf-8"), _page_urls, print_url,
                            directory_urls=config["use_directory_urls"])
    path.write_text(markup.page_html(html, PRINT_PAGE), encoding="utf-8")


def _zip_offline_site(site: Path) -> None:
    process, folder = _archive["process"], _archive["folder"]
    built = time.monotonic()
    code = process.wait()
    _archive["output"].close()
    try:
        if code != 0:
            tail = (folder / "build.log").read_text(encoding="utf-8", errors="replace")[-3000:]
            raise PluginError(f"the offline build (python -m bookhooks.offline) failed:\n{tail}")
        size = offline.zip_site(folder / "site", site / offline.ARCHIVE)
        now = time.monotonic()
        log.info("Offline archive %s: %.1f MB; this build took %.0f s after its examples ran, "
                 "then waited %.0f s for the offline build and the zip", offline.ARCHIVE,
                 size / 1e6, built - _archive["start"], now - built)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        _archive.clear()


def _stop() -> None:
    """End an offline build this process started and no longer waits for."""
    if not _archive:
        return
    if _archive["process"].poll() is None:
        _archive["process"].kill()
        _archive["process"].wait()
    _archive["output"].close()
    shutil.rmtree(_archive["folder"], ignore_errors=True)
    _archive.clear()
