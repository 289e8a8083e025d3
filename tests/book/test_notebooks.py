"""``bookhooks.notebooks``: each chapter as a notebook, and every one run in a real kernel."""

import os
from types import SimpleNamespace

import nbformat
import pytest
from mkdocs.config import load_config
from mkdocs.structure.files import Files
from nbclient import NotebookClient
from sybil.evaluators.doctest import OutputChecker

from bookhooks import mkdocs_hooks
from bookhooks.examples import OPTIONFLAGS, ROOT, chapters
from bookhooks.glue import recorded
from bookhooks.notebooks import (
    RAISES,
    chapter_notebook,
    colab_url,
    is_chapter,
    notebook_json,
    notebook_path,
)

CHAPTERS = sorted(p.relative_to(ROOT / "docs").as_posix()
                  for p in (ROOT / "docs").glob("*/*.md"))
CHAPTERS = [c for c in CHAPTERS if is_chapter(c)]

PAGE = '''# A page

Some prose with $x^2$ math.

```python
import math
```

```python
>>> x = 2
>>> for i in range(2):
...     print(i)
0
1
>>> y = x + 1
>>> y * 2
6
>>> math.sqrt(-1)
Traceback (most recent call last):
...
ValueError: math domain error
>>> y
3
```

<!-- invisible-code-block: python
glue("the-answer", y * 14)
-->

The answer is {glue}`the-answer`.

<!-- skip: next "needs a CUDA GPU" -->
```python
torch.ones(1, device="cuda")
```

=== "A tab"

    Inside the tab.

The end.
'''


def notebook(tmp_path, text=PAGE, **options):
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    return chapter_notebook(page, **options)


def code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_session_cells_have_no_prompts_and_end_at_each_shown_output(tmp_path):
    sources = [c.source for c in code(notebook(tmp_path))]
    assert "x = 2\nfor i in range(2):\n    print(i)" in sources
    assert "y = x + 1\ny * 2" in sources
    assert not any(">>>" in s or "... " in s for s in sources)


def test_the_pages_output_is_the_cells_stream_output(tmp_path):
    cells = {c.source: c for c in code(notebook(tmp_path))}
    assert cells["y = x + 1\ny * 2"].outputs == [
        {"output_type": "stream", "name": "stdout", "text": "6\n"}]
    assert cells["y"].outputs[0]["text"] == "3\n"


def test_a_cell_the_page_shows_raising_is_tagged_and_holds_the_error(tmp_path):
    (raising,) = [c for c in code(notebook(tmp_path)) if RAISES in c.metadata.get("tags", [])]
    assert raising.source == "math.sqrt(-1)"
    assert raising.outputs[0]["output_type"] == "error"
    assert (raising.outputs[0]["ename"], raising.outputs[0]["evalue"]) == (
        "ValueError", "math domain error")


def test_an_invisible_block_is_a_hidden_collapsed_code_cell(tmp_path):
    (cell,) = [c for c in code(notebook(tmp_path)) if "the-answer" in c.source]
    assert "hidden" in cell.metadata["tags"]
    assert cell.metadata["jupyter"]["source_hidden"] is True


def test_a_skipped_block_becomes_a_markdown_note_with_its_reason(tmp_path):
    nb = notebook(tmp_path)
    assert not any("cuda" in c.source for c in code(nb))
    (note,) = [c for c in nb.cells if c.cell_type == "markdown" and "cuda" in c.source]
    assert "needs a CUDA GPU" in note.source and "```python" in note.source
    assert not any("skip:" in c.source for c in nb.cells)


def test_every_block_in_a_skipped_region_is_a_note_and_the_next_one_runs(tmp_path):
    text = ('<!-- skip: start "needs the data" -->\n```python\na = 1\n```\n\n```python\nb = 2\n'
            '```\n<!-- skip: end -->\n\n```python\nc = 3\n```\n')
    nb = notebook(tmp_path, text)
    assert [c.source for c in code(nb)][1:] == ["c = 3"]
    notes = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert len(notes) == 2 and all(n.startswith("*Not run here: needs the data.*") for n in notes)


def test_prose_keeps_its_math_gets_glued_values_and_loses_tab_markup(tmp_path):
    prose = "\n".join(c.source for c in notebook(tmp_path, values={"the-answer": "42"}).cells
                      if c.cell_type == "markdown")
    assert "$x^2$" in prose and "The answer is 42." in prose
    assert "**A tab**\n\nInside the tab." in prose and "===" not in prose


def test_an_admonition_becomes_a_quote_under_its_title(tmp_path):
    text = '# P\n\n!!! note "Mind this"\n    First line.\n\n    Second.\n\nAfter.\n'
    (cell,) = notebook(tmp_path, text).cells[1:]
    assert cell.source == "# P\n\n> **Mind this**\n>\n> First line.\n>\n> Second.\n\nAfter."


