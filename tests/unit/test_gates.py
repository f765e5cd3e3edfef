"""Gates on plain data: gate files, matching, verdicts, sample sizes, baselines."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pytest_ttsbench.gates import engine as gates
from pytest_ttsbench.gates.engine import (
    DEFAULT_GATES_PATH,
    Baseline,
    GateContext,
    GateError,
    GateFileError,
    GateSet,
    compare_baseline,
    evaluate,
    explain,
    format_table,
    load_baseline,
    load_gates,
    marker_rule,
    required_trials,
    should_fail,
)
from pytest_ttsbench.results.model import BenchResult, Trial
from pytest_ttsbench.results.target import Target
from pytest_ttsbench.results.verdict import Verdict

KOKORO_TEST = "suites/test_latency.py::test_latency[kokoro-onnx-cpu-short]"
CPU = "AMD EPYC 7B13 (2 cores)"


def make_result(
    values: dict[str, list[float]] | None = None,
    *,
    model: str = "kokoro",
    backend: str = "onnx",
    device: str = "cpu",
    variant: str = "int8",
    hardware: str = CPU,
    test: str = KOKORO_TEST,
    suite: str = "latency",
    prompt: str = "medium",
    **scalars: Any,
) -> BenchResult:
    """A summarized result whose measured trials carry ``values`` (trial i gets value i)."""
    values = values or {}
    n = max((len(v) for v in values.values()), default=0)
    trials = [
        Trial(
            index=i,
            kind="measured",
            t0_ns=0,
            chunk_ns=[1_000_000, 2_000_000],
            chunk_samples=[100, 100],
            sample_rate=24_000,
            metrics={k: v[i] for k, v in values.items() if i < len(v)},
        )
        for i in range(n)
    ]
    target = Target(model, backend, device, variant)
    result = BenchResult(
        target=target,
        test=test,
        suite=suite,
        prompt=prompt,
        text_chars=40,
        language="en",
        stream_mode="native",
        hardware=hardware,
        warmup=1,
        trials=trials,
        **scalars,
    )
    result.summarize()
    return result


def spread(center: float, n: int, width: float = 0.1) -> list[float]:
    """n distinct values evenly spread over center * (1 +- width)."""
    if n == 1:
        return [center]
    return [center * (1 - width + 2 * width * i / (n - 1)) for i in range(n)]


def write(tmp_path: Path, text: str, name: str = "gates.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def gateset(tmp_path: Path, text: str) -> GateSet:
    return load_gates(write(tmp_path, text), None, use_defaults=False)


def ctx(**kw: str) -> GateContext:
    base = {
        "model": "kokoro",
        "backend": "onnx",
        "device": "cpu",
        "variant": "int8",
        "hardware": CPU,
        "suite": "latency",
        "test": KOKORO_TEST,
        "prompt": "short",
    }
    base.update(kw)
    return GateContext(**base)


def by_name(verdicts: list[Verdict]) -> dict[str, Verdict]:
    return {v.name: v for v in verdicts}


# ---- parsing -------------------------------------------------------------------------


def test_standalone_file_parses_rules_bounds_and_line_numbers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        # comment
        [[gates]]
        model = "kokoro"
        backend = "onnx"
        device = "cpu"
        bounds = [
            "rtf.p50 <= 0.6",
            "ttfa_ms.p95 <= 1500",
        ]

        [[gates]]
        name = "memory"
        bounds = ["peak_rss_mb <= 1200", "lufs in [-20, -12]"]
        """,
    )
    gs = load_gates(path, None, use_defaults=False)
    assert gs.sources == (str(path),)
    first, second = gs.rules
    assert first.origin == f"{path}:2"
    assert first.match == {"model": ("kokoro",), "backend": ("onnx",), "device": ("cpu",)}
    assert [(b.name, b.op, b.value) for b in first.bounds] == [
        ("rtf.p50", "<=", 0.6),
        ("ttfa_ms.p95", "<=", 1500.0),
    ]
    assert [b.origin for b in first.bounds] == [f"{path}:7", f"{path}:8"]
    assert second.name == "memory"
    assert second.origin == f"{path}:11"
    rss, lufs = second.bounds
    assert (rss.metric, rss.statistic, rss.name) == ("peak_rss_mb", "", "peak_rss_mb")
    assert (lufs.name, lufs.op, lufs.value, lufs.high) == ("lufs.p50", "in", -20.0, -12.0)
    assert lufs.origin == f"{path}:13"


