"""A table cell shows exactly the text the user wrote: rendered by a real Markdown
renderer with GitHub's rules, no name a user supplies (model, variant, backend,
hardware label, prompt, knob names and values, test names, versions, a failure's
message) turns into a link, an image, emphasis, strikethrough, code, HTML, an entity or
an autolink, and the doc reads every one of them back as written.

markdown-it-py ("gfm-like": tables, strikethrough, linkify) reads every table cell of
the results doc and the GitHub step summary; cmark-gfm, GitHub's own renderer, does too
where it is installed.
"""

from __future__ import annotations

import html
import itertools
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_ttsbench.report import columns as col
from pytest_ttsbench.report import doc_update as du
from pytest_ttsbench.report import sections as sec
from pytest_ttsbench.report import table as tb
from pytest_ttsbench.report.doc_blocks import Draft, is_note
from pytest_ttsbench.report.summary import github_step_summary
from tests.unit.report_support import make_result

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from markdown_it.token import Token

    from pytest_ttsbench.results.model import BenchResult

markdown_it = pytest.importorskip("markdown_it")
pytest.importorskip("linkify_it")  # markdown-it's linkify: bare URLs, www., e-mails

# text_join off: a backslash escape and a decoded entity stay tokens of their own
MD = markdown_it.MarkdownIt("gfm-like").disable("text_join")

# Each string is something GitHub (or a linkifier) renders, as a user might name a
# model, a variant, a knob or a prompt.
INJECTIONS = (
    "[l](javascript:alert(1))",
    "[text](http://example.com)",
    "![img](http://example.com/i.png)",
    "[ref][1]",
    "[shortcut]",
    "[^footnote]",
    "**bold**",
    "__bold__",
    "*em*",
    "_em_",
    "a _b_ c",
    "x_*y*_",
    "~~strike~~",
    "~one~",
    "`code`",
    "``co`de``",
    "<b>tag</b>",
    "<img src=x onerror=alert(1)>",
    "<!-- ttsbench:results:end -->",
    "<http://auto.example.com>",
    "<user@example.com>",
    "www.example.com",
    "WWW.EXAMPLE.COM/path",
    "_www.+http://a(<b>",
    "http://example.com/a_b",
    "https://localhost:8080/x",
    "ftp://files.example.com",
    "//localhost",
    "example.com",
    "kokoro.io",
    "user@example.com",
    "mailto:user@example.com",
    "&amp;",
    "&#35;",
    "&#x41;",
    "&copy;",
    "$x^2$",
    "a|b",
    "back\\slash\\",
    "\\*not em\\*",
    "_leading",
    "trailing_",
    "snake_case_name",
)

# cmark-gfm autolinks an e-mail address after every escape is resolved (it reads the
# text nodes joined), so no escape can stop it: the link shows the user's exact text.
EMAIL_LIKE = frozenset(s for s in INJECTIONS if "@" in s)


def _versions(text: str) -> dict[str, str]:
    return {text: text}


# Where each user-supplied name goes: a result that carries ``text`` there.
FIELDS: dict[str, Callable[[str], BenchResult]] = {
    "model": lambda t: make_result(t),
    "variant": lambda t: make_result(variant=t, default_variant=False),
    "backend": lambda t: make_result(backend=t),
    "hardware": lambda t: make_result(hardware=t),
    "prompt": lambda t: make_result(prompt=t),
    "knob name": lambda t: make_result(suite="sweeps", params={t: 1}),
    "knob value": lambda t: make_result(suite="sweeps", params={"speed": t}),
    "test name": lambda t: replace(make_result(), test=f"suites/test_latency.py::test_{t}"),
    "versions": lambda t: make_result(versions=_versions(t)),
    "failure": lambda t: replace(make_result(outcome="failed", latencies_ms=[]), failure=t),
}


@dataclass
class Rendered:
    """What a renderer made of the table cells and list items that hold user text."""

    cells: list[str] = field(default_factory=list)  # each cell's text as shown
    constructs: list[str] = field(default_factory=list)  # anything that is no plain text


def _plain(child: Token) -> bool:
    """Text as written: plain text, or a backslash escape (an entity is a construct)."""
    return child.type == "text" or (child.type == "text_special" and child.info == "escape")


def _user_item(content: str) -> bool:
    """A list item that holds user text: a note under a table (the doc's own prose has
    lists too), or a failing gate of the step summary (``test: reason``)."""
    return is_note(f"- {content}") or not content.startswith("**")


