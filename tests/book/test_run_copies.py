"""``tests/book/run_copies.py``, the browser test's paste harness, behaves as the classic prompt."""

import importlib.util
from pathlib import Path

import pytest

# A script, not a module on sys.path: loaded from its file.
spec = importlib.util.spec_from_file_location("run_copies",
                                              Path(__file__).with_name("run_copies.py"))
run_copies = importlib.util.module_from_spec(spec)
spec.loader.exec_module(run_copies)


def paste(text: str) -> dict | None:
    return run_copies.run_page([{"text": text, "session": True}])[0]


def test_a_for_loop_without_its_blank_line_is_a_syntax_error_at_the_prompt():
    outcome = paste("total = 0\nfor i in range(3):\n    total += i\nprint(total)")
    assert outcome["syntax"] and outcome["error"].startswith("SyntaxError")
    assert outcome["line"] == "print(total)"


def test_the_same_loop_ended_by_a_blank_line_runs():
    assert paste("total = 0\nfor i in range(3):\n    total += i\n\nassert total == 3") is None


def test_a_last_compound_statement_is_ended_by_the_readers_enter():
    # Material trims the copy's end; the reader presses Enter after pasting.
    assert paste("def f():\n    return 1") is None


def test_an_unclosed_bracket_at_the_end_is_reported():
    outcome = paste("x = [1,\n2,")
    assert outcome == {"error": "the copy ends inside an unfinished statement", "syntax": True,
                       "line": "x = [1,"}


def test_an_exception_is_recorded_with_its_line_and_the_session_goes_on():
    blocks = [{"text": "1 / 0\ny = 2", "session": True},
              {"text": "assert y == 2", "session": False}]
    first, second = run_copies.run_page(blocks)
    assert first == {"error": "ZeroDivisionError: division by zero", "syntax": False,
                     "line": "1 / 0"}
    assert second is None  # one namespace for the page


def test_a_plain_block_runs_whole_and_names_the_failing_line():
    outcome = run_copies.run_page([{"text": "for i in range(2):\n    pass\nundefined_name",
                                    "session": False}])[0]
    assert outcome == {"error": "NameError: name 'undefined_name' is not defined",
                       "syntax": False, "line": "undefined_name"}


@pytest.mark.parametrize("session", [True, False])
def test_system_exit_is_recorded_as_what_the_block_raised(session):
    outcome = run_copies.run_page([{"text": "raise SystemExit(2)", "session": session}])[0]
    assert outcome == {"error": "SystemExit: 2", "syntax": False, "line": "raise SystemExit(2)"}


@pytest.mark.parametrize("session", [True, False])
def test_a_block_that_prints_keeps_the_harness_quiet(session, capsys):
    assert run_copies.run_page([{"text": "print('hello')", "session": session}]) == [None]
    assert capsys.readouterr().out == ""
