"""Trustworthy tables: the headline compares models on one prompt and only the latency
suite writes it; every other suite has its own section; a failed test never reads
"pass" and never replaces a good row.

These tests read the doc as text (no parser of ours), so they hold for any layout that
keeps those promises.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from pytest_ttsbench.report import doc as rd
from pytest_ttsbench.report import doc_update as du
from pytest_ttsbench.report import summary
from pytest_ttsbench.results.details import CacheCheck, ColdStartRuns, LoadSummary
from tests.unit.report_support import LATER, NOW, block, make_result, table_rows, verdict

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

    from pytest_ttsbench.results.model import BenchResult

LATEST = "2025-02-05"


def upsert(text: str | None, results: list[BenchResult], when: datetime = NOW) -> str:
    out = du.update_doc_text(text, rd.entries_for(results, now=when, plugin_version="0.1.0"))
    assert out.text is not None, out.unsafe
    return out.text


def headline_rows(text: str) -> list[str]:
    return table_rows(text, "results")


def quality_medium() -> BenchResult:
    return make_result(suite="quality", latencies_ms=[900.0, 910.0, 920.0])


def everything_one_session() -> list[BenchResult]:
    """What README's main command gives for one model on one machine."""
    concurrency = [
        make_result(suite="concurrency", prompt="short", params={"concurrency": k})
        for k in (1, 2, 4)
    ]
    poisson = [
        make_result(suite="concurrency", prompt="short", params={"arrival": "poisson", "load": f})
        for f in (0.5, 0.9)
    ]
    streaming = [
        make_result(suite="streaming", stream_mode=m, params={"mode": m})
        for m in ("native", "sentence")
    ]
    sweeps = [
        make_result(suite="sweeps", prompt="short", params={"speed": s}) for s in (0.8, 1.0, 1.25)
    ]
    return [
        make_result(),  # latency, medium: the headline
        make_result(prompt="short"),
        make_result(prompt="long"),
        *concurrency,
        *poisson,
        *streaming,
        *sweeps,
        make_result(suite="memory"),
        make_result(suite="memory", prompt="short", params={"check": "leak"}),
        make_result(suite="cold_start", prompt="short", params={"process": "fresh"}),
        quality_medium(),
        make_result(suite="quality", prompt="short", params={"check": "repeat"}),
        make_result(suite="caching", prompt="short", params={"check": "cache"}),
        make_result(suite="soak", prompt="short", params={"check": "soak"}),
    ]


# ---- task 1: one headline row per model, written by the latency suite only ----------------
def test_a_quality_run_never_overwrites_the_latency_headline_row() -> None:
    first = upsert(None, [make_result()])
    [row] = headline_rows(first)
    later = upsert(first, [quality_medium()], when=LATER)
    assert headline_rows(later) == [row]  # byte for byte, and not moved to any history
    assert "920" not in block(later, "results")
    assert "history" not in later.split("<!-- ttsbench:results:end -->")[0]
    [quality] = table_rows(later, "suite.quality")
    assert quality.startswith("| kokoro | onnx | AMD EPYC 7763 (16 cores) | medium | native |")


def test_one_session_of_every_suite_gives_one_headline_row_per_model() -> None:
    text = upsert(None, everything_one_session())
    [row] = headline_rows(text)
    assert row.startswith("| kokoro | onnx | AMD EPYC 7763 (16 cores) | native | medium |")
    sections = {
        "latency": 2,
        "streaming": 2,
        "concurrency": 5,
        "memory": 2,
        "cold_start": 1,
        "quality": 2,
        "caching": 1,
        "sweeps": 3,
        "soak": 1,
    }
    for suite, n in sections.items():
        assert len(table_rows(text, f"suite.{suite}")) == n, suite
    # a second identical session changes nothing
    assert upsert(text, everything_one_session()) == text


def test_the_headline_takes_only_the_engines_default_streaming_mode() -> None:
    forced = make_result(stream_mode="sentence")
    forced.details["capabilities"] = {"stream": True}
    text = upsert(None, [forced])
    assert headline_rows(text) == []
    assert "| sentence |" in table_rows(text, "suite.latency")[0]
    default = make_result(stream_mode="none")
    default.details["capabilities"] = {"stream": False}
    assert len(headline_rows(upsert(None, [default]))) == 1


def test_a_users_own_test_file_gets_its_own_section_not_the_headline() -> None:
    text = upsert(None, [make_result(suite="my_bench")])
    assert headline_rows(text) == []
    assert len(table_rows(text, "suite.my_bench")) == 1
    assert "## Suite my_bench" in text


def test_the_new_doc_says_which_prompt_the_headline_compares() -> None:
    text = upsert(None, [make_result()])
    head = text.split("<!-- ttsbench:")[0]
    assert "latency suite on the `medium` prompt" in head


