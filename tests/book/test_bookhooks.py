"""The build tooling itself: math typeset by KaTeX, the figure hook, labs, link and port checks."""

import gzip
import re
import socket
import urllib.request
from types import SimpleNamespace

import nbformat
import pytest
import yaml
from mkdocs.exceptions import PluginError

from bookhooks import linkcheck, mkdocs_hooks, portcheck, static_site, typeset
from bookhooks.examples import ROOT


def fake_page(src_uri):
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri), url=src_uri)


def test_inline_and_display_math_are_typeset_by_katex_with_mathml_beside():
    html = ('<p>norm <span class="arithmatex">\\(\\lVert x \\rVert_2\\)</span></p>'
            '<div class="arithmatex">\\[\n\\frac{a}{b} &lt; 1\n\\]</div>')
    out = mkdocs_hooks.typeset_math(html)
    assert out.count('<span class="katex">') == 2
    assert '<div class="math-block" tabindex="0"><span class="katex-display">' in out
    assert "arithmatex" not in out and "\\(" not in out and "\\[" not in out
    assert '<span class="mopen">∥</span>' in out and '<span class="mclose">∥</span>' in out
    assert "<mo>&lt;</mo>" in out  # the escaped "<" reached KaTeX as "<", and its MathML has it


@pytest.mark.parametrize("tex", [r"\frac{1}{", r"\notacommand x", "é"])
def test_latex_katex_rejects_fails_the_build_naming_page_and_formula(tex):
    html = f'<span class="arithmatex">\\({tex}\\)</span>'
    with pytest.raises(PluginError, match=re.escape(f"math/x.md: cannot typeset LaTeX {tex!r}: "
                                                    "KaTeX parse error")):
        mkdocs_hooks.on_page_content(html, fake_page("math/x.md"), {}, None)


def test_every_formula_of_a_page_goes_to_katex_in_one_call(monkeypatch):
    calls = []
    engine = typeset._shared_engine()
    render = engine.render
    monkeypatch.setattr(engine, "render",
                        lambda formulas: calls.append(formulas) or render(formulas))
    html = "".join(f'<p><span class="arithmatex">\\(x_{i}\\)</span></p>' for i in range(5))
    out = mkdocs_hooks.typeset_math(html)
    assert len(calls) == 1 and len(calls[0]) == 5
    annotations = re.findall(r'<annotation encoding="application/x-tex">(.*?)<', out)
    assert annotations == [f"x_{i}" for i in range(5)]  # each formula back in its own place


def test_the_site_serves_katex_stylesheet_and_every_font_it_names():
    served = typeset.assets()
    stylesheet = served[typeset.STYLESHEET].read_text(encoding="utf-8")
    fonts = set(re.findall(r"url\((fonts/[^)]+)\)", stylesheet))
    assert len(fonts) >= 20
    assert {f"{typeset.SITE_DIR}/{font}" for font in fonts} <= set(served)
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    assert typeset.STYLESHEET in config["extra_css"]


def test_a_page_linking_a_figure_it_never_saves_fails_the_build(tmp_path):
    (tmp_path / "page.md").write_text(
        "# P\n\n```python\nx = 1\n```\n\n![missing](figures/never-saved-anywhere.svg)\n")
    with pytest.raises(PluginError, match="never-saved-anywhere.svg but no example"):
        mkdocs_hooks.on_pre_build({"docs_dir": str(tmp_path)})


def test_a_failing_example_fails_the_build_with_its_page(tmp_path):
    (tmp_path / "page.md").write_text(
        "# P\n\n```python\n>>> 1 + 1\n3\n```\n\n![f](figures/test-bookhooks-fails.svg)\n")
    with pytest.raises(PluginError, match="page.md: an example failed"):
        mkdocs_hooks.on_pre_build({"docs_dir": str(tmp_path)})


