"""The verdict table: the failure message of a test with gates, one fixed-width row per
verdict, then one line per reason or note worth reading."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_ttsbench.gates.rules import FAIL, PASS
from pytest_ttsbench.gates.units import fmt

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_ttsbench.results.verdict import Verdict


def format_table(verdicts: Sequence[Verdict]) -> str:
    """A fixed-width table (the failure message of a test) plus one line per reason
    or note worth reading: failures, inconclusive verdicts, noise and baseline notes."""
    if not verdicts:
        return "no gates apply"
    header = ("verdict", "metric", "statistic", "observed", "bound", "n", "95% CI", "rule")
    rows = [header]
    for v in verdicts:
        ci = (
            "-"
            if v.ci_low is None and v.ci_high is None
            else (f"[{fmt(v.ci_low)}, {fmt(v.ci_high)}]")
        )
        label = "info" if v.informational else ("FAIL" if v.outcome == FAIL else v.outcome)
        rows.append(
            (
                label,
                v.metric,
                v.statistic or "-",
                fmt(v.observed),
                v.bound_text(),
                "-" if v.n is None else str(v.n),
                ci,
                v.origin,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    for v in verdicts:
        if v.outcome != PASS or v.informational:
            lines.append(f"- {v.name}: {v.outcome if not v.informational else 'info'}: {v.reason}")
        if v.note:
            lines.append(f"- {v.name}: {v.note}")
    return "\n".join(lines)