@pytest.mark.parametrize(
    ("expr", "name", "op", "value", "high"),
    [
        ("ttfa_ms.p95 <= 500", "ttfa_ms.p95", "<=", 500.0, None),
        ("latency_ms.p50 <= 2000", "latency_ms.p50", "<=", 2000.0, None),
        ("rtf.p50 <= 0.6", "rtf.p50", "<=", 0.6, None),
        ("peak_rss_mb <= 1200", "peak_rss_mb", "<=", 1200.0, None),
        ("accel_peak_mb <= 8000", "accel_peak_mb", "<=", 8000.0, None),
        ("underrun.stalls == 0", "stalls.max", "==", 0.0, None),
        ("load_s <= 30", "load_s", "<=", 30.0, None),
        ("cold_ttfa_ms <= 1500", "cold_ttfa_ms", "<=", 1500.0, None),
        ("lufs in [-20, -12]", "lufs.p50", "in", -20.0, -12.0),
        ("true_peak_dbtp <= -1", "true_peak_dbtp.max", "<=", -1.0, None),
        ("rtfx.p50>2", "rtfx.p50", ">", 2.0, None),
        ("chunk_gap_ms.p99 < 250", "chunk_gap_ms.p99", "<", 250.0, None),
        ("rtf >= 0.01", "rtf.p50", ">=", 0.01, None),
    ],
)
def test_every_documented_bound_parses(
    tmp_path: Path, expr: str, name: str, op: str, value: float, high: float | None
) -> None:
    (rule,) = gateset(tmp_path, f"[[gates]]\nbounds = [{json.dumps(expr)}]\n").rules
    (bound,) = rule.bounds
    assert (bound.name, bound.op, bound.value, bound.high) == (name, op, value, high)
    assert bound.expr == expr


def test_bounds_table_form_with_dotted_keys_and_ranges(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [[gates]]
        model = ["kokoro", "marvis"]

        [gates.bounds]
        ttfa_ms.p95 = "<= 500"
        "rtf.p50" = "< 0.6"
        lufs = [-20, -12]
        """,
    )
    (rule,) = load_gates(path, None, use_defaults=False).rules
    assert rule.match == {"model": ("kokoro", "marvis")}
    assert {b.name: (b.op, b.value, b.high) for b in rule.bounds} == {
        "ttfa_ms.p95": ("<=", 500.0, None),
        "rtf.p50": ("<", 0.6, None),
        "lufs.p50": ("in", -20.0, -12.0),
    }
    assert {b.name: b.origin for b in rule.bounds} == {
        "ttfa_ms.p95": f"{path}:5",
        "rtf.p50": f"{path}:6",
        "lufs.p50": f"{path}:7",
    }


def test_inline_array_form_is_accepted(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        # inline
        gates = [
          { model = "kokoro", bounds = ["rtf.p50 <= 0.6"] },
          { model = "marvis", bounds = ["rtf.p50 <= 0.9"] },
        ]
        """,
    )
    first, second = load_gates(path, None, use_defaults=False).rules
    assert first.origin == f"{path}:2"
    assert [b.origin for b in (*first.bounds, *second.bounds)] == [f"{path}:3", f"{path}:4"]


