"""Regression tests of three Marvis adapter defects, against stand-in upstreams:
the MLX lookup missed tokenizer files AutoTokenizer reads, the MLX chunk knob had no
sweep values, and neither adapter honoured the length cap random weights need."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ttsbench.engines.base import SynthesisOptions
from pytest_ttsbench.engines.marvis_pt import MarvisPtEngine
from pytest_ttsbench.engines.mlx_marvis import MarvisMlxEngine
from pytest_ttsbench.measure.request import RANDOM_WEIGHTS_MAX_AUDIO_S, length_cap
from pytest_ttsbench.results.target import Target

from .conftest import Install, cache_snapshot, context, make_files, query
from .fakes.kokoro_transformers_fake import Recorder as PtRecorder
from .fakes.kokoro_transformers_fake import make_transformers
from .fakes.mlx_fake import Recorder, make_mlx, make_mlx_audio

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from .fakes.torch_fake import TorchRecorder

MLX = Target("marvis", "mlx", "cpu", "8bit")
PT = Target("marvis", "pt", "cpu", "default")
MIMI = ("kyutai/moshiko-pytorch-bf16", "tokenizer-e351c8d8-checkpoint125.safetensors")
LLAMA = "unsloth/Llama-3.2-1B"
MIMI_FRAMES_PER_S = 12.5


@pytest.fixture
def mlx(install: Install) -> Recorder:
    rec = Recorder()
    install({**make_mlx(rec), **make_mlx_audio(rec)})
    return rec


@pytest.fixture
def transformers(install: Install, fake_torch: TorchRecorder) -> PtRecorder:
    rec = PtRecorder()
    install({"transformers": make_transformers(rec)})
    return rec


def sesame_dir(folder: Path) -> Path:
    make_files(folder, ["model.safetensors"])
    (folder / "config.json").write_text(json.dumps({"model_type": "sesame"}), encoding="utf-8")
    return folder


class Spy:
    """Wraps the stand-in model's generate and keeps every keyword it was given
    (the stand-in records only some of them)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.calls: list[dict[str, Any]] = []

    def generate(self, text: str, **kwargs: Any) -> Iterator[Any]:
        self.calls.append(kwargs)
        return self.model.generate(text, **kwargs)  # type: ignore[no-any-return]


def loaded_mlx(folder: Path, options: dict[str, str] | None = None) -> tuple[Any, Spy]:
    engine = MarvisMlxEngine(context(MLX, sesame_dir(folder), options=options))
    engine.load()
    spy = Spy(engine.model)
    engine.model = spy
    return engine, spy


# -- defect 1: AutoTokenizer reads three files of the tokenizer repo ---------------------


@pytest.mark.parametrize("missing", ["tokenizer_config.json", "config.json"])
def test_mlx_lookup_wants_every_file_autotokenizer_reads(
    tmp_path: Path, hf_env: dict[str, str], missing: str
) -> None:
    folder = sesame_dir(tmp_path / "w")
    cache_snapshot(hf_env, MIMI[0], [MIMI[1]])
    cache_snapshot(hf_env, "sesame/csm-1b", ["prompts/conversational_a.wav"])
    present = [
        n for n in ("tokenizer.json", "tokenizer_config.json", "config.json") if n != missing
    ]
    cache_snapshot(hf_env, LLAMA, present)
    q = query(hf_env, {"marvis-mlx": folder})
    lookup = MarvisMlxEngine.locate_weights(MLX, q)
    assert not lookup.found  # offline, AutoTokenizer would fail reaching for the hub
    assert any(LLAMA in s and f"missing {missing}" in s for s in lookup.missing), lookup.missing
    cache_snapshot(hf_env, LLAMA, [missing])
    assert MarvisMlxEngine.locate_weights(MLX, q).path == folder


