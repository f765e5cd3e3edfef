"""Markdown table mechanics of the results doc: escaping, splitting a (possibly
hand-edited) row back into cells, the gates cell and what a failed result says about
itself. Pure: no I/O, no pytest. Number formats are the metric registry's
(:func:`pytest_ttsbench.results.metrics.format_value`).

Which columns a table has and which result goes to which table is
:mod:`~pytest_ttsbench.report.columns` and :mod:`~pytest_ttsbench.report.sections`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pytest_ttsbench.results.model import BenchResult
    from pytest_ttsbench.results.verdict import Verdict

# A row's identity: its key cells, normalized. The headline table keys on model (with
# variant), backend and hardware; a suite section adds prompt, mode and params.
Key = tuple[str, ...]


# ---- cells ---------------------------------------------------------------------------
_MD_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")

# What GitHub would render in a table cell, and the characters a backslash turns back
# into plain text there (escape_cell):
# - always: the backslash, the pipe (the table), the backtick (code spans), ``<`` (HTML,
#   autolinks, our markers), ``*`` and ``~`` (emphasis, strikethrough), ``[`` (links,
#   images, footnotes: none opens without it), ``&`` (entities), ``$`` (GitHub's math);
# - a run of ``_`` unless it sits between two letters or digits (``test_latency``):
#   there it can neither open nor close emphasis;
# - autolinks: ``@`` before a non-space (e-mail), the dot of ``www.``, a dot before a
#   run of letters that no digit follows (``example.com``: linkifiers take bare
#   domains), ``/`` before ``/`` (``http://``, ``//host``): an escape splits the text a
#   linkifier reads.
#   GitHub's own e-mail autolinker reads the text after escapes, so an address still
#   links there; the text it shows is still the user's.
# Numbers, versions, dates, ``key=value``, ``ttfa_ms.p95``, ``Processor @ 2.10GHz``
# stay as they are.
_SPECIAL = re.compile(r"[\\|`<*~\[&$]|_+|@(?=\S)|(?<=[wW]{3})\.|\.(?=[^\W\d_]++(?!\d))|/(?=/)")


def clean_text(value: object) -> str:
    """User text made safe for one table cell: line breaks and control characters become
    spaces, lone surrogates become U+FFFD, ends are stripped."""
    out = []
    for ch in str(value):
        if 0xD800 <= ord(ch) <= 0xDFFF:
            out.append("\ufffd")
        elif ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            # Cf includes the BOM and bidi overrides, which would garble the table
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out).strip()


def escape_cell(value: object) -> str:
    """A cell that shows exactly the user's (cleaned) text: it cannot break the table,
    and nothing in it renders as Markdown (links, images, emphasis, strikethrough, code,
    HTML, entities, autolinks). :func:`unescape_cell` reads it back."""
    text = clean_text(value)

    def escaped(match: re.Match[str]) -> str:
        found = match.group()
        if found[0] == "_":
            start, end = match.span()
            inside = start > 0 and end < len(text) and text[start - 1].isalnum()
            if inside and text[end].isalnum():
                return found  # intraword: no emphasis can start or end here
        return "".join("\\" + ch for ch in found)

    return _SPECIAL.sub(escaped, text)


def unescape_cell(raw: str) -> str:
    """Markdown backslash escapes removed, as a renderer would show the cell."""
    out = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw) and raw[i + 1] in _MD_PUNCT:
            out.append(raw[i + 1])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def norm(text: str) -> str:
    """What two cells must share to name the same thing: whitespace runs collapse."""
    return " ".join(text.split())


def cell_key(raw: str) -> str:
    return norm(unescape_cell(raw))


def split_row(line: str) -> list[str] | None:
    """The raw cells of a Markdown table row (escapes kept), or None when the line has
    no unescaped pipe. A leading and a trailing pipe are optional, as in GFM."""
    text = line.rstrip("\r\n").strip()
    cells: list[str] = []
    current: list[str] = []
    pipes = 0
    ends_with_pipe = False
    i = 0
    while i < len(text):
        ch = text[i]
        ends_with_pipe = ch == "|"
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == "|":
            pipes += 1
            cells.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    if pipes == 0:
        return None
    if not ends_with_pipe:
        cells.append("".join(current))
    if text.startswith("|"):
        cells = cells[1:]
    return [c.strip() for c in cells]


_SEPARATOR_CELL = re.compile(r"^:?-+:?$")


def is_separator(cells: Sequence[str]) -> bool:
    return bool(cells) and all(_SEPARATOR_CELL.match(c.replace(" ", "")) for c in cells)


def render_row(cells: Sequence[str]) -> str:
    """One row from already escaped cells, without line ending."""
    return "| " + " | ".join(cells) + " |"


# ---- verdicts ----------------------------------------------------------------------------
GATE_OUTCOMES = ("pass", "fail", "inconclusive")


def gate_verdict(gates: Sequence[Verdict]) -> str:
    """One word for all of a result's gate verdicts: fail beats inconclusive beats pass;
    no gate at all is "none"."""
    if not gates:
        return "none"
    outcomes = [g.outcome for g in gates]
    for word in ("fail", "inconclusive"):
        count = outcomes.count(word)
        if count:
            return f"{word} ({count}/{len(outcomes)})"
    if all(o == "pass" for o in outcomes):
        return f"pass ({len(outcomes)}/{len(outcomes)})"
    return f"unknown ({len(outcomes)})"


# ---- failed results ----------------------------------------------------------------------
FAILED_OUTCOMES = frozenset({"failed", "error"})
FAILED = "FAILED"  # how a gates cell of a failed result begins
REASON_CHARS = 100  # a reason longer than this is cut: the test report has the rest


def is_failed(result: BenchResult) -> bool:
    """The test failed or errored, or nothing was measured: its numbers are no row's."""
    return result.outcome in FAILED_OUTCOMES or result.n == 0


