"""The whole book in print and offline, without a browser: the print page's finishing
(``bookhooks.printpage``), the offline build's configuration and archive (``bookhooks.offline``),
and the hooks that tie them to the build (``bookhooks/whole_book.py``). The browser checks are in
``tests/book/test_browser_offline.py``."""

import doctest
import inspect
import re
import zipfile
from collections import Counter
from types import SimpleNamespace

import pytest
from mkdocs_print_site_plugin import urls as print_site_urls

from bookhooks import offline, printpage, whole_book


def print_page(*chapters: str, extra_body: str = "") -> str:
    """A page shaped as print-site writes it, with the chapters' HTML as its sections."""
    return ('<html><head><link rel="stylesheet" href="../site.css"></head><body>'
            '<div class="md-container"><article class="md-content__inner md-typeset">'
            '<div id="print-site-page" class="print-site-enumerate-headings">'
            + "".join(chapters) + "</div><style>h1:before { content: '1' }</style></article>"
            '<script id="__config" type="application/json">{"base": "/", "features": []}'
            "</script>" + extra_body + "</body></html>")


def chapter(key: str, body: str) -> str:
    return f'<section class="print-page" id="{key}" heading-number="1">{body}</section>'


def ids_of(html: str) -> list[str]:
    return re.findall(r'\sid="([^"]*)"', html)


def test_every_id_is_unique_and_every_in_page_link_reaches_its_target():
    # Both chapters have line anchor 0-1 and a footnote 1; print-site rewrote their links.
    body = ('<h1 id="{k}">T</h1><h2 id="title">T</h2>'
            '<a id="__codelineno-0-1" name="__codelineno-0-1" href="#{k}-__codelineno-0-1"></a>'
            '<sup id="fnref:1"><a href="#{k}-fn:1">1</a></sup>'
            '<li id="fn:1"></li><input id="{k}-__tabbed_1_1"><label for="{k}-__tabbed_1_1">')
    page = print_page(chapter("maths-calculus", body.format(k="maths-calculus")),
                      chapter("blocks-attention", body.format(k="blocks-attention")))
    out = printpage.finish(page, ["maths/calculus/", "blocks/attention/"], "print_page/")
    counts = Counter(ids_of(out))
    assert counts and max(counts.values()) == 1, counts
    targets = re.findall(r'href="#([^"]+)"', out)
    assert len(targets) == 4 and all(t in counts for t in targets), (targets, counts)
    assert 'id="maths-calculus-fnref:1"' in out and 'id="maths-calculus-title"' in out
    assert 'id="maths-calculus"' in out and 'id="maths-calculus-maths-calculus"' in out
    assert 'for="blocks-attention-__tabbed_1_1"' in out  # already the chapter's: left as it is


def test_ids_outside_the_chapters_are_left_as_the_theme_needs_them():
    page = print_page(chapter("a", '<p id="x"></p>'),
                      extra_body='<div id="__search"></div><script id="__later"></script>')
    out = printpage.finish(page, ["a/"], "print_page/")
    assert 'id="__config"' in out and 'id="__search"' in out and 'id="__later"' in out
    assert 'id="print-site-page"' in out and 'id="a-x"' in out


@pytest.mark.parametrize(("directory_urls", "print_url", "index_key", "expected"), [
    (True, "print_page/", "reference",
     "../reference/maths/linalg/#coursekit.maths.linalg.lp_norm"),
    (False, "print_page/index.html", "reference-index",
     "../reference/maths/linalg.html#coursekit.maths.linalg.lp_norm"),
])
def test_a_link_into_a_page_the_print_page_leaves_out_goes_to_that_page(
        directory_urls, print_url, index_key, expected):
    page_url = "reference/maths/linalg/" if directory_urls else "reference/maths/linalg.html"
    index = "reference/" if directory_urls else "reference/index.html"
    link = '<a href="#reference-maths-linalg-coursekit.maths.linalg.lp_norm">lp_norm</a>'
    page = print_page(chapter("a", f'{link}<a href="#{index_key}">all</a><a href="#a">a</a>'
                                   '<a href="#print_page">this page</a>'))
    out = printpage.finish(page, ["a/", page_url, index], print_url,
                           directory_urls=directory_urls)
    assert f'href="{expected}"' in out
    assert f'href="../{index}"' in out and 'href="#a"' in out
    if directory_urls:  # the home page's link to the print page, from the print page: its top
        assert 'href="#print-site-page"' in out