def test_mlx_side_files_follow_the_configured_tokenizer_repo(tmp_path: Path) -> None:
    folder = sesame_dir(tmp_path)
    (folder / "config.json").write_text(
        json.dumps({"model_type": "sesame", "text_tokenizer": "Org/tok"}), encoding="utf-8"
    )
    files = MarvisMlxEngine.side_files(folder)
    assert {name for repo, name in files if repo == "Org/tok"} == {
        "tokenizer.json",
        "tokenizer_config.json",
        "config.json",
        "prompts/conversational_a.wav",
    }


# -- defect 2: the streaming suite's chunk sweep needs values --------------------------


def test_mlx_chunk_knob_has_small_default_large(tmp_path: Path, mlx: Recorder) -> None:
    caps = MarvisMlxEngine.capabilities
    assert caps.chunk_knob == "streaming_interval"
    assert len(caps.chunk_sweep) == 3  # the suite skips "small"/"large" otherwise
    small, default, large = caps.chunk_sweep
    assert default == 0.5  # upstream's and the adapter's default
    frames = [int(s * MIMI_FRAMES_PER_S) for s in caps.chunk_sweep]  # what sesame yields
    assert 1 <= frames[0] < frames[1] < frames[2], frames
    engine, spy = loaded_mlx(tmp_path)
    for value in (small, large):
        list(engine.stream("Hello.", SynthesisOptions(extra={caps.chunk_knob: value})))
        assert spy.calls[-1]["streaming_interval"] == value
    list(engine.stream("Hello.", SynthesisOptions()))
    assert spy.calls[-1]["streaming_interval"] == default


def test_pt_has_no_chunk_knob_to_sweep() -> None:
    caps = MarvisPtEngine.capabilities
    assert not caps.stream
    assert caps.chunk_knob is None
    assert caps.chunk_sweep == ()


# -- defect 3: random weights never stop; the length cap must reach upstream -----------


def test_random_weights_cap_reaches_both_adapters() -> None:
    assert MarvisMlxEngine.capabilities.length_cap
    assert MarvisPtEngine.capabilities.length_cap
    assert length_cap(None, random_weights=True) == RANDOM_WEIGHTS_MAX_AUDIO_S


def test_mlx_honours_max_audio_s(tmp_path: Path, mlx: Recorder) -> None:
    engine, spy = loaded_mlx(tmp_path)
    engine.synthesize("Hello.", SynthesisOptions(max_audio_s=2.0))
    assert spy.calls[-1]["max_audio_length_ms"] == 2000.0
    list(engine.stream("Hello.", SynthesisOptions(max_audio_s=0.8)))
    assert spy.calls[-1]["max_audio_length_ms"] == 800.0
    engine.synthesize("Hello.", SynthesisOptions())
    assert "max_audio_length_ms" not in spy.calls[-1]  # no cap: upstream's 90 s


def test_mlx_user_length_knob_wins(tmp_path: Path, mlx: Recorder) -> None:
    engine, spy = loaded_mlx(tmp_path, options={"max_audio_length_ms": "500"})
    engine.synthesize("Hello.", SynthesisOptions(max_audio_s=2.0))
    assert spy.calls[-1]["max_audio_length_ms"] == 500.0


def test_pt_honours_max_audio_s_in_frames(tmp_path: Path, transformers: PtRecorder) -> None:
    folder = make_files(tmp_path, ("config.json", "model.safetensors", "tokenizer.json"))
    engine = MarvisPtEngine(context(PT, folder))
    engine.load()
    engine.synthesize("Hello.", SynthesisOptions(max_audio_s=2.0))
    assert transformers.last("generate")["max_new_tokens"] == 25  # 2 s at 12.5 Hz
    engine.synthesize("Hello.", SynthesisOptions(max_audio_s=0.01))
    assert transformers.last("generate")["max_new_tokens"] == 1
    engine.synthesize("Hello.", SynthesisOptions())
    assert "max_new_tokens" not in transformers.last("generate")
    engine.synthesize("Hello.", SynthesisOptions(max_audio_s=2.0, extra={"max_new_tokens": 90}))
    assert transformers.last("generate")["max_new_tokens"] == 90  # the user's knob wins