def test_a_page_that_saves_its_figure_builds_it(tmp_path):
    (tmp_path / "page.md").write_text(
        "# P\n\n```python\n>>> import matplotlib.pyplot as plt\n"
        ">>> from coursekit.figures import savefig\n>>> fig, ax = plt.subplots()\n"
        ">>> _ = savefig(fig, 'test-bookhooks-drawn')\n```\n\n"
        "![f](figures/test-bookhooks-drawn.svg)\n")
    target = mkdocs_hooks.FIGURE_DIR / "test-bookhooks-drawn.svg"
    target.unlink(missing_ok=True)
    mkdocs_hooks.on_pre_build({"docs_dir": str(tmp_path)})
    assert target.read_text().lstrip().startswith("<?xml")


def test_a_lab_script_becomes_a_real_notebook(tmp_path):
    lab = tmp_path / "lab.py"
    lab.write_text("# %% [markdown]\n# # A lab\n\n# %%\nx = 1 + 1\nprint(x)\n")
    notebook = nbformat.reads(mkdocs_hooks._notebook_json(lab), as_version=4)
    nbformat.validate(notebook)
    assert [c.cell_type for c in notebook.cells] == ["markdown", "code"]
    assert "print(x)" in notebook.cells[1].source


def test_lab_pages_drop_cdn_scripts_and_link_the_notebook():
    html = ('<script src="https://cdnjs.example/mathjax.js"></script>'
            '<script type="text/x-mathjax-config">MathJax.Hub.Config({})</script><p>out</p>')
    no_pages = SimpleNamespace(documentation_pages=lambda: [])
    out = mkdocs_hooks.on_page_content(html, fake_page("labs/digits.py"), {}, no_pages)
    assert "https://" not in out and "MathJax" not in out
    assert 'href="digits.ipynb"' in out and "<p>out</p>" in out


def write_site(root, index_html, other="<h1 id='top'>x</h1>"):
    root.mkdir()
    (root / "index.html").write_text(index_html)
    (root / "other").mkdir()
    (root / "other" / "index.html").write_text(other)
    return root


def test_linkcheck_passes_a_site_whose_links_resolve(tmp_path):
    site = write_site(tmp_path / "site", '<a href="other/#top">o</a><a href="https://x.org">e</a>')
    broken, checked = linkcheck.check_site(site)
    assert broken == [] and checked == 1


def test_linkcheck_reports_missing_files_and_anchors(tmp_path):
    site = write_site(tmp_path / "site",
                      '<a href="nowhere.html">a</a><a href="other/#nope">b</a><img src="f.svg">')
    broken, _ = linkcheck.check_site(site)
    assert len(broken) == 3
    assert any("nowhere.html" in b for b in broken) and any("'nope'" in b for b in broken)
    assert linkcheck.main([str(site)]) == 1


