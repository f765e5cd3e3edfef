"""Defects of the Chatterbox ONNX adapter found by the upstream tier, each pinned here
against the stand-in sessions: the length cap, setup in load(), side files named,
the graph contract checked at load, ids past S3Gen's codebook dropped."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_ttsbench.engines.base import EngineError, SynthesisOptions, WeightsNotFound
from pytest_ttsbench.engines.chatterbox_onnx import (
    SILENCE,
    START_SPEECH,
    STOP_SPEECH,
    ChatterboxOnnxEngine,
    ChatterboxTurboOnnxEngine,
)

from .conftest import context
from .fakes import onnx_fake
from .fakes.onnx_fake import Recorder, make_onnxruntime, make_tokenizers
from .test_chatterbox_onnx import clip, export, original, turbo

if TYPE_CHECKING:
    from pathlib import Path

    from .conftest import Install

PROMPT = [7, 8]  # the stand-in speech encoder's audio_tokens


@pytest.fixture
def never_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    """Random weights: the language model never emits STOP_SPEECH."""
    monkeypatch.setattr(onnx_fake, "SCRIPT", [101, 102, 103, 104])


def decoded(rec: Recorder) -> list[int]:
    tokens: list[int] = rec.feeds["conditional_decoder"][-1]["speech_tokens"].tolist()[0]
    return tokens


def test_length_cap_is_the_token_limit(
    tmp_path: Path, turbo_ort: Recorder, never_stops: None
) -> None:
    assert ChatterboxOnnxEngine.capabilities.length_cap
    assert ChatterboxTurboOnnxEngine.capabilities.length_cap
    engine = ChatterboxTurboOnnxEngine(context(turbo(), export(tmp_path)))
    engine.load()
    engine.synthesize("Hi", SynthesisOptions(max_audio_s=0.2))  # 5 tokens at 25 a second
    assert len(turbo_ort.feeds["language_model"]) == 5
    assert decoded(turbo_ort) == [*PROMPT, 101, 102, 103, 104, 104, SILENCE, SILENCE, SILENCE]
    assert engine.stage_seconds()["t3_tokens"] == 5


def test_explicit_max_new_tokens_beats_the_cap(
    tmp_path: Path, ort: Recorder, never_stops: None
) -> None:
    engine = ChatterboxOnnxEngine(
        context(original(), export(tmp_path), options={"max_new_tokens": "3"})
    )
    engine.load()
    engine.synthesize("Hi", SynthesisOptions(max_audio_s=2.0))
    assert decoded(ort) == [*PROMPT, 101, 102, 103]
    again = ChatterboxOnnxEngine(context(original(), export(tmp_path)))
    again.load()
    again.synthesize("Hi", SynthesisOptions(max_audio_s=2.0, extra={"max_new_tokens": 1}))
    assert decoded(ort) == [*PROMPT, 101]


def test_no_cap_keeps_the_upstream_limit(tmp_path: Path, ort: Recorder, never_stops: None) -> None:
    engine = ChatterboxOnnxEngine(context(original(), export(tmp_path)))
    engine.load()
    engine.synthesize("Hi", SynthesisOptions())
    assert len(ort.feeds["language_model"]) == ChatterboxOnnxEngine.default_max_new_tokens


def test_one_time_setup_happens_in_load(tmp_path: Path, ort: Recorder) -> None:
    engine = ChatterboxOnnxEngine(context(original(), export(tmp_path)))
    engine.load()
    # the built-in voice went through the speech encoder at load, not in the first call
    assert len(ort.feeds["speech_encoder"]) == 1
    assert set(engine._io_cache) == {
        "speech_encoder",
        "embed_tokens",
        "language_model",
        "conditional_decoder",
    }
    engine.synthesize("Hi", SynthesisOptions())
    assert len(ort.feeds["speech_encoder"]) == 1
    assert "prepare_voice" not in engine.stage_seconds()


def test_reference_knob_is_encoded_at_load(tmp_path: Path, ort: Recorder) -> None:
    ref = clip(tmp_path / "ref.wav")
    folder = export(tmp_path / "w", voice=False)
    engine = ChatterboxOnnxEngine(
        context(original(), folder, options={"reference_audio": str(ref)})
    )
    engine.load()
    assert len(ort.feeds["speech_encoder"]) == 1
    engine.synthesize("Hi", SynthesisOptions())
    assert len(ort.feeds["speech_encoder"]) == 1
    missing = ChatterboxOnnxEngine(
        context(original(), folder, options={"reference_audio": str(tmp_path / "nope.wav")})
    )
    with pytest.raises(EngineError, match=r"reference_audio=.*nope\.wav.*an existing file"):
        missing.load()


def test_missing_tokenizer_is_named(tmp_path: Path, ort: Recorder) -> None:
    folder = export(tmp_path)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(EngineError, match=r"missing tokenizer\.json \(the text tokenizer\)") as err:
        ChatterboxOnnxEngine(context(original(), folder)).load()
    assert not isinstance(err.value, WeightsNotFound)


def test_missing_voice_is_named(tmp_path: Path, ort: Recorder) -> None:
    engine = ChatterboxOnnxEngine(context(original(), export(tmp_path, voice=False)))
    engine.load()  # a reference clip per call is still possible
    with pytest.raises(EngineError, match=r"missing default_voice\.wav \(the built-in voice\)"):
        engine.synthesize("Hi", SynthesisOptions())


def test_graph_contract_is_checked_at_load(
    tmp_path: Path, install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = onnx_fake._graph_io

    def no_mask(graph: str, original: bool, half: bool) -> tuple[list[Any], list[Any]]:
        inputs, outputs = real(graph, original, half)
        if graph == "language_model":
            inputs = [i for i in inputs if i.name != "attention_mask"]
        return inputs, outputs

    monkeypatch.setattr(onnx_fake, "_graph_io", no_mask)
    install(
        {
            "onnxruntime": make_onnxruntime(Recorder(), original=False),
            "tokenizers": make_tokenizers(),
        }
    )
    engine = ChatterboxTurboOnnxEngine(context(turbo(), export(tmp_path)))
    with pytest.raises(EngineError, match=r"onnx/language_model\.onnx lacks attention_mask"):
        engine.load()


def test_ids_past_the_codebook_are_not_decoded(
    tmp_path: Path, ort: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the LM head spans more ids (8194 in the original) than S3Gen's 6561-entry codebook
    monkeypatch.setattr(onnx_fake, "SCRIPT", [101, START_SPEECH, 102, STOP_SPEECH])
    engine = ChatterboxOnnxEngine(context(original(), export(tmp_path)))
    engine.load()
    engine.synthesize("Hi", SynthesisOptions())
    assert decoded(ort) == [*PROMPT, 101, 102]