def markdown_it_render(text: str) -> Rendered:
    """Table cells (every one) and list items with user text (notes under a table,
    failing gates) as markdown-it reads them. A note's bold lead (``- **key**, last run
    ...``) is ours."""
    out = Rendered()
    tokens = MD.parse(text)
    in_item = 0
    for prev, tok in itertools.pairwise(tokens):
        in_item += {"list_item_open": 1, "list_item_close": -1}.get(tok.type, 0)
        if tok.type != "inline":
            continue
        in_cell = prev.type in ("td_open", "th_open")
        if not (in_cell or (in_item and _user_item(tok.content))):
            continue
        children = [c for c in tok.children or [] if c.content or c.type != "text"]
        if not in_cell and children and children[0].type == "strong_open":
            close = next(i for i, c in enumerate(children) if c.type == "strong_close")
            children = children[1:close] + children[close + 1 :]
        out.constructs += [
            f"{c.type} ({c.info or c.markup}) in {tok.content!r}" for c in children if not _plain(c)
        ]
        if in_cell:
            out.cells.append("".join(c.content for c in children))
    return out


def raw_cells(text: str) -> list[str]:
    """Every table cell of ``text`` as the doc's reader reads it back (unescaped)."""
    cells: list[str] = []
    for line in text.splitlines():
        row = tb.split_row(line)
        if row is not None and not tb.is_separator(row):
            cells += [tb.unescape_cell(c) for c in row]
    return cells


def doc_and_summary(results: Sequence[BenchResult]) -> tuple[str, str]:
    """The results doc and the step summary of ``results``; in the doc, a later failed
    run of each good row's key adds a note under its table."""
    first = du.update_doc_text(None, [tb.Entry(r, "2025-01-31", "0.3.0") for r in results])
    assert first.text is not None
    failed = [replace(r, outcome="failed", failure="broke") for r in results if r.n > 0]
    later = du.update_doc_text(first.text, [tb.Entry(r, "2025-02-01", "0.3.0") for r in failed])
    assert later.text is not None
    return later.text, github_step_summary(results)


@pytest.mark.parametrize("name", FIELDS)
def test_every_injection_renders_as_plain_text(name: str) -> None:
    found: list[str] = []
    for text in INJECTIONS:
        doc, summary = doc_and_summary([FIELDS[name](text)])
        shown = [markdown_it_render(doc), markdown_it_render(summary)]
        for markdown, rendered in zip((doc, summary), shown, strict=True):
            found += rendered.constructs
            # what a reader sees is what the doc's own reader reads back
            assert rendered.cells == raw_cells(markdown)
        # the name shows up, unchanged, in a cell
        assert any(text in cell for r in shown for cell in r.cells), text
    assert found == []


_OLD_ESCAPES = str.maketrans({"\\": "\\\\", "|": "\\|", "`": "\\`", "<": "\\<"})


def test_rows_written_before_the_escaping_are_still_the_same_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A doc whose cells were escaped the old way (backslash, pipe, backtick, ``<``):
    a new run of the same keys updates those rows, it adds none."""
    results = [FIELDS[name](text) for name in ("model", "hardware") for text in INJECTIONS]
    with monkeypatch.context() as old:
        old.setattr(tb, "escape_cell", lambda v: tb.clean_text(v).translate(_OLD_ESCAPES))
        first = du.update_doc_text(None, [tb.Entry(r, "2025-01-31", "0.2.0") for r in results])
    assert first.text is not None
    assert "**bold**" in first.text  # written the old way
    later = [replace(r, trials=r.trials[:2]) for r in results]
    again = du.update_doc_text(first.text, [tb.Entry(r, "2025-02-01", "0.3.0") for r in later])
    assert again.added == []
    assert len(again.updated) == len(results)
    assert again.text is not None
    assert "**bold**" not in again.text.split("## History", 1)[0]


def test_a_suite_named_by_its_module_shows_its_name_in_the_headings() -> None:
    """A user's test module names its suite: ``test__x_.py`` is the suite ``_x_``."""
    result = make_result(suite="_x_", prompt="short")
    text = du.update_doc_text(None, [tb.Entry(result, "2025-01-31", "0.3.0")]).text
    assert text is not None
    tokens = MD.parse(text)
    headings = [tok for prev, tok in itertools.pairwise(tokens) if prev.type == "heading_open"]
    shown = ["".join(c.content for c in tok.children or []) for tok in headings]
    assert "Suite _x_" in shown
    assert [c.type for tok in headings for c in tok.children or [] if not _plain(c)] == []