def test_each_section_has_the_columns_its_suite_measures() -> None:
    conc = make_result(suite="concurrency", prompt="short", params={"concurrency": 2})
    conc = replace(conc, load=LoadSummary(8, 0, 2.0, 6.0, 3.0, 1.8, False, 0.1, 0.4))
    cold = make_result(suite="cold_start", prompt="short", params={"process": "fresh"})
    runs = ColdStartRuns([0.05, 0.07], [0.4, 0.6], [1.1, 1.3], [1500.0, 1700.0], [3, 3])
    cold = replace(cold, cold_start=runs)
    cache = make_result(suite="caching", prompt="short", params={"check": "cache"})
    cache = replace(cache, cache_check=CacheCheck([0.5, 0.52], [0.2, 0.22], 2.4))
    leak = make_result(suite="memory", prompt="short", params={"check": "leak"})
    leak = replace(leak, rss_slope_mb=0.125)
    text = upsert(None, [conc, cold, cache, leak, make_result(suite="streaming")])
    headers = {
        "streaming": ["TTFA p50 (ms)", "Chunk gap p95 (ms)", "Stalls (max)", "Min prebuffer (ms)"],
        "concurrency": ["Throughput (audio s per s)", "Latency p50 (ms)", "Latency p95 (ms)"],
        "memory": ["Peak RSS (MB)", "RSS slope (MB per run)"],
        "cold_start": ["Spawn to first audio p50 (ms)", "Load in fresh process p50 (s)"],
        "caching": ["Repeated speedup (x)", "Caching"],
    }
    for suite, names in headers.items():
        header = next(ln for ln in block(text, f"suite.{suite}").splitlines() if ln.startswith("|"))
        assert all(f"| {name} |" in header for name in names), (suite, header)
        assert "| Prompt | Mode | Params |" in header
    assert "| 3.000 | 1.80 |" in table_rows(text, "suite.concurrency")[0]
    assert "| 1600 | 0.06 | 0.50 | 1.20 |" in table_rows(text, "suite.cold_start")[0]
    assert "| 2.40 | caches: repeated-prompt numbers overstate speed |" in text
    assert "| 0.125 |" in table_rows(text, "suite.memory")[0]


def test_section_history_keeps_working_per_key() -> None:
    text = upsert(None, [make_result(suite="streaming", params={"mode": "native"})])
    old = table_rows(text, "suite.streaming")[0]
    faster = make_result(suite="streaming", params={"mode": "native"}, latencies_ms=[100.0])
    text = upsert(text, [faster], when=LATER)
    assert table_rows(text, "history.streaming") == [old]
    assert "| 25.0 |" in table_rows(text, "suite.streaming")[0]
    assert "<!-- ttsbench:history:begin -->" not in text  # the headline had no change


# ---- task 2: a failed test never reads "pass" and never replaces a good row ----------------
def failed_run(
    suite: str = "latency", prompt: str = "medium", params: Mapping[str, object] | None = None
) -> BenchResult:
    result = make_result(
        prompt=prompt,
        suite=suite,
        params=params,
        latencies_ms=[],
        gates=[verdict("pass")],
        outcome="failed",
    )
    return replace(result, failure="engine crashed: CUDA out of memory")


def test_a_failed_test_never_shows_pass() -> None:
    text = upsert(None, [failed_run()])
    [row] = headline_rows(text)
    assert "pass" not in row
    assert "| FAILED: engine crashed: CUDA out of memory |" in row
    gated = make_result(gates=[verdict("pass")], outcome="failed")
    assert "pass (1/1)" not in upsert(None, [gated])
    assert "pass (1/1)" not in summary.terminal_table([gated])
    assert "FAILED" in summary.github_step_summary([failed_run()])


def test_a_failed_run_keeps_the_good_row_and_notes_the_failure_beside_it() -> None:
    good = upsert(None, [make_result()])
    [row] = headline_rows(good)
    text = upsert(good, [failed_run()], when=LATER)
    assert headline_rows(text) == [row]
    assert "<!-- ttsbench:history:begin -->" not in text  # nothing was replaced
    [note] = [ln for ln in block(text, "results").splitlines() if "FAILED" in ln]
    assert "kokoro · onnx · AMD EPYC 7763 (16 cores)" in note
    assert "2025-02-03" in note
    assert "engine crashed: CUDA out of memory" in note
    assert "n=0" in note
    # the same failure again changes nothing; a newer one replaces the note
    assert upsert(text, [failed_run()], when=LATER) == text
    newer = failed_run()
    newer = replace(newer, failure="hung for 600 s")
    again = upsert(text, [newer], when=LATER)
    assert [ln for ln in block(again, "results").splitlines() if "FAILED" in ln] == [
        note.replace("engine crashed: CUDA out of memory", "hung for 600 s")
    ]


def test_the_next_good_run_replaces_the_row_and_clears_the_note() -> None:
    text = upsert(upsert(None, [make_result()]), [failed_run()], when=LATER)
    fixed = upsert(text, [make_result(latencies_ms=[300.0])], when=LATER)
    assert "FAILED" not in block(fixed, "results")
    assert "| 300 |" in headline_rows(fixed)[0]
    assert len(table_rows(fixed, "history")) == 1  # the good old row, not the failure


def test_a_failed_row_where_there_was_none_is_replaced_without_history() -> None:
    text = upsert(None, [failed_run()])
    fixed = upsert(text, [make_result()], when=LATER)
    assert "FAILED" not in block(fixed, "results")
    assert "<!-- ttsbench:history:begin -->" not in fixed  # a failure's n/a are no history


def test_a_failed_run_in_a_section_keeps_its_good_row_too() -> None:
    params = {"check": "leak"}
    good = upsert(None, [make_result(suite="memory", prompt="short", params=params)])
    rows = table_rows(good, "suite.memory")
    bad = failed_run(suite="memory", prompt="short", params=params)
    text = upsert(good, [bad], when=LATER)
    assert table_rows(text, "suite.memory") == rows
    assert "check=leak**, last run 2025-02-03: FAILED" in block(text, "suite.memory")
