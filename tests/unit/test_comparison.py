"""A fidelity comparison from plain data (measure/comparison.py), the reference's
grammar (reference_spec.py), the shipped prompt set, and gates judged from a
difference's interval (gates/judging.py)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pytest

from pytest_ttsbench.gates.judging import evaluate
from pytest_ttsbench.gates.rules import GateSet, marker_rule
from pytest_ttsbench.measure.comparison import Rendering, Sides, compare
from pytest_ttsbench.measure.paired import paired_difference
from pytest_ttsbench.measure.prompts import PromptError, prompt_set
from pytest_ttsbench.reference_spec import Configuration, parse
from pytest_ttsbench.results.details import SCORED
from pytest_ttsbench.results.fidelity import Fidelity
from pytest_ttsbench.results.serialize import from_json, to_json
from tests.unit.result_support import make_result

if TYPE_CHECKING:
    from pytest_ttsbench.results.model import BenchResult

RATE = 16_000


def _tone(seconds: float, hz: float = 220.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _side(clip: np.ndarray, cer: float | None) -> Rendering:
    return Rendering(
        clips=[clip],
        sample_rate=RATE,
        durations_s=[len(clip) / RATE],
        cers=[] if cer is None else [cer],
        heard="heard",
    )


def test_identical_renderings_compare_as_equal() -> None:
    texts = ["a", "b", "c"]
    clips = [_tone(1.0, 200 + 50 * i) for i in range(3)]
    ref = [_side(c, 0.0) for c in clips]
    cand = [_side(c.copy(), 0.0) for c in clips]
    found = compare(texts, ref, cand, Sides("mode=none", "mode=sentence", SCORED, None, True))
    assert found.prompts == 3
    assert (found.cer_delta, found.cer_delta_low, found.cer_delta_high) == (0.0, 0.0, 0.0)
    assert found.quality_loss_pct == 0.0
    assert found.duration_ratio == pytest.approx(1.0)
    assert found.log_mel_l1 == 0.0
    assert found.mcd_db == 0.0
    assert found.dtw_penalty == 0.0


def test_cer_delta_is_the_paired_mean_with_its_interval() -> None:
    ref_cer, cand_cer = [0.0, 0.1, 0.0, 0.05], [0.1, 0.3, 0.05, 0.05]
    ref = [_side(_tone(1.0), c) for c in ref_cer]
    cand = [_side(_tone(1.2), c) for c in cand_cer]
    found = compare(list("abcd"), ref, cand, Sides("speed=1.0", "speed=0.8", SCORED))
    expected = paired_difference(ref_cer, cand_cer)
    assert found.cer_delta == pytest.approx(expected.mean_diff)
    assert (found.cer_delta_low, found.cer_delta_high) == (expected.ci_low, expected.ci_high)
    kept = 1 - sum(ref_cer) / 4
    assert found.quality_loss_pct == pytest.approx(100 * expected.mean_diff / kept)
    assert found.duration_ratio == pytest.approx(1.2, rel=1e-3)
    # not deterministic: no spectral distance, and why
    assert found.log_mel_l1 is None
    assert found.mcd_db is None


def test_a_prompt_without_a_valid_rendering_on_both_sides_is_left_out() -> None:
    ref = [_side(_tone(1.0), 0.0), Rendering(), _side(_tone(1.0), 0.0)]
    cand = [_side(_tone(1.0), 0.2), _side(_tone(1.0), 0.0), _side(_tone(1.0), 0.1)]
    found = compare(["a", "b", "c"], ref, cand, Sides("r", "c", SCORED))
    assert found.prompts == 2
    assert [p.text for p in found.pairs] == ["a", "c"]
    assert found.cer_delta == pytest.approx(0.15)


def test_unscored_sides_give_no_cer_but_durations_and_distances() -> None:
    ref = [_side(_tone(1.0), None), _side(_tone(1.0), None)]
    cand = [_side(_tone(1.0, 400), None), _side(_tone(1.0, 400), None)]
    found = compare(["a", "b"], ref, cand, Sides("r", "c", deterministic=True))
    assert found.unchecked
    assert found.cer_delta is None
    assert found.quality_loss_pct is None
    assert found.duration_ratio == pytest.approx(1.0)
    assert found.log_mel_l1 is not None
    assert found.log_mel_l1 > 1.0


def test_one_prompt_has_no_interval() -> None:
    found = compare(["a"], [_side(_tone(1.0), 0.0)], [_side(_tone(1.0), 0.2)], Sides("r", "c"))
    assert found.cer_delta == pytest.approx(0.2)
    assert found.cer_delta_low is None


def test_fidelity_round_trips_through_json() -> None:
    ref = [_side(_tone(1.0), 0.0), _side(_tone(1.0), 0.1)]
    cand = [_side(_tone(1.1), 0.1), _side(_tone(1.0), 0.1)]
    found = compare(["a", "b"], ref, cand, Sides("r", "c", SCORED, None, True))
    assert from_json(Fidelity, to_json(found)) == found


def test_the_shipped_set_has_eight_english_prompts() -> None:
    shipped = prompt_set("fidelity")
    assert len(shipped) >= 8
    assert {p.language for p in shipped} == {"en"}
    assert len({p.text for p in shipped}) == len(shipped)
    with pytest.raises(PromptError, match="valid: fidelity"):
        prompt_set("nope")


def test_reference_keys_split_into_target_options_and_knobs() -> None:
    config = parse({"mode": "none", "speed": "1.0", "variant": "fp32", "chunk_size": "25"}, "x")
    assert config == Configuration(
        target={"variant": "fp32"}, mode="none", speed=1.0, knobs={"chunk_size": 25}
    )
    assert config.describe() == "variant=fp32, mode=none, speed=1.0, chunk_size=25"
    assert config.other_target
    assert Configuration().describe() == "default"


@pytest.mark.parametrize(
    ("pairs", "message"),
    [
        ({}, "no keys"),
        ({"mode": "fast"}, "mode='fast' is not one of native, sentence, none"),
        ({"speed": "0"}, "speed='0' is not a number above 0"),
        ({"speed": "quick"}, "is not a number above 0"),
    ],
)
def test_bad_references_say_the_valid_form(pairs: dict[str, str], message: str) -> None:
    from pytest_ttsbench.settings import SettingsError

    with pytest.raises(SettingsError, match=message):
        parse(pairs, "--tts-reference")


def _fidelity_result(low: float | None, high: float | None, delta: float = 0.01) -> BenchResult:
    found = Fidelity(
        "mode=none",
        "mode=sentence",
        prompts=8,
        state=SCORED,
        cer_delta=delta,
        cer_delta_low=low,
        cer_delta_high=high,
        duration_ratio=1.0,
        duration_ratio_low=0.98,
        duration_ratio_high=1.03,
    )
    return make_result({"rtf": [0.5] * 3}, suite="fidelity", fidelity=found)


@pytest.mark.parametrize(
    ("bound", "low", "high", "outcome"),
    [
        ("cer_delta <= 0.02", -0.01, 0.015, "pass"),
        ("cer_delta <= 0.02", 0.0, 0.03, "inconclusive"),  # the point passes; the data can't
        ("cer_delta <= 0.02", 0.025, 0.04, "fail"),
        ("cer_delta < 0.015", -0.01, 0.015, "inconclusive"),
        ("cer_delta >= -0.02", -0.01, 0.015, "pass"),
        ("cer_delta in [-0.02, 0.02]", -0.01, 0.015, "pass"),
        ("cer_delta in [-0.02, 0.02]", 0.01, 0.03, "inconclusive"),
        ("cer_delta in [-0.02, 0.02]", 0.03, 0.05, "fail"),
    ],
)
def test_differences_are_judged_from_their_interval(
    bound: str, low: float, high: float, outcome: str
) -> None:
    result = _fidelity_result(low, high, delta=(low + high) / 2)
    (verdict,) = evaluate(GateSet(), result, [marker_rule((bound,), {}, "t")])
    assert verdict.outcome == outcome
    assert (verdict.ci_low, verdict.ci_high) == (low, high)
    assert "95% CI" in verdict.reason


def test_a_difference_without_an_interval_is_inconclusive() -> None:
    result = _fidelity_result(None, None)
    (verdict,) = evaluate(GateSet(), result, [marker_rule(("cer_delta <= 0.02",), {}, "t")])
    assert verdict.outcome == "inconclusive"
    assert "no 95% interval" in verdict.reason


def test_cells_show_the_interval_after_the_value() -> None:
    result = _fidelity_result(-0.004, 0.012, delta=0.004)
    assert result.shown("cer_delta", "3") == "0.004 [-0.004, 0.012]"
    assert result.shown("duration_ratio", "3") == "1.000 [0.980, 1.030]"
    assert math.isclose(result.metric("cer_delta") or 0.0, 0.004)
