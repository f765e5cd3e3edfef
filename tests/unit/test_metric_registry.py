"""The metric registry: one entry added to it shows in every output (the terminal table
and step summary, the results JSON, the doc's headline and suite tables, JUnit
properties, pytest-benchmark's extra_info, the gate grammar and judging, and the
baseline comparison), and the outputs' metric columns are the registry's."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ttsbench.benchmark_bridge import _benchmark_extra
from pytest_ttsbench.gates.baseline import Baseline, baseline_metrics, compare_baseline
from pytest_ttsbench.gates.bounds import Problem, gateable, parse_bound
from pytest_ttsbench.gates.judging import evaluate
from pytest_ttsbench.report import columns as col
from pytest_ttsbench.report import doc as rd
from pytest_ttsbench.report import doc_update as du
from pytest_ttsbench.report import sections as sec
from pytest_ttsbench.report import summary
from pytest_ttsbench.results import metrics
from pytest_ttsbench.results.fidelity import Fidelity
from pytest_ttsbench.results.files import results_document
from pytest_ttsbench.results.metrics import DocColumn, Metric, TerminalColumn
from pytest_ttsbench.session import junit_properties
from tests.unit.gates_support import by_name, gateset, spread
from tests.unit.report_support import NOW, block
from tests.unit.result_support import make_result

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_ttsbench.results.model import BenchResult

# Speech time: end-to-end latency less the time to first audio, per trial.
SPEECH = Metric(
    "speech_ms",
    "speech time: latency minus time to first audio",
    "ms",
    "lower",
    "series",
    columns=(
        DocColumn(
            "speech_p50",
            "Speech p50 (ms)",
            "p50",
            aliases=("speech p50",),
            sections=("headline", "latency", "streaming"),
        ),
    ),
    terminal=(TerminalColumn("p50", "speech p50 ms"),),
    junit=("p50",),
    extra_info=("p50",),
    baseline=True,
    default_stat="p50",
)


@pytest.fixture
def speech(monkeypatch: pytest.MonkeyPatch) -> Metric:
    """The registry with SPEECH added, for this test only."""
    monkeypatch.setattr(metrics, "REGISTRY", (*metrics.REGISTRY, SPEECH))
    return SPEECH


def with_speech(scale: float = 1.0, **fields: Any) -> BenchResult:
    """A result whose trials carry TTFA, latency and the speech time computed from them."""
    latency = spread(400.0 * scale, 20)
    ttfa = [x / 4 for x in latency]
    values = {
        "ttfa_ms": ttfa,
        "latency_ms": latency,
        "speech_ms": [lat - first for lat, first in zip(latency, ttfa, strict=True)],
    }
    return make_result(values, **fields)


def test_a_new_entry_is_in_the_terminal_table_and_step_summary(speech: Metric) -> None:
    result = with_speech()
    p50 = result.metric("speech_ms.p50")
    assert p50 == pytest.approx(300.0)
    shown = metrics.format_value("ms", p50)
    table = summary.terminal_table([result])
    assert "speech p50" in table.splitlines()[0]
    assert table.splitlines()[3].split()[-2] == shown  # the column before gates
    markdown = summary.github_step_summary([result])
    header, separator, row = markdown.splitlines()[2:5]
    assert header.endswith("| speech p50 ms | gates |")
    assert separator.endswith("|---:|---|")
    assert row.endswith(f"| {shown} | none |")


def test_a_new_entry_is_in_the_results_json(speech: Metric) -> None:
    document = results_document({}, [with_speech()])
    summaries = json.loads(json.dumps(document))["results"][0]["summaries"]
    assert summaries["speech_ms"]["p50"] == pytest.approx(300.0)
    assert summaries["speech_ms"]["n"] == 20


def test_a_new_entry_is_in_the_doc_headline_and_its_suite_sections(speech: Metric) -> None:
    headline = with_speech()
    streaming = with_speech(1.5, suite="streaming", prompt="short")
    assert "speech_p50" in sec.HEADLINE.columns
    assert col.column_id("Speech P50") == "speech_p50"  # its alias and header are read
    entries = rd.entries_for([headline, streaming], now=NOW, plugin_version="0.1.0")
    text = du.update_doc_text(None, entries, history=5).text
    assert text is not None
    for name, result in (("results", headline), ("suite.streaming", streaming)):
        lines = [ln for ln in block(text, name).splitlines() if ln.startswith("|")]
        header = [c.strip() for c in lines[0].strip("|").split("|")]
        row = [c.strip() for c in lines[2].strip("|").split("|")]
        j = header.index("Speech p50 (ms)")
        # not hinted for either table: after their hinted metric columns, before n
        assert header[j + 1] == "n"
        assert row[j] == metrics.format_value("ms", result.metric("speech_ms.p50"))
        assert lines[1].strip("|").split("|")[j] == "---:"
    memory = sec.suite_section("memory")
    assert "speech_p50" not in memory.columns  # not listed for that suite


def test_a_new_entry_is_in_junit_properties_and_benchmark_extra_info(speech: Metric) -> None:
    result = with_speech()
    p50 = result.metric("speech_ms.p50")
    assert ("tts.speech_ms.p50", round(p50 or 0.0, 6)) in junit_properties(result)
    assert _benchmark_extra(result)["tts_speech_ms_p50"] == p50


def test_a_new_entry_is_in_the_gate_grammar_and_judged(speech: Metric, tmp_path: Path) -> None:
    assert "speech_ms" in gateable()
    bound = parse_bound("speech_ms.p95 <= 500", "here")
    assert (bound.metric, bound.statistic, bound.name) == ("speech_ms", "p95", "speech_ms.p95")
    assert parse_bound("speech_ms < 1", "here").name == "speech_ms.p50"  # default statistic
    with pytest.raises(Problem, match="did you mean 'speech_ms'"):
        parse_bound("speech_m.p50 <= 1", "here")
    gates = gateset(tmp_path, '[[gates]]\nbounds = ["speech_ms.p50 <= 250"]\n')
    verdict = by_name(evaluate(gates, with_speech()))["speech_ms.p50"]
    assert verdict.outcome == "fail"
    assert verdict.reason.startswith("speech_ms.p50 = 300 ms, breaks <= 250")


def test_a_new_entry_is_compared_with_the_baseline(speech: Metric) -> None:
    assert "speech_ms" in baseline_metrics()
    verdicts = compare_baseline(with_speech(1.5), Baseline("base.json", (with_speech(),)), 0.1)
    found = {v.metric: v for v in verdicts}
    assert found["speech_ms"].outcome == "fail"
    assert found["speech_ms"].reason.startswith("regression: speech_ms.p50 450 ms vs baseline")


def test_without_the_entry_no_output_knows_it() -> None:
    result = with_speech()
    assert "speech_ms" not in metrics.BY_NAME
    assert "speech_p50" not in col.BY_ID
    assert "speech_p50" not in sec.HEADLINE.columns
    assert "speech" not in summary.terminal_table([result])
    assert not any(name.startswith("tts.speech") for name, _ in junit_properties(result))
    with pytest.raises(Problem, match="unknown metric"):
        parse_bound("speech_ms.p50 <= 1", "here")


# ---- the outputs' metric columns are the registry's ----------------------------------
def test_every_doc_column_of_the_registry_is_a_doc_column() -> None:
    for metric, doc in metrics.doc_columns():
        column = col.BY_ID[doc.id]
        assert (column.header, column.aliases, column.numeric) == (doc.header, doc.aliases, True)
        assert metric.flat(doc.stat)  # a name BenchResult.metric takes
    metric_ids = {doc.id for _, doc in metrics.doc_columns()}
    assert {c.id for c in col.all_columns()} - metric_ids == {
        *(c.id for c in col.KEY_COLUMNS),
        *(c.id for c in col.OTHER_COLUMNS),
    }


def test_each_table_shows_the_metric_columns_the_registry_lists_for_it() -> None:
    for shows, section in [
        ("headline", sec.HEADLINE),
        *((name, sec.suite_section(name)) for name in sec.SUITE_ORDER),
    ]:
        listed = {doc.id for _, doc in metrics.doc_columns() if shows in doc.sections}
        shown = {c for c in section.columns if c in {d.id for _, d in metrics.doc_columns()}}
        assert shown == listed, shows


def test_the_terminal_table_shows_the_registry_terminal_columns() -> None:
    """Every terminal column; an optional one (a suite's own number, CER delta) only
    when a result in the table has it."""
    shown = [c.header for _, c in metrics.terminal_columns()]
    optional = [c.header for _, c in metrics.terminal_columns() if c.optional]
    assert optional == ["CER delta"]
    assert list(summary.headers()[4:-1]) == [h for h in shown if h not in optional]
    found = Fidelity("mode=none", "mode=sentence", prompts=2, cer_delta=0.0)
    compared = make_result({"rtf": [0.5]}, fidelity=found)
    assert list(summary.headers([compared])[4:-1]) == shown
    assert "0.000" in summary.terminal_table([compared]).splitlines()[3]


def test_gates_know_every_kind_and_units_come_from_the_registry() -> None:
    assert {"ttfa_ms", "chunk_gap_ms", "load_s", "throughput"} <= set(gateable())
    assert metrics.unit("chars_per_s") == ""  # a rate, not seconds
    assert metrics.unit("cold_ttfa_ms") == "ms"
    assert metrics.unit("underrun.stalls") == ""
    assert metrics.unit("lufs") == "LUFS"


def test_detail_metrics_are_one_number_per_result(tmp_path: Path) -> None:
    assert parse_bound("throughput >= 1", "here").statistic == ""
    with pytest.raises(Problem, match="throughput is one number per result"):
        parse_bound("throughput.p50 >= 1", "here")
    gates = gateset(tmp_path, '[[gates]]\nbounds = ["throughput >= 1"]\n')
    verdict = by_name(evaluate(gates, with_speech()))["throughput"]
    assert verdict.outcome == "inconclusive"
    assert verdict.n is None
    assert "throughput was not measured" in verdict.reason
