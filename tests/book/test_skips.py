"""``bookhooks.skips.mark_skipped``: skipped examples are marked in the HTML, with the reason."""

import markdown as python_markdown
import pytest

from bookhooks.examples import ROOT
from bookhooks.skips import mark_skipped

GPU = '<!-- skip: next "needs a CUDA GPU" -->\n'
PYTHON = "```python\nx = 1\n```\n"


def render(text: str) -> str:
    """HTML as the book renders it (the extensions that matter here, from mkdocs.yml)."""
    return python_markdown.markdown(
        text, extensions=["admonition", "md_in_html", "pymdownx.highlight", "pymdownx.superfences"],
        extension_configs={"pymdownx.highlight": {"use_pygments": False}})


def test_skip_next_wraps_the_next_python_fence_with_its_reason():
    marked = mark_skipped("Text.\n\n" + GPU + PYTHON + "\n" + PYTHON)
    assert marked.count('<div class="skipped-example" data-skip-reason="needs a CUDA GPU" '
                        'markdown="1">') == 1
    head, tail = marked.split("</div>")
    assert "x = 1" in head and "x = 1" in tail  # only the first fence is wrapped


def test_the_wrapped_fence_still_renders_as_code_inside_the_div():
    rendered = render(mark_skipped("Text.\n" + GPU + PYTHON + "After.\n"))
    assert '<div class="skipped-example" data-skip-reason="needs a CUDA GPU">' in rendered
    inside = rendered.split('data-skip-reason="needs a CUDA GPU">')[1].split("</div>")[0]
    assert '<code class="language-python">x = 1</code>' in inside and "```" not in inside
    assert "<p>After.</p>" in rendered


def test_skip_start_and_end_wrap_every_python_fence_between_them_and_no_other():
    page = ('<!-- skip: start "needs the data" -->\n' + PYTHON + "\nProse.\n\n"
            + "```bash\nls\n```\n\n" + PYTHON + "<!-- skip: end -->\n\n" + PYTHON)
    marked = mark_skipped(page)
    assert marked.count('data-skip-reason="needs the data"') == 2
    assert marked.rstrip().endswith("</div>\n\n<!-- skip: end -->\n\n" + PYTHON.rstrip())
    assert "```bash\nls\n```" in marked and "<div" not in marked.split("```bash")[1][:5]


def test_a_skip_next_waits_for_a_python_fence_past_other_languages():
    marked = mark_skipped(GPU + "```bash\nnvidia-smi\n```\n\n" + PYTHON)
    bash, python = marked.split("```python")
    assert "skipped-example" not in bash.split(GPU)[1].split("```bash")[0]
    assert bash.rstrip().endswith('markdown="1">')
    assert "</div>" in python


def test_an_invisible_block_takes_a_pending_skip_next_as_sybil_does():
    page = GPU + "<!-- invisible-code-block: python\nimport torch\n-->\n\n" + PYTHON
    assert "skipped-example" not in mark_skipped(page)


def test_a_directive_inside_a_fence_is_text_not_a_directive():
    example = "````markdown\n" + GPU + PYTHON + "````\n\n" + PYTHON
    assert mark_skipped(example) == example


def test_a_fence_in_an_admonition_is_wrapped_at_its_indent_and_renders():
    page = '!!! note "GPU"\n    Text.\n\n    ' + GPU + "    ```python\n    x = 1\n    ```\n"
    marked = mark_skipped(page)
    assert '    <div class="skipped-example"' in marked and "    </div>" in marked
    rendered = render(marked)
    inside = rendered.split('class="skipped-example"')[1].split("</div>")[0]
    assert '<code class="language-python">x = 1</code>' in inside


def test_the_reason_is_escaped_for_the_attribute():
    marked = mark_skipped('<!-- skip: next "needs <a> \\"GPU\\" & more" -->\n' + PYTHON)
    assert 'data-skip-reason="needs &lt;a&gt; &quot;GPU&quot; &amp; more"' in marked


def test_a_conditional_skip_is_marked_with_its_reason():
    marked = mark_skipped('<!-- skip: next if(True, reason="no GPU here") -->\n' + PYTHON)
    assert 'data-skip-reason="no GPU here"' in marked


def test_a_page_without_skips_is_unchanged():
    page = "# Title\n\n<!-- a comment\nover lines -->\n\n" + PYTHON + "\n```python\n>>> 1\n1\n```\n"
    assert mark_skipped(page) == page


@pytest.mark.parametrize("page, message", [
    ("<!-- skip: next -->\n" + PYTHON, "needs a quoted reason"),
    ("<!-- skip: start -->\n" + PYTHON, "needs a quoted reason"),
    ("<!-- skip: next\n-->\n" + PYTHON, "on one line"),
    ('<!-- skip: later "x" -->\n' + PYTHON, "unknown skip action 'later'"),
    ("text\n<!-- skip: end -->\n", "line 2: 'skip: end' without 'skip: start'"),
    ('<!-- skip: start "a" -->\n<!-- skip: start "b" -->\n', "inside another"),
    ('<!-- skip: start "a" -->\n' + PYTHON, "never closed"),
])
def test_a_malformed_directive_is_an_error_naming_its_line(page, message):
    with pytest.raises(ValueError, match=message):
        mark_skipped(page)


def test_the_book_marks_its_skipped_examples_and_not_the_written_samples():
    gpu_page = (ROOT / "docs" / "training" / "gpu-and-distributed.md").read_text("utf-8")
    assert mark_skipped(gpu_page).count("skipped-example") == gpu_page.count("skip: next")
    writing = (ROOT / "docs" / "writing-a-chapter.md").read_text("utf-8")
    assert "skip: next" in writing and "skipped-example" not in mark_skipped(writing)