def test_an_escaped_cell_reads_back_as_the_text_in_every_renderer() -> None:
    for text in INJECTIONS:
        cell = tb.escape_cell(text)
        assert tb.unescape_cell(cell) == text
        shown = markdown_it_render(f"| h |\n|---|\n| {cell} |\n")
        assert shown.constructs == [], text
        assert shown.cells == ["h", text]


# ---- random text --------------------------------------------------------------------------
# Every ASCII punctuation mark and the pieces of every construct, with letters, digits,
# spaces and a few non-ASCII characters between them.
PIECES = (
    *"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    *"aZ1 é例",
    "www.",
    "http://",
    "mailto:",
    "&amp;",
    "&#35;",
    "](",
    "~~",
    "**",
    "__",
    "ex.com",
)
user_text = (
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=16)
    .map("".join)
    .filter(lambda s: tb.clean_text(s) != "")
)
any_text = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=24).filter(
    lambda s: tb.clean_text(s) != ""
)
names = st.one_of(user_text, any_text)


@given(
    model=names,
    backend=names,
    hardware=names,
    prompt=names,
    knob=names,
    value=names,
    version=names,
)
@settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
def test_random_names_read_back_from_the_doc_as_written(
    model: str, backend: str, hardware: str, prompt: str, knob: str, value: str, version: str
) -> None:
    result = make_result(
        model,
        backend,
        hardware,
        prompt=prompt,
        suite="sweeps",
        params={knob: value},
        versions={"engine": version},
    )
    text = du.update_doc_text(None, [tb.Entry(result, "2025-01-31", "0.3.0")]).text
    assert text is not None
    section = sec.suite_section("sweeps")
    table = Draft.read(text).table(section.block, section.label, section.key)
    assert table is not None
    (row,) = table.rows
    got = {cid: tb.unescape_cell(raw) for cid, raw in table.values(row).items()}
    assert got["model"] == tb.clean_text(model)
    assert got["backend"] == tb.clean_text(backend)
    assert got["hardware"] == tb.clean_text(hardware)
    assert got["prompt"] == tb.clean_text(prompt)
    assert got["params"] == tb.clean_text(col.params_cell({knob: value}))
    assert got["versions"] == tb.clean_text(f"engine {version}")
    shown = markdown_it_render(text)
    assert shown.constructs == []
    assert shown.cells == raw_cells(text)


@given(st.lists(names, min_size=1, max_size=3))
@settings(max_examples=150, deadline=None, database=None)
def test_random_text_in_the_step_summary_renders_as_written(texts: list[str]) -> None:
    results = [
        replace(make_result(t), test=f"t.py::test_{t}", failure=t, outcome="failed") for t in texts
    ]
    summary = github_step_summary(results)
    shown = markdown_it_render(summary)
    assert shown.constructs == []
    assert shown.cells == raw_cells(summary)


# ---- GitHub's own renderer ------------------------------------------------------------------
class _Cells(HTMLParser):
    """The text of each td/th of rendered HTML, and every other tag found inside one."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.cells: list[str] = []
        self.tags: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("td", "th"):
            self._cell = []
        elif self._cell is not None:
            href = dict(attrs).get("href") or ""
            self.tags.append(f"{tag} {href}".strip())

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._cell is not None:
            self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append(html.unescape("".join(self._cell)))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_entityref(self, name: str) -> None:
        self.handle_data(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.handle_data(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        if self._cell is not None:
            self.tags.append("comment")


def test_github_renders_every_injection_as_the_text() -> None:
    cmarkgfm = pytest.importorskip("cmarkgfm")
    from cmarkgfm.cmark import Options

    found: list[str] = []
    for text in INJECTIONS:
        doc, summary = doc_and_summary([make(text) for make in FIELDS.values()])
        for markdown in (doc, summary):
            rendered = cmarkgfm.markdown_to_html_with_extensions(
                markdown,
                options=Options.CMARK_OPT_UNSAFE,  # raw HTML shown, so none can hide
                extensions=["table", "autolink", "strikethrough", "tagfilter"],
            )
            parser = _Cells()
            parser.feed(rendered)
            assert parser.cells == raw_cells(markdown)
            for tag in parser.tags:
                if text in EMAIL_LIKE and tag.split()[0] == "a":
                    continue  # the known limit above: the text shown is still exact
                found.append(f"{tag} for {text!r}")
    assert found == []
