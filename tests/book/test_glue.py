"""Numbers glued from a run into a page's prose (bookhooks.glue)."""

from types import SimpleNamespace

import pytest
from mkdocs.exceptions import PluginError

from bookhooks import glue, mkdocs_hooks
from bookhooks.examples import run_page

PAGE = """# P

```python
>>> x = 6 * 7
>>> x
42
```

<!-- invisible-code-block: python
import os
glue("p-answer", os.environ.get("GLUE_TEST_VALUE", x))
-->

The answer is {glue}`p-answer`.
"""


def write_page(tmp_path, text=PAGE):
    docs = tmp_path / "docs"
    docs.mkdir(exist_ok=True)
    page = docs / "page.md"
    page.write_text(text, encoding="utf-8")
    return page


def markdown_page(page):
    return SimpleNamespace(file=SimpleNamespace(abs_src_path=str(page), src_uri=page.name))


def test_fill_puts_each_value_in_place_of_its_reference():
    text = "a {glue}`p-one` and {glue}`p-two`, {glue}`p-one` again"
    assert glue.references(text) == ["p-one", "p-two"]
    assert glue.fill(text, {"p-one": "1", "p-two": "2"}, "x.md") == "a 1 and 2, 1 again"


def test_a_reference_inside_a_code_block_is_shown_as_written():
    text = "a {glue}`p-one`\n\n````markdown\nthe {glue}`p-two` syntax\n````\n"
    assert glue.references(text) == ["p-one"]
    assert glue.fill(text, {"p-one": "1"}, "x.md") == \
        "a 1\n\n````markdown\nthe {glue}`p-two` syntax\n````\n"


def test_fill_names_the_page_and_the_unknown_name():
    with pytest.raises(ValueError, match=r"x\.md refers to \{glue\}`p-two`.*recorded: \['p-one'\]"):
        glue.fill("{glue}`p-one` {glue}`p-two`", {"p-one": "1"}, "x.md")


def test_a_run_of_the_page_records_its_values(tmp_path):
    page = write_page(tmp_path)
    run_page(page)
    assert glue.recorded(page, page.read_text()) == {"p-answer": "42"}


def test_a_record_is_stale_once_the_page_changes(tmp_path):
    page = write_page(tmp_path)
    run_page(page)
    page.write_text(PAGE.replace("The answer", "Still the answer"), encoding="utf-8")
    assert glue.recorded(page, page.read_text()) is None


def test_a_page_whose_prose_names_a_value_it_never_records_fails(tmp_path):
    page = write_page(tmp_path, PAGE.replace("is {glue}`p-answer`", "is {glue}`p-answr`"))
    with pytest.raises(ValueError, match="p-answr"):
        run_page(page)


def test_a_value_that_changes_between_runs_of_the_same_page_fails(tmp_path, monkeypatch):
    page = write_page(tmp_path)
    run_page(page)
    monkeypatch.setenv("GLUE_TEST_VALUE", "41.99")
    with pytest.raises(ValueError, match="'41.99' in this run but was '42'"):
        run_page(page)


def test_the_build_fills_glue_and_runs_a_page_whose_record_is_missing(tmp_path):
    page = write_page(tmp_path)
    glue.record_path(page).unlink(missing_ok=True)
    mkdocs_hooks.on_pre_build({"docs_dir": str(page.parent)})
    out = mkdocs_hooks.on_page_markdown(page.read_text(), markdown_page(page), {}, None)
    assert "The answer is 42." in out and "{glue}" not in out


def test_the_build_fails_on_an_unknown_name(tmp_path):
    page = write_page(tmp_path)
    run_page(page)
    text = page.read_text().replace("is {glue}`p-answer`", "is {glue}`p-answr`")
    with pytest.raises(PluginError, match="p-answr"):
        mkdocs_hooks.on_page_markdown(text, markdown_page(page), {}, None)
