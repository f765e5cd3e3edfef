"""Goodput and the rate ladder on plain data (measure/goodput.py): which requests count
as good, that errors and invalid audio are misses, where the SLO boundary falls, which
rung is best, where the cliff is, when the climb stops; and --tts-slo's parsing."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pytest_ttsbench.measure import goodput
from pytest_ttsbench.results import metrics
from pytest_ttsbench.results.details import LoadSummary
from pytest_ttsbench.results.ladder import RateLadder, Rung
from pytest_ttsbench.results.serialize import from_json, to_json
from pytest_ttsbench.results.trial import Trial
from pytest_ttsbench.settings import Settings, SettingsError, resolve
from tests.unit.result_support import make_result

SLO = {"ttfa_ms": 500.0}


def trial(
    ttfa: float | None = 100.0, latency: float | None = 800.0, index: int = 0, **kw: Any
) -> Trial:
    return Trial(
        index=index,
        kind=kw.pop("kind", "measured"),
        t0_ns=0,
        chunk_ns=[],
        chunk_samples=[],
        sample_rate=24000,
        metrics={"ttfa_ms": ttfa, "latency_ms": latency},
        **kw,
    )


# ---- goodput ---------------------------------------------------------------------------
def test_an_error_is_a_miss_never_left_out() -> None:
    trials = [trial(), trial(), trial(None, None, error="HTTP 500: overloaded")]
    found = goodput.count_good(trials, SLO)
    assert (found.good, found.requests) == (2, 3)
    assert found.fraction == pytest.approx(2 / 3)


def test_invalid_audio_is_a_miss() -> None:
    silent = trial(problems=["the audio is silent"])
    unheard = trial(problems=["the audio does not say its prompt: CER 0.9 > 0.5"])
    found = goodput.count_good([trial(), silent, unheard], SLO)
    assert (found.good, found.requests) == (1, 3)


def test_the_bound_itself_meets_the_slo() -> None:
    assert goodput.meets(trial(500.0), SLO)
    assert not goodput.meets(trial(500.001), SLO)
    assert not goodput.meets(trial(None), SLO)  # no first audio: no way to meet it
    assert not goodput.meets(trial(float("nan")), SLO)


def test_every_bound_must_hold() -> None:
    both = {"ttfa_ms": 500.0, "latency_ms": 1000.0}
    assert goodput.meets(trial(100.0, 1000.0), both)
    assert not goodput.meets(trial(100.0, 1200.0), both)
    assert not goodput.meets(trial(600.0, 900.0), both)


def test_warmups_and_the_cold_trial_are_not_requests_of_the_load() -> None:
    found = goodput.count_good([trial(kind="cold"), trial(kind="warmup"), trial()], SLO)
    assert (found.good, found.requests) == (1, 1)


def test_no_requests_is_no_goodput() -> None:
    assert goodput.count_good([], SLO).fraction == 0.0
    assert goodput.good_rate(3, 0.0) == 0.0
    assert goodput.good_rate(3, 1.5) == 2.0


# ---- the ladder ------------------------------------------------------------------------
def rung(factor: float, good: float, p95: float | None = 100.0, requests: int = 10) -> Rung:
    hits = round(good * requests)
    return Rung(factor, 10 * factor, requests, 0, hits, hits / requests, p95, p95)


def test_the_best_rung_is_the_highest_rate_that_reaches_the_target() -> None:
    rungs = [rung(0.25, 1.0), rung(0.5, 0.9), rung(1.0, 0.8), rung(2.0, 0.1)]
    best = goodput.best_rung(rungs, 0.9)
    assert best is not None
    assert best.load_factor == 0.5
    assert goodput.best_rung(rungs, 0.95) == rungs[0]
    assert goodput.best_rung([rung(0.25, 0.5)], 0.9) is None
    # a rung that holds past one that missed is luck, not capacity
    lucky = [rung(0.25, 1.0), rung(0.5, 0.5), rung(1.0, 1.0)]
    assert goodput.best_rung(lucky, 0.9) == lucky[0]


def test_a_cliff_is_a_goodput_drop_between_adjacent_rungs() -> None:
    gentle = [rung(0.25, 1.0), rung(0.5, 0.8), rung(1.0, 0.6), rung(2.0, 0.4)]
    assert goodput.cliff_at(gentle) is None  # 0.2 at a time: a slope, no cliff
    steep = [rung(0.25, 1.0), rung(0.5, 1.0), rung(1.0, 0.6), rung(2.0, 0.5)]
    assert goodput.cliff_at(steep) == 2
    assert goodput.cliff_at([rung(0.5, 1.0), rung(1.0, 0.7)]) is None  # exactly 0.3


def test_a_cliff_is_also_a_p95_jump() -> None:
    jump = [rung(0.25, 1.0, 100.0), rung(0.5, 1.0, 301.0)]
    assert goodput.cliff_at(jump) == 1
    assert goodput.cliff_at([rung(0.25, 1.0, 100.0), rung(0.5, 1.0, 300.0)]) is None
    assert goodput.cliff_at([rung(0.25, 1.0, None), rung(0.5, 1.0, 900.0)]) is None


def test_the_climb_stops_after_two_collapsed_rungs_in_a_row() -> None:
    assert not goodput.collapsed([1.0, 0.4])
    assert not goodput.collapsed([0.4, 0.6, 0.4])
    assert goodput.collapsed([1.0, 0.4, 0.3])


def test_the_requests_of_all_rungs_are_capped() -> None:
    assert goodput.per_rung(8, 6) == 8
    assert goodput.per_rung(20, 6) == 10  # 60 in all
    assert goodput.per_rung(20, 100) == 1
    with pytest.raises(ValueError, match="at least 1"):
        goodput.per_rung(0, 6)


def test_a_rung_from_its_trials() -> None:
    trials = [trial(100.0), trial(200.0), trial(900.0), trial(None, None, error="boom")]
    found = goodput.rung(1.0, 4.0, trials, SLO)
    assert (found.requests, found.errors, found.good) == (4, 1, 2)
    assert found.goodput == 0.5
    assert found.ttfa_p50_ms == 200.0  # over the valid requests
    assert found.ttfa_p95_ms == pytest.approx(830.0)


def test_the_judged_ladder_names_the_best_rate_and_the_cliff() -> None:
    rungs = [rung(0.25, 1.0), rung(0.5, 1.0), rung(1.0, 0.5), rung(2.0, 0.2)]
    ladder = goodput.judge_ladder(rungs, SLO, target=0.9, solo_latency_ms=100.0)
    assert (ladder.best_factor, ladder.best_rate_hz) == (0.5, 5.0)
    assert (ladder.cliff, ladder.cliff_factor) == (True, 1.0)
    assert ladder.slo == SLO
    again = from_json(RateLadder, to_json(ladder))
    assert again == ladder


# ---- what the registry and the result read ----------------------------------------------
def test_the_metrics_read_the_load_and_the_ladder() -> None:
    load = LoadSummary(requests=9, errors=3, good=6, goodput=6 / 9, good_rate=2.0, slo=SLO)
    ladder = goodput.judge_ladder([rung(0.5, 1.0), rung(1.0, 0.2)], SLO)
    result = replace(make_result(), load=load, rate_ladder=ladder)
    assert result.metric("goodput") == pytest.approx(2 / 3)
    assert result.metric("good_rate") == 2.0
    assert result.metric("max_good_rate") == 5.0
    assert result.metric("cliff") == 1.0
    assert metrics.BY_NAME["goodput"].better == "higher"
    assert "goodput" in metrics.flat_names("junit")
    back = type(result).from_dict(result.as_dict())
    assert (back.load, back.rate_ladder) == (load, ladder)
    assert replace(make_result()).metric("cliff") is None


# ---- --tts-slo ---------------------------------------------------------------------------
def settle(**sources: Any) -> Settings:
    return resolve(
        sources.get("cli", {}), sources.get("env", {}), sources.get("ini", {}), Path(), Path()
    )


def test_the_slo_defaults_to_first_audio_within_a_second() -> None:
    assert dict(settle().slo) == {"ttfa_ms": 1000.0}
    assert dict(Settings().slo) == {"ttfa_ms": 1000.0}


def test_the_slo_from_each_source_replaces_the_default() -> None:
    cli = settle(cli={"tts_slo": ["ttfa_ms=500", "latency_ms=3000"]})
    assert dict(cli.slo) == {"ttfa_ms": 500.0, "latency_ms": 3000.0}
    assert dict(settle(env={"TTSBENCH_SLO": "latency_ms=2000"}).slo) == {"latency_ms": 2000.0}
    assert dict(settle(ini={"tts_slo": ["ttfa_ms=250"]}).slo) == {"ttfa_ms": 250.0}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("rtf=1", "'rtf' is not one of ttfa_ms, latency_ms"),
        ("ttfa_ms=soon", "'soon' is not a float"),
        ("ttfa_ms=0", "must be above 0"),
        ("ttfa_ms=-5", "must be a non-negative number"),
        ("ttfa_ms", "is not KEY=VALUE"),
    ],
)
def test_a_bad_slo_is_a_usage_error(value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        settle(cli={"tts_slo": [value]})