def test_an_exercises_solution_reads_as_text_of_its_item_not_as_indented_code(tmp_path):
    text = ('# P\n\n1. Add.\n\n    ??? success "Solution"\n\n        It is 2.\n\n'
            '        ```python\n        >>> 1 + 1\n        2\n\n        ```\n\n'
            '        So two.\n\n2. Next.\n')
    prose = [c.source for c in notebook(tmp_path, text).cells if c.cell_type == "markdown"]
    assert prose == ["# P\n\n1. Add.\n\n    **Solution**\n\n    It is 2.",
                     "So two.\n\n2. Next."]


def test_with_a_site_url_links_to_other_pages_are_absolute(tmp_path):
    text = "# P\n\nSee [fit](../training/fit.md#loop), [home](../index.md), [x](https://a.b/c.md).\n"
    cell = notebook(tmp_path, text, site_url="https://book.example/",
                    src_uri="maths/page.md").cells[1]
    assert cell.source == ("# P\n\nSee [fit](https://book.example/training/fit/#loop), "
                           "[home](https://book.example/), [x](https://a.b/c.md).")
    (plain,) = notebook(tmp_path, text).cells[1:]
    assert "](../training/fit.md#loop)" in plain.source


def test_glue_is_defined_before_the_hidden_block_that_calls_it(tmp_path):
    sources = [c.source for c in code(notebook(tmp_path))]
    assert "def glue(" in sources[0]
    assert not any("pip install" in s for s in sources)


def test_with_a_repo_url_the_first_cell_installs_the_package(tmp_path):
    nb = notebook(tmp_path, repo_url="https://github.com/someone/coursekit/")
    assert nb.cells[0].source == ('%pip install "coursekit @ '
                                  'git+https://github.com/someone/coursekit"')
    assert "def glue(" in nb.cells[1].source


def test_a_linked_figure_is_attached_to_its_cell(tmp_path):
    figures = tmp_path / "figures"
    figures.mkdir()
    (figures / "a-plot.svg").write_text("<svg/>", encoding="utf-8")
    nb = notebook(tmp_path, "# P\n\n![A plot](../figures/a-plot.svg)\n", figure_dir=figures)
    (cell,) = [c for c in nb.cells if "A plot" in c.source]
    assert cell.source == "# P\n\n![A plot](attachment:a-plot.svg)"
    assert cell.attachments == {"a-plot.svg": {"image/svg+xml": "<svg/>"}}


def test_the_same_page_gives_the_same_valid_file(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    first = notebook_json(page)
    assert first == notebook_json(page)
    nbformat.validate(nbformat.reads(first, as_version=4))


def test_chapters_are_the_pages_of_the_parts_only():
    assert is_chapter("maths/probability.md") and is_chapter("language/llama.md")
    assert not any(map(is_chapter, ["index.md", "about.md", "writing-a-chapter.md",
                                    "labs/digits.py", "reference/index.md"]))
    assert notebook_path("maths/probability.md") == "maths/probability/probability.ipynb"
    assert len(CHAPTERS) >= 15


def test_colab_links_only_to_a_github_repository():
    assert colab_url("https://github.com/someone/coursekit.git", "gh-pages",
                     "maths/probability/probability.ipynb") == (
        "https://colab.research.google.com/github/someone/coursekit/blob/gh-pages/"
        "maths/probability/probability.ipynb")
    assert colab_url(None, "gh-pages", "a.ipynb") is None
    assert colab_url("", "gh-pages", "a.ipynb") is None
    assert colab_url("https://gitlab.com/someone/coursekit", "gh-pages", "a.ipynb") is None


def _page(src_uri):
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri))


def test_the_chapter_page_offers_its_notebook_and_colab_only_with_a_repo_url():
    without = mkdocs_hooks._chapter_links(_page("maths/probability.md"), {"repo_url": None})
    assert 'href="probability.ipynb" download' in without and "colab" not in without.lower()
    config = {"repo_url": "https://github.com/someone/coursekit", "remote_branch": "gh-pages"}
    linked = mkdocs_hooks._chapter_links(_page("maths/probability.md"), config)
    assert ('href="https://colab.research.google.com/github/someone/coursekit/blob/gh-pages/'
            'maths/probability/probability.ipynb"') in linked
    assert mkdocs_hooks._chapter_links(_page("index.md"), config) == ""


