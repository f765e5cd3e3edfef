"""Verdicts: pass, fail and inconclusive, noise notes, the fail/warn mode, and JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.gates.baseline import compare_baseline, load_baseline
from pytest_ttsbench.gates.files import load_gates
from pytest_ttsbench.gates.judging import evaluate, should_fail
from pytest_ttsbench.gates.rules import GateSet, marker_rule
from pytest_ttsbench.results.serialize import from_json, to_json
from pytest_ttsbench.results.verdict import Verdict
from tests.unit.gates_support import by_name, gateset, spread, timing, write_results
from tests.unit.result_support import make_result

if TYPE_CHECKING:
    from pathlib import Path

# ---- verdicts ------------------------------------------------------------------------


def test_pass_and_fail_verdicts_carry_observed_bound_n_ci_and_origin(tmp_path: Path) -> None:
    gs = gateset(
        tmp_path,
        """
        [[gates]]
        bounds = ["rtf.p50 <= 0.6", "latency_ms.p50 <= 1000", "rtfx.p50 >= 1.5"]
        """,
    )
    rtf = spread(0.5, 20)
    result = make_result({"rtf": rtf, "latency_ms": spread(1500, 20), "rtfx": [1 / x for x in rtf]})
    v = by_name(evaluate(gs, result))
    assert v["rtf.p50"].outcome == "pass"
    assert v["rtf.p50"].observed == pytest.approx(0.5)
    assert v["rtf.p50"].n == 20
    summary = result.summaries["rtf"]
    assert (v["rtf.p50"].ci_low, v["rtf.p50"].ci_high) == (summary.ci_low, summary.ci_high)
    assert v["rtf.p50"].origin == f"{tmp_path / 'gates.toml'}:2"
    assert v["rtf.p50"].reason == "rtf.p50 = 0.5, within <= 0.6 (n=20)"
    assert v["latency_ms.p50"].outcome == "fail"
    assert v["latency_ms.p50"].reason == (
        "latency_ms.p50 = 1500 ms, breaks <= 1000 by 500 (+50.0%) (n=20)"
    )
    assert v["rtfx.p50"].outcome == "pass"


@pytest.mark.parametrize(
    ("bound", "series", "values", "outcome"),
    [
        ("lufs in [-20, -12]", "lufs", [-16.0] * 5, "pass"),
        ("lufs in [-20, -12]", "lufs", [-25.0] * 5, "fail"),
        ("lufs in [-20, -12]", "lufs", [-20.0] * 5, "pass"),  # both ends are inside
        ("underrun.stalls == 0", "stalls", [0.0] * 5, "pass"),
        ("underrun.stalls == 0", "stalls", [0.0, 0.0, 1.0, 0.0, 0.0], "fail"),  # the worst
        ("true_peak_dbtp <= -1", "true_peak_dbtp", [-3.0, -2.0, -0.5, -4.0, -3.0], "fail"),
        ("rtf.p50 < 0.6", "rtf", [0.6] * 5, "fail"),
        ("rtf.p50 <= 0.6", "rtf", [0.6] * 5, "pass"),
        ("rtf.p50 > 0.6", "rtf", [0.6] * 5, "fail"),
        ("rtf.p50 >= 0.6", "rtf", [0.6] * 5, "pass"),
    ],
)
def test_operators(bound: str, series: str, values: list[float], outcome: str) -> None:
    mark = marker_rule((bound,), {}, "t")
    (verdict,) = evaluate(GateSet(), make_result({series: values}), [mark])
    assert verdict.outcome == outcome


def test_fail_outside_a_range_says_so() -> None:
    mark = marker_rule(("lufs in [-20, -12]",), {}, "t")
    (verdict,) = evaluate(GateSet(), make_result({"lufs": [-25.0] * 5}), [mark])
    assert verdict.reason == "lufs.p50 = -25 LUFS, outside [-20, -12] (n=5)"
    assert verdict.bound_text() == "in [-20, -12]"


def test_scalar_gates_and_unmeasured_scalars() -> None:
    mark = marker_rule(("peak_rss_mb <= 1200", "accel_peak_mb <= 8000"), {}, "t")
    result = make_result({"rtf": [0.5] * 5}, peak_rss_mb=900.0)
    v = by_name(evaluate(GateSet(), result, [mark]))
    assert (v["peak_rss_mb"].outcome, v["peak_rss_mb"].n) == ("pass", 1)
    assert v["accel_peak_mb"].outcome == "inconclusive"
    assert v["accel_peak_mb"].observed is None
    assert "accel_peak_mb was not measured" in v["accel_peak_mb"].reason


def test_missing_skip_leaves_unmeasured_bounds_out(tmp_path: Path) -> None:
    gs = gateset(
        tmp_path,
        """
        [[gates]]
        missing = "skip"
        bounds = ["load_s <= 600", "rtf.p50 <= 0.6"]
        """,
    )
    verdicts = evaluate(gs, make_result({"rtf": [0.5] * 5}))
    assert [v.name for v in verdicts] == ["rtf.p50"]
    assert by_name(evaluate(gs, make_result({"rtf": [0.5] * 5}, load_s=700.0)))[
        "load_s"
    ].outcome == ("fail")


def test_unmeasured_series_and_no_valid_trials_are_inconclusive() -> None:
    mark = marker_rule(("ttfa_audible_ms.p50 <= 300",), {}, "t")
    (verdict,) = evaluate(GateSet(), make_result({"rtf": [0.5] * 5}), [mark])
    assert verdict.outcome == "inconclusive"
    assert verdict.reason == "ttfa_audible_ms was not measured by this test (no values)"
    (verdict,) = evaluate(GateSet(), make_result({}), [mark])
    assert verdict.outcome == "inconclusive"
    assert verdict.reason == "ttfa_audible_ms.p50: no valid measured trials"
    assert verdict.n == 0


def test_stdev_of_one_trial_is_inconclusive() -> None:
    mark = marker_rule(("latency_ms.stdev <= 50",), {}, "t")
    (verdict,) = evaluate(GateSet(), make_result({"latency_ms": [900.0]}), [mark])
    assert verdict.outcome == "inconclusive"
    assert verdict.reason == "latency_ms.stdev is undefined with n=1"


# ---- noise ---------------------------------------------------------------------------


def test_bound_inside_the_ci_gets_a_noise_note() -> None:
    mark = marker_rule(("latency_ms.p50 <= 1010",), {}, "t")
    (verdict,) = evaluate(GateSet(), make_result({"latency_ms": spread(1000, 20)}), [mark])
    assert verdict.outcome == "pass"
    assert verdict.note is not None
    assert verdict.note.startswith("within noise: the bound 1010 lies inside the 95% CI")


def test_bound_within_one_cv_gets_a_noise_note() -> None:
    # a mean has no CI here: the CV rule alone decides
    mark = marker_rule(("latency_ms.mean >= 1050",), {}, "t")
    (verdict,) = evaluate(GateSet(), make_result({"latency_ms": spread(1000, 20)}), [mark])
    assert verdict.outcome == "fail"
    assert verdict.note is not None
    assert "less than one CV" in verdict.note


def test_a_clear_margin_has_no_noise_note() -> None:
    mark = marker_rule(("latency_ms.p50 <= 2000", "latency_ms.mean <= 2000"), {}, "t")
    verdicts = evaluate(GateSet(), make_result({"latency_ms": spread(1000, 20)}), [mark])
    assert [v.note for v in verdicts] == [None, None]


def test_contended_timings_are_noted() -> None:
    mark = marker_rule(("latency_ms.p50 <= 2000", "lufs in [-30, 0]"), {}, "t")
    result = make_result({"latency_ms": spread(1000, 5), "lufs": [-16.0] * 5}, xdist_workers=4)
    v = by_name(evaluate(GateSet(), result, [mark]))
    assert v["latency_ms.p50"].note == "timed beside 4 xdist workers: contended"
    assert v["lufs.p50"].note is None


# ---- serialization, table, mode ------------------------------------------------------


def test_verdicts_round_trip_through_json(tmp_path: Path) -> None:
    gs = load_gates(None, None, use_defaults=True)
    baseline = load_baseline(write_results(tmp_path, [make_result(timing(1000))]))
    result = make_result(timing(1200), load_s=2.0)
    verdicts = evaluate(gs, result) + compare_baseline(result, baseline, 0.1)
    assert len(verdicts) == 5
    again = [from_json(Verdict, d) for d in json.loads(json.dumps(to_json(verdicts)))]
    assert again == verdicts


def test_should_fail_by_mode() -> None:
    mark = marker_rule(("latency_ms.p50 <= 800",), {}, "t")
    failed = evaluate(GateSet(), make_result({"latency_ms": spread(1000, 5)}), [mark])
    assert should_fail(failed, "fail")
    assert not should_fail(failed, "warn")
    assert not should_fail([], "fail")
    with pytest.raises(ValueError, match="gate mode 'strict'"):
        should_fail(failed, "strict")
