"""Goodput and the rate ladder end to end: the synthetic engine serving one request at a
time (serialize=1) falls behind as the rate climbs, so the ladder finds the highest rate
that holds and flags the cliff past it; a served engine that answers every third request
with HTTP 500 has those requests counted as misses. Counts and structure only: never a
wall-clock bound (the machine is shared)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_ttsbench.serving.serve import ServerThread
from tests.serving_support import FAULTS

SUITES = Path(__file__).resolve().parents[2] / "suites"
PLAIN = ["-p", "no:benchmark", "-p", "no:xdist", "--no-tts-gates", "--tts-intelligibility=off"]
# one request at a time, 120 ms each, first audio at 40 ms
SERIAL = [
    "--tts-model=synthetic",
    "--tts-opt=serialize=1",
    "--tts-opt=first_ms=40",
    "--tts-opt=gap_ms=40",
    "--tts-opt=chunks=3",
    "--tts-warmup=0",
]
# a tenth and a fifth of the solo rate hold; four times it queues ~90 ms more per request
LADDER_TEST = """
def test_ladder(tts_bench):
    tts_bench.rate_ladder("short", factors=(0.1, 0.2, 4.0), requests=10, target=0.9)
"""
LOAD_TEST = """
def test_load(tts_bench):
    tts_bench.concurrent("short", concurrency=2, requests=9)
"""


def _rows(p: pytest.Pytester) -> list[dict[str, Any]]:
    (path,) = sorted((p.path / ".ttsbench").glob("results-*.json"))
    data: list[dict[str, Any]] = json.loads(path.read_text())["results"]
    return data


def test_the_ladder_finds_the_best_rate_and_the_cliff(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(test_ladder=LADDER_TEST)
    result = ttsb.runpytest(*PLAIN, *SERIAL, "--tts-slo=ttfa_ms=300")
    result.assert_outcomes(passed=1)
    (row,) = _rows(ttsb)
    ladder = row["details"]["rate_ladder"]
    rungs = ladder["rungs"]
    assert [r["load_factor"] for r in rungs] == [0.1, 0.2, 4.0]
    assert all(r["requests"] == 10 and r["errors"] == 0 for r in rungs)
    assert ladder["slo"] == {"ttfa_ms": 300.0}
    assert ladder["best_factor"] in (0.1, 0.2)
    assert ladder["best_rate_hz"] == next(
        r["rate_hz"] for r in rungs if r["load_factor"] == ladder["best_factor"]
    )
    assert rungs[2]["goodput"] < 0.6  # the queue grows ~90 ms per request at 4x
    assert (ladder["cliff"], ladder["cliff_factor"]) == (True, 4.0)
    assert row["params"] == {"arrival": "poisson", "ladder": 3}
    assert sum(t["kind"] == "measured" for t in row["trials"]) == 30


def test_the_suite_ladder_reports_every_rung(ttsb: pytest.Pytester) -> None:
    registration = (ttsb.path / "conftest.py").read_text()
    shutil.copy(SUITES / "test_concurrency.py", ttsb.path / "test_concurrency.py")
    suite_conftest = (SUITES / "conftest.py").read_text()
    (ttsb.path / "conftest.py").write_text(suite_conftest + "\n" + registration)
    result = ttsb.runpytest(
        "test_concurrency.py", *PLAIN, *SERIAL, "--tts-slo=ttfa_ms=300", "-k", "rate_ladder"
    )
    result.assert_outcomes(passed=1)
    (row,) = _rows(ttsb)
    assert row["test"].endswith("test_rate_ladder[synthetic-sim-cpu-short]")
    ladder = row["details"]["rate_ladder"]
    rungs = ladder["rungs"]
    factors = [r["load_factor"] for r in rungs]
    assert factors == [0.25, 0.5, 0.75, 1.0, 1.5, 2.0][: len(rungs)]
    assert len(rungs) == 6 or "stopped" in ladder  # only a collapse ends the climb early
    assert all(r["requests"] == 8 and r["good"] <= 8 for r in rungs)
    assert ladder["target"] == 0.9
    print("rate ladder (synthetic, serialize=1, --tts-slo=ttfa_ms=300):")
    for r in rungs:
        print(
            f"  load {r['load_factor']:<5} {r['rate_hz']:6.2f} req/s  goodput {r['goodput']:.2f}"
            f"  TTFA p50 {r.get('ttfa_p50_ms', 0):7.1f} ms  p95 {r.get('ttfa_p95_ms', 0):7.1f} ms"
        )
    print(
        f"  best {ladder.get('best_rate_hz')} req/s (load {ladder.get('best_factor')}), "
        f"cliff {ladder['cliff']} at load {ladder.get('cliff_factor')}"
    )


def test_a_served_engine_errors_count_against_goodput(ttsb: pytest.Pytester) -> None:
    """Every third request fails with HTTP 500: of 9 requests in a row, exactly 3."""
    ttsb.makepyfile(test_load=LOAD_TEST)
    with ServerThread(FAULTS["flaky"]()) as server:
        result = ttsb.runpytest(
            *PLAIN,
            "--tts-trial-timeout=20",
            "--tts-warmup=0",
            f"--tts-server={server.url}",
            "--tts-model=server",
        )
    result.assert_outcomes(failed=1)  # the failed requests are invalid trials
    (row,) = _rows(ttsb)
    load = row["details"]["load"]
    assert (load["requests"], load["errors"]) == (9, 3)
    assert load["good"] <= 6
    assert load["goodput"] == pytest.approx(load["good"] / 9)
    assert load["goodput"] <= 2 / 3
    assert load["slo"] == {"ttfa_ms": 1000.0}
    failed = [t for t in row["trials"] if t["kind"] == "measured" and t.get("error")]
    assert len(failed) == 3
    assert all("HTTP 500" in t["error"] for t in failed)
