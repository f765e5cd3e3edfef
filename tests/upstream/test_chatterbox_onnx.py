"""Upstream tier: Chatterbox and Chatterbox-Turbo ONNX on the real onnxruntime and
tokenizers, with tiny random-init graphs built by the onnx package at test time
(tests/upstream/builders/chatterbox_onnx.py), then the shipped latency and streaming
suites through the real adapter. No native streaming: those cases skip, sentence mode
must pass."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from pytest_ttsbench.engines.base import (
    EngineContext,
    SynthesisOptions,
    WeightsQuery,
    read_random_marker,
)
from pytest_ttsbench.engines.chatterbox_onnx import (
    SAMPLE_RATE,
    ChatterboxOnnxEngine,
    ChatterboxTurboOnnxEngine,
)
from pytest_ttsbench.engines.chatterbox_onnx_graphs import GRAPHS
from pytest_ttsbench.results.target import Target
from tests.upstream.support import assert_suites_ran, measured, offline_env, run_suites

if TYPE_CHECKING:
    from pathlib import Path

    from tests.upstream.builders.chatterbox_onnx import BuiltExport

pytestmark = pytest.mark.upstream

PAIRS = ("chatterbox-onnx", "chatterbox-turbo-onnx")
ENGINES = {
    "chatterbox-onnx": ChatterboxOnnxEngine,
    "chatterbox-turbo-onnx": ChatterboxTurboOnnxEngine,
}
F32, I64 = "tensor(float)", "tensor(int64)"


def need_upstream() -> None:
    for module in ("onnx", "onnxruntime", "tokenizers"):
        pytest.importorskip(module)


def build(pair: str, folder: Path) -> BuiltExport:
    from tests.upstream.builders.chatterbox_onnx import build as build_export

    return build_export(folder, pair)


def expected_io(built: BuiltExport) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """Each graph's inputs and outputs (name -> type) as the exports have them."""
    cfg = built.config
    embed_in = {"input_ids": I64}
    lm_in = {"inputs_embeds": F32, "attention_mask": I64}
    if cfg.turbo:
        lm_in["position_ids"] = I64
    else:
        embed_in |= {"position_ids": I64, "exaggeration": F32}
    lm_out = {"logits": F32}
    for layer in range(cfg.layers):
        for kv in ("key", "value"):
            lm_in[f"past_key_values.{layer}.{kv}"] = F32
            lm_out[f"present.{layer}.{kv}"] = F32
    return {
        "speech_encoder": (
            {"audio_values": F32},
            {
                "audio_features": F32,
                "audio_tokens": I64,
                "speaker_embeddings": F32,
                "speaker_features": F32,
            },
        ),
        "embed_tokens": (embed_in, {"inputs_embeds": F32}),
        "language_model": (lm_in, lm_out),
        "conditional_decoder": (
            {"speech_tokens": I64, "speaker_embeddings": F32, "speaker_features": F32},
            {"waveform": F32},
        ),
    }


def engine_for(
    pair: str, folder: Path, options: dict[str, str] | None = None
) -> ChatterboxOnnxEngine:
    cls = ENGINES[pair]
    model = pair.removesuffix("-onnx")
    target = Target(model, "onnx", "cpu", "fp32", True)
    query = WeightsQuery(explicit={pair: folder}, env={}, cache_dir=folder)
    lookup = cls.locate_weights(target, query)
    assert lookup.found, lookup.searched
    assert lookup.random_weights is not None
    ctx = EngineContext(target, lookup, dict(options or {}), allow_download=False, cache_dir=folder)
    return cls(ctx)


@pytest.mark.parametrize("pair", PAIRS)
def test_graphs_load_and_synthesize(pair: str, tmp_path: Path) -> None:
    need_upstream()
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")

    built = build(pair, tmp_path / pair)
    cfg = built.config
    marker = read_random_marker(built.folder)
    assert marker is not None
    assert marker["parameters"] == built.parameters
    for graph, (inputs, outputs) in expected_io(built).items():
        path = built.folder / "onnx" / f"{graph}.onnx"
        assert (built.folder / "onnx" / f"{graph}.onnx_data").is_file()
        onnx.checker.check_model(str(path), full_check=True)
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        assert {i.name: i.type for i in session.get_inputs()} == inputs
        assert {o.name: o.type for o in session.get_outputs()} == outputs
        if graph == "language_model":
            kv = [i for i in session.get_inputs() if i.name.startswith("past_key_values")]
            assert [list(i.shape) for i in kv] == [
                ["batch_size", cfg.heads, "past_sequence_length", cfg.head_dim]
            ] * (2 * cfg.layers)

    engine = engine_for(pair, built.folder)
    engine.load()  # the adapter's own checks of the graphs' inputs run here
    try:
        assert set(engine.sessions) == set(GRAPHS)
        assert len(engine._kv) == 2 * cfg.layers
        assert engine.details()["providers"] == ["CPUExecutionProvider"]
        capped = SynthesisOptions(extra={"max_new_tokens": 6})
        audio = engine.synthesize("Hello there.", capped)
        assert isinstance(audio, np.ndarray)
        assert audio.dtype == np.float32
        assert audio.ndim == 1
        assert audio.size > 0
        assert np.isfinite(audio).all()
        silence = 3 if cfg.turbo else 0
        assert audio.size <= (6 + silence) * SAMPLE_RATE // 25
        assert engine.stage_seconds()["t3_tokens"] <= 6
        again = engine.synthesize("Hello there.", capped)
        assert np.array_equal(audio, again)  # greedy: deterministic
        # the length cap random weights get: 2 s, as 50 speech tokens at most
        engine.synthesize("Hello there.", SynthesisOptions(max_audio_s=2.0))
        assert engine.stage_seconds()["t3_tokens"] <= 50
    finally:
        engine.close()


@pytest.mark.parametrize("pair", PAIRS)
def test_suites_run(pair: str, tmp_path: Path, hf_home: Path) -> None:
    need_upstream()
    built = build(pair, tmp_path / "weights")
    env = offline_env(hf_home, tmp_path / "cache")
    run = run_suites(tmp_path / "project", pair, built.folder, env)
    assert_suites_ran(run, pair)
    # native mode skips with the reason (skips are summarised, not listed per test)
    assert "no native streaming upstream" in run.output, run.output[-3000:]
    print(f"\n{pair} ({built.parameters} parameters, {built.summary()}):")
    for line in measured(run):
        print(f"  {line}")
