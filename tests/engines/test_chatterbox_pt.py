"""Contract tests of the Chatterbox / Chatterbox-Turbo PyTorch adapters against stand-ins."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from pytest_ttsbench.engines import chatterbox_pt
from pytest_ttsbench.engines.base import EngineError, SynthesisOptions, WeightsNotFound
from pytest_ttsbench.engines.chatterbox_pt import ChatterboxEngine, ChatterboxTurboEngine
from pytest_ttsbench.engines.installed import dist_installed
from pytest_ttsbench.results.target import Target

from .conftest import Install, assert_host_audio, cache_snapshot, context, make_files, query
from .fakes.chatterbox_fake import WATERMARK_GAIN, WAV_LEVEL, Recorder, make_chatterbox

if TYPE_CHECKING:
    from pathlib import Path

    from .fakes.torch_fake import TorchRecorder

ORIGINAL_FILES = ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json")
FORK_FILES = ("ve.pt", "t3_cfg.pt", "s3gen.pt", "tokenizer.json")
TURBO_FILES = (
    "ve.safetensors",
    "t3_turbo_v1.safetensors",
    "s3gen_meanflow.safetensors",
    "tokenizer_config.json",
    "vocab.json",
)
CB = Target("chatterbox", "pt", "cpu", "default")
CB_CUDA = Target("chatterbox", "pt", "cuda", "default")
TURBO = Target("chatterbox-turbo", "pt", "cpu", "default")


@pytest.fixture(autouse=True)
def tts_not_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if chatterbox-tts were the installed dist (the ``fork`` fixture says otherwise)."""
    monkeypatch.setattr(chatterbox_pt, "streaming_fork_installed", lambda: False)


@pytest.fixture
def upstream(install: Install, fake_torch: TorchRecorder) -> Recorder:
    import sys

    modules, rec = make_chatterbox(sys.modules["torch"])
    install(modules)
    return rec


