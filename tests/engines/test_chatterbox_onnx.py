"""Contract tests of the Chatterbox / Chatterbox-Turbo ONNX loop against stand-in sessions."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from scipy.io import wavfile

from pytest_ttsbench.engines.base import EngineError, SynthesisOptions, WeightsNotFound
from pytest_ttsbench.engines.chatterbox_onnx import (
    SILENCE,
    ChatterboxOnnxEngine,
    ChatterboxTurboOnnxEngine,
)
from pytest_ttsbench.results.target import Target

from .conftest import Install, assert_host_audio, context, make_files, query
from .fakes.onnx_fake import LAYERS, Recorder, make_onnxruntime, make_tokenizers

if TYPE_CHECKING:
    from pathlib import Path

GRAPHS = ("speech_encoder", "embed_tokens", "language_model", "conditional_decoder")


def export(folder: Path, suffix: str = "", voice: bool = True) -> Path:
    names = ["tokenizer.json", *(f"onnx/{g}{suffix}.onnx" for g in GRAPHS)]
    names += [f"onnx/{g}{suffix}.onnx_data" for g in GRAPHS]
    make_files(folder, names)
    if voice:
        clip(folder / "default_voice.wav")
    return folder


def clip(path: Path, seconds: float = 1.0, rate: int = 16000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    wavfile.write(path, rate, (0.3 * np.sin(2 * np.pi * 220 * t) * 32767).astype(np.int16))
    return path


def original(device: str = "cpu", variant: str = "fp32") -> Target:
    return Target("chatterbox", "onnx", device, variant, variant == "fp32")


def turbo(device: str = "cpu", variant: str = "fp32") -> Target:
    return Target("chatterbox-turbo", "onnx", device, variant, variant == "fp32")


def test_lookup_lists_graphs_per_variant(tmp_path: Path, hf_env: dict[str, str]) -> None:
    lookup = ChatterboxTurboOnnxEngine.locate_weights(turbo(variant="q4"), query(hf_env))
    assert not lookup.found
    assert lookup.downloadable
    assert "onnx/language_model_q4.onnx" in lookup.hint
    assert "onnx/speech_encoder_q4.onnx or onnx/speech_encoder.onnx" in lookup.hint
    assert "HF cache ResembleAI/chatterbox-turbo-ONNX" in "; ".join(lookup.searched)
    # the language model must exist in the variant's precision; the rest may be fp32
    fp32 = export(tmp_path / "fp32")
    q = query(hf_env, {"chatterbox-turbo-onnx": fp32})
    assert ChatterboxTurboOnnxEngine.locate_weights(turbo(variant="fp32"), q).found
    assert not ChatterboxTurboOnnxEngine.locate_weights(turbo(variant="q4"), q).found
    make_files(fp32, ["onnx/language_model_q4.onnx"])
    assert ChatterboxTurboOnnxEngine.locate_weights(turbo(variant="q4"), q).found


def test_original_loop_feeds_and_decodes(tmp_path: Path, ort: Recorder) -> None:
    engine = ChatterboxOnnxEngine(context(original(), export(tmp_path), options={"threads": "2"}))
    engine.load()
    audio = engine.synthesize("Hi", SynthesisOptions(extra={"exaggeration": 0.7}))
    assert_host_audio(audio)
    assert ort.sessions[0]["providers"] == ["CPUExecutionProvider"]
    assert ort.sessions[0]["threads"] == 2
    lm = ort.feeds["language_model"]
    assert len(lm) == 4  # three speech tokens, then STOP
    assert lm[0]["inputs_embeds"].shape[1] == 3 + 4  # cond_emb + [255, 'H', 'i', 6561]
    assert [f["past_key_values.0.key"].shape[2] for f in lm] == [0, 7, 8, 9]
    embed = ort.feeds["embed_tokens"]
    assert embed[0]["position_ids"].tolist() == [[-1, 0, 1, 0]]  # text positions, START at 0
    assert [int(f["position_ids"][0, 0]) for f in embed[1:]] == [1, 2, 3]
    assert all(float(f["exaggeration"][0]) == pytest.approx(0.7) for f in embed)
    decoded = ort.feeds["conditional_decoder"][0]["speech_tokens"].tolist()
    assert decoded == [[7, 8, 101, 102, 103]]  # prompt + speech, no silence for the original
    stages = engine.stage_seconds()
    assert stages["t3_tokens"] == 4
    assert {"t3", "s3gen"} <= set(stages)  # the built-in voice was encoded at load
    details = engine.details()
    assert details["providers"] == ["CPUExecutionProvider"]
    assert details["files"] == {g: f"onnx/{g}.onnx" for g in GRAPHS}


def test_turbo_loop_positions_and_silence(tmp_path: Path, turbo_ort: Recorder) -> None:
    engine = ChatterboxTurboOnnxEngine(context(turbo(), export(tmp_path)))
    engine.load()
    assert_host_audio(engine.synthesize("Hi", SynthesisOptions()))
    lm = turbo_ort.feeds["language_model"]
    assert lm[0]["position_ids"].tolist() == [list(range(7))]
    assert [int(f["position_ids"][0, 0]) for f in lm[1:]] == [7, 8, 9]
    assert "position_ids" not in turbo_ort.feeds["embed_tokens"][0]
    decoded = turbo_ort.feeds["conditional_decoder"][0]["speech_tokens"].tolist()[0]
    assert decoded == [7, 8, 101, 102, 103, SILENCE, SILENCE, SILENCE]


def test_max_new_tokens_caps_the_loop(tmp_path: Path, turbo_ort: Recorder) -> None:
    engine = ChatterboxTurboOnnxEngine(
        context(turbo(), export(tmp_path), options={"max_new_tokens": "2"})
    )
    engine.load()
    engine.synthesize("Hi", SynthesisOptions())
    decoded = turbo_ort.feeds["conditional_decoder"][0]["speech_tokens"].tolist()[0]
    assert decoded == [7, 8, 101, 102, SILENCE, SILENCE, SILENCE]


def test_reference_clip_is_resampled_and_encoded_once(tmp_path: Path, ort: Recorder) -> None:
    engine = ChatterboxOnnxEngine(context(original(), export(tmp_path / "w", voice=False)))
    engine.load()
    with pytest.raises(EngineError, match="reference_audio"):
        engine.synthesize("Hi", SynthesisOptions())
    ref = clip(tmp_path / "ref.wav", seconds=1.0, rate=16000)
    for _ in range(2):
        engine.synthesize("Hi", SynthesisOptions(reference_audio=ref))
    encoder = ort.feeds["speech_encoder"]
    assert len(encoder) == 1
    assert encoder[0]["audio_values"].shape == (1, 24000)


def test_cuda_provider_is_explicit_and_checked(tmp_path: Path, install: Install) -> None:
    rec = Recorder()
    cuda = ("CUDAExecutionProvider", "CPUExecutionProvider")
    install(
        {
            "onnxruntime": make_onnxruntime(rec, original=False, providers=cuda),
            "tokenizers": make_tokenizers(),
        }
    )
    engine = ChatterboxTurboOnnxEngine(context(turbo("cuda"), export(tmp_path)))
    engine.load()
    assert rec.sessions[0]["providers"] == ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert engine.details()["providers"] == list(cuda)


def test_missing_or_failing_provider_is_an_error(tmp_path: Path, install: Install) -> None:
    install(
        {
            "onnxruntime": make_onnxruntime(Recorder(), original=False),
            "tokenizers": make_tokenizers(),
        }
    )
    with pytest.raises(EngineError, match="no CoreMLExecutionProvider"):
        ChatterboxTurboOnnxEngine(context(turbo("mps"), export(tmp_path))).load()
    install(
        {
            "onnxruntime": make_onnxruntime(
                Recorder(),
                original=False,
                drops_to_cpu=True,
                providers=("CUDAExecutionProvider", "CPUExecutionProvider"),
            )
        }
    )
    with pytest.raises(EngineError, match="failed to start"):
        ChatterboxTurboOnnxEngine(context(turbo("cuda"), export(tmp_path))).load()


def test_turbo_q4f16_refused_on_cpu(tmp_path: Path, turbo_ort: Recorder) -> None:
    engine = ChatterboxTurboOnnxEngine(context(turbo(variant="q4f16"), export(tmp_path, "_q4f16")))
    with pytest.raises(EngineError, match="AveragePool"):
        engine.load()
    assert turbo_ort.sessions == []


def test_fp16_cache_dtype_follows_the_graph(tmp_path: Path, ort: Recorder) -> None:
    engine = ChatterboxOnnxEngine(context(original(variant="fp16"), export(tmp_path, "_fp16")))
    engine.load()
    engine.synthesize("Hi", SynthesisOptions())
    first = ort.feeds["language_model"][0]
    assert first["past_key_values.0.key"].dtype == np.float16
    assert first["inputs_embeds"].dtype == np.float16
    assert len([k for k in first if k.startswith("past_key_values")]) == 2 * LAYERS


def test_no_weights_no_download_and_no_stream(tmp_path: Path, ort: Recorder) -> None:
    assert not ChatterboxOnnxEngine.capabilities.stream
    assert ChatterboxTurboOnnxEngine.capabilities.deterministic
    with pytest.raises(WeightsNotFound):
        ChatterboxOnnxEngine(context(original(), None)).load()
    engine = ChatterboxOnnxEngine(context(original(), export(tmp_path)))
    engine.load()
    engine.close()
    assert engine.sessions == {}
