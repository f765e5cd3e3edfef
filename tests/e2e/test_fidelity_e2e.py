"""The fidelity suite end to end on the synthetic engine (deterministic, so spectral
distances apply): its shipped streaming comparisons, a reference named on the command
line (a knob, another variant loaded beside the test's own), gates judged from the
paired interval, the results doc's section, bad references, and xdist."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

SUITE = Path(__file__).resolve().parents[2] / "suites" / "test_fidelity.py"
FAST = [
    "test_fidelity.py",
    "--tts-model=synthetic",
    "-p",
    "no:benchmark",
    "--tts-opt=first_ms=2",
    "--tts-opt=gap_ms=1",
    "--tts-opt=chunks=2",
    "-rs",
]


@pytest.fixture
def fidelity(ttsb: pytest.Pytester) -> pytest.Pytester:
    """The shipped suite beside the suites' conftest and the synthetic engine."""
    shutil.copy(SUITE, ttsb.path / SUITE.name)
    registration = (ttsb.path / "conftest.py").read_text()
    suite_conftest = (SUITE.parent / "conftest.py").read_text()
    (ttsb.path / "conftest.py").write_text(suite_conftest + "\n" + registration)
    return ttsb


def _rows(p: pytest.Pytester) -> dict[str, dict[str, Any]]:
    (path,) = sorted((p.path / ".ttsbench").glob("results-*.json"))
    rows = json.loads(path.read_text())["results"]
    return {row["test"].split("::")[-1]: row for row in rows}


def _found(row: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = row["details"]["fidelity"]
    return found


def test_shipped_comparisons_run_and_a_named_reference_is_asked_for(
    fidelity: pytest.Pytester,
) -> None:
    result = fidelity.runpytest(*FAST, "-p", "no:xdist")
    result.assert_outcomes(passed=3, skipped=1)
    result.stdout.fnmatch_lines(["*no reference configuration named: pass --tts-reference*"])
    rows = _rows(fidelity)
    native = _found(rows["test_streaming_fidelity[synthetic-sim-cpu-native]"])
    assert native["reference"] == "mode=none"
    assert native["candidate"] == "mode=native"
    assert native["reference_target"] == "synthetic-sim-cpu"
    assert native["prompts"] == len(native["pairs"]) == 8
    # the synthetic engine's audio does not depend on how it is streamed
    assert native["log_mel_l1"] == 0.0
    assert native["dtw_penalty"] == 0.0
    assert native["duration_ratio"] == pytest.approx(1.0)
    assert native["state"] == "unchecked"  # the e2e conftest turns the ASR off
    chunk = _found(rows["test_chunk_fidelity[synthetic-sim-cpu]"])
    assert chunk["reference"].startswith("chunks=")


def test_a_knob_against_its_reference_moves_the_audio_and_is_gated_on_its_interval(
    fidelity: pytest.Pytester,
) -> None:
    fidelity.makefile(
        ".toml",
        gates="""
        [[gates]]
        suite = "fidelity"
        bounds = ["duration_ratio in [0.95, 1.05]"]
        """,
    )
    args = [*FAST, "-k", "test_fidelity[", "--tts-reference", "speed=1.0"]
    result = fidelity.runpytest(*args, "--tts-sweep", "speed=1.25", "--tts-gates=gates.toml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*duration_ratio = 0.8, no part of its 95% CI*is in*0.95, 1.05*"])
    (row,) = _rows(fidelity).values()
    found = _found(row)
    assert found["reference"] == "speed=1.0"
    assert found["duration_ratio"] == pytest.approx(0.8, rel=0.02)
    assert found["duration_ratio_low"] <= found["duration_ratio"] <= found["duration_ratio_high"]
    # the same steady tone, shorter: frame by frame the spectrum is the same; only the
    # DTW penalty shows the tempo change (1 - 1/1.25 = 0.2 at least)
    assert found["log_mel_l1"] < 1e-6
    assert found["dtw_penalty"] >= 0.19
    assert row["params"] == {"speed": 1.25, "reference": "speed=1.0"}
    # the same speed as the reference: the margin is met
    same = fidelity.runpytest(*args, "--tts-sweep", "speed=1.0", "--tts-gates=gates.toml")
    same.assert_outcomes(passed=1)


def test_another_variant_is_loaded_beside_the_test_engine_as_the_reference(
    fidelity: pytest.Pytester,
) -> None:
    result = fidelity.runpytest(*FAST, "-k", "test_fidelity[", "--tts-reference", "variant=slow")
    result.assert_outcomes(passed=1)
    (row,) = _rows(fidelity).values()
    found = _found(row)
    assert found["reference"] == "variant=slow"
    assert found["reference_target"] == "synthetic-sim-cpu-slow"
    assert found["log_mel_l1"] == 0.0  # "slow" changes the timing, never the audio
    assert row["target"]["variant"] == "default"
    missing = fidelity.runpytest(*FAST, "-k", "test_fidelity[", "--tts-reference", "variant=fp8")
    missing.assert_outcomes(skipped=1)
    missing.stdout.fnmatch_lines(
        ["*the reference cannot run: synthetic-sim-cpu-fp8: no variant 'fp8' (valid: default*"]
    )


def test_a_bad_reference_is_a_usage_error(fidelity: pytest.Pytester) -> None:
    result = fidelity.runpytest(*FAST, "--tts-reference", "mode=fast")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*--tts-reference: mode='fast' is not one of native, sentence, none*"]
    )


def test_the_results_doc_gets_a_fidelity_section(fidelity: pytest.Pytester) -> None:
    args = [*FAST, "-p", "no:xdist", "--tts-reference", "speed=1.0", "--tts-sweep", "speed=0.8"]
    result = fidelity.runpytest(*args, "--update-results-doc", "-k", "test_fidelity[")
    result.assert_outcomes(passed=1)
    doc = (fidelity.path / "docs" / "BENCHMARK_RESULTS.md").read_text()
    assert "Fidelity against a reference" in doc
    assert "Duration ratio [95% CI]" in doc
    assert "reference=speed=1.0" in doc
    assert "CER delta [95% CI]" in doc
    assert "unchecked" in doc  # no ASR: the CER cells say so


def test_the_suite_runs_under_xdist(fidelity: pytest.Pytester) -> None:
    result = fidelity.runpytest(*FAST, "-n", "2")
    result.assert_outcomes(passed=3, skipped=1)
