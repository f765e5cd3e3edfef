"""Contract tests of the four mlx-audio adapters against stand-in mlx and mlx_audio."""

from __future__ import annotations

import importlib.machinery
import json
import types
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.engines.base import EngineError, SynthesisOptions, WeightsNotFound
from pytest_ttsbench.engines.mlx_chatterbox import ChatterboxMlxEngine, ChatterboxTurboMlxEngine
from pytest_ttsbench.engines.mlx_kokoro import KokoroMlxEngine
from pytest_ttsbench.engines.mlx_marvis import MarvisMlxEngine
from pytest_ttsbench.results.target import Target

from .conftest import Install, assert_host_audio, cache_snapshot, context, make_files, query
from .fakes.mlx_fake import Recorder, make_mlx, make_mlx_audio

if TYPE_CHECKING:
    from pathlib import Path

CB = Target("chatterbox", "mlx", "cpu", "fp16")
TURBO = Target("chatterbox-turbo", "mlx", "mps", "fp16")
KOKORO = Target("kokoro", "mlx", "cpu", "bf16")
MARVIS = Target("marvis", "mlx", "cpu", "8bit")


@pytest.fixture
def mlx(install: Install) -> Recorder:
    rec = Recorder()
    install({**make_mlx(rec), **make_mlx_audio(rec)})
    return rec


def present(install: Install, *names: str) -> None:
    """Make find_spec see these (empty) modules: misaki, en_core_web_sm."""
    modules = {}
    for name in names:
        module = types.ModuleType(name)
        module.__spec__ = importlib.machinery.ModuleSpec(name, None)
        modules[name] = module
    install(modules)


def checkpoint(
    folder: Path, model_type: str, names: list[str], config: dict[str, object] | None = None
) -> Path:
    make_files(folder, names)
    (folder / "config.json").write_text(
        json.dumps({"model_type": model_type, **(config or {})}), encoding="utf-8"
    )
    return folder


def chatterbox_dir(folder: Path, conds: bool = True) -> Path:
    names = ["model.safetensors", "tokenizer.json"] + (["conds.safetensors"] if conds else [])
    return checkpoint(folder, "chatterbox", names)


def turbo_dir(folder: Path) -> Path:
    return checkpoint(
        folder, "chatterbox_turbo", ["model.safetensors", "conds.safetensors", "vocab.json"]
    )


# -- weights ---------------------------------------------------------------------------


def test_chatterbox_lookup_needs_the_s3_tokenizer_too(
    tmp_path: Path, hf_env: dict[str, str]
) -> None:
    empty = ChatterboxMlxEngine.locate_weights(
        Target("chatterbox", "mlx", "cpu", "8bit"), query(hf_env)
    )
    text = "; ".join(empty.searched)
    assert "mlx-community/chatterbox-8bit" in text
    assert "mlx-community/Chatterbox-TTS-8bit" in text
    assert empty.downloadable
    folder = chatterbox_dir(tmp_path / "w")
    q = query(hf_env, {"chatterbox-mlx": folder})
    lookup = ChatterboxMlxEngine.locate_weights(CB, q)
    assert not lookup.found
    assert "S3TokenizerV2" in lookup.missing[-1]
    assert "model.safetensors" in lookup.missing[-1]
    assert lookup.details["weights_found_at"] == str(folder)
    cache_snapshot(hf_env, "mlx-community/S3TokenizerV2", ["model.safetensors"])
    assert ChatterboxMlxEngine.locate_weights(CB, q).path == folder


def test_turbo_lookup_requires_conds(tmp_path: Path, hf_env: dict[str, str]) -> None:
    folder = checkpoint(tmp_path, "chatterbox_turbo", ["model.safetensors", "vocab.json"])
    lookup = ChatterboxTurboMlxEngine.locate_weights(
        TURBO, query(hf_env, {"chatterbox-turbo": folder})
    )
    assert not lookup.found
    assert "conds.safetensors" in lookup.searched[0]


def test_kokoro_lookup_lists_misaki_and_spacy(
    tmp_path: Path, hf_env: dict[str, str], install: Install
) -> None:
    folder = checkpoint(
        tmp_path, "kokoro", ["kokoro-v1_0.safetensors", "voices/af_heart.safetensors"]
    )
    q = query(hf_env, {"kokoro-mlx": folder})
    missing = "; ".join(KokoroMlxEngine.locate_weights(KOKORO, q).missing)
    assert "misaki" in missing
    assert "en_core_web_sm" in missing
    present(install, "misaki", "en_core_web_sm")
    assert KokoroMlxEngine.locate_weights(KOKORO, q).path == folder


