"""Which rules apply: glob matching, precedence, explain, and tts_gate markers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.gates.files import GateFileError
from pytest_ttsbench.gates.judging import evaluate
from pytest_ttsbench.gates.matching import GateContext, explain
from pytest_ttsbench.gates.rules import GateError, GateSet, marker_rule
from pytest_ttsbench.gates.samples import count_trials
from tests.unit.gates_support import ctx, gateset
from tests.unit.result_support import CPU, KOKORO_TEST, make_result

if TYPE_CHECKING:
    from pathlib import Path

# ---- matching and precedence ---------------------------------------------------------

RULES = """
[[gates]]
bounds = ["rtf.p50 <= 1.0", "load_s <= 600"]

[[gates]]
model = "kokoro"
backend = "onnx"
bounds = ["rtf.p50 <= 0.6"]

[[gates]]
model = "kok*"
device = "cpu"
bounds = ["rtf.p50 <= 0.7"]

[[gates]]
hardware = ["*h100*", "*A100*"]
bounds = ["ttfa_ms.p50 <= 200"]

[[gates]]
test = "test_latency"
prompt = "long"
bounds = ["latency_ms.p50 <= 9000"]
"""


def test_most_specific_rule_wins_and_later_wins_a_tie(tmp_path: Path) -> None:
    gs = gateset(tmp_path, RULES)
    applied = {b.name: b for b, _ in explain(gs, ctx()).applied}
    # rules 2 and 3 both give two keys; rule 3 is later
    assert applied["rtf.p50"].value == 0.7
    assert applied["load_s"].value == 600  # the catch-all still gives what no one overrides
    assert "ttfa_ms.p50" not in applied
    onnx_gpu = {b.name: b for b, _ in explain(gs, ctx(device="cuda")).applied}
    assert onnx_gpu["rtf.p50"].value == 0.6


def test_globs_are_case_insensitive_and_lists_match_any(tmp_path: Path) -> None:
    gs = gateset(tmp_path, RULES)
    names = {b.name for b, _ in explain(gs, ctx(hardware="NVIDIA H100 80GB HBM3")).applied}
    assert "ttfa_ms.p50" in names
    names = {b.name for b, _ in explain(gs, ctx(hardware="NVIDIA A100-SXM4-40GB")).applied}
    assert "ttfa_ms.p50" in names
    names = {b.name for b, _ in explain(gs, ctx(hardware="NVIDIA L4")).applied}
    assert "ttfa_ms.p50" not in names


def test_test_glob_matches_node_id_or_function_name(tmp_path: Path) -> None:
    gs = gateset(tmp_path, RULES)
    long_prompt = ctx(prompt="long")
    assert "latency_ms.p50" in {b.name for b, _ in explain(gs, long_prompt).applied}
    other = ctx(prompt="long", test="suites/test_streaming.py::test_cadence[kokoro-onnx-cpu]")
    assert "latency_ms.p50" not in {b.name for b, _ in explain(gs, other).applied}
    by_id = gateset(
        tmp_path, '[[gates]]\ntest = "suites/test_latency.py::*"\nbounds = ["rtf <= 1"]'
    )
    assert explain(by_id, ctx()).applied


def test_explain_lists_overridden_and_undecided_rules(tmp_path: Path) -> None:
    gs = gateset(tmp_path, RULES)
    unknown_prompt = GateContext(model="kokoro", backend="onnx", device="cpu", test=KOKORO_TEST)
    ex = explain(gs, unknown_prompt)
    path = tmp_path / "gates.toml"
    assert [r.origin for r in ex.undecided] == [f"{path}:18", f"{path}:14"]
    assert {(b.value, r.specificity) for b, r in ex.overridden} == {(0.6, 2), (1.0, 0)}
    text = str(ex)
    assert text.splitlines()[0].startswith("kokoro-onnx-cpu")
    assert "rtf.p50 <= 0.7" in text
    assert "needs n >= 5" in text
    assert "overridden: rtf.p50 <= 0.6" in text
    assert f"may apply once prompt is known: {path}:18 (test=test_latency, prompt=long)" in text
    assert f"may apply once hardware is known: {path}:14" in text
    assert "no gate applies" in str(explain(GateSet(), ctx()))


def test_one_rule_may_bound_a_statistic_from_both_sides(tmp_path: Path) -> None:
    gs = gateset(
        tmp_path,
        """
        [[gates]]
        bounds = ["rtf.p50 <= 5"]
        [[gates]]
        model = "kokoro"
        bounds = ["rtf.p50 >= 0.01", "rtf.p50 <= 0.6"]
        """,
    )
    applied = [(b.op, b.value) for b, _ in explain(gs, ctx()).applied]
    assert applied == [(">=", 0.01), ("<=", 0.6)]


# ---- markers -------------------------------------------------------------------------


def test_marker_rule_overrides_file_bounds_for_the_same_statistic(tmp_path: Path) -> None:
    gs = gateset(tmp_path, RULES)
    mark = marker_rule(("rtf.p50 <= 0.5", ["ttfa_ms.p95 <= 300"]), {}, "test_latency")
    assert mark.origin == "marker on test_latency"
    applied = {b.name: (b.value, b.origin) for b, _ in explain(gs, ctx(), [mark]).applied}
    assert applied["rtf.p50"] == (0.5, "marker on test_latency")
    assert applied["ttfa_ms.p95"] == (300.0, "marker on test_latency")
    assert applied["load_s"][0] == 600  # the file still gives the rest


def test_the_closest_marker_wins(tmp_path: Path) -> None:
    function_mark = marker_rule(("rtf.p50 <= 0.4",), {}, "test_x")
    class_mark = marker_rule(("rtf.p50 <= 0.8",), {}, "TestX")
    (bound, _), *_ = explain(GateSet(), ctx(), [function_mark, class_mark]).applied
    assert bound.value == 0.4


@pytest.mark.parametrize(
    ("args", "kwargs", "words"),
    [
        ((), {}, "no bounds"),
        (("ttfa_ms.p95 <= 300",), {"ttfa_ms_p95": 300}, "keyword arguments are not supported"),
        ((300,), {}, "bounds are strings"),
        (("ttfa_ms.p42 <= 300",), {}, "unknown statistic 'p42'"),
        (("ttfa_ms.p95 => 300",), {}, "bad operator '=>'"),
    ],
)
def test_bad_marker_arguments_are_named(
    args: tuple[object, ...], kwargs: dict[str, object], words: str
) -> None:
    with pytest.raises(GateError, match="tts_gate marker on test_x: ") as info:
        marker_rule(args, kwargs, "test_x")
    assert words in str(info.value)
    assert not isinstance(info.value, GateFileError)


def test_context_from_result() -> None:
    result = make_result({}, model="marvis", backend="mlx", device="gpu", variant="8bit")
    assert GateContext.from_result(result) == GateContext(
        model="marvis",
        backend="mlx",
        device="gpu",
        variant="8bit",
        hardware=CPU,
        suite="latency",
        test=KOKORO_TEST,
        prompt="medium",
    )


# ---- where a rule without suite = applies ----------------------------------------------

PLAIN = '[[gates]]\nmodel = "kokoro"\nbounds = ["rtf.p50 <= 0.6", "load_s <= 60"]\n'
OPT_IN = ["concurrency", "cold_start", "caching", "memory", "soak", "quality", "sweeps"]


@pytest.mark.parametrize("suite", ["latency", "streaming", "my_bench", "custom"])
def test_a_rule_without_suite_judges_latency_streaming_and_own_tests(
    tmp_path: Path, suite: str
) -> None:
    gs = gateset(tmp_path, PLAIN)
    assert {b.name for b, _ in explain(gs, ctx(suite=suite)).applied} == {"rtf.p50", "load_s"}


@pytest.mark.parametrize("suite", OPT_IN)
def test_a_rule_without_suite_leaves_the_other_shipped_suites_alone(
    tmp_path: Path, suite: str
) -> None:
    # cold start runs 2-3 trials, caching 4: a p50 there was always inconclusive
    gs = gateset(tmp_path, PLAIN)
    ex = explain(gs, ctx(suite=suite))
    assert ex.applied == ()
    assert [r.origin for r in ex.out_of_scope] == [f"{tmp_path / 'gates.toml'}:1"]
    text = str(ex)
    assert f"suite {suite} is judged only by rules that name it" in text
    assert f'suite = "{suite}"' in text
    cold = make_result({"rtf": [0.9, 0.9]}, suite=suite)
    assert evaluate(gs, cold) == []  # not inconclusive: not judged at all
    assert count_trials(gs, ctx(suite=suite), current_n=2, cap=60).n == 2


@pytest.mark.parametrize("suite", OPT_IN)
def test_a_rule_that_names_a_suite_judges_it(tmp_path: Path, suite: str) -> None:
    named = gateset(tmp_path, f'[[gates]]\nsuite = "{suite}"\nbounds = ["load_s <= 60"]\n')
    assert [b.name for b, _ in explain(named, ctx(suite=suite)).applied] == ["load_s"]
    every = gateset(tmp_path, '[[gates]]\nsuite = "*"\nbounds = ["load_s <= 60"]\n')
    assert [b.name for b, _ in explain(every, ctx(suite=suite)).applied] == ["load_s"]


def test_a_marker_judges_its_test_in_any_suite() -> None:
    mark = marker_rule(("rtf.p50 <= 0.5",), {}, "test_cold")
    assert explain(GateSet(), ctx(suite="cold_start"), [mark]).applied


def test_suite_names_compare_case_insensitively(tmp_path: Path) -> None:
    gs = gateset(tmp_path, PLAIN)
    assert explain(gs, ctx(suite="Cold_Start")).applied == ()


def test_explain_without_a_suite_says_where_plain_rules_apply(tmp_path: Path) -> None:
    gs = gateset(tmp_path, PLAIN)
    ex = explain(gs, GateContext(model="kokoro", backend="onnx", device="cpu"))
    assert {b.name for b, _ in ex.applied} == {"rtf.p50", "load_s"}
    last = str(ex).splitlines()[-1]
    assert "rules without suite = judge latency, streaming and your own tests" in last
    assert "cold_start" in last
    named = gateset(tmp_path, '[[gates]]\nsuite = "*"\nbounds = ["load_s <= 60"]\n')
    assert "rules without suite" not in str(explain(named, GateContext(model="kokoro")))


def test_a_star_glob_matches_before_the_value_is_known(tmp_path: Path) -> None:
    every = gateset(tmp_path, '[[gates]]\nsuite = "*"\nbounds = ["load_s <= 60"]\n')
    ex = explain(every, GateContext(model="kokoro"))
    assert [b.name for b, _ in ex.applied] == ["load_s"]
    assert ex.undecided == ()
