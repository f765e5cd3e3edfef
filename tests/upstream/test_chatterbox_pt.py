"""Upstream tier, Chatterbox and Chatterbox-Turbo on PyTorch: chatterbox-tts 0.1.7 with
full-size random-init weights built by its own classes (tests/upstream/builders/
chatterbox_pt.py), through the shipped latency and streaming suites on ultra-short
prompts. Needs its own environment (torch 2.9.1 + torchaudio 2.9.1, chatterbox-tts with
--no-deps: tox -e upstream-chatterbox-pt, docs/CHATTERBOX_GUIDE.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.upstream.builders.chatterbox_onnx import voice_wav
from tests.upstream.builders.chatterbox_pt import VOICE_SECONDS, build_chatterbox_pt
from tests.upstream.support import (
    assert_suites_ran,
    measured,
    offline_env,
    run_suites,
    sweep_tuning,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.upstream.support import SuiteRun

pytestmark = pytest.mark.upstream

CAP_S = 2.0  # the harness's length cap for random weights (they never emit the stop token)
RATE = 24000
TOKENS_PER_S = 25
STAGES = ("t3", "s3gen", "watermark")
P = "ultra-short"  # one short sentence: each call costs seconds on the CPU


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("chatterbox.tts")
    return build_chatterbox_pt(tmp_path_factory.mktemp("chatterbox-pt"))


@pytest.fixture(scope="module")
def turbo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("chatterbox.tts_turbo")
    return build_chatterbox_pt(tmp_path_factory.mktemp("chatterbox-turbo-pt"), turbo=True)


def _trials(run: SuiteRun) -> list[dict[str, Any]]:
    return [t for r in run.results for t in r["trials"] if not t.get("error")]


def assert_stage_split(run: SuiteRun, max_t3_tokens: int) -> None:
    """Every trial's stages, stamped inside the upstream's generate(), lie within the
    harness's own stamps of that call and cover most of it; T3's token count (the
    upstream's own output) respects the cap; the audio fits the cap."""
    trials = _trials(run)
    assert trials, run.output[-3000:]
    for trial in trials:
        stages = trial["stages"]
        assert all(stages.get(name, 0) > 0 for name in STAGES), stages
        timed = sum(v for k, v in stages.items() if k in (*STAGES, "prepare_voice", "tune"))
        call_s = trial["chunk_ns"][-1] / 1e9  # t0 to the last chunk's handover
        assert timed <= call_s, (stages, call_s)
        assert timed >= 0.5 * call_s, (stages, call_s)  # generate() is little else
        assert 1 <= stages["t3_tokens"] <= max_t3_tokens, stages
        assert sum(trial["chunk_samples"]) <= CAP_S * RATE, trial["chunk_samples"]


def test_chatterbox_pt_suites(original: Path, tmp_path: Path, hf_home: Path) -> None:
    env = offline_env(hf_home, tmp_path / "ttsbench-cache")
    run = run_suites(tmp_path / "project", "chatterbox-pt", original, env, prompts=P)
    assert_suites_ran(run, "chatterbox-pt")
    assert_stage_split(run, max_t3_tokens=int(CAP_S * TOKENS_PER_S))
    for result in run.results:
        details = result["details"]["engine"]
        assert details["t3_max_new_tokens"] == CAP_S * TOKENS_PER_S, details
        assert details["dtype"] == "float32", details
    print("\n".join(measured(run)))


def test_chatterbox_turbo_pt_suites(turbo: Path, tmp_path: Path, hf_home: Path) -> None:
    """With a reference clip: the voice is prepared once, on the first call, and shows
    in that call's stages as ``prepare_voice``; no later call pays for it."""
    clip = tmp_path / "voice.wav"
    voice_wav(clip, seconds=VOICE_SECONDS + 0.5)
    env = offline_env(hf_home, tmp_path / "ttsbench-cache")
    run = run_suites(
        tmp_path / "project",
        "chatterbox-turbo-pt",
        turbo,
        env,
        "--tts-opt",
        f"reference_audio={clip}",
        prompts=P,
    )
    assert_suites_ran(run, "chatterbox-turbo-pt")
    # one token before inference_turbo's loop and 3 of silence after it fit in the cap
    assert_stage_split(run, max_t3_tokens=int(CAP_S * TOKENS_PER_S) - 3)
    prepared = [t for t in _trials(run) if "prepare_voice" in t["stages"]]
    assert len(prepared) == 1, [t["stages"] for t in _trials(run)]
    assert prepared[0]["kind"] == "cold", prepared
    for result in run.results:
        assert result["details"]["engine"]["t3_max_new_tokens"] == CAP_S * TOKENS_PER_S - 4
    print("\n".join(measured(run)))


def test_chatterbox_turbo_pt_dtype_and_compile_sweep(
    turbo: Path, tmp_path: Path, hf_home: Path
) -> None:
    """The dtype x compile grid (inductor) on one loaded Turbo: each point passes, runs
    with its own dtype and compile, and pays the switch and the compilation in a warm-up,
    never in a measured trial. A fixed seed keeps every call's token count, so a warm
    call meets the shapes it was compiled for."""
    env = offline_env(hf_home, tmp_path / "ttsbench-cache")
    project = tmp_path / "project"
    sweep_tuning(project, "chatterbox-turbo-pt", turbo, env, "--tts-opt", "seed=0", prompts=P)
