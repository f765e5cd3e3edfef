"""The verdict table."""

from __future__ import annotations

from pytest_ttsbench.gates.judging import evaluate
from pytest_ttsbench.gates.rules import GateSet, marker_rule
from pytest_ttsbench.gates.table import format_table
from pytest_ttsbench.gates.units import fmt
from tests.unit.gates_support import spread
from tests.unit.result_support import make_result


def test_format_table_has_columns_rows_and_reasons() -> None:
    mark = marker_rule(
        ("latency_ms.p50 <= 800", "ttfa_ms.p95 <= 500", "rtf.p50 <= 0.6"), {}, "test_latency"
    )
    result = make_result(
        {"latency_ms": spread(1000, 10), "ttfa_ms": spread(200, 10), "rtf": spread(0.3, 10)}
    )
    verdicts = evaluate(GateSet(), result, [mark])
    lines = format_table(verdicts).splitlines()
    header = lines[0]
    assert header.split() == [
        "verdict",
        "metric",
        "statistic",
        "observed",
        "bound",
        "n",
        "95%",
        "CI",
        "rule",
    ]
    rows = lines[1:4]
    assert rows[0].split()[:6] == ["FAIL", "latency_ms", "p50", "1000", "<=", "800"]
    assert rows[1].split()[:3] == ["inconclusive", "ttfa_ms", "p95"]
    assert rows[2].split()[:3] == ["pass", "rtf", "p50"]
    # fixed width: every row's rule column starts where the header's does
    column = header.index("rule")
    assert all(row[column:] == "marker on test_latency" for row in rows)
    ci = verdicts[0]
    assert f"[{fmt(ci.ci_low)}, {fmt(ci.ci_high)}]" in rows[0]
    assert "- latency_ms.p50: fail: latency_ms.p50 = 1000 ms, breaks <= 800" in lines[4]
    assert lines[5] == (
        "- ttfa_ms.p95: inconclusive: p95 needs at least 59 trials, got 10; "
        "raise --tts-trials or --tts-max-trials"
    )
    assert len(lines) == 6  # a clean pass adds no line
    assert format_table([]) == "no gates apply"
