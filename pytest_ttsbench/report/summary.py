"""Summaries of one session's results: the terminal table (tabulate) and the Markdown
for ``$GITHUB_STEP_SUMMARY``. Renderers return strings; pure apart from
:func:`append_step_summary`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from tabulate import tabulate

from pytest_ttsbench.report.table import FAILED, escape_cell, gate_verdict, is_failed, render_row
from pytest_ttsbench.results import metrics
from pytest_ttsbench.results.model import RANDOM_WEIGHTS

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pytest_ttsbench.results.metric_types import Metric, TerminalColumn
    from pytest_ttsbench.results.model import BenchResult
    from pytest_ttsbench.results.verdict import Verdict

_LEAD = ("test", "prompt", "mode", "n")  # the metric columns (the registry's) follow n
_LAST = "gates"


def _columns(results: Sequence[BenchResult]) -> list[tuple[Metric, TerminalColumn]]:
    """The registry's terminal columns, an optional one only where a result has it."""
    return [
        (m, c)
        for m, c in metrics.terminal_columns()
        if not c.optional or any(r.metric(m.flat(c.stat)) is not None for r in results)
    ]


def headers(results: Sequence[BenchResult] = ()) -> tuple[str, ...]:
    """The table's headers: the lead, the registry's terminal columns, the gates."""
    shown = (c.header for _, c in _columns(results))
    return (*_LEAD, *shown, _LAST)


def terminal_headers(results: Sequence[BenchResult] = ()) -> tuple[str, ...]:
    """The headers as the terminal shows them: it is narrow, long headers wrap."""
    return tuple(
        h.replace(" (", "\n(").replace(" ms", "\nms").replace(" MB", "\nMB")
        for h in headers(results)
    )


def _right(i: int, count: int) -> bool:
    """Whether column ``i`` of ``count`` is right-aligned: n and the metric columns."""
    return len(_LEAD) - 1 <= i < count - 1


CONTENDED_NOTE = (
    "contended: timed while {workers} pytest-xdist workers ran in parallel; "
    "compare such rows only with each other"
)


def short_test_id(result: BenchResult) -> str:
    """The test's own part of its node id: ``test_ttfa[kokoro-onnx-cpu-medium]``."""
    name = result.test.rsplit("::", 1)[-1]
    return name or result.target.id


def _cells(
    result: BenchResult,
    columns: Sequence[tuple[Metric, TerminalColumn]],
    contended_mark: str = "*",
) -> list[str]:
    contended = contended_mark if result.xdist_workers > 0 else ""
    random = f" ({RANDOM_WEIGHTS})" if result.random_weights is not None else ""
    return [
        short_test_id(result) + random + contended,
        result.prompt,
        result.stream_mode,
        str(result.n),
        *(result.shown(m.flat(c.stat), c.fmt) for m, c in columns),
        # a failed test never reads "pass"; its report above says why
        FAILED if is_failed(result) else gate_verdict(result.gates),
    ]


def _contended_note(results: Sequence[BenchResult]) -> str | None:
    """The note on rows timed beside pytest-xdist workers; None when there are none."""
    workers = sorted({r.xdist_workers for r in results if r.xdist_workers > 0})
    if not workers:
        return None
    return CONTENDED_NOTE.format(workers="/".join(map(str, workers)))


def terminal_table(results: Sequence[BenchResult]) -> str:
    """One row per result, for the terminal summary. "" for no results."""
    if not results:
        return ""
    columns = _columns(results)
    rows = [_cells(r, columns) for r in results]
    shown = terminal_headers(results)
    aligns = ["right" if _right(i, len(shown)) else "left" for i in range(len(shown))]
    text = tabulate(
        rows,
        headers=list(shown),
        tablefmt="simple",
        disable_numparse=True,
        colalign=aligns,
    )
    note = _contended_note(results)
    if note:
        text += "\n* " + note
    return text


def _gate_reason(verdict: Verdict) -> str:
    return verdict.reason or verdict.name


def github_step_summary(results: Sequence[BenchResult], *, title: str = "pytest-ttsbench") -> str:
    """Markdown for ``$GITHUB_STEP_SUMMARY``: a table of results and the broken gates."""
    failing = [(r, g) for r in results for g in r.gates if g.outcome == "fail"]
    unsure = sum(1 for r in results for g in r.gates if g.outcome == "inconclusive")
    counts = [f"{len(results)} result{'s' if len(results) != 1 else ''}"]
    if failing:
        counts.append(f"{len(failing)} failing gate{'s' if len(failing) != 1 else ''}")
    if unsure:
        counts.append(f"{unsure} inconclusive")
    lines = [f"### {escape_cell(title)}: {', '.join(counts)}", ""]
    if results:
        shown = headers(results)
        columns = _columns(results)
        lines.append(render_row(shown))
        lines.append(
            "|"
            + "|".join("---:" if _right(i, len(shown)) else "---" for i in range(len(shown)))
            + "|"
        )
        for r in results:
            cells = _cells(r, columns, contended_mark=" (contended)")
            lines.append(render_row([escape_cell(c) for c in cells]))
        note = _contended_note(results)
        if note:
            lines += ["", escape_cell(note[0].upper() + note[1:])]
    if failing:
        lines += ["", "**Failing gates**", ""]
        lines += [
            f"- {escape_cell(short_test_id(r))}: {escape_cell(_gate_reason(g))}" for r, g in failing
        ]
    return "\n".join(lines) + "\n"


def append_step_summary(markdown: str, env: Mapping[str, str] | None = None) -> Path | None:
    """Append to the file ``$GITHUB_STEP_SUMMARY`` names; None when it is not set."""
    target = (os.environ if env is None else env).get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as f:
        f.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return path
