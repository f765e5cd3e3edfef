"""The ASR round trip of a run (measure/scoring.py) with a stand-in scorer: which trials
are scored, which become invalid, random weights scored but never judged, languages
skipped, the reasons a result was not checked, and how every output shows it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from pytest_ttsbench.measure import scoring
from pytest_ttsbench.measure.intelligibility import MAX_CER, Score
from pytest_ttsbench.report import columns as col
from pytest_ttsbench.report import sections, summary, transcripts
from pytest_ttsbench.report import table as tb
from pytest_ttsbench.results import metrics
from pytest_ttsbench.results.details import (
    NOT_JUDGED,
    SCORED,
    SKIPPED,
    UNCHECKED,
    Heard,
    Intelligibility,
)
from pytest_ttsbench.results.measurement import Measurement
from pytest_ttsbench.results.model import BenchResult, Trial
from tests.unit.result_support import make_result

if TYPE_CHECKING:
    from pathlib import Path

TEXT = "Thanks for calling. How can I help you today?"


@dataclass
class StandIn:
    """A scorer that hears what it is told: a clip's first sample picks its score."""

    heard: dict[float, tuple[str, float]]  # first sample -> (transcript, cer)
    info: dict[str, str] = field(default_factory=lambda: {"asr_model": "stand-in"})
    asr_seconds: float = 0.0
    asr_cpu_seconds: float = 0.0
    clips: int = 0
    cache_hits: int = 0
    calls: list[tuple[int, int]] = field(default_factory=list)  # (samples, rate)

    def score(self, audio: Any, sample_rate: int, text: str) -> Score:
        self.calls.append((len(audio), sample_rate))
        self.asr_seconds += 1.5
        self.asr_cpu_seconds += 1.25
        self.clips += 1
        transcript, cer = self.heard[float(audio[0])]
        return Score(transcript, cer, cer * 2)


def trial(index: int, kind: str = "measured", **kw: Any) -> Trial:
    return Trial(index, kind, 0, [1_000_000], [100], 24_000, metrics={"rtf": 0.1}, **kw)


def clip(first: float) -> Any:
    return np.full(100, first, dtype=np.float32)


def run_of(*trials: Trial, clips: dict[int, float]) -> Measurement:
    return Measurement(trials=list(trials), clips={i: clip(v) for i, v in clips.items()})


GOOD, BAD = 0.5, 0.25
SAYS = {GOOD: (TEXT, 0.0), BAD: ("the weather is nice", 0.83)}


def test_scores_the_valid_measured_trials_and_a_clip_that_does_not_say_its_prompt_is_invalid() -> (
    None
):
    run = run_of(
        trial(0, "cold"),
        trial(0, "warmup"),
        trial(0),
        trial(1),
        trial(2, problems=["silent"]),
        trial(3, error="boom"),
        clips={0: GOOD, 1: BAD, 2: GOOD},
    )
    scorer = StandIn(SAYS)
    checked = scoring.score_run(run, TEXT, "en", scorer)
    assert len(scorer.calls) == 2  # measured 0 and 1; cold, warm-up and invalid ones not
    cold, warm, good, bad, silent, _failed = run.trials
    assert "cer" not in cold.metrics
    assert "cer" not in warm.metrics
    assert good.metrics["cer"] == 0.0
    assert good.metrics["wer"] == 0.0
    assert good.valid
    assert bad.metrics["cer"] == 0.83
    assert bad.metrics["wer"] == 1.66
    assert bad.problems == [
        f"the audio does not say its prompt: CER 0.83 > {MAX_CER:g} (heard: 'the weather is nice')"
    ]
    assert not bad.valid
    assert "cer" not in silent.metrics
    assert silent.problems == ["silent"]
    assert checked.state == SCORED
    assert checked.checked
    assert not checked.unchecked
    assert checked.reason is None
    assert checked.text == TEXT
    assert checked.heard == [Heard(0, TEXT), Heard(1, "the weather is nice")]
    assert (checked.asr_s, checked.asr_cpu_s, checked.clips) == (3.0, 2.5, 2)
    assert checked.asr == {"asr_model": "stand-in"}