def test_pyproject_section_is_read_with_its_lines(tmp_path: Path) -> None:
    pyproject = write(
        tmp_path,
        """
        [project]
        name = "x"

        [tool.ttsbench]
        default_gates = "replace"

        [[tool.ttsbench.gates]]
        model = "kokoro"
        bounds = ["rtf.p50 <= 0.6"]

        [tool.other]
        gates = 3
        """,
        name="pyproject.toml",
    )
    gs = load_gates(None, pyproject, use_defaults=True)
    (rule,) = gs.rules  # "replace": the shipped defaults are not there
    assert rule.origin == f"{pyproject}:7"
    assert rule.bounds[0].origin == f"{pyproject}:9"
    assert gs.sources == (str(pyproject),)


MALFORMED = [
    # (file text, line of the problem, words the message must contain)
    ('[[gates]]\nbounds = ["ttfa.p95 <= 500"]\n', 2, "'ttfa.p95' (did you mean 'ttfa_ms'?)"),
    ('[[gates]]\nbounds = ["ttfa_ms.p97 <= 500"]\n', 2, "unknown statistic 'p97'"),
    ('[[gates]]\nbounds = ["ttfa_ms.p95 =< 500"]\n', 2, "bad operator '=<'"),
    ('[[gates]]\nbounds = ["ttfa_ms.p95 = 500"]\n', 2, "bad operator '='"),
    ('[[gates]]\nbounds = ["ttfa_ms.p95 != 500"]\n', 2, "bad operator '!='"),
    ('[[gates]]\nbounds = ["ttfa_ms.p95 500"]\n', 2, "has no operator"),
    ('[[gates]]\nbounds = ["ttfa_ms.p95 <="]\n', 2, "has no value"),
    ('[[gates]]\nbounds = ["ttfa_ms.p95 <= 500ms"]\n', 2, "ttfa_ms is in ms"),
    ('[[gates]]\nbounds = ["rtf.p50 <= nan"]\n', 2, "NaN"),
    ('[[gates]]\nbounds = ["lufs in [-12, -20]"]\n', 2, "low end is above its high end"),
    ('[[gates]]\nbounds = ["lufs in -20"]\n', 2, "needs a range"),
    ('[[gates]]\nbounds = ["load_s.p50 <= 3"]\n', 2, "load_s is one number per result"),
    ('[[gates]]\nbounds = ["rtfx >= 2"]\n', 2, "rtfx needs a statistic"),
    ('[[gates]]\nbounds = ["<= 5"]\n', 2, "expected METRIC OPERATOR NUMBER"),
    ("[[gates]]\nbounds = [500]\n", 2, "bounds must be strings"),
    ("[[gates]]\nbounds = 5\n", 2, "bounds must be a list of strings or a table"),
    ('[[gates]]\nbounds = { "ttfa_ms.p95" = 500 }\n', 2, "write the operator as a string"),
    ("[[gates]]\nbounds = []\n", 2, "bounds is empty"),
    ('[[gates]]\nmodel = "kokoro"\n', 1, "needs bounds"),
    ('[[gates]]\nmodel = 3\nbounds = ["rtf <= 1"]\n', 2, "model must be a string glob"),
    ('[[gates]]\nmodel = ""\nbounds = ["rtf <= 1"]\n', 2, "model is an empty string"),
    ('[[gates]]\nmodel = []\nbounds = ["rtf <= 1"]\n', 2, "model is an empty list"),
    ('[[gates]]\nhardware = "*H100["\nbounds = ["rtf <= 1"]\n', 2, "bad glob '*H100['"),
    ('[[gates]]\nname = 3\nbounds = ["rtf <= 1"]\n', 2, "name must be a string"),
    ('[[gates]]\nmissing = "x"\nbounds = ["rtf <= 1"]\n', 2, "missing must be"),
    (
        '[[gates]]\nbounds = ["rtf <= 1"]\n\n[[gates]]\nmodle = "kokoro"\nbounds = ["rtf <= 1"]\n',
        5,
        "unknown key 'modle' in a gate rule (did you mean 'model'?)",
    ),
    ('gate = []\n[[gates]]\nbounds = ["rtf <= 1"]\n', 1, "unknown key 'gate' in the top level"),
    ('default_gates = "merge"\n', 1, 'default_gates must be "replace" or "extend"'),
    ('gates = "x"\n', 1, "gates must be an array of tables"),
    ('# one table\n[gates]\nbounds = ["rtf <= 1"]\n', 2, "gates must be an array of tables"),
    ('[[gates]]\nmodel = "kokoro"\nbounds = ["rtf <= 1"\n', 3, "TOML syntax error: Unclosed"),
    ('[[gates]]\nbounds = \nmodel = "kokoro"\n', 2, "TOML syntax error: Invalid value"),
    ('[[gates]]\nmodel = "kokoro"\nmodel = "marvis"\n', 3, "TOML syntax error"),
]


