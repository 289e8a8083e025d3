"""Live verification under ``mkdocs serve``: a saved page's examples run again, and a failing
one shows as a banner at the top of the page (``bookhooks.live``)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import markdown
import pytest

from bookhooks import live, mkdocs_hooks

ROOT = Path(__file__).resolve().parents[2]
FAILING_PAGE = "# A page\n\nSome text.\n\n```python\n>>> 1 + 1\n3\n```\n"
PASSING_PAGE = "# A page\n\nSome text.\n\n```python\n>>> 1 + 1\n2\n```\n"


@pytest.fixture
def serving(monkeypatch, tmp_path):
    """Live verification switched on, with its results kept apart from the real cache."""
    monkeypatch.setattr(live, "CACHE_DIR", tmp_path / "live-cache")
    monkeypatch.setattr(live, "_results", {})
    live.start("serve")
    yield
    live.start("build")


def served_page(path: Path) -> SimpleNamespace:
    return SimpleNamespace(file=SimpleNamespace(abs_src_path=str(path), src_uri=path.name))


def test_the_banner_escapes_the_failure_and_comes_under_the_title():
    failure = ("Example at docs/x.md, line 9, column 1 did not evaluate as expected:\n"
               "Expected:\n    tensor(12., grad_fn=<SumBackward0>)\n"
               "Got:\n    tensor(11., grad_fn=<SumBackward0>)\n")
    page = live._insert_after_title("# Title\n\nSome *text*.\n", live.render_banner(failure))
    html = markdown.markdown(page, extensions=["admonition", "md_in_html"])
    assert html.startswith('<h1>Title</h1>\n<div class="admonition failure example-failure">')
    assert "tensor(12., grad_fn=&lt;SumBackward0&gt;)" in html
    assert "line 9" in html and "<SumBackward0>" not in html
    assert "<p>Some <em>text</em>.</p>" in html


def test_a_failing_page_is_served_with_a_banner_naming_file_line_expected_and_got(
        serving, tmp_path):
    page = tmp_path / "page.md"
    page.write_text(FAILING_PAGE)
    out = live.banner(FAILING_PAGE, served_page(page))
    assert 'class="admonition failure example-failure"' in out
    assert f"{page}, line 6" in out
    assert "Expected:\n    3\nGot:\n    2" in out


def test_a_passing_page_gets_no_banner(serving, tmp_path):
    page = tmp_path / "page.md"
    page.write_text(PASSING_PAGE)
    assert live.banner(PASSING_PAGE, served_page(page)) == PASSING_PAGE


@pytest.mark.parametrize("command", ["build", "gh-deploy"])
def test_outside_serve_no_example_runs_and_the_page_is_unchanged(command, tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text(FAILING_PAGE)
    monkeypatch.setattr(live, "run_page", lambda path: pytest.fail("an example ran"))
    live.start(command)
    assert live.banner(FAILING_PAGE, served_page(page)) == FAILING_PAGE


def test_a_page_runs_again_only_when_its_text_changes(serving, tmp_path, monkeypatch):
    runs = []
    monkeypatch.setattr(live, "run_page", runs.append)
    page = tmp_path / "page.md"
    page.write_text(PASSING_PAGE)
    live.check(page)
    live.check(page)
    monkeypatch.setattr(live, "_results", {})  # a new server start: only the disk cache is left
    live.check(page)
    assert len(runs) == 1
    page.write_text(PASSING_PAGE + "\nMore text.\n")
    live.check(page)
    assert len(runs) == 2


def test_an_exception_in_a_plain_block_is_located_by_its_line(serving, tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A page\n\n```python\nx = 1\nraise ValueError('boom')\n```\n")
    assert live.check(page) == f"Example at {page}, line 5 raised:\nValueError: boom"


def test_under_serve_the_figure_step_records_a_failure_instead_of_stopping(serving, tmp_path):
    page = tmp_path / "page.md"
    page.write_text(FAILING_PAGE + "\n![f](figures/test-live-never-drawn.svg)\n")
    mkdocs_hooks.on_pre_build({"docs_dir": str(tmp_path)})
    assert "Expected:\n    3\nGot:\n    2" in live.check(page)


# --- The live server --------------------------------------------------------------------

MKDOCS_YML = """\
site_name: live verification test
theme:
  name: material
  features: [content.code.annotate]
hooks:
  - {hooks}
validation:
  links:
    not_found: info
markdown_extensions:
  - admonition
  - attr_list
  - md_in_html
  - pymdownx.superfences
  - pymdownx.tabbed:
      alternate_style: true
  - pymdownx.arithmatex:
      generic: true
"""
CORRECT = "tensor(11., grad_fn=<SumBackward0>)"
BROKEN = "tensor(12., grad_fn=<SumBackward0>)"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> str | None:
    """The page's HTML, or None while the server is not answering yet."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode("utf-8")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def wait_for(condition, url: str, server: subprocess.Popen, log: Path, seconds: float) -> str:
    """Poll ``url`` until its HTML satisfies ``condition``; fail with the log after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mkdocs serve exited with {server.returncode}:\n{log.read_text()}")
        html = fetch(url)
        if html is not None and condition(html):
            return html
        time.sleep(0.2)
    pytest.fail(f"{url} not as expected after {seconds} s; server log:\n{log.read_text()}")


@pytest.mark.slow
def test_saving_a_broken_output_shows_a_banner_while_serving_and_fixing_it_removes_it(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    page = docs / "pytorch-basics.md"
    shutil.copy(ROOT / "docs" / "training" / "pytorch-basics.md", page)
    text = page.read_text(encoding="utf-8")
    assert CORRECT in text, "the copied page no longer shows z; pick another output to break"
    line = text.splitlines().index(CORRECT)  # 0-based, so the 1-based line of `>>> z` above
    (tmp_path / "mkdocs.yml").write_text(
        MKDOCS_YML.format(hooks=ROOT / "bookhooks" / "mkdocs_hooks.py"))
    port = free_port()
    url = f"http://127.0.0.1:{port}/pytorch-basics/"
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "serve", "--no-strict", "--dirty",
             "--dev-addr", f"127.0.0.1:{port}"],
            cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    try:
        html = wait_for(lambda html: "<h1" in html, url, server, log, seconds=180)
        assert "example-failure" not in html

        page.write_text(text.replace(CORRECT, BROKEN), encoding="utf-8")
        html = wait_for(lambda html: "example-failure" in html, url, server, log, seconds=60)
        banner = html[html.index("example-failure"):]
        banner = banner[:banner.index("</div>")]
        assert f"pytorch-basics.md, line {line}" in banner
        assert "Expected:\n    tensor(12., grad_fn=&lt;SumBackward0&gt;)" in banner
        assert "Got:\n    tensor(11., grad_fn=&lt;SumBackward0&gt;)" in banner
        assert "An example on pytorch-basics.md fails" in log.read_text()

        page.write_text(text, encoding="utf-8")
        wait_for(lambda html: "example-failure" not in html, url, server, log, seconds=60)
    finally:
        os.killpg(server.pid, signal.SIGINT)  # as Ctrl-C: MkDocs removes its temporary site
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        live.cache_path(page).unlink(missing_ok=True)
