"""Every chapter as a Jupyter notebook: its prose, its examples as cells, the checked outputs.

The page is read with the parsers Sybil runs it with (``bookhooks.examples``): their lexers find
the fenced and the invisible (``<!-- invisible-code-block: python``) blocks, their doctest
parser cuts a ``>>>`` session into statements and the output the page shows for each, and
their skip parser finds the skip directives. From these:

- the prose between blocks becomes Markdown cells, math kept as ``$...$``; glued numbers are
  filled in (``bookhooks.glue``), Material's tabs and admonitions become bold titles and
  quotes (an exercise's collapsed solution a bold title inside its item), a figure the page
  links is attached to its cell, and with the book's ``site_url`` links to its other pages
  are made absolute;
- a plain block becomes one code cell; a ``>>>`` session becomes cells without prompts, each
  ending at a statement whose output the page shows, so that a real kernel shows every output
  (it displays only a cell's last expression); the page's output is the cell's ``stream``
  output, and a statement the page shows raising ends a cell tagged ``raises-exception``, so
  that ``nbclient`` runs on past it, with the page's traceback as the cell's ``error`` output;
- an invisible block becomes a code cell tagged ``hidden``, with its source collapsed;
- a block a skip directive skips becomes a Markdown cell that gives the reason and shows the
  code, so the notebook runs top to bottom where the page's examples do.

The first cell defines ``glue`` (the pages' hidden blocks call it) and, when the book has a
``repo_url``, is preceded by a cell that installs the package from the repository, so the
notebook runs on Colab.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from urllib.parse import urlparse

import nbformat
from sybil import Document
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser

from bookhooks import glue as glue_module
from bookhooks.examples import ROOT, chapters
from bookhooks.skips import skip_reason

__all__ = ["HIDDEN", "NOT_CHAPTERS", "RAISES", "chapter_notebook", "colab_url", "install_source",
           "is_chapter", "notebook_json", "notebook_path"]

# A chapter is a page in a part's folder (not index.md, about.md); the API reference is not.
NOT_CHAPTERS = ("reference",)
RAISES = "raises-exception"  # the tag nbclient lets raise
HIDDEN = "hidden"

# The parsers pytest runs the pages with: what Sybil runs is what the notebook holds.
_BLOCKS = next(p for p in chapters.parsers if isinstance(p, PythonCodeBlockParser))
_SKIPS = next(p for p in chapters.parsers if isinstance(p, SkipParser))

_GLUE_CELL = '''\
glued = {}


def glue(name, value):
    """On the site, {glue}`name` in the text shows value; here it is only kept in glued."""
    glued[name] = str(value)'''

_PAGE_LINK = re.compile(r"\]\((?P<path>(?![a-z]+:)[^)#\s]+\.md)(?P<anchor>#[^)\s]*)?\)")
_FIGURE = re.compile(
    r"!\[(?P<alt>[^\]]*)\]\((?:\.\./)*figures/(?P<name>[a-z0-9][a-z0-9-]*)\.svg\)")
# Material's tabs (=== "Title") and admonitions (!!! note "Title"), with indented contents.
_CONTAINER = re.compile(
    r'^(?P<kind>===|!!!|\?\?\?\+?)\s*(?P<type>[\w-]*)\s*(?:"(?P<title>.*)")?\s*$')


def is_chapter(src_uri: str) -> bool:
    """Whether a page of the book (``maths/probability.md``) is a chapter with a notebook."""
    parts = src_uri.split("/")
    return len(parts) == 2 and parts[0] not in NOT_CHAPTERS and parts[1].endswith(".md")


def notebook_path(src_uri: str) -> str:
    """Where the site serves a chapter's notebook: beside the page, ``maths/probability/
    probability.ipynb`` for ``maths/probability.md``, as a lab's is (the page links it by name)."""
    stem = src_uri[:-len(".md")]
    return f"{stem}/{stem.rsplit('/', 1)[-1]}.ipynb"


def install_source(repo_url: str) -> str:
    """The cell that installs the package from the repository, for a notebook run elsewhere."""
    return f'%pip install "coursekit @ git+{repo_url.rstrip("/")}"'


def colab_url(repo_url: str | None, branch: str, path: str) -> str | None:
    """Colab's address of the notebook at ``path`` on ``branch`` of a GitHub repository.

    Colab opens notebooks from GitHub only; for any other host (or no ``repo_url``) there is
    no link, and ``None`` is returned.
    """
    if not repo_url:
        return None
    url = urlparse(repo_url)
    owner_repo = url.path.strip("/").removesuffix(".git").split("/")
    if url.netloc.lower() not in ("github.com", "www.github.com") or len(owner_repo) != 2:
        return None
    owner, repo = owner_repo
    return f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/{path}"