def test_without_directory_urls_images_and_downloads_are_found_from_print_page():
    body = ('<img alt="f" src="figures/a.svg"><a href="maths/calculus/calculus.ipynb">nb</a>'
            '<img alt="d" src="data:image/png;base64,AA"><a href="https://pytorch.org">x</a>')
    page = print_page(chapter("a", body))
    on_disk = printpage.finish(page, ["a.html"], "print_page/index.html", directory_urls=False)
    assert 'src="../figures/a.svg"' in on_disk
    assert 'href="../maths/calculus/calculus.ipynb"' in on_disk
    assert 'src="data:image/png;base64,AA"' in on_disk and 'href="https://pytorch.org"' in on_disk
    served = printpage.finish(page, ["a/"], "print_page/")  # print-site made them ../ already
    assert 'src="figures/a.svg"' in served


def test_the_search_base_is_the_site_folder_and_styles_and_copy_buttons_are_settled():
    out = printpage.finish(print_page(chapter("a", "<style>.x{}</style><p>x</p>")), ["a/"],
                           "print_page/")
    head, body = out.split("</head>")
    assert '"base": ".."' in out
    assert "<style" not in body and head.index("site.css") < head.index("<style>.x{}")
    assert '<div id="print-site-page" class="no-copy print-site-enumerate-headings">' in body


def test_a_page_that_is_not_a_print_page_is_refused():
    with pytest.raises(ValueError, match="^html must be a print page"):
        printpage.finish("<html><head></head><body><p>x</p></body></html>", [], "print_page/")


def test_the_step_the_hook_skips_is_still_print_sites_own():
    # whole_book replaces print-site's id prefixing (quadratic on KaTeX's HTML); an upgrade
    # that renames or stops calling it must fail here, not leave duplicate ids on the page.
    assert list(inspect.signature(print_site_urls.fix_internal_links).parameters)[:2] == [
        "page_html", "page_url"]
    assert "update_anchor_ids(page_html, page_key)" in inspect.getsource(
        print_site_urls.fix_internal_links)
    assert print_site_urls.update_anchor_ids('<h1 id="x">', "k") == '<h1 id="x">'


def test_offline_build_adds_materials_offline_plugin_before_print_site(tmp_path):
    config = offline.offline_config(tmp_path / "site")
    names = list(config["plugins"])
    assert offline.is_offline(config) and not config["use_directory_urls"]
    assert names.index("material/offline") < names.index("print-site")
    assert config["plugins"]["mkdocs-jupyter"].config["cache_dir"] == offline.JUPYTER_CACHE
    config["plugins"]["material/offline"].on_config(config)  # it names a CDN for the shim
    whole_book.on_config(config)  # which the site serves instead
    assert offline.SHIM_PATH in config["extra"]["polyfills"]
    assert not any("unpkg" in str(p) for p in config["extra"]["polyfills"])


def test_the_offline_home_page_says_it_is_the_archive():
    page = SimpleNamespace(file=SimpleNamespace(src_uri="index.md"))
    config = offline.offline_config("unused")
    markdown = ("Intro.\n\n[Download the whole site](downloads/coursekit-book.zip) to read it\n"
                "with no network.\n\n[Print](print_page/index.html).")
    out = whole_book.on_page_markdown(markdown, page, config, None)
    assert "downloads/coursekit-book.zip" not in out and whole_book.OFFLINE_HOME in out
    assert out.startswith("Intro.\n\n") and out.endswith("[Print](print_page/index.html).")


def test_zip_site_refuses_a_folder_that_is_not_a_built_site(tmp_path):
    with pytest.raises(ValueError, match="^site_dir must be a built site"):
        offline.zip_site(tmp_path, tmp_path / "book.zip")
    (tmp_path / "site" / "a").mkdir(parents=True)
    (tmp_path / "site" / "index.html").write_text("<p>home</p>")
    (tmp_path / "site" / "a" / "index.html").write_text("<p>a</p>")
    offline.zip_site(tmp_path / "site", tmp_path / "out" / "book.zip")
    names = zipfile.ZipFile(tmp_path / "out" / "book.zip").namelist()
    assert names == ["coursekit-book/a/index.html", "coursekit-book/index.html"]


@pytest.mark.parametrize("module", [printpage, offline])
def test_docstring_examples_run(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
