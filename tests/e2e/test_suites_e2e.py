"""The shipped suites, run on the synthetic engine whose behaviour we control: the
leak check catches a leaking engine, the cache check a caching one, the concurrency
suite a serializing one; soak is off by default; sweeps give one id per value."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

SUITES = Path(__file__).resolve().parents[2] / "suites"
FAST = [
    "--tts-model=synthetic",
    "-p",
    "no:benchmark",
    "-p",
    "no:xdist",
    "--no-tts-gates",
    "--tts-opt=first_ms=5",
    "--tts-opt=gap_ms=2",
    "--tts-opt=chunks=3",
]


@pytest.fixture
def suites(ttsb: pytest.Pytester) -> pytest.Pytester:
    """The repo's suites next to a conftest that registers the synthetic engine."""
    registration = (ttsb.path / "conftest.py").read_text()
    for path in SUITES.glob("*.py"):
        shutil.copy(path, ttsb.path / path.name)
    suite_conftest = (SUITES / "conftest.py").read_text()
    # the suite conftest first: its `from __future__` must open the file
    (ttsb.path / "conftest.py").write_text(suite_conftest + "\n" + registration)
    return ttsb


def results(p: pytest.Pytester) -> list[dict[str, Any]]:
    (path,) = sorted((p.path / ".ttsbench").glob("results-*.json"))
    data: list[dict[str, Any]] = json.loads(path.read_text())["results"]
    return data