def _blocks(document: Document) -> list:
    """The page's code blocks, fenced and invisible, in order, as Sybil's lexers find them."""
    regions = list(_BLOCKS.codeblock_parser.lexers(document))
    kept, end = [], -1
    for region in sorted(regions, key=lambda r: r.start):
        if region.start >= end:  # a fence shown inside a longer fence is the outer one's text
            kept.append(region)
            end = region.end
    return kept


def _skips(document: Document) -> list:
    return sorted(_SKIPS(document), key=lambda r: r.start)


def _site_links(text: str, src_uri: str, site_url: str) -> str:
    """Links to other pages of the book (``../training/fit.md#loop``) made absolute on the site:
    relative, they would point nowhere once the notebook is opened elsewhere."""
    folder = posixpath.dirname(src_uri)

    def absolute(match: re.Match) -> str:
        target = posixpath.normpath(posixpath.join(folder, match["path"]))
        if target.startswith(".."):
            return match[0]
        url = target[:-len("index.md")] if target.endswith("index.md") else target[:-3] + "/"
        return f"]({site_url.rstrip('/')}/{url}{match['anchor'] or ''})"

    return _PAGE_LINK.sub(absolute, text)


def _close(lines: list[str], quoted: str | None) -> None:
    """End a container: its trailing blank lines become one blank line outside it."""
    if quoted:
        while lines and lines[-1] == quoted.rstrip():
            lines.pop()
        lines.append("")


def _outdent(text: str) -> str:
    """Indented prose as a notebook cell reads it: a cell is a document of its own, where text
    indented by 4 spaces outside a list is code.

    - The stretch's first lines, when indented, go on a list item or a collapsed block (an
      exercise's solution) that a code cell interrupted; in a new cell they have neither, so
      they move to the margin.
    - A collapsed block inside a list item (``    ??? success "Solution"``) becomes its title in
      bold at the item's indent, and its body moves out by 4 spaces, onto the item's indent.
    """
    lines = text.split("\n")
    lead = next((i for i, line in enumerate(lines) if line.strip() and line[0] != " "),
                len(lines))
    cut = min((len(line) - len(line.lstrip(" ")) for line in lines[:lead] if line.strip()),
              default=0)
    lines = [line[cut:] for line in lines[:lead]] + lines[lead:]
    out, body = [], None  # body: the indent of the open nested block's contents
    for line in lines:
        indent = len(line) - len(line.lstrip(" "))
        if body is not None and line.strip() and indent < body:
            body = None
        opener = _CONTAINER.match(line.lstrip(" ")) if indent else None
        if opener:
            title = opener["title"] or opener["type"].capitalize()
            out.append(f"{' ' * indent}**{title}**")
            body = indent + 4
        elif body is not None:
            out.append(line[4:] if line.strip() else "")
        else:
            out.append(line)
    return "\n".join(out)


def _markdown(text: str, values: dict[str, str] | None, figure_dir: Path | None,
              links: tuple[str, str] | None = None) -> dict | None:
    """A Markdown cell for a stretch of prose; None when it holds nothing to show."""
    text = re.sub(r"^[ \t]*<!--+\s*skip\b.*?-->[ \t]*\n?", "", text, flags=re.MULTILINE)
    text = _outdent(text)
    if values is not None and glue_module.references(text):
        text = glue_module.fill(text, values, "notebook")
    if links is not None:
        text = _site_links(text, *links)
    lines, quoted = [], None  # quoted: the prefix of the container being read, if any
    for line in text.split("\n"):
        container = _CONTAINER.match(line)
        if container:
            title = container["title"] or container["type"].capitalize()
            quoted = "" if container["kind"] == "===" else "> "
            lines.extend([f"{quoted}**{title}**"] + ([">"] if quoted else []))
            continue
        if quoted is not None and line.strip() and not line.startswith("    "):
            _close(lines, quoted)
            quoted = None
        if quoted is not None:
            line = (quoted + line[4:]).rstrip() if line.strip() else quoted.rstrip()
        lines.append(line)
    _close(lines, quoted)
    source = "\n".join(lines).strip("\n")
    if not source.strip():
        return None
    cell = nbformat.v4.new_markdown_cell(source)
    for match in _FIGURE.finditer(source) if figure_dir is not None else ():
        svg = Path(figure_dir) / f"{match['name']}.svg"
        if svg.exists():
            cell.setdefault("attachments", {})[svg.name] = {
                "image/svg+xml": svg.read_text(encoding="utf-8")}
    if "attachments" in cell:
        cell.source = _FIGURE.sub(
            lambda m: (f"![{m['alt']}](attachment:{m['name']}.svg)"
                       if f"{m['name']}.svg" in cell.attachments else m[0]), source)
    return cell


