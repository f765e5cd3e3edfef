"""Baselines: loading earlier results and regression verdicts against them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.gates.baseline import Baseline, compare_baseline, load_baseline
from pytest_ttsbench.gates.files import GateFileError
from pytest_ttsbench.gates.judging import should_fail
from pytest_ttsbench.gates.table import format_table
from tests.unit.gates_support import by_name, timing, write_results
from tests.unit.result_support import make_result

if TYPE_CHECKING:
    from pathlib import Path

# ---- baselines -----------------------------------------------------------------------


def test_twenty_percent_slower_with_ten_samples_fails(tmp_path: Path) -> None:
    baseline = load_baseline(write_results(tmp_path, [make_result(timing(1000))]))
    slower = make_result(timing(1200))
    v = by_name(compare_baseline(slower, baseline, 0.10))
    assert set(v) == {"ttfa_ms.p50", "latency_ms.p50", "rtf.p50"}
    lat = v["latency_ms.p50"]
    assert lat.outcome == "fail"
    assert lat.baseline == pytest.approx(1000)
    assert lat.observed == pytest.approx(1200)
    assert lat.bound == pytest.approx(1100)
    assert lat.p_value is not None
    assert lat.p_value < 0.05
    assert lat.reason.startswith("regression: latency_ms.p50 1200 ms vs baseline 1000 ms (+20.0%")
    assert lat.origin == f"baseline {baseline.path}"
    assert should_fail(list(v.values()), "fail")


def test_identical_distribution_passes(tmp_path: Path) -> None:
    baseline = load_baseline(write_results(tmp_path, [make_result(timing(1000))]))
    verdicts = compare_baseline(make_result(timing(1000)), baseline, 0.10)
    assert [v.outcome for v in verdicts] == ["pass", "pass", "pass"]
    assert all(v.p_value == pytest.approx(1.0) and v.note is None for v in verdicts)


def test_improvement_passes_with_a_note(tmp_path: Path) -> None:
    baseline = load_baseline(write_results(tmp_path, [make_result(timing(1000))]))
    lat = by_name(compare_baseline(make_result(timing(700)), baseline, 0.1))["latency_ms.p50"]
    assert lat.outcome == "pass"
    assert lat.note == "improved: -30.0% against the baseline, significant"


def test_slower_but_not_significant_passes_with_a_note(tmp_path: Path) -> None:
    noisy = {"latency_ms": [500.0, 1500.0, 900.0]}
    baseline = load_baseline(write_results(tmp_path, [make_result(noisy)]))
    current = make_result({"latency_ms": [700.0, 1800.0, 1200.0]})
    (lat,) = compare_baseline(current, baseline, 0.1)
    assert lat.outcome == "pass"
    assert lat.note == "slower by +33.3% but not significant at p < 0.05"


def test_no_baseline_for_the_key_is_informational(tmp_path: Path) -> None:
    baseline = load_baseline(write_results(tmp_path, [make_result(timing(1000))]))
    other = make_result(timing(5000), prompt="long")
    (verdict,) = compare_baseline(other, baseline, 0.1)
    assert verdict.informational
    assert verdict.outcome == "pass"
    assert verdict.reason.startswith("no baseline for this key (model kokoro, backend onnx, ")
    assert "prompt long" in verdict.reason
    assert verdict.reason.endswith(f"in {baseline.path}")
    assert not should_fail([verdict], "fail")
    assert "info" in format_table([verdict]).splitlines()[1]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"stream_mode": "sentence"}, "baseline not comparable: stream mode native vs sentence"),
        ({"params": {"speed": 0.8}}, "baseline not comparable: params none vs speed=0.8"),
        ({"hardware": "Apple M3 Max"}, "baseline not comparable: hardware "),
        ({"device": "cuda"}, "baseline not comparable: device cpu vs cuda"),
        ({"variant": "fp32"}, "baseline not comparable: variant int8 vs fp32"),
        ({"random_weights": {"builder": "t"}}, "baseline not comparable: weights real vs random"),
    ],
)
def test_a_baseline_measured_otherwise_is_refused_not_compared(
    tmp_path: Path, change: dict[str, object], reason: str
) -> None:
    # the issue: native streaming against --tts-stream=sentence read "improved -31%"
    baseline = load_baseline(write_results(tmp_path, [make_result(timing(1000))]))
    faster = make_result(timing(690), **change)  # type: ignore[arg-type]
    (verdict,) = compare_baseline(faster, baseline, 0.1)
    assert verdict.reason.startswith(reason)
    assert "\n" not in verdict.reason
    assert verdict.informational
    assert verdict.outcome == "pass"
    assert verdict.note is None  # never "improved" nor "slower"
    assert verdict.p_value is None
    assert not should_fail([verdict], "fail")
    slower = make_result(timing(5000), **change)  # type: ignore[arg-type]
    (refused,) = compare_baseline(slower, baseline, 0.1)
    assert refused.informational
    assert not should_fail([refused], "fail")


def test_the_comparable_baseline_wins_over_one_measured_otherwise(tmp_path: Path) -> None:
    native = make_result(timing(1000))
    sentence = make_result(timing(700), stream_mode="sentence")
    baseline = load_baseline(write_results(tmp_path, [sentence, native]))
    assert baseline.find(make_result(timing(1000))) is not None
    found = baseline.find(make_result(timing(1000), stream_mode="sentence"))
    assert found is not None
    assert found.stream_mode == "sentence"
    lat = by_name(compare_baseline(make_result(timing(700)), baseline, 0.1))["latency_ms.p50"]
    assert lat.note == "improved: -30.0% against the baseline, significant"


def test_the_refusal_names_the_closest_baseline(tmp_path: Path) -> None:
    two_off = make_result(timing(1000), stream_mode="sentence", params={"speed": 1.2})
    one_off = make_result(timing(1000), params={"speed": 1.2})
    baseline = load_baseline(write_results(tmp_path, [one_off, two_off]))
    (verdict,) = compare_baseline(make_result(timing(1000)), baseline, 0.1)
    assert verdict.reason == "baseline not comparable: params speed=1.2 vs none"


def test_baseline_matching_prefers_the_same_test(tmp_path: Path) -> None:
    streaming = make_result(
        timing(3000), suite="streaming", test="suites/test_streaming.py::test_x[kokoro-onnx-cpu]"
    )
    latency = make_result(timing(1000))
    other_prompt = make_result(timing(9000), prompt="long")
    baseline = load_baseline(write_results(tmp_path, [streaming, latency, other_prompt]))
    found = baseline.find(make_result(timing(1000)))
    assert found is not None
    assert found.suite == "latency"
    renamed = make_result(timing(1000), test="suites/test_latency.py::test_latency[other-id]")
    assert baseline.find(renamed) is not None  # same suite and function name
    assert baseline.find(make_result(timing(1000), suite="memory", test="x::y")) is None
    # another prompt, suite or test is another benchmark: no baseline, not a refusal
    (other,) = compare_baseline(make_result(timing(1000), prompt="ar"), baseline, 0.1)
    assert other.reason.startswith("no baseline for this key")


def test_baseline_without_trials_is_informational(tmp_path: Path) -> None:
    stripped = make_result(timing(1000)).as_dict(with_trials=False)
    path = tmp_path / "b.json"
    doc = {"format": "pytest-ttsbench-results", "schema": 1, "results": [stripped]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    verdicts = compare_baseline(make_result(timing(2000)), load_baseline(path), 0.1)
    assert all(v.informational and v.outcome == "pass" for v in verdicts)
    assert "no per-trial samples" in verdicts[0].reason


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"format": "pytest-ttsbench-results", "results": [\n  {"schema": 1,\n', "not JSON"),
        ('{"format": "pytest-benchmark", "results": []}', "not a pytest-ttsbench results file"),
        ('{"format": "pytest-ttsbench-results", "schema": 2, "results": []}', "schema 2"),
        ('{"format": "pytest-ttsbench-results", "schema": 1}', '"results" a list'),
        (
            '{"format": "pytest-ttsbench-results", "schema": 1, "results": [{"schema": 1}]}',
            "result 0 (?): missing field 'target'",
        ),
        ('{"format": "pytest-ttsbench-results", "schema": 1, "results": [3]}', "result 0 is not"),
    ],
)
def test_malformed_baseline_names_the_file(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(GateFileError) as info:
        load_baseline(path)
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}")
    assert str(info.value).count(str(path)) == 1
    assert words in info.value.problem


def test_baseline_json_syntax_error_has_its_line(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    path.write_text(
        '{"format": "pytest-ttsbench-results",\n "schema": 1,\n "results": [}\n', encoding="utf-8"
    )
    with pytest.raises(GateFileError, match=r"baseline\.json:3: not a usable baseline: not JSON"):
        load_baseline(path)


def test_missing_baseline_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GateFileError, match="baseline file not found"):
        load_baseline(tmp_path / "none.json")


def test_max_regression_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="max_regression"):
        compare_baseline(make_result(timing(1)), Baseline("b.json"), -0.1)
