"""Gate files: parsing with file and line for every problem, loading precedence,
the shipped defaults, and the TOML examples of docs/GATES.md."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from pytest_ttsbench.gates.files import DEFAULT_GATES_PATH, GateFileError, load_gates
from pytest_ttsbench.gates.judging import evaluate
from pytest_ttsbench.gates.matching import GateContext, explain
from tests.unit.gates_support import by_name, ctx, gateset, spread, write
from tests.unit.result_support import make_result

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
    assert len(gs.rules) == 5
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


@pytest.mark.parametrize(
    "suite", ["latency", "streaming", "concurrency", "cold_start", "caching", "memory", "mine"]
)
def test_default_sanity_gate_judges_every_suite_and_the_roadmap_only_latency(
    suite: str,
) -> None:
    gs = load_gates(None, None, use_defaults=True)
    slow_load = make_result({"rtf": spread(0.9, 5)}, suite=suite, load_s=700.0)
    verdicts = by_name(evaluate(gs, slow_load))
    assert verdicts["load_s"].outcome == "fail"  # a ten-minute load is broken anywhere
    assert ("rtf.p50" in verdicts) == (suite == "latency")
    names = {b.name for b, _ in explain(gs, ctx(suite=suite, prompt="medium")).applied}
    assert names == ({"rtf.p50", "load_s"} if suite == "latency" else {"load_s"})


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