@pytest.mark.parametrize(("text", "line", "words"), MALFORMED)
def test_malformed_gate_file_names_file_line_and_problem(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = tmp_path / "gates.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GateFileError) as info:
        load_gates(path, None, use_defaults=False)
    assert info.value.path == str(path)
    assert info.value.line == line
    assert words in info.value.problem
    assert str(info.value).startswith(f"{path}:{line}: ")


def test_a_second_bad_bound_in_a_long_list_gets_its_own_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        [[gates]]
        bounds = [
            "rtf.p50 <= 0.6",
            "ttfa_ms.p95 <= 500",
            "rtf.p55 <= 0.6",
        ]
        """,
    )
    with pytest.raises(GateFileError, match=r"gates\.toml:5: unknown statistic 'p55'"):
        load_gates(path, None, use_defaults=False)


def test_unknown_key_in_pyproject_section_is_an_error(tmp_path: Path) -> None:
    pyproject = write(
        tmp_path,
        """
        [tool.ttsbench]
        gate = []
        """,
        name="pyproject.toml",
    )
    with pytest.raises(GateFileError, match=r"pyproject\.toml:2: unknown key 'gate'"):
        load_gates(pyproject, None, use_defaults=False)


def test_missing_gate_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GateFileError, match="gate file not found"):
        load_gates(tmp_path / "nope.toml", None, use_defaults=True)


# ---- loading precedence --------------------------------------------------------------


def test_defaults_apply_without_a_user_file(tmp_path: Path) -> None:
    gs = load_gates(None, tmp_path / "pyproject.toml", use_defaults=True)
    assert gs.sources == ("pytest_ttsbench/gates/default_gates.toml",)
    assert len(gs.rules) == 4
    assert load_gates(None, None, use_defaults=False).rules == ()


def test_pyproject_without_gates_falls_back_to_defaults(tmp_path: Path) -> None:
    pyproject = write(tmp_path, '[project]\nname = "x"\n', name="pyproject.toml")
    assert load_gates(None, pyproject, use_defaults=True).sources == (
        "pytest_ttsbench/gates/default_gates.toml",
    )
    with pytest.raises(GateFileError, match=r"no \[\[tool\.ttsbench\.gates\]\] rules"):
        load_gates(pyproject, None, use_defaults=True)


def test_explicit_path_wins_over_pyproject_and_replaces_defaults(tmp_path: Path) -> None:
    pyproject = write(
        tmp_path,
        '[[tool.ttsbench.gates]]\nbounds = ["load_s <= 1"]\n',
        name="pyproject.toml",
    )
    path = write(tmp_path, '[[gates]]\nbounds = ["load_s <= 2"]\n')
    gs = load_gates(path, pyproject, use_defaults=True)
    assert [b.value for r in gs.rules for b in r.bounds] == [2.0]


def test_an_empty_user_file_switches_the_defaults_off(tmp_path: Path) -> None:
    path = write(tmp_path, "# no gates here\n")
    assert load_gates(path, None, use_defaults=True).rules == ()


def test_extend_keeps_defaults_below_user_rules(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        default_gates = "extend"
        [[gates]]
        bounds = ["rtf.p50 <= 0.9"]
        """,
    )
    gs = load_gates(path, None, use_defaults=True)
    assert gs.sources == ("pytest_ttsbench/gates/default_gates.toml", str(path))
    applied = {b.name: b for b, _ in explain(gs, ctx()).applied}
    # the user's catch-all outranks the more specific default Kokoro rule
    assert applied["rtf.p50"].value == 0.9
    assert applied["load_s"].origin.startswith("pytest_ttsbench/gates/default_gates.toml:")


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
def test_required_trials_follow_the_binomial_rule(stat: str, n: int) -> None:
    mark = marker_rule((f"latency_ms.{stat} <= 1000",), {}, "t")
    assert required_trials(GateSet(), ctx(), current_n=3, cap=1000, markers=[mark]) == n