@pytest.mark.parametrize("repo_url", [None, "https://github.com/someone/coursekit"])
def test_the_build_serves_each_chapters_notebook_beside_its_page(tmp_path, repo_url):
    (tmp_path / "docs" / "maths").mkdir(parents=True)
    (tmp_path / "docs" / "index.md").write_text("# Home\n", encoding="utf-8")
    (tmp_path / "docs" / "maths" / "sums.md").write_text(
        "# Sums\n\n```python\n>>> 1 + 1\n2\n```\n", encoding="utf-8")
    (tmp_path / "mkdocs.yml").write_text(
        f"site_name: t\nhooks: [{ROOT / 'bookhooks' / 'mkdocs_hooks.py'}]\n"
        + (f"repo_url: {repo_url}\n" if repo_url else ""), encoding="utf-8")
    config = load_config(str(tmp_path / "mkdocs.yml"))
    files = config.plugins.on_files(Files([]), config=config)
    served = files.get_file_from_path("maths/sums/sums.ipynb")
    assert served is not None and files.get_file_from_path("index/index.ipynb") is None
    cells = nbformat.reads(served.content_string, as_version=4).cells
    assert cells[-1].source == "1 + 1" and cells[-1].outputs[0]["text"] == "2\n"
    assert cells[0].source.startswith("%pip install") == bool(repo_url)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_example_sybil_runs_is_in_the_chapters_notebook_in_page_order(chapter):
    page = ROOT / "docs" / chapter
    statements, skip_next, skipping = [], False, False
    for example in chapters.parse(page).examples():
        parsed = example.parsed
        if isinstance(parsed, tuple):  # a skip directive: what it skips is a note instead
            skip_next = parsed[0] == "next"
            skipping = {"start": True, "end": False}.get(parsed[0], skipping)
            continue
        if not (skip_next or skipping):
            statements.append(str(getattr(parsed, "source", parsed)).strip("\n"))
        skip_next = False
    cells = "\n".join(c.source for c in code(chapter_notebook(page)))
    position = 0
    for statement in statements:
        found = cells.find(statement, position)
        assert found >= 0, f"{chapter}: not in its notebook (or out of order):\n{statement}"
        position = found + len(statement)


# --- Every chapter's notebook, run top to bottom in a real kernel, outside the repo --------

# The second CPU profile of `make test` (the Makefile's PORTABLE): generic x86-64 kernels and
# one thread. The notebooks run under it and their outputs are compared with the page's, so
# this run is also the chapters' second-profile check (`make test` runs Sybil under it over
# the docstrings and the pages that are not chapters only).
PORTABLE = {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
            "ONEDNN_MAX_CPU_ISA": "SSE41", "OMP_NUM_THREADS": "1"}
# A cell's last value shown as doctest shows it (repr), not as IPython pretty-prints it.
_AS_REPR = "get_ipython().display_formatter.formatters['text/plain'].pprint = False"


def test_the_profile_is_the_makefiles_second_profile():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    line = next(x for x in makefile.splitlines() if x.startswith("PORTABLE :="))
    assert dict(pair.split("=") for pair in line.split(":=")[1].split()) == PORTABLE


def shown(cell) -> str:
    """What a run cell showed on stdout: its printed text, then its last value's repr."""
    parts = []
    for output in cell.outputs:
        if output["output_type"] == "stream" and output["name"] == "stdout":
            parts.append(output["text"])
        elif output["output_type"] == "execute_result":
            parts.append(output["data"]["text/plain"] + "\n")
    return "".join(parts)


def test_shown_reads_printed_text_then_the_value():
    cell = nbformat.v4.new_code_cell("print(1)\n2", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="1\n"),
        nbformat.v4.new_output("stream", name="stderr", text="a warning\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=1)])
    assert shown(cell) == "1\n2\n"


@pytest.mark.kernel
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_chapters_notebook_runs_in_a_kernel_and_shows_the_pages_outputs(chapter, tmp_path):
    page = ROOT / "docs" / chapter
    nb = chapter_notebook(page, values=recorded(page, page.read_text(encoding="utf-8")))
    env = dict(os.environ, **PORTABLE, MPLBACKEND="Agg",
               COURSEKIT_FIGURE_DIR=str(tmp_path / "figures"))
    raising = {c.id: c.outputs[0]["ename"] for c in code(nb)
               if RAISES in c.metadata.get("tags", [])}
    expected = {c.id: shown(c) for c in code(nb) if c.outputs and c.id not in raising}
    setup = nbformat.v4.new_code_cell(_AS_REPR)
    setup["id"] = "test-setup"
    nb.cells.insert(0, setup)
    client = NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)  # a cell that raises untagged fails here, naming the cell
    checker, wrong = OutputChecker(), []
    for cell in code(nb):
        if cell.id in raising:  # nbclient lets it raise; it must raise what the page shows
            errors = [o["ename"] for o in cell.outputs if o["output_type"] == "error"]
            assert errors == [raising[cell.id]], f"{chapter}: {cell.source}\nraised {errors}"
        elif cell.id in expected and not checker.check_output(
                expected[cell.id], shown(cell), OPTIONFLAGS):
            wrong.append(f"{cell.source}\nexpected:\n{expected[cell.id]}got:\n{shown(cell)}")
    assert not wrong, f"{chapter}, under the second CPU profile:\n" + "\n\n".join(wrong)