def test_the_invalid_trial_stays_out_of_the_statistics() -> None:
    run = run_of(trial(0), trial(1), trial(2), clips={0: GOOD, 1: BAD, 2: GOOD})
    checked = scoring.score_run(run, TEXT, "en", StandIn(SAYS))
    header = make_result(prompt="short")
    result = header.measured_by(replace(run), intelligibility=checked)
    assert [t.valid for t in result.measured] == [True, False, True]
    assert result.n == 2
    assert result.metric("cer.p50") == 0.0
    assert result.metric("cer") == 0.0  # a bare name reads its p50
    assert result.metric("wer.max") == 0.0


def test_the_cost_of_this_run_only_and_a_long_transcript_is_cut() -> None:
    scorer = StandIn({GOOD: ("la " * 100, 0.9)}, asr_seconds=10.0, clips=4, cache_hits=3)
    run = run_of(trial(0), clips={0: GOOD})
    checked = scoring.score_run(run, TEXT, "en", scorer)
    assert (checked.asr_s, checked.clips, checked.reused) == (1.5, 1, 0)
    (problem,) = run.trials[0].problems
    assert problem.endswith("la la...')")
    assert len(problem) < 130


def test_random_weights_are_scored_never_judged() -> None:
    run = run_of(trial(0), trial(1), clips={0: BAD, 1: BAD})
    checked = scoring.score_run(run, TEXT, "en", StandIn(SAYS), random_weights=True)
    assert all(t.valid for t in run.trials)
    assert [t.metrics["cer"] for t in run.trials] == [0.83, 0.83]
    assert checked.state == NOT_JUDGED
    assert checked.checked
    assert checked.reason == scoring.RANDOM_WEIGHTS_REASON


def test_a_language_the_asr_cannot_score_is_skipped_with_its_reason() -> None:
    scorer = StandIn(SAYS)
    run = run_of(trial(0), clips={0: BAD})
    checked = scoring.score_run(run, "こんにちは", "ja", scorer)
    assert scorer.calls == []
    assert run.trials[0].valid
    assert "cer" not in run.trials[0].metrics
    assert checked.state == SKIPPED
    assert not checked.checked
    assert not checked.unchecked
    assert checked.reason is not None
    assert "English prompts only" in checked.reason
    assert scoring.note(checked) == f"intelligibility not checked: {checked.reason}"
    assert scoring.note(replace(checked, state=SCORED)) is None


@pytest.mark.parametrize(
    ("mode", "missing", "language", "state", "reason"),
    [
        ("off", None, "en", UNCHECKED, "--tts-intelligibility=off"),
        ("off", "jiwer not installed", "en", UNCHECKED, "--tts-intelligibility=off"),
        ("auto", "jiwer not installed", "en", UNCHECKED, "jiwer not installed"),
        ("auto", None, "ja", SKIPPED, "English prompts only"),
        ("auto", None, "en-GB", None, None),
        ("require", None, "en", None, None),
    ],
)
def test_whether_a_result_is_scored(
    mode: str, missing: str | None, language: str, state: str | None, reason: str | None
) -> None:
    found = scoring.unscored(mode, missing, language)
    if state is None:
        assert found is None
    else:
        assert found is not None
        assert found.state == state
        assert reason is not None
        assert found.reason is not None
        assert reason in found.reason


def test_the_session_says_once_it_did_not_check_and_what_the_asr_cost() -> None:
    missing = Intelligibility(UNCHECKED, reason="jiwer not installed (pip install x)")
    assert scoring.session_lines([missing, missing]) == [
        (
            "intelligibility not checked for 2 result(s): jiwer not installed (pip install "
            "x); no trial was judged on whether its audio says its prompt",
            True,
        )
    ]
    off = Intelligibility(UNCHECKED, reason=scoring.OFF)
    ((line, warns),) = scoring.session_lines([off])
    assert "(--tts-intelligibility=auto checks it)" in line
    assert warns
    a = Intelligibility(SCORED, asr_s=3.0, asr_cpu_s=2.0, clips=2, reused=3)
    b = Intelligibility(NOT_JUDGED, asr_s=1.0, asr_cpu_s=1.0, clips=2, reused=1)
    skipped = Intelligibility(SKIPPED, reason="ja")
    ((line, warns),) = scoring.session_lines([a, b, skipped])
    assert not warns
    assert line.startswith("intelligibility: ASR (Whisper tiny.en")
    assert "4 clips transcribed in 4.0 s (1.00 s/clip, 3.0 CPU-s), 4 identical clips reused" in (
        line
    )
    assert scoring.session_lines([]) == []