def test_marvis_lookup_lists_what_sesame_fetches(tmp_path: Path, hf_env: dict[str, str]) -> None:
    folder = checkpoint(tmp_path, "sesame", ["model.safetensors"])
    q = query(hf_env, {"marvis": folder})
    text = "; ".join(MarvisMlxEngine.locate_weights(MARVIS, q).missing)
    assert "kyutai/moshiko-pytorch-bf16" in text
    assert "unsloth/Llama-3.2-1B" in text
    assert "sesame/csm-1b" in text
    assert "prompts/conversational_a.wav" in text
    checkpoint(tmp_path, "sesame", [], {"text_tokenizer": "Marvis-AI/tok"})
    text = "; ".join(MarvisMlxEngine.locate_weights(MARVIS, q).missing)
    assert "HF cache Marvis-AI/tok" in text
    assert "sesame/csm-1b" not in text
    cache_snapshot(
        hf_env, "kyutai/moshiko-pytorch-bf16", ["tokenizer-e351c8d8-checkpoint125.safetensors"]
    )
    cache_snapshot(
        hf_env,
        "Marvis-AI/tok",
        ["tokenizer.json", "tokenizer_config.json", "config.json", "prompts/conversational_a.wav"],
    )
    assert MarvisMlxEngine.locate_weights(MARVIS, q).path == folder


# -- Chatterbox ------------------------------------------------------------------------


def test_chatterbox_loads_offline_and_returns_float32_from_bf16(
    tmp_path: Path, mlx: Recorder
) -> None:
    folder = chatterbox_dir(tmp_path)
    engine = ChatterboxMlxEngine(context(CB, folder))
    engine.load()
    assert mlx.last("load_model") == {"model_path": folder, "offline": "1"}
    assert mlx.last("set_default_device")["device"] == "Device(cpu, 0)"
    audio = engine.synthesize(
        "Hello.", SynthesisOptions(extra={"cfg_weight": "0", "max_new_tokens": "300"})
    )
    assert_host_audio(audio)
    call = mlx.last("generate")
    assert (call["cfg_weight"], call["max_new_tokens"]) == (0.0, 300)
    assert (call["exaggeration"], call["lang_code"], call["verbose"]) == (0.1, "en", False)
    assert call["stream"] is False
    assert call["kwargs"] == {}
    assert not ChatterboxMlxEngine.capabilities.stream
    with pytest.raises(EngineError, match="no streaming"):
        next(iter(engine.stream("Hi.", SynthesisOptions())))


def test_chatterbox_reference_prepared_once(tmp_path: Path, mlx: Recorder) -> None:
    engine = ChatterboxMlxEngine(context(CB, chatterbox_dir(tmp_path / "w", conds=False)))
    engine.load()
    with pytest.raises(EngineError, match=r"conds\.safetensors"):
        engine.synthesize("Hi.", SynthesisOptions())
    clip = make_files(tmp_path, ["ref.wav"]) / "ref.wav"
    opts = SynthesisOptions(reference_audio=clip, extra={"exaggeration": 0.4})
    engine.synthesize("One.", opts)
    assert "prepare_voice" in engine.stage_seconds()
    engine.synthesize("Two.", opts)
    assert "prepare_voice" not in engine.stage_seconds()
    assert engine.stage_seconds()["tokens"] == 10
    assert mlx.names().count("prepare_conditionals") == 1
    assert mlx.last("prepare_conditionals") == {
        "ref_wav": str(clip),
        "ref_sr": 24000,
        "exaggeration": 0.4,
    }
    assert mlx.last("generate")["conds"] == ("conds", str(clip))


def test_no_weights_no_download(mlx: Recorder) -> None:
    with pytest.raises(WeightsNotFound):
        ChatterboxMlxEngine(context(CB, None)).load()
    assert "load_model" not in mlx.names()
    engine = ChatterboxMlxEngine(context(CB, None, allow_download=True))
    with pytest.raises(EngineError, match="snapshot_download"):
        engine.load()
    assert mlx.last("load_model") == {
        "model_path": "mlx-community/chatterbox-fp16",
        "offline": None,
    }


# -- Chatterbox-Turbo ------------------------------------------------------------------


def test_turbo_streams_natively_on_metal(tmp_path: Path, mlx: Recorder) -> None:
    engine = ChatterboxTurboMlxEngine(
        context(TURBO, turbo_dir(tmp_path), options={"streaming_interval": "0.5", "top_k": "40"})
    )
    engine.load()
    assert mlx.last("set_default_device")["device"] == "Device(gpu, 0)"
    chunks = list(engine.stream("Hello there.", SynthesisOptions()))
    assert len(chunks) == 3
    for chunk in chunks:
        assert_host_audio(chunk)
    call = mlx.last("generate")
    assert (call["stream"], call["streaming_interval"], call["top_k"]) == (True, 0.5, 40)
    assert_host_audio(engine.synthesize("Hi.", SynthesisOptions()))
    assert mlx.last("generate")["stream"] is False
    assert ChatterboxTurboMlxEngine.capabilities.chunk_knob == "streaming_interval"