def _short(text: str) -> str:
    text = norm(clean_text(text))
    return text if len(text) <= REASON_CHARS else text[: REASON_CHARS - 1].rstrip() + "…"


def failure_reason(result: BenchResult) -> str:
    """Why a failed result failed, in one short line: what the test report said (when
    the edge recorded it), else a broken gate, else a broken trial, else no trials."""
    said = result.failure
    if isinstance(said, str) and said.strip():
        return _short(said)
    broken = [g for g in result.gates if g.outcome == "fail" and not g.informational]
    if broken:
        return _short("; ".join(g.reason or g.name for g in broken))
    bad = next((t for t in result.trials if t.kind != "warmup" and not t.valid), None)
    if bad is not None:
        return _short(f"{bad.kind} trial {bad.index}: {bad.error or '; '.join(bad.problems)}")
    if result.n == 0:
        return "no valid measured trial"
    return f"the test {'errored' if result.outcome == 'error' else 'failed'} (see its report)"


def gates_cell(result: BenchResult) -> str:
    """The Gates cell: the gate verdicts, or FAILED with the reason; never "pass" for a
    failed test."""
    if is_failed(result):
        return f"{FAILED}: {failure_reason(result)}"
    return gate_verdict(result.gates)


def is_failed_cell(raw: str) -> bool:
    return cell_key(raw).upper().startswith(FAILED)


def versions_text(versions: Mapping[str, str]) -> str:
    return ", ".join(f"{name} {version}" for name, version in sorted(versions.items()))


def sort_key(key: Key) -> tuple[str, ...]:
    return tuple(part.casefold() for part in key) + key


@dataclass(frozen=True)
class Entry:
    """A result bound for the doc, with what the doc says about where it came from."""

    result: BenchResult
    date: str  # YYYY-MM-DD the result was measured
    plugin_version: str
    created: str = ""  # the session's ISO time: the newest session wins a tie

    @property
    def failed(self) -> bool:
        return is_failed(self.result)


def parse_float(raw: str) -> float | None:
    """The number at the start of a cell ("12.5", "3 (contended)"), or None."""
    match = re.match(r"\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)", unescape_cell(raw))
    return float(match.group(1)) if match else None