# ---- how the outputs show it ----------------------------------------------------------------
def scored_result(**fields: Any) -> BenchResult:
    return make_result({"cer": [0.0, 0.02, 0.01], "wer": [0.0, 0.1, 0.0]}, **fields)


def test_the_registry_declares_cer_and_wer_once_for_every_output() -> None:
    for name in ("cer", "wer"):
        m = metrics.BY_NAME[name]
        assert (m.kind, m.better, m.unit, m.timing, m.gateable) == (
            "series",
            "lower",
            "",
            False,
            True,
        )
        assert f"{name}.p50" in metrics.flat_names("junit")
        assert f"{name}.p50" in metrics.flat_names("extra_info")
    (cer_column,) = metrics.BY_NAME["cer"].columns
    assert cer_column.header == "CER p50"
    assert cer_column.fmt == "3"
    assert set(cer_column.sections) == {
        "headline",
        "latency",
        "streaming",
        "sweeps",
        "quality",
    }
    assert "cer_p50" in sections.HEADLINE.columns
    assert any(c.header == "CER p50" for _, c in metrics.terminal_columns())


def test_cells_read_the_cer_unchecked_or_n_a() -> None:
    cell = col.BY_ID["cer_p50"].value
    entry = summary_entry(scored_result())
    assert cell(entry) == "0.010"
    off = Intelligibility(UNCHECKED, reason=scoring.OFF)
    unchecked = make_result(intelligibility=off)
    assert cell(summary_entry(unchecked)) == "unchecked"
    assert unchecked.shown("cer.p50", "3") == "unchecked"
    assert unchecked.shown("ttfa_ms.p50", "ms") == "n/a"  # other metrics are not unchecked
    skipped = make_result(intelligibility=Intelligibility(SKIPPED, reason="ja"))
    assert cell(summary_entry(skipped)) == "n/a"
    assert cell(summary_entry(make_result())) == "n/a"  # results from before the check
    table = summary.terminal_table([unchecked])
    assert "CER p50" in table
    assert "unchecked" in table


def summary_entry(result: BenchResult) -> tb.Entry:
    return tb.Entry(result=result, date="2026-12-02", plugin_version="0")


def test_the_check_rides_in_the_results_json_and_old_files_read_unchanged() -> None:
    check = Intelligibility(
        SCORED, text=TEXT, heard=[Heard(0, TEXT)], asr={"asr_model": "m"}, asr_s=1.5, clips=1
    )
    result = scored_result(intelligibility=check)
    data = json.loads(json.dumps(result.as_dict()))
    assert data["details"]["intelligibility"]["state"] == SCORED
    assert data["details"]["intelligibility"]["heard"] == [{"trial": 0, "text": TEXT}]
    assert "reason" not in data["details"]["intelligibility"]
    back = BenchResult.from_dict(data)
    assert back.intelligibility == check
    assert "intelligibility" not in back.details
    old = scored_result().as_dict()
    assert "intelligibility" not in old["details"]
    assert BenchResult.from_dict(old).intelligibility is None


def test_transcripts_are_written_beside_the_results(tmp_path: Path) -> None:
    check = Intelligibility(
        SCORED, text=TEXT, heard=[Heard(0, TEXT), Heard(2, "hello")], asr_s=1.0, clips=2
    )
    result = scored_result(intelligibility=check)
    text = transcripts.transcripts_jsonl([result, make_result()])
    rows = [json.loads(line) for line in text.splitlines()]
    assert [(r["trial"], r["heard"], r["cer"], r["valid"]) for r in rows] == [
        (0, TEXT, 0.0, True),
        (2, "hello", 0.01, True),
    ]
    assert rows[0]["text"] == TEXT
    assert rows[0]["target"] == "kokoro-onnx-cpu"
    written: list[tuple[str, Path, str]] = []

    def write(label: str, path: Path, body: str) -> bool:
        written.append((label, path, body))
        return True

    transcripts.write(write, tmp_path, "results-20261202T000000Z-box.json", [result])
    ((label, path, body),) = written
    assert label == "transcripts"
    assert body == text
    assert path == tmp_path / "transcripts-20261202T000000Z-box.jsonl"
    transcripts.write(write, tmp_path, "results-x.json", [make_result()])
    assert len(written) == 1  # nothing scored: no file
