"""Defects of the two mlx-audio Chatterbox adapters, against stand-in mlx and mlx-audio:
the length cap random weights need, Turbo's chunk sweep, and one-time voice setup that
ran inside the first timed call."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ttsbench.engines.base import SynthesisOptions
from pytest_ttsbench.engines.mlx_chatterbox import ChatterboxMlxEngine, ChatterboxTurboMlxEngine
from pytest_ttsbench.results.target import Target

from .conftest import Install, cache_snapshot, context, make_files
from .fakes import mlx_fake
from .fakes.mlx_fake import Recorder, make_mlx, make_mlx_audio

if TYPE_CHECKING:
    from collections.abc import Generator
    from pathlib import Path

CB = Target("chatterbox", "mlx", "cpu", "fp16")
TURBO = Target("chatterbox-turbo", "mlx", "cpu", "fp16")


class CountingTurbo(mlx_fake.ChatterboxTurboModel):
    """The Turbo stand-in, recording max_tokens, streaming without end as random
    weights do (stream_generate resets max_tokens to 2000), counting what it yields."""

    def generate(  # type: ignore[override]
        self, text: str, max_tokens: Any = 800, stream: Any = False, **kwargs: Any
    ) -> Generator[mlx_fake.GenerationResult, None, None]:
        self.rec.add("turbo_generate", max_tokens=max_tokens, stream=stream)
        for idx in range(10_000 if stream else 1):
            self.rec.add("chunk", idx=idx)
            yield mlx_fake.result(4800, idx)  # 0.2 s each


@pytest.fixture
def mlx(install: Install, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    rec = Recorder()
    install({**make_mlx(rec), **make_mlx_audio(rec)})
    monkeypatch.setitem(mlx_fake.MODELS, "chatterbox_turbo", CountingTurbo)
    return rec


def checkpoint(folder: Path, model_type: str, names: list[str]) -> Path:
    make_files(folder, names)
    (folder / "config.json").write_text(json.dumps({"model_type": model_type}), "utf-8")
    return folder


def chatterbox_dir(folder: Path) -> Path:
    return checkpoint(
        folder, "chatterbox", ["model.safetensors", "tokenizer.json", "conds.safetensors"]
    )


def turbo_dir(folder: Path) -> Path:
    return checkpoint(
        folder, "chatterbox_turbo", ["model.safetensors", "conds.safetensors", "vocab.json"]
    )


# -- the length cap (random weights never emit a stop token) ---------------------------


def test_chatterbox_honours_the_length_cap(tmp_path: Path, mlx: Recorder) -> None:
    assert ChatterboxMlxEngine.capabilities.length_cap
    engine = ChatterboxMlxEngine(context(CB, chatterbox_dir(tmp_path)))
    engine.load()
    engine.synthesize("Hi.", SynthesisOptions())
    assert mlx.last("generate")["max_new_tokens"] == 1000  # no cap: upstream's default
    engine.synthesize("Hi.", SynthesisOptions(max_audio_s=2.0))
    assert mlx.last("generate")["max_new_tokens"] == 50  # 25 speech tokens per second
    engine.synthesize("Hi.", SynthesisOptions(max_audio_s=0.01))
    assert mlx.last("generate")["max_new_tokens"] == 1
    explicit = SynthesisOptions(max_audio_s=2.0, extra={"max_new_tokens": "300"})
    engine.synthesize("Hi.", explicit)
    assert mlx.last("generate")["max_new_tokens"] == 300  # the user's knob wins


def test_turbo_honours_the_length_cap(tmp_path: Path, mlx: Recorder) -> None:
    assert ChatterboxTurboMlxEngine.capabilities.length_cap
    engine = ChatterboxTurboMlxEngine(context(TURBO, turbo_dir(tmp_path)))
    engine.load()
    engine.synthesize("Hi.", SynthesisOptions())
    assert mlx.last("turbo_generate")["max_tokens"] == 800  # no cap: upstream's default
    engine.synthesize("Hi.", SynthesisOptions(max_audio_s=2.0))
    assert mlx.last("turbo_generate")["max_tokens"] == 50
    engine.synthesize("Hi.", SynthesisOptions(max_audio_s=2.0, extra={"max_tokens": 120}))
    assert mlx.last("turbo_generate")["max_tokens"] == 120


def test_turbo_stream_stops_at_the_length_cap(tmp_path: Path, mlx: Recorder) -> None:
    """stream_generate ignores max_tokens: the adapter stops asking for chunks."""
    engine = ChatterboxTurboMlxEngine(context(TURBO, turbo_dir(tmp_path)))
    engine.load()
    chunks = list(engine.stream("Hi.", SynthesisOptions(max_audio_s=1.0)))
    assert sum(c.size for c in chunks) == 24_000  # five 0.2 s chunks, then stop
    assert mlx.names().count("chunk") == 5  # the upstream generator was not drained


# -- Turbo's chunk sweep -----------------------------------------------------------------


def test_turbo_declares_a_chunk_sweep(tmp_path: Path, mlx: Recorder) -> None:
    caps = ChatterboxTurboMlxEngine.capabilities
    assert caps.chunk_knob == "streaming_interval"
    small, default, large = caps.chunk_sweep
    assert 0 < small < default == 2.0 < large
    # each value reaches upstream as streaming_interval and gives a distinct chunk size
    sizes = {max(10, int(v * 25)) for v in caps.chunk_sweep}
    assert len(sizes) == 3


# -- one-time setup belongs to load(), not the first timed call ------------------------


@pytest.mark.parametrize("engine_cls", [ChatterboxMlxEngine, ChatterboxTurboMlxEngine])
def test_a_voice_given_as_an_option_is_prepared_at_load(
    tmp_path: Path,
    mlx: Recorder,
    hf_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    engine_cls: type[ChatterboxMlxEngine | ChatterboxTurboMlxEngine],
) -> None:
    for name, value in hf_env.items():
        monkeypatch.setenv(name, value)
    cache_snapshot(hf_env, "mlx-community/S3TokenizerV2", ["model.safetensors"])
    clip = make_files(tmp_path, ["ref.wav"]) / "ref.wav"
    folder = (
        chatterbox_dir(tmp_path / "w")
        if engine_cls is ChatterboxMlxEngine
        else turbo_dir(tmp_path / "w")
    )
    target = CB if engine_cls is ChatterboxMlxEngine else TURBO
    engine = engine_cls(context(target, folder, options={"reference_audio": str(clip)}))
    engine.load()
    assert mlx.names().count("prepare_conditionals") == 1
    assert "prepare_voice" in engine.stage_seconds()  # a load stage
    engine.synthesize("Hi.", SynthesisOptions())  # the first timed call
    assert "prepare_voice" not in engine.stage_seconds()
    assert mlx.names().count("prepare_conditionals") == 1
    engine.load()  # a fresh model: the voice is prepared again, at load
    assert mlx.names().count("prepare_conditionals") == 2