def test_portcheck_explains_a_busy_port(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert not portcheck.port_is_free("127.0.0.1", port)
        assert portcheck.main(["127.0.0.1", str(port)]) == 1
    assert f"port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err


def run_markdown(tmp_path, text):
    from bookhooks.examples import run_page

    page = tmp_path / "page.md"
    page.write_text(text)
    return run_page(page)


def test_a_float_on_the_page_must_be_what_the_value_rounds_to(tmp_path):
    assert run_markdown(tmp_path, "```python\n>>> 1 / 3\n0.333\n>>> 11.0\n11.\n```\n") == 2
    with pytest.raises(Exception, match="Expected"):
        run_markdown(tmp_path, "```python\n>>> 11.0\n12.\n```\n")  # plain NUMBER would pass
    with pytest.raises(Exception, match="Expected"):
        run_markdown(tmp_path, "```python\n>>> 0.3337\n0.333\n```\n")


def test_a_plain_block_that_prints_fails(tmp_path):
    assert run_markdown(tmp_path, "```python\nx = 1\n```\n") == 1
    with pytest.raises(Exception, match="printed output that the page does not check"):
        run_markdown(tmp_path, "```python\nprint('unchecked')\n```\n")


def run_docstrings(tmp_path, source):
    """Write ``source`` as a module and run its docstring examples as ``pytest coursekit`` does."""
    from bookhooks.examples import docstrings

    module = tmp_path / "module.py"
    module.write_text(source)
    ran = 0
    for example in docstrings.parse(module).examples():
        example.evaluate()
        ran += 1
    return ran


MATH_IN_THE_MODULE_ONLY = '''import math


def first():
    """Needs nothing.

    >>> 1 + 1
    2
    """


def second():
    """Forgets to import math, which only the module imports.

    >>> math.sqrt(9)
    3.0
    """
'''

MATH_IN_THE_FIRST_DOCSTRING_ONLY = '''def first():
    """Imports math for itself.

    >>> import math
    >>> math.sqrt(4)
    2.0
    """


def second():
    """Forgets to import math, which only the first docstring imports.

    >>> math.sqrt(9)
    3.0
    """
'''


@pytest.mark.parametrize("source", [MATH_IN_THE_MODULE_ONLY, MATH_IN_THE_FIRST_DOCSTRING_ONLY],
                         ids=["module-import", "earlier-docstring-import"])
def test_a_docstring_example_missing_its_import_fails_at_its_file_and_line(tmp_path, source):
    from sybil.example import SybilFailure

    line = source.splitlines().index("    >>> math.sqrt(9)") + 1
    with pytest.raises(SybilFailure) as failure:
        run_docstrings(tmp_path, source)
    assert f"{tmp_path / 'module.py'}, line {line}," in str(failure.value)
    assert "NameError: name 'math' is not defined" in str(failure.value)


def test_a_docstring_example_with_its_own_imports_passes(tmp_path):
    source = MATH_IN_THE_FIRST_DOCSTRING_ONLY.replace(
        "    >>> math.sqrt(9)", "    >>> import math\n    >>> math.sqrt(9)")
    assert run_docstrings(tmp_path, source) == 4


# --- the built site served as a static host serves it -------------------------------------

def _get(url: str, gzipped: bool) -> tuple[str | None, bytes]:
    headers = {"Accept-Encoding": "gzip"} if gzipped else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as response:
        return response.headers.get("Content-Encoding"), response.read()


@pytest.mark.parametrize("compress", [False, True])
def test_the_static_server_serves_a_folders_index_and_gzips_text_only_when_asked(tmp_path,
                                                                               compress):
    page = "<!doctype html><title>t</title>" + "x" * 1000
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "index.html").write_text(page, encoding="utf-8")
    (tmp_path / "f.png").write_bytes(b"\x89PNG" + bytes(100))
    server = static_site.serve(tmp_path, compress=compress)
    try:
        base = static_site.url(server)
        encoding, body = _get(f"{base}/a/", gzipped=True)
        assert encoding == ("gzip" if compress else None)
        assert (gzip.decompress(body) if compress else body).decode() == page
        assert _get(f"{base}/a/", gzipped=False) == (None, page.encode())
        assert _get(f"{base}/f.png", gzipped=True) == (None, b"\x89PNG" + bytes(100))
    finally:
        server.shutdown()


def test_the_static_server_refuses_a_site_that_is_not_a_folder(tmp_path):
    with pytest.raises(ValueError, match="site must be a folder"):
        static_site.serve(tmp_path / "missing")


# --- how make test's two workers share the tests -------------------------------------------

def test_each_chapters_notebook_run_is_its_own_unit_and_a_files_other_tests_stay_together():
    from bookhooks.scheduling import ONE_UNIT_EACH, NotebooksApartScheduling

    file, name = ONE_UNIT_EACH.split("::")
    assert f"def {name}" in (ROOT / file).read_text(encoding="utf-8")  # the test still exists
    split = NotebooksApartScheduling._split_scope
    runs = [f"{ONE_UNIT_EACH}_and_shows_the_pages_outputs[{c}]"
            for c in ("maths/calculus.md", "blocks/attention.md")]
    assert len({split(None, nodeid) for nodeid in runs}) == 2
    assert split(None, "tests/book/test_notebooks.py::test_shown_reads_printed_text") == \
        "tests/book/test_notebooks.py"
    page = "docs/maths/calculus.md::sybil:chapters,line:{},column:1"
    assert split(None, page.format(10)) == split(None, page.format(99)) == \
        "docs/maths/calculus.md"