def test_leak_check_catches_a_leaking_engine(
    suites: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTSBENCH_LEAK_ITERATIONS", "12")
    clean = suites.runpytest("test_memory.py", *FAST)
    clean.assert_outcomes(passed=2)
    leaky = suites.runpytest("test_memory.py", *FAST, "--tts-opt=leak_kb=4096")
    leaky.assert_outcomes(passed=1, failed=1)
    assert "RSS grows" in leaky.stdout.str()
    assert "MiB per synthesis" in leaky.stdout.str()


def test_cache_check_catches_a_caching_engine(suites: pytest.Pytester) -> None:
    slow = ["--tts-opt=first_ms=40", "--tts-opt=gap_ms=5"]
    honest = suites.runpytest("test_caching.py", *FAST, *slow)
    honest.assert_outcomes(passed=1)
    caching = suites.runpytest("test_caching.py", *FAST, *slow, "--tts-opt=cache=1")
    caching.assert_outcomes(failed=1)
    assert "the engine caches" in caching.stdout.str()


def test_concurrency_says_when_the_engine_serializes(suites: pytest.Pytester) -> None:
    slow = ["--tts-opt=first_ms=30", "--tts-opt=gap_ms=10", "-k", "concurrent_requests and 4"]
    serial = suites.runpytest("test_concurrency.py", *FAST, *slow)
    serial.assert_outcomes(passed=1)
    assert "requests did not run in parallel" in serial.stdout.str()
    (row,) = results(suites)
    assert row["details"]["load"]["serialized"] is True
    parallel = suites.runpytest(
        "test_concurrency.py", *FAST, *slow, "--tts-opt=serialize=0", "--tts-artifacts=par"
    )
    parallel.assert_outcomes(passed=1)
    assert "requests did not run in parallel" not in parallel.stdout.str()


def test_open_loop_latency_counts_from_the_schedule(suites: pytest.Pytester) -> None:
    result = suites.runpytest("test_concurrency.py", *FAST, "-k", "poisson and 0.9")
    result.assert_outcomes(passed=1)
    (row,) = results(suites)
    assert row["params"] == {"arrival": "poisson", "load": 0.9}
    trials = [t for t in row["trials"] if t["kind"] == "measured"]
    assert all(t["metrics"]["issue_lag_ms"] >= 0 for t in trials)


def test_cold_start_runs_in_fresh_processes(suites: pytest.Pytester) -> None:
    result = suites.runpytest("test_cold_start.py", *FAST, "--tts-opt=load_ms=200")
    result.assert_outcomes(passed=1)
    (row,) = results(suites)
    cold = row["details"]["cold_start"]
    assert len(cold["load_s"]) == 2
    # at least the engine's busy-waited 200 ms; no upper bound: a busy machine may take long
    assert all(s > 0.19 for s in cold["load_s"])
    assert all(ms > 5 for ms in cold["spawn_to_first_audio_ms"])


def test_soak_is_off_unless_asked_for(
    suites: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = suites.runpytest("test_soak.py", *FAST)
    assert default.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert "0 selected" in default.stdout.str()
    monkeypatch.setenv("TTSBENCH_SOAK_ITERATIONS", "20")
    soak = suites.runpytest("test_soak.py", *FAST, "-m", "soak")
    # it ran, all 20 iterations: whether the latency held steady is the machine's
    # business (a busy one drifts), so a drift failure is an outcome, not an error
    outcomes = soak.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("failed", 0) == 1, outcomes
    if outcomes.get("failed"):
        soak.stdout.fnmatch_lines(["*latency drifted*", "*"])
    (row,) = results(suites)
    assert row["summaries"]["latency_ms"]["n"] == 20


def test_sweeps_give_one_id_and_row_per_value(suites: pytest.Pytester) -> None:
    marked = suites.runpytest("test_sweeps.py", *FAST, "-v")
    marked.assert_outcomes(passed=3)
    for value in ("0.8", "1.0", "1.25"):
        assert f"test_sweep[synthetic-sim-cpu-short-speed={value}]" in marked.stdout.str()
    cli = suites.runpytest(
        "test_sweeps.py", *FAST, "-v", "--tts-sweep=chunks=2,4", "--tts-artifacts=cli"
    )
    cli.assert_outcomes(passed=2)
    assert "test_sweep[synthetic-sim-cpu-short-chunks=4]" in cli.stdout.str()
    (path,) = sorted((suites.path / "cli").glob("results-*.json"))
    rows = json.loads(path.read_text())["results"]
    assert sorted(r["params"]["chunks"] for r in rows) == [2, 4]
    assert sorted(max(t["metrics"]["chunks"] for t in r["trials"]) for r in rows) == [2, 4]


def test_every_suite_runs_on_the_synthetic_engine(
    suites: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TTSBENCH_LEAK_ITERATIONS", "8")
    result = suites.runpytest(*FAST, "--tts-trials=2", "--tts-prompts=short")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, result.stdout.str()
    assert outcomes["passed"] >= 15


def _measured(row: dict[str, Any], kind: str = "measured") -> int:
    return sum(t["kind"] == kind for t in row["trials"])


def test_caching_runs_the_prompt_and_count_asked_for(suites: pytest.Pytester) -> None:
    asked = suites.runpytest(
        "test_caching.py", *FAST, "--tts-prompts=ultra-short", "--tts-trials=5"
    )
    asked.assert_outcomes(passed=1)
    (row,) = results(suites)
    assert row["prompt"] == "ultra-short"
    assert (_measured(row), _measured(row, "unique")) == (5, 5)
    # 2 + 2 could never reach p < 0.05: a skip that says so, not a check that cannot fail
    few = suites.runpytest(
        "test_caching.py", *FAST, "--tts-prompts=ultra-short", "--tts-trials=2", "-rs"
    )
    few.assert_outcomes(skipped=1)
    few.stdout.fnmatch_lines(["*--tts-trials=2: 2 repeats + 2 unique texts cannot reach*needs 4*"])


def test_every_suite_runs_the_prompt_and_count_asked_for(suites: pytest.Pytester) -> None:
    """--tts-prompts and --tts-trials reach every shipped suite: each row ran the preset
    asked for, as many measured trials (requests, fresh processes, repeats) as asked;
    the leak check and the soak, whose statistics need more, skip and say so."""
    result = suites.runpytest(
        *FAST, "--tts-prompts=ultra-short", "--tts-trials=4", "-m", "soak or not soak", "-rs"
    )
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed", 0) == 0, result.stdout.str()
    result.stdout.fnmatch_lines_random(
        [
            "*test_memory.py*--tts-trials=4: 4 syntheses; the leak check fits a slope over at "
            "least 10*",
            "*test_soak.py*--tts-trials=4: 4 syntheses; the soak compares*",
        ]
    )
    rows = results(suites)
    assert {r["suite"] for r in rows} == {
        "caching",
        "cold_start",
        "concurrency",
        "fidelity",
        "latency",
        "memory",
        "quality",
        "streaming",
        "sweeps",
    }
    for row in rows:
        if row["suite"] == "fidelity":  # its own prompt set (8), the trials asked for each
            assert row["prompt"] == "fidelity", row["test"]
            assert _measured(row) == 4 * 8, row["test"]
            continue
        assert row["prompt"] == "ultra-short", row["test"]
        # the rate ladder runs the count asked for on each of its rungs
        rungs = len(row["details"].get("rate_ladder", {}).get("rungs", [None]))
        assert _measured(row) == 4 * rungs, row["test"]
