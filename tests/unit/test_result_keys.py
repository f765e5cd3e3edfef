"""The comparison key: everything that changes a number, and what differs between two."""

from __future__ import annotations

import pytest

from pytest_ttsbench.results.keys import (
    describe_differences,
    key_differences,
    node_function,
    result_key,
    suite_name,
)
from pytest_ttsbench.results.model import BenchResult
from tests.unit.result_support import make_result


def test_equal_results_have_equal_keys() -> None:
    assert result_key(make_result()) == result_key(make_result())
    assert hash(result_key(make_result())) == hash(result_key(make_result()))


@pytest.mark.parametrize(
    ("change", "label"),
    [
        ({"model": "marvis"}, "model"),
        ({"backend": "pt"}, "backend"),
        ({"device": "cuda"}, "device"),
        ({"variant": "fp32"}, "variant"),
        ({"hardware": "Apple M3 Max"}, "hardware"),
        ({"stream_mode": "sentence"}, "stream mode"),
        ({"prompt": "long"}, "prompt"),
        ({"params": {"speed": 0.8}}, "params"),
        ({"suite": "streaming"}, "suite"),
        ({"test": "suites/test_latency.py::test_other[kokoro-onnx-cpu-short]"}, "test"),
    ],
)
def test_every_field_that_changes_the_number_is_in_the_key(
    change: dict[str, object], label: str
) -> None:
    base, other = result_key(make_result()), result_key(make_result(**change))  # type: ignore[arg-type]
    assert base != other
    assert [d.field for d in key_differences(base, other)] == [label]


def test_the_test_id_parameters_and_path_are_not_in_the_key() -> None:
    # the same test run from the checkout or with --pyargs, or with another id: comparable
    a = make_result(test="suites/test_latency.py::test_latency[kokoro-onnx-cpu-short]")
    b = make_result(test="pytest_ttsbench/suites/test_latency.py::test_latency[x-y]")
    assert result_key(a) == result_key(b)
    assert node_function("a/test_x.py::TestA::test_y[p-1]") == "TestA::test_y"
    assert node_function("x::y") == "y"
    assert node_function("") == ""


def test_params_compare_by_value_not_by_spelling() -> None:
    a = make_result(params={"speed": 1, "threads": 2})
    b = make_result(params={"threads": 2.0, "speed": 1.0})
    assert result_key(a) == result_key(b)
    c = make_result(params={"speed": 1.25})
    (diff,) = key_differences(result_key(a), result_key(c))
    assert (diff.field, diff.baseline, diff.current) == (
        "params",
        "speed=1, threads=2",
        "speed=1.25",
    )
    (none,) = key_differences(result_key(make_result()), result_key(c))
    assert none.baseline == "none"


def test_a_json_round_trip_keeps_the_key() -> None:
    result = make_result(params={"speed": 0.8, "voice": "af"}, stream_mode="sentence")
    again = BenchResult.from_dict(result.as_dict())
    assert result_key(again) == result_key(result)


def test_a_baseline_that_recorded_no_test_matches_any_test() -> None:
    legacy = result_key(make_result(test=""))
    assert key_differences(legacy, result_key(make_result())) == []
    # but not the other way round: the current test always knows where it came from
    assert key_differences(result_key(make_result()), legacy) != []


def test_differences_read_as_one_line() -> None:
    base = result_key(make_result())
    now = result_key(make_result(stream_mode="sentence", hardware="Apple M3 Max"))
    assert describe_differences(key_differences(base, now)) == (
        "hardware AMD EPYC 7B13 (2 cores) vs Apple M3 Max; stream mode native vs sentence"
    )
    assert "stream mode native" in base.describe()
    assert "\n" not in base.describe()


@pytest.mark.parametrize(
    ("module", "suite"),
    [
        ("test_latency", "latency"),
        ("pytest_ttsbench.suites.test_cold_start", "cold_start"),
        ("test_", "custom"),
        ("", "custom"),
        ("bench_mine", "bench_mine"),
    ],
)
def test_suite_name_is_the_module_without_test_(module: str, suite: str) -> None:
    assert suite_name(module) == suite