def test_required_trials_respect_cap_and_never_lower_n(tmp_path: Path) -> None:
    gs = gateset(tmp_path, '[[gates]]\nbounds = ["ttfa_ms.p95 <= 500", "load_s <= 60"]\n')
    assert required_trials(gs, ctx(), current_n=5, cap=60) == 59
    assert required_trials(gs, ctx(), current_n=5, cap=30) == 30
    assert required_trials(gs, ctx(), current_n=80, cap=60) == 80
    assert required_trials(gs, ctx(model="marvis"), current_n=5, cap=60) == 59
    assert required_trials(GateSet(), ctx(), current_n=5, cap=60) == 5
    pooled = marker_rule(("chunk_gap_ms.p99 <= 100",), {}, "t")
    assert required_trials(GateSet(), ctx(), current_n=5, cap=400, markers=[pooled]) == 5


def test_median_ci_gate_needs_six_trials() -> None:
    mark = marker_rule(("latency_ms.ci_high <= 2000",), {}, "t")
    (few,) = evaluate(GateSet(), make_result({"latency_ms": spread(1000, 5)}), [mark])
    assert few.outcome == "inconclusive"
    assert "ci_high needs at least 6 trials" in few.reason
    (enough,) = evaluate(GateSet(), make_result({"latency_ms": spread(1000, 6)}), [mark])
    assert enough.outcome == "pass"


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
    result = make_result({"latency_ms": spread(1000, 5), "lufs": [-16.0] * 5})
    result.xdist_workers = 4
    v = by_name(evaluate(GateSet(), result, [mark]))
    assert v["latency_ms.p50"].note == "timed beside 4 xdist workers: contended"
    assert v["lufs.p50"].note is None


# ---- defaults ------------------------------------------------------------------------


def test_default_gates_keep_kokoro_cpu_honest() -> None:
    gs = load_gates(None, None, use_defaults=True)
    ok = evaluate(gs, make_result({"rtf": spread(0.5, 5)}, load_s=3.0))
    assert [(v.name, v.outcome) for v in ok] == [("rtf.p50", "pass"), ("load_s", "pass")]
    slow = by_name(evaluate(gs, make_result({"rtf": spread(0.62, 5, 0.02)})))
    assert slow["rtf.p50"].outcome == "fail"
    assert "load_s" not in slow  # not recorded by this test: skipped, not inconclusive


def test_default_gates_for_chatterbox_on_gpus() -> None:
    gs = load_gates(None, None, use_defaults=True)
    h100 = ctx(model="chatterbox-turbo", backend="pt", device="cuda", variant="default")
    h100 = GateContext(**{**h100.__dict__, "hardware": "NVIDIA H100 80GB HBM3"})
    names = {b.name: b.value for b, _ in explain(gs, h100).applied}
    assert names == {"ttfa_ms.p50": 200, "rtf.p50": 0.3, "load_s": 600}
    consumer = GateContext(**{**h100.__dict__, "hardware": "NVIDIA GeForce RTX 4090"})
    assert {b.name for b, _ in explain(gs, consumer).applied} == {"load_s"}
    plain = GateContext(**{**consumer.__dict__, "model": "chatterbox"})
    assert {b.name: b.value for b, _ in explain(gs, plain).applied}["latency_ms.p50"] == 3000
    assert DEFAULT_GATES_PATH.is_file()