def _stream(text: str) -> dict:
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def _error(exc_msg: str) -> dict:
    """The page's traceback (``Traceback ... \\nValueError: message``) as an ``error`` output."""
    name, _, message = exc_msg.partition(":")
    return nbformat.v4.new_output("error", ename=name.strip(), evalue=message.strip(),
                                  traceback=["Traceback (most recent call last):", "...",
                                             exc_msg.rstrip("\n")])


def _session_cells(source: str, path: str) -> list[dict]:
    """A ``>>>`` session as cells without prompts; each ends where the page shows output."""
    parser = _BLOCKS.doctest_parser
    cells, lines, outputs = [], [], []
    for region in parser(source, path):
        example = region.parsed
        lines.append(example.source.rstrip("\n"))
        want = example.want.replace("<BLANKLINE>", "")
        if example.exc_msg is not None:
            outputs.append(_error(example.exc_msg))
        elif want:
            outputs.append(_stream(want))
        if outputs:
            cell = nbformat.v4.new_code_cell("\n".join(lines), outputs=outputs)
            if example.exc_msg is not None:
                cell.metadata["tags"] = [RAISES]
            cells.append(cell)
            lines, outputs = [], []
    if lines:
        cells.append(nbformat.v4.new_code_cell("\n".join(lines)))
    return cells


def _skipped_cell(source: str, reason: str) -> dict:
    return nbformat.v4.new_markdown_cell(
        f"*Not run here: {reason}.*\n\n```python\n{source.rstrip()}\n```")


def chapter_notebook(page: Path, *, values: dict[str, str] | None = None,
                     repo_url: str | None = None,
                     figure_dir: Path | None = None,
                     site_url: str | None = None,
                     src_uri: str | None = None) -> nbformat.NotebookNode:
    """The notebook of one chapter (see the module's docstring for what goes where).

    Args:
        page: The chapter's Markdown file.
        values: The glued values of the page's last run (``bookhooks.glue.recorded``), filled
            into the prose; None leaves ``{glue}`name``` references as they are.
        repo_url: The book's repository; when given, the first cell installs the package.
        figure_dir: Where the page's figures were drawn; those found are attached.
        site_url: The book's address; when given, links to its other pages are made absolute.
        src_uri: The page's path in the book (``maths/probability.md``), which those links are
            relative to; by default its path under ``docs/``.

    Returns:
        A version 4 notebook whose cells have stable ids (the same page gives the same file).
    """
    document = Document(Path(page).read_text(encoding="utf-8"), str(page))
    docs = ROOT / "docs"
    if src_uri is None:
        src_uri = (Path(page).resolve().relative_to(docs).as_posix()
                   if docs in Path(page).resolve().parents else Path(page).name)
    links = (src_uri, site_url) if site_url else None
    cells = []
    if repo_url:
        cells.append(nbformat.v4.new_code_cell(install_source(repo_url)))
    setup = nbformat.v4.new_code_cell(_GLUE_CELL)
    setup.metadata.update(tags=[HIDDEN], jupyter={"source_hidden": True})
    cells.append(setup)
    skips = _skips(document)
    skip_next: str | None = None
    skip_region: str | None = None
    position = 0
    for block in _blocks(document):
        for skip in [s for s in skips if position <= s.start < block.start]:
            action, arguments = skip.parsed
            line = document.text.count("\n", 0, skip.start) + 1
            if action == "next":
                skip_next = skip_reason(arguments, line)
            elif action == "start":
                skip_region = skip_reason(arguments, line)
            elif action == "end":
                skip_region = None
        prose = _markdown(document.text[position:block.start], values, figure_dir, links)
        if prose is not None:
            cells.append(prose)
        position = block.end
        if block.lexemes["arguments"] != "python":
            prose = _markdown(document.text[block.start:block.end], None, None)
            cells.extend([prose] if prose is not None else [])
            continue
        source = str(block.lexemes["source"])
        reason = skip_next if skip_next is not None else skip_region
        skip_next = None
        invisible = "directive" in block.lexemes
        if reason is not None:
            cells.append(_skipped_cell(source, reason))
        elif source.startswith(">>>"):
            cells.extend(_session_cells(source, str(page)))
        else:
            cell = nbformat.v4.new_code_cell(source.rstrip("\n"))
            if invisible:
                cell.metadata.update(tags=[HIDDEN], jupyter={"source_hidden": True})
            cells.append(cell)
    prose = _markdown(document.text[position:], values, figure_dir, links)
    cells.extend([prose] if prose is not None else [])
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number}"
    notebook = nbformat.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    nbformat.validate(notebook)
    return notebook


def notebook_json(page: Path, **options) -> str:
    """:func:`chapter_notebook` written as ``.ipynb`` text."""
    return nbformat.writes(chapter_notebook(page, **options)) + "\n"