@pytest.fixture
def fork(install: Install, fake_torch: TorchRecorder, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    import sys

    modules, rec = make_chatterbox(sys.modules["torch"], fork=True)
    install(modules)
    monkeypatch.setattr(chatterbox_pt, "streaming_fork_installed", lambda: True)
    return rec


def loaded(
    cls: type[ChatterboxEngine], target: Target, folder: Path, **options: str
) -> ChatterboxEngine:
    engine = cls(context(target, folder, options=options))
    engine.load()
    return engine


# -- weights ---------------------------------------------------------------------------


def test_lookup_lists_every_place_and_the_missing_files(
    tmp_path: Path, hf_env: dict[str, str]
) -> None:
    partial = make_files(tmp_path / "partial", ["ve.safetensors"])
    env = {**hf_env, "TTSBENCH_CHATTERBOX_PT_WEIGHTS": str(tmp_path / "nowhere")}
    lookup = ChatterboxEngine.locate_weights(CB, query(env, {"chatterbox": partial}))
    assert not lookup.found
    assert lookup.downloadable
    text = "; ".join(lookup.searched)
    assert f"--tts-weights {partial}" in text
    assert "t3_cfg.safetensors" in text
    assert "s3gen.safetensors" in text
    assert "$TTSBENCH_CHATTERBOX_PT_WEIGHTS" in text
    assert "(no such folder)" in text
    assert "HF cache ResembleAI/chatterbox" in text
    assert "--tts-weights chatterbox-pt=FOLDER" in lookup.hint
    assert "conds.pt" in lookup.hint


def test_lookup_finds_the_hf_cache_snapshot(hf_env: dict[str, str]) -> None:
    snap = cache_snapshot(hf_env, "ResembleAI/chatterbox", [*ORIGINAL_FILES, "conds.pt"])
    assert ChatterboxEngine.locate_weights(CB, query(hf_env)).path == snap


def test_lookup_wants_pt_files_when_the_streaming_fork_is_installed(
    tmp_path: Path, hf_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chatterbox_pt, "streaming_fork_installed", lambda: True)
    safetensors = make_files(tmp_path / "st", ORIGINAL_FILES)
    assert not ChatterboxEngine.locate_weights(CB, query(hf_env, {"chatterbox": safetensors})).found
    folder = make_files(tmp_path / "pt", FORK_FILES)
    assert ChatterboxEngine.locate_weights(CB, query(hf_env, {"chatterbox": folder})).found
    turbo = ChatterboxTurboEngine.locate_weights(TURBO, query(hf_env))
    assert not turbo.found
    assert "no chatterbox.tts_turbo" in turbo.searched[0]


# -- loading ---------------------------------------------------------------------------


def test_loads_from_local_offline_and_synthesizes_host_float32(
    tmp_path: Path, upstream: Recorder
) -> None:
    folder = make_files(tmp_path, [*ORIGINAL_FILES, "conds.pt"])
    engine = loaded(ChatterboxEngine, CB, folder)
    assert upstream.last("from_local") == {"ckpt_dir": str(folder), "device": "cpu"}
    assert upstream.last("loaded")["offline"] == "1"  # HF_HUB_OFFLINE while loading
    assert "from_pretrained" not in upstream.names()
    audio = engine.synthesize("Hello there.", SynthesisOptions())
    assert_host_audio(audio)
    assert np.allclose(audio, WAV_LEVEL * WATERMARK_GAIN)
    assert engine.sample_rate == 24000


def test_without_weights_nothing_is_downloaded(upstream: Recorder) -> None:
    engine = ChatterboxEngine(context(CB, None))
    with pytest.raises(WeightsNotFound):
        engine.load()
    assert "from_pretrained" not in upstream.names()


def test_from_pretrained_only_when_downloads_are_allowed(upstream: Recorder) -> None:
    engine = ChatterboxEngine(context(CB_CUDA, None, allow_download=True))
    engine.load()
    assert upstream.last("from_pretrained") == {"device": "cuda"}
    assert upstream.last("loaded")["offline"] is None


@pytest.mark.parametrize(
    ("missing", "told"),
    [
        ("pkg_resources", "pip install 'setuptools<81'"),
        ("torchaudio", "it needs the module torchaudio: install it (pip install torchaudio)"),
    ],
)
def test_broken_perth_names_its_real_cause(
    install: Install, fake_torch: TorchRecorder, tmp_path: Path, missing: str, told: str
) -> None:
    import sys

    modules, _ = make_chatterbox(sys.modules["torch"], perth_broken=True)
    # perth swallows the ImportError of its watermarker module; ours raises like the
    # real one does when pkg_resources (setuptools >= 81) or torchaudio is absent
    watermarker = tmp_path / "perth" / "perth_net" / "perth_net_implicit"
    watermarker.mkdir(parents=True)
    for folder in (watermarker.parent, watermarker):
        (folder / "__init__.py").write_text("", encoding="utf-8")
    (watermarker / "perth_watermarker.py").write_text(
        f'raise ModuleNotFoundError("No module named {missing!r}", name={missing!r})\n',
        encoding="utf-8",
    )
    modules["perth"].__path__ = [str(tmp_path / "perth")]
    install(modules)
    engine = ChatterboxEngine(context(CB, make_files(tmp_path, ORIGINAL_FILES)))
    try:
        with pytest.raises(EngineError, match="could not load its watermarker") as err:
            engine.load()
    finally:  # the stand-in's subpackages must not outlive this test
        for name in [m for m in sys.modules if m.startswith("perth.")]:
            del sys.modules[name]
    assert told in str(err.value)
    assert f"No module named '{missing}'" in str(err.value)
    if missing != "pkg_resources":
        assert "setuptools" not in str(err.value)  # the old message always blamed it


# -- knobs -----------------------------------------------------------------------------


def test_knobs_reach_generate_with_upstream_names(
    tmp_path: Path, upstream: Recorder, fake_torch: TorchRecorder
) -> None:
    folder = make_files(tmp_path, [*ORIGINAL_FILES, "conds.pt"])
    engine = loaded(
        ChatterboxEngine,
        CB,
        folder,
        exaggeration="0.7",
        cfg_weight="0.3",
        temperature="0.6",
        top_p="0.9",
        min_p="0.1",
        repetition_penalty="1.5",
        seed="7",
        unrelated_knob="x",
    )
    engine.synthesize("Hi.", SynthesisOptions(extra={"temperature": 0.4}))
    call = upstream.last("generate")
    assert call == {
        "text": "Hi.",
        "exaggeration": 0.7,
        "cfg_weight": 0.3,
        "temperature": 0.4,
        "top_p": 0.9,
        "min_p": 0.1,
        "repetition_penalty": 1.5,
        "audio_prompt_path": None,
    }
    assert ("manual_seed", (7,)) in fake_torch.calls


def test_untouched_knobs_keep_upstream_defaults(tmp_path: Path, upstream: Recorder) -> None:
    engine = loaded(ChatterboxEngine, CB, make_files(tmp_path, [*ORIGINAL_FILES, "conds.pt"]))
    engine.synthesize("Hi.", SynthesisOptions())
    call = upstream.last("generate")
    assert (call["exaggeration"], call["cfg_weight"], call["temperature"]) == (0.5, 0.5, 0.8)


@pytest.mark.parametrize("value", ["0", "0.0", 0.0])
def test_cfg_weight_zero_is_rejected_on_the_original(
    tmp_path: Path, upstream: Recorder, value: object
) -> None:
    engine = loaded(ChatterboxEngine, CB, make_files(tmp_path, [*ORIGINAL_FILES, "conds.pt"]))
    with pytest.raises(EngineError, match="cfg_weight=0"):
        engine.synthesize("Hi.", SynthesisOptions(extra={"cfg_weight": value}))
    assert "generate" not in upstream.names()


@pytest.mark.parametrize(
    ("knob", "value", "expected"),
    [
        ("temperature", "warm", "a number"),
        ("top_p", "1.5", "<= 1.0"),
        ("exaggeration", "-1", ">= 0.0"),
        ("watermark", "maybe", "on/off"),
        ("seed", "1.5", "whole number"),
    ],
)
def test_bad_knob_values_name_the_knob(
    tmp_path: Path, upstream: Recorder, knob: str, value: str, expected: str
) -> None:
    engine = loaded(ChatterboxEngine, CB, make_files(tmp_path, [*ORIGINAL_FILES, "conds.pt"]))
    with pytest.raises(EngineError, match=f"knob {knob}=.*expected .*{expected}"):
        engine.synthesize("Hi.", SynthesisOptions(extra={knob: value}))


# -- stages, watermark, voices ---------------------------------------------------------


def test_stage_times_split_t3_s3gen_and_watermark(tmp_path: Path, upstream: Recorder) -> None:
    engine = loaded(ChatterboxEngine, CB, make_files(tmp_path, [*ORIGINAL_FILES, "conds.pt"]))
    engine.synthesize("Hi.", SynthesisOptions())
    stages = engine.stage_seconds()
    assert {"t3", "s3gen", "watermark", "t3_tokens", "t3_tokens_per_s"} <= set(stages)
    assert stages["t3_tokens"] == 7
    assert upstream.names().count("watermark") == 1


def test_watermark_can_be_switched_off(tmp_path: Path, upstream: Recorder) -> None:
    engine = loaded(
        ChatterboxEngine, CB, make_files(tmp_path, [*ORIGINAL_FILES, "conds.pt"]), watermark="off"
    )
    audio = engine.synthesize("Hi.", SynthesisOptions())
    assert np.allclose(audio, WAV_LEVEL)
    assert "watermark" not in upstream.names()
    assert "watermark" not in engine.stage_seconds()
    assert engine.details()["watermark"] == "off"


def test_a_reference_voice_is_prepared_once(tmp_path: Path, upstream: Recorder) -> None:
    engine = loaded(ChatterboxEngine, CB, make_files(tmp_path, [*ORIGINAL_FILES, "conds.pt"]))
    clip = make_files(tmp_path, ["voice.wav"]) / "voice.wav"
    opts = SynthesisOptions(reference_audio=clip, extra={"exaggeration": 0.6})
    engine.synthesize("One.", opts)
    assert "prepare_voice" in engine.stage_seconds()
    engine.synthesize("Two.", opts)
    assert "prepare_voice" not in engine.stage_seconds()
    assert upstream.names().count("prepare_conditionals") == 1
    assert upstream.last("prepare_conditionals") == {"wav_fpath": str(clip), "exaggeration": 0.6}
    assert upstream.last("generate")["audio_prompt_path"] is None
    engine.synthesize("Three.", SynthesisOptions())
    assert engine.model.conds == "builtin"


def test_no_builtin_voice_and_no_reference_is_an_error(tmp_path: Path, upstream: Recorder) -> None:
    engine = loaded(ChatterboxEngine, CB, make_files(tmp_path, ORIGINAL_FILES))
    with pytest.raises(EngineError, match="reference_audio"):
        engine.synthesize("Hi.", SynthesisOptions())


def test_no_native_stream_without_the_fork(tmp_path: Path, upstream: Recorder) -> None:
    installed = dist_installed("chatterbox-streaming")
    assert ChatterboxEngine.capabilities.stream is installed  # decided by the installed dist
    engine = loaded(ChatterboxEngine, CB, make_files(tmp_path, [*ORIGINAL_FILES, "conds.pt"]))
    with pytest.raises(EngineError, match="chatterbox-streaming"):
        next(iter(engine.stream("Hi.", SynthesisOptions())))


def test_cuda_peak_memory_and_close(
    tmp_path: Path, upstream: Recorder, fake_torch: TorchRecorder
) -> None:
    engine = loaded(ChatterboxEngine, CB_CUDA, make_files(tmp_path, [*ORIGINAL_FILES, "conds.pt"]))
    engine.reset_peak_memory()
    engine.synthesize("Hi.", SynthesisOptions())
    assert engine.peak_memory_bytes() == 123_456
    names = [name for name, _ in fake_torch.calls]
    assert "cuda.reset_peak_memory_stats" in names
    assert "cuda.synchronize" in names
    engine.close()
    assert engine.model is None
    assert [name for name, _ in fake_torch.calls][-1] == "cuda.empty_cache"


def test_cpu_has_no_peak_counter(tmp_path: Path, upstream: Recorder) -> None:
    engine = loaded(ChatterboxEngine, CB, make_files(tmp_path, [*ORIGINAL_FILES, "conds.pt"]))
    assert engine.peak_memory_bytes() is None


# -- Turbo -----------------------------------------------------------------------------


def test_turbo_passes_its_own_knobs_only(tmp_path: Path, upstream: Recorder) -> None:
    folder = make_files(tmp_path, [*TURBO_FILES, "conds.pt"])
    engine = loaded(
        ChatterboxTurboEngine,
        TURBO,
        folder,
        temperature="0.5",
        top_k="50",
        top_p="0.8",
        repetition_penalty="1.1",
        norm_loudness="off",
        exaggeration="0.9",
        cfg_weight="0",
    )
    audio = engine.synthesize("Hi [laugh].", SynthesisOptions())
    assert_host_audio(audio)
    call = upstream.last("generate")
    assert (call["temperature"], call["top_k"], call["top_p"]) == (0.5, 50, 0.8)
    assert (call["repetition_penalty"], call["norm_loudness"]) == (1.1, False)
    assert (call["exaggeration"], call["cfg_weight"], call["min_p"]) == (0.0, 0.0, 0.0)
    assert upstream.last("s3gen.inference")["n_cfm_timesteps"] == 2
    assert engine.stage_seconds()["t3_tokens"] == 5
    assert ChatterboxTurboEngine.capabilities.tags


def test_turbo_rejects_a_short_reference_clearly(tmp_path: Path, upstream: Recorder) -> None:
    engine = loaded(ChatterboxTurboEngine, TURBO, make_files(tmp_path, [*TURBO_FILES, "conds.pt"]))
    clip = make_files(tmp_path, ["short.wav"]) / "short.wav"
    with pytest.raises(EngineError, match="longer than 5 s"):
        engine.synthesize("Hi.", SynthesisOptions(reference_audio=clip))


def test_turbo_lookup_names_its_files(tmp_path: Path, hf_env: dict[str, str]) -> None:
    lookup = ChatterboxTurboEngine.locate_weights(TURBO, query(hf_env))
    assert "t3_turbo_v1.safetensors" in lookup.hint
    assert "TTSBENCH_CHATTERBOX_TURBO_PT_WEIGHTS" in lookup.hint
    assert "ResembleAI/chatterbox-turbo" in "; ".join(lookup.searched)


# -- the chatterbox-streaming fork -----------------------------------------------------


def test_the_fork_streams_natively(tmp_path: Path, fork: Recorder) -> None:
    engine = loaded(
        ChatterboxEngine,
        CB,
        make_files(tmp_path, [*FORK_FILES, "conds.pt"]),
        chunk_size="10",
        top_p="0.5",
    )
    chunks = list(engine.stream("Hello there.", SynthesisOptions(extra={"context_window": 20})))
    assert len(chunks) == 3
    for chunk in chunks:
        assert_host_audio(chunk)
    call = fork.last("generate_stream")
    assert (call["chunk_size"], call["context_window"], call["print_metrics"]) == (10, 20, False)
    stages = engine.stage_seconds()
    assert stages["upstream_latency_to_first_chunk"] == 0.25
    assert stages["upstream_total_generation_time"] == 0.75
    assert stages["t3_tokens"] == 30
    assert fork.names().count("watermark") == 3  # each chunk is watermarked on its own
    engine.synthesize("Hi.", SynthesisOptions())
    assert "top_p" not in fork.last("generate")  # the fork's generate() has no top_p
    assert engine.details()["upstream"] == "chatterbox-streaming"


def test_turbo_under_the_fork_says_why(tmp_path: Path, fork: Recorder) -> None:
    engine = ChatterboxTurboEngine(context(TURBO, make_files(tmp_path, TURBO_FILES)))
    with pytest.raises(EngineError, match="chatterbox-streaming has no Turbo"):
        engine.load()


# -- length cap (random weights never emit the stop token) -----------------------------


def test_a_length_cap_lowers_t3s_hard_coded_token_limit(
    tmp_path: Path, upstream: Recorder, fake_torch: TorchRecorder
) -> None:
    engine = loaded(ChatterboxEngine, CB, make_files(tmp_path, [*ORIGINAL_FILES, "conds.pt"]))
    assert engine.capabilities.length_cap
    engine.synthesize("Hi.", SynthesisOptions())
    assert upstream.last("t3.inference")["max_new_tokens"] == 1000  # upstream's own
    engine.synthesize("Hi.", SynthesisOptions(max_audio_s=2.0))
    assert upstream.last("t3.inference")["max_new_tokens"] == 50  # 2 s at 25 tokens/s
    engine.synthesize("Hi.", SynthesisOptions(max_audio_s=100.0))
    assert upstream.last("t3.inference")["max_new_tokens"] == 1000  # never raised


def test_turbo_caps_its_own_limit_kwarg(
    tmp_path: Path, upstream: Recorder, fake_torch: TorchRecorder
) -> None:
    engine = loaded(ChatterboxTurboEngine, TURBO, make_files(tmp_path, [*TURBO_FILES, "conds.pt"]))
    engine.synthesize("Hi.", SynthesisOptions(max_audio_s=0.4))
    # 10 tokens in 0.4 s: inference_turbo samples one before its loop of max_gen_len and
    # generate() appends 3 of silence, so 6 keeps S3Gen's input at 10
    assert upstream.last("t3.inference_turbo")["max_gen_len"] == 6
    engine.synthesize("Hi.", SynthesisOptions(max_audio_s=0.1))
    assert upstream.last("t3.inference_turbo")["max_gen_len"] == 1  # never below one


def test_details_report_the_token_limit_the_last_call_used(
    tmp_path: Path, upstream: Recorder, fake_torch: TorchRecorder
) -> None:
    engine = loaded(ChatterboxEngine, CB, make_files(tmp_path, [*ORIGINAL_FILES, "conds.pt"]))
    assert engine.details()["t3_max_new_tokens"] == 1000  # upstream's own, before any call
    engine.synthesize("Hi.", SynthesisOptions(max_audio_s=2.0))
    assert engine.details()["t3_max_new_tokens"] == 50
    engine.synthesize("Hi.", SynthesisOptions())
    assert engine.details()["t3_max_new_tokens"] == 1000
