"""Show readers, and the browser test, which examples the book does not run, and why.

A page marks such examples for Sybil with directives in HTML comments: ``<!-- skip: next
"reason" -->`` before one fence, or ``<!-- skip: start "reason" -->`` ... ``<!-- skip: end -->``
around several. The comments are invisible on the site, so :func:`mark_skipped` wraps each
skipped ``python`` fence of the Markdown handed to MkDocs in a
``<div class="skipped-example" data-skip-reason="...">`` (``docs/assets/extra.css`` prints the
reason above the block). The page's source file is left as it is: Sybil reads that.

Directives are followed as Sybil follows them, with one difference: a directive inside a fence
(``docs/writing-a-chapter.md`` shows how to write one inside a four-backtick ``markdown``
sample) is left alone. Sybil does read it, and it skips the sample's own block; but the whole
sample is rendered as one ``markdown`` text block, with no Python block of its own to mark.
"""

from __future__ import annotations

import ast
import html
import re

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)$")
SKIP = re.compile(r"^[ \t]*<!--+\s*skip\b:?\s*(?P<action>\w*)(?P<arguments>.*)$")
SKIP_CLOSED = re.compile(r"^(?P<arguments>.*?)\s*--+>\s*$")
# Other Sybil examples that take a pending "skip: next" for themselves, as Sybil does.
OTHER_EXAMPLE = re.compile(r"^[ \t]*<!--+\s*(?:invisible-code-block:\s*python|clear-namespace)")
CONDITION_REASON = re.compile(r"""reason\s*=\s*(?P<reason>"[^"]*"|'[^']*')""")


def skip_reason(arguments: str, line: int) -> str:
    """The reason given after ``skip: next`` or ``skip: start``.

    Args:
        arguments: The text after the action, e.g. ``"needs a CUDA GPU"`` (quotes included)
            or ``if(cond, reason="needs a CUDA GPU")``.
        line: The directive's line in the page, for the error message.

    Returns:
        The reason, without its quotes.

    Raises:
        ValueError: If ``arguments`` holds no quoted reason.
    """
    arguments = arguments.strip()
    # A conditional skip may run here after all; its reason tells the reader when it does not.
    condition = CONDITION_REASON.search(arguments) if arguments.startswith("if") else None
    literal = condition["reason"] if condition else arguments
    try:
        reason = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        reason = None
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"line {line}: a skip directive needs a quoted reason, e.g. "
                         f'<!-- skip: next "needs a CUDA GPU" -->, got {arguments!r}')
    return reason.strip()


def _opening_tag(indent: str, reason: str) -> str:
    return (f'{indent}<div class="skipped-example" '
            f'data-skip-reason="{html.escape(reason, quote=True)}" markdown="1">')


def mark_skipped(markdown: str) -> str:
    """Wrap each ``python`` fence that a skip directive skips in a ``skipped-example`` div.

    Args:
        markdown: A page's Markdown, as MkDocs hands it to the ``on_page_markdown`` hook.

    Returns:
        The same Markdown, each skipped fence inside
        ``<div class="skipped-example" data-skip-reason="<reason>" markdown="1">`` and
        ``</div>``, with blank lines around both so that ``md_in_html`` renders the fence.

    Raises:
        ValueError: If a directive has no reason, is not on one line, has an unknown action,
            or ``skip: start`` and ``skip: end`` do not pair up; the message gives the line.
    """
    out: list[str] = []
    skip_next: str | None = None  # reason of a pending "skip: next"
    skip_region: str | None = None  # reason of an open "skip: start"
    fence: re.Match | None = None  # the opening line of the fence we are in
    fence_wrapped = False
    in_comment = False
    for number, line in enumerate(markdown.split("\n"), start=1):
        if fence is not None:
            out.append(line)
            if _closes(line, fence):
                if fence_wrapped:
                    out.extend(["", f"{fence['indent']}</div>", ""])
                fence = None
            continue
        if in_comment:
            out.append(line)
            in_comment = "-->" not in line
            continue
        opening = FENCE.match(line)
        if opening is not None:
            fence = opening
            reason = skip_next if skip_next is not None else skip_region
            fence_wrapped = opening["info"].strip() == "python" and reason is not None
            if opening["info"].strip() == "python":
                skip_next = None
            if fence_wrapped:
                if out and out[-1].strip():
                    out.append("")
                out.extend([_opening_tag(opening["indent"], reason), ""])
            out.append(line)
            continue
        directive = SKIP.match(line)
        if directive is not None:
            closed = SKIP_CLOSED.match(directive["arguments"])
            if closed is None:
                raise ValueError(f"line {number}: write a skip directive on one line, "
                                 f"ending with -->: {line.strip()!r}")
            action, arguments = directive["action"], closed["arguments"]
            if action == "next":
                skip_next = skip_reason(arguments, number)
            elif action == "start":
                if skip_region is not None:
                    raise ValueError(f"line {number}: 'skip: start' inside another "
                                     "'skip: start'; close the first with 'skip: end'")
                skip_region = skip_reason(arguments, number)
            elif action == "end":
                if skip_region is None:
                    raise ValueError(f"line {number}: 'skip: end' without 'skip: start'")
                skip_region = None
            else:
                raise ValueError(f"line {number}: unknown skip action {action!r}; "
                                 "expected next, start or end")
        elif OTHER_EXAMPLE.match(line):
            skip_next = None
        comment = line.find("<!--")
        in_comment = comment >= 0 and "-->" not in line[comment + 4:]
        out.append(line)
    if skip_region is not None:
        raise ValueError("'skip: start' is never closed with 'skip: end'")
    return "\n".join(out)


def _closes(line: str, opening: re.Match) -> bool:
    """Whether ``line`` closes the fence opened by ``opening`` (same character, as long)."""
    closing = FENCE.match(line)
    return (closing is not None and not closing["info"].strip()
            and closing["fence"][0] == opening["fence"][0]
            and len(closing["fence"]) >= len(opening["fence"]))