# ---- baselines -----------------------------------------------------------------------


def write_results(tmp_path: Path, results: list[BenchResult], **top: Any) -> Path:
    doc = {
        "format": "pytest-ttsbench-results",
        "schema": 1,
        "plugin_version": "0.1.0",
        "session": {},
        "results": [r.as_dict() for r in results],
        **top,
    }
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


def timing(latency: float, n: int = 10) -> dict[str, list[float]]:
    return {
        "latency_ms": spread(latency, n),
        "ttfa_ms": spread(latency / 5, n),
        "rtf": spread(latency / 2000, n),
    }


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
    other = make_result(timing(5000), hardware="Apple M3 Max")
    (verdict,) = compare_baseline(other, baseline, 0.1)
    assert verdict.informational
    assert verdict.outcome == "pass"
    assert verdict.reason.startswith(
        "no baseline for this key (kokoro, onnx, Apple M3 Max, medium)"
    )
    assert not should_fail([verdict], "fail")
    assert "info" in format_table([verdict]).splitlines()[1]


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


# ---- serialization, table, mode ------------------------------------------------------


def test_verdicts_round_trip_through_json(tmp_path: Path) -> None:
    gs = load_gates(None, None, use_defaults=True)
    baseline = load_baseline(write_results(tmp_path, [make_result(timing(1000))]))
    result = make_result(timing(1200), load_s=2.0)
    verdicts = evaluate(gs, result) + compare_baseline(result, baseline, 0.1)
    assert len(verdicts) == 5
    again = [Verdict.from_dict(d) for d in json.loads(json.dumps([v.as_dict() for v in verdicts]))]
    assert again == verdicts


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
    assert f"[{gates._fmt(ci.ci_low)}, {gates._fmt(ci.ci_high)}]" in rows[0]
    assert "- latency_ms.p50: fail: latency_ms.p50 = 1000 ms, breaks <= 800" in lines[4]
    assert lines[5] == (
        "- ttfa_ms.p95: inconclusive: p95 needs at least 59 trials, got 10; "
        "raise --tts-trials or --tts-max-trials"
    )
    assert len(lines) == 6  # a clean pass adds no line
    assert format_table([]) == "no gates apply"


def test_should_fail_by_mode() -> None:
    mark = marker_rule(("latency_ms.p50 <= 800",), {}, "t")
    failed = evaluate(GateSet(), make_result({"latency_ms": spread(1000, 5)}), [mark])
    assert should_fail(failed, "fail")
    assert not should_fail(failed, "warn")
    assert not should_fail([], "fail")
    with pytest.raises(ValueError, match="gate mode 'strict'"):
        should_fail(failed, "strict")


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


# ---- the docs ------------------------------------------------------------------------

DOC = Path(__file__).parents[2] / "docs" / "GATES.md"


def test_every_toml_example_in_the_docs_loads(tmp_path: Path) -> None:
    blocks = re.findall(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) >= 6
    for i, block in enumerate(blocks):
        name = "pyproject.toml" if "[tool.ttsbench" in block else f"gates{i}.toml"
        path = write(tmp_path, textwrap.dedent(block), name=name)
        assert load_gates(path, None, use_defaults=False).rules, block


def test_the_three_line_example_gates_kokoro_onnx_cpu(tmp_path: Path) -> None:
    gs = gateset(tmp_path, '[[gates]]\ntest = "*kokoro-onnx-cpu*"\nbounds = ["rtf.p50 <= 0.6"]\n')
    (verdict,) = evaluate(gs, make_result({"rtf": spread(0.7, 5, 0.01)}))
    assert verdict.outcome == "fail"
    marvis = make_result({"rtf": [0.9] * 5}, test="suites/test_latency.py::t[marvis-mlx-gpu]")
    assert evaluate(gs, marvis) == []