def test_turbo_voice_cloning_needs_the_s3_tokenizer(
    tmp_path: Path, mlx: Recorder, hf_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in hf_env.items():
        monkeypatch.setenv(name, value)
    clip = make_files(tmp_path, ["ref.wav"]) / "ref.wav"
    engine = ChatterboxTurboMlxEngine(context(TURBO, turbo_dir(tmp_path / "w")))
    engine.load()
    with pytest.raises(EngineError, match="S3TokenizerV2"):
        engine.synthesize("Hi.", SynthesisOptions(reference_audio=clip))
    cache_snapshot(hf_env, "mlx-community/S3TokenizerV2", ["model.safetensors"])
    engine.load()
    engine.synthesize("Hi.", SynthesisOptions(reference_audio=clip))
    engine.synthesize("Hi.", SynthesisOptions(reference_audio=clip))
    assert mlx.names().count("prepare_conditionals") == 1
    assert mlx.last("generate")["conds"] == ("voice", str(clip))
    engine.synthesize("Hi.", SynthesisOptions())
    assert mlx.last("generate")["conds"] == "builtin"


# -- Kokoro ----------------------------------------------------------------------------


def test_kokoro_segments_voice_files_and_speed(
    tmp_path: Path, mlx: Recorder, install: Install
) -> None:
    present(install, "misaki", "en_core_web_sm")
    folder = checkpoint(
        tmp_path,
        "kokoro",
        ["kokoro.safetensors", "voices/af_heart.safetensors", "voices/bf_emma.safetensors"],
    )
    engine = KokoroMlxEngine(context(KOKORO, folder))
    engine.load()
    chunks = list(engine.stream("One.\nTwo.", SynthesisOptions(speed=1.2)))
    assert [c.size for c in chunks] == [1200, 1200]  # the audio, not the buggy `samples`
    call = mlx.last("generate")
    assert call["voice"] == str(folder / "voices" / "af_heart.safetensors")
    assert (call["speed"], call["lang_code"]) == (1.2, "a")
    engine.synthesize("Hi.", SynthesisOptions(voice="bf_emma", language="en-gb"))
    assert mlx.last("generate")["lang_code"] == "b"
    with pytest.raises(EngineError, match="have af_heart, bf_emma"):
        engine.synthesize("Hi.", SynthesisOptions(voice="zz_nobody"))


def test_kokoro_without_spacy_model_refuses_to_load(
    tmp_path: Path, mlx: Recorder, install: Install
) -> None:
    present(install, "misaki")
    folder = checkpoint(tmp_path, "kokoro", ["k.safetensors", "voices/af_heart.safetensors"])
    with pytest.raises(EngineError, match="en_core_web_sm"):
        KokoroMlxEngine(context(KOKORO, folder)).load()
    assert "load_model" not in mlx.names()


# -- Marvis ----------------------------------------------------------------------------


def test_marvis_streams_and_drops_the_empty_final_chunk(tmp_path: Path, mlx: Recorder) -> None:
    folder = checkpoint(tmp_path, "sesame", ["model.safetensors"])
    engine = MarvisMlxEngine(context(MARVIS, folder, options={"temperature": "0.7", "top_k": "20"}))
    engine.load()
    chunks = list(engine.stream("Hello.", SynthesisOptions()))
    assert [c.size for c in chunks] == [960, 960]
    call = mlx.last("generate")
    assert (call["stream"], call["streaming_interval"]) == (True, 0.5)
    assert call["sampler"] == ("sampler", {"temp": 0.7, "top_p": 0.0, "min_p": 0.0, "top_k": 20})
    assert "temperature" not in call["kwargs"]  # upstream would ignore it silently
    assert_host_audio(engine.synthesize("Hi.", SynthesisOptions()))


def test_marvis_cloning_needs_a_transcript(tmp_path: Path, mlx: Recorder) -> None:
    engine = MarvisMlxEngine(
        context(MARVIS, checkpoint(tmp_path / "w", "sesame", ["model.safetensors"]))
    )
    engine.load()
    clip = make_files(tmp_path, ["ref.wav"]) / "ref.wav"
    with pytest.raises(EngineError, match="reference_text"):
        engine.synthesize("Hi.", SynthesisOptions(reference_audio=clip))
    engine.synthesize(
        "Hi.", SynthesisOptions(reference_audio=clip, extra={"reference_text": "Hello."})
    )
    assert mlx.last("generate")["ref_text"] == "Hello."


# -- memory and release ----------------------------------------------------------------


def test_mlx_peak_memory_and_close(tmp_path: Path, mlx: Recorder) -> None:
    engine = MarvisMlxEngine(context(MARVIS, checkpoint(tmp_path, "sesame", ["model.safetensors"])))
    assert engine.peak_memory_bytes() is None  # nothing loaded yet
    engine.load()
    mlx.peak = 0
    engine.reset_peak_memory()
    assert "reset_peak_memory" in mlx.names()
    assert engine.peak_memory_bytes() == 0  # MLX reports a real 0, not a missing value
    mlx.peak = 5_000_000
    assert engine.peak_memory_bytes() == 5_000_000
    engine.close()
    assert engine.model is None
    assert mlx.names()[-1] == "clear_cache"
