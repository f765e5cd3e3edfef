"""The sample-size rule: too few trials are inconclusive; count_trials raises them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.gates.bounds import Bound, parse_bound
from pytest_ttsbench.gates.judging import evaluate, should_fail
from pytest_ttsbench.gates.rules import GateSet, marker_rule
from pytest_ttsbench.gates.samples import count_trials, raised_trials_note
from tests.unit.gates_support import ctx, gateset, spread
from tests.unit.result_support import make_result

if TYPE_CHECKING:
    from pathlib import Path

# ---- sample size ---------------------------------------------------------------------


def test_p95_from_five_trials_is_inconclusive_never_a_pass() -> None:
    mark = marker_rule(("ttfa_ms.p95 <= 500",), {}, "t")
    (verdict,) = evaluate(GateSet(), make_result({"ttfa_ms": spread(100, 5)}), [mark])
    assert verdict.outcome == "inconclusive"
    assert verdict.reason == (
        "p95 needs at least 59 trials, got 5; raise --tts-trials or --tts-max-trials"
    )
    assert verdict.observed is not None  # still shown, just not judged
    assert not should_fail([verdict], "fail")


def test_p95_with_enough_trials_is_judged_with_an_order_statistic_ci() -> None:
    mark = marker_rule(("ttfa_ms.p95 <= 500",), {}, "t")
    values = spread(100, 100)
    (verdict,) = evaluate(GateSet(), make_result({"ttfa_ms": values}), [mark])
    assert verdict.outcome == "pass"
    assert verdict.ci_low is not None
    assert verdict.ci_high is not None
    assert verdict.observed is not None
    assert verdict.ci_low <= verdict.observed <= verdict.ci_high
    (at_minimum,) = evaluate(GateSet(), make_result({"ttfa_ms": spread(100, 59)}), [mark])
    assert at_minimum.outcome == "pass"


@pytest.mark.parametrize(("stat", "n"), [("p50", 5), ("p90", 29), ("p95", 59), ("p99", 299)])
def test_counted_trials_follow_the_binomial_rule(stat: str, n: int) -> None:
    mark = marker_rule((f"latency_ms.{stat} <= 1000",), {}, "t")
    assert count_trials(GateSet(), ctx(), current_n=3, cap=1000, markers=[mark]).n == n


def test_counted_trials_respect_cap_and_never_lower_n(tmp_path: Path) -> None:
    gs = gateset(tmp_path, '[[gates]]\nbounds = ["ttfa_ms.p95 <= 500", "load_s <= 60"]\n')
    assert count_trials(gs, ctx(), current_n=5, cap=60).n == 59
    assert count_trials(gs, ctx(), current_n=5, cap=30).n == 30
    assert count_trials(gs, ctx(), current_n=80, cap=60).n == 80
    assert count_trials(gs, ctx(model="marvis"), current_n=5, cap=60).n == 59
    assert count_trials(GateSet(), ctx(), current_n=5, cap=60).n == 5
    pooled = marker_rule(("chunk_gap_ms.p99 <= 100",), {}, "t")
    assert count_trials(GateSet(), ctx(), current_n=5, cap=400, markers=[pooled]).n == 5


def test_median_ci_gate_needs_six_trials() -> None:
    mark = marker_rule(("latency_ms.ci_high <= 2000",), {}, "t")
    (few,) = evaluate(GateSet(), make_result({"latency_ms": spread(1000, 5)}), [mark])
    assert few.outcome == "inconclusive"
    assert "ci_high needs at least 6 trials" in few.reason
    (enough,) = evaluate(GateSet(), make_result({"latency_ms": spread(1000, 6)}), [mark])
    assert enough.outcome == "pass"


# ---- raising the trials asked for is said, never silent ------------------------------


def _bound(expr: str, origin: str = "gates.toml:2") -> Bound:
    return parse_bound(expr, origin)


def test_raised_trials_note_names_what_raised_them() -> None:
    note = raised_trials_note(3, 5, [_bound("rtf.p50 < 0.6"), _bound("load_s <= 60")])
    assert note == (
        "trials raised from 3 to 5 so the gates can be judged: "
        "rtf.p50 < 0.6 needs n >= 5 (gates.toml:2)"
    )


def test_raised_trials_note_says_when_the_cap_stopped_it() -> None:
    bounds = [_bound("ttfa_ms.p95 <= 500", "a.toml:1"), _bound("rtf.p50 < 0.6", "b.toml:4")]
    note = raised_trials_note(5, 30, bounds)
    assert note is not None
    assert note.startswith(
        "trials raised from 5 to 30 so the gates can be judged: ttfa_ms.p95 <= 500 needs "
        "n >= 59 (a.toml:1); capped at 30 by --tts-max-trials, so ttfa_ms.p95 stays "
        "inconclusive"
    )
    assert "rtf.p50" not in note  # 5 trials were asked: the p50 did not raise them


def test_no_note_when_nothing_was_raised() -> None:
    assert raised_trials_note(5, 5, [_bound("rtf.p50 < 0.6")]) is None
    assert raised_trials_note(80, 80, [_bound("ttfa_ms.p95 <= 1")]) is None
    assert raised_trials_note(3, 3, []) is None


def test_count_trials_gives_the_count_and_the_note(tmp_path: Path) -> None:
    gs = gateset(tmp_path, '[[gates]]\nbounds = ["ttfa_ms.p90 <= 500", "load_s <= 60"]\n')
    count = count_trials(gs, ctx(), current_n=3, cap=60)
    assert count.n == 29
    assert count.note is not None
    assert count.note.startswith("trials raised from 3 to 29 so the gates can be judged")
    assert count_trials(gs, ctx(), current_n=40, cap=60) == (40, None)
    pooled = marker_rule(("chunk_gap_ms.p99 <= 100",), {}, "t")
    assert count_trials(GateSet(), ctx(), 3, 400, [pooled]) == (3, None)
