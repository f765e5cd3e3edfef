"""Contract tests of the Kokoro (kokoro package) and Marvis (transformers CSM) adapters."""

from __future__ import annotations

import importlib.machinery
import types
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.engines import marvis_pt
from pytest_ttsbench.engines.base import EngineError, SynthesisOptions, WeightsNotFound
from pytest_ttsbench.engines.kokoro_pt import KokoroPtEngine
from pytest_ttsbench.engines.marvis_pt import MarvisPtEngine
from pytest_ttsbench.engines.torch_tuning import Tuning
from pytest_ttsbench.results.target import Target

from .conftest import Install, assert_host_audio, context, make_files, query
from .fakes.kokoro_transformers_fake import Recorder, make_kokoro, make_transformers

if TYPE_CHECKING:
    from pathlib import Path

    from .fakes.torch_fake import TorchRecorder

KOKORO = Target("kokoro", "pt", "cuda", "default")
MARVIS = Target("marvis", "pt", "cpu", "default")
KOKORO_FILES = ("config.json", "kokoro-v1_0.pth", "voices/af_heart.pt", "voices/am_adam.pt")
MARVIS_FILES = ("config.json", "model.safetensors", "tokenizer.json")


@pytest.fixture
def spacy_model(install: Install) -> None:
    module = types.ModuleType("en_core_web_sm")
    module.__spec__ = importlib.machinery.ModuleSpec("en_core_web_sm", None)
    install({"en_core_web_sm": module})


@pytest.fixture
def kokoro(install: Install, fake_torch: TorchRecorder) -> Recorder:
    rec = Recorder()
    install({"kokoro": make_kokoro(rec)})
    return rec


@pytest.fixture
def transformers(install: Install, fake_torch: TorchRecorder) -> Recorder:
    rec = Recorder()
    install({"transformers": make_transformers(rec)})
    return rec


def test_kokoro_lookup_needs_files_and_the_spacy_model(
    tmp_path: Path, hf_env: dict[str, str], install: Install
) -> None:
    lookup = KokoroPtEngine.locate_weights(KOKORO, query(hf_env))
    assert "kokoro-v1_0.pth" in lookup.hint
    assert "voices/*.pt" in lookup.hint
    assert "HF cache hexgrad/Kokoro-82M" in "; ".join(lookup.searched)
    folder = make_files(tmp_path, KOKORO_FILES)
    found = KokoroPtEngine.locate_weights(KOKORO, query(hf_env, {"kokoro": folder}))
    assert not found.found
    assert "en_core_web_sm" in found.missing[-1]
    assert "spacy download" in found.hint


def test_kokoro_loads_locally_and_yields_segments(
    tmp_path: Path, kokoro: Recorder, spacy_model: None
) -> None:
    folder = make_files(tmp_path, KOKORO_FILES)
    engine = KokoroPtEngine(context(KOKORO, folder))
    engine.load()
    assert kokoro.last("KModel") == {
        "repo_id": "hexgrad/Kokoro-82M",
        "config": str(folder / "config.json"),
        "model": str(folder / "kokoro-v1_0.pth"),
        "offline": "1",
    }
    assert kokoro.last("KPipeline")["lang_code"] == "a"
    chunks = list(engine.stream("One.\nTwo two.", SynthesisOptions(speed=1.1)))
    assert [c.size for c in chunks] == [2400, 4800]  # the audio-less result is skipped
    for chunk in chunks:
        assert_host_audio(chunk)  # moved off the cuda stand-in tensor
    call = kokoro.last("call")
    assert call["voice"] == str(folder / "voices" / "af_heart.pt")
    assert call["speed"] == 1.1
    assert_host_audio(engine.synthesize("Hi.", SynthesisOptions(voice="af_heart,am_adam")))
    assert kokoro.last("call")["voice"].count(".pt") == 2
    with pytest.raises(EngineError, match="have af_heart, am_adam"):
        engine.synthesize("Hi.", SynthesisOptions(voice="bf_nobody"))
    with pytest.raises(EngineError, match=r"speed 3\.0"):
        engine.synthesize("Hi.", SynthesisOptions(speed=3.0))
    engine.synthesize("Hi.", SynthesisOptions(language="es"))
    assert kokoro.last("KPipeline")["lang_code"] == "e"
    assert (engine.details()["dtype"], engine.details()["compile"]) == ("float32", "off")
    with pytest.raises(EngineError, match="knob dtype='fp8': expected float32, bfloat16"):
        list(engine.stream("Hi.", SynthesisOptions(extra={"dtype": "fp8"})))
    engine.close()
    assert engine.model is None


def test_kokoro_refuses_the_hidden_spacy_download(tmp_path: Path, kokoro: Recorder) -> None:
    engine = KokoroPtEngine(context(KOKORO, make_files(tmp_path, KOKORO_FILES)))
    with pytest.raises(EngineError, match="en_core_web_sm"):
        engine.load()
    assert "KPipeline" not in kokoro.names()


def test_kokoro_without_weights(kokoro: Recorder) -> None:
    with pytest.raises(WeightsNotFound):
        KokoroPtEngine(context(KOKORO, None)).load()
    assert "KModel" not in kokoro.names()


def test_marvis_pops_token_type_ids_and_returns_audio(
    tmp_path: Path,
    transformers: Recorder,
    fake_torch: TorchRecorder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked: list[tuple[str, str]] = []
    monkeypatch.setattr(  # the stand-in torch has no kernels to probe
        marvis_pt, "check_dtype", lambda _t, device, dtype, _e: checked.append((device, dtype))
    )
    folder = make_files(tmp_path, MARVIS_FILES)
    lookup = MarvisPtEngine.locate_weights(MARVIS, query({}, {"marvis-pt": folder}))
    assert lookup.path == folder
    engine = MarvisPtEngine(context(MARVIS, folder, options={"dtype": "bfloat16"}))
    engine.load()
    assert checked == [("cpu", "bfloat16")]  # the load dtype is checked on the device
    assert transformers.last("AutoProcessor")["offline"] == "1"
    assert transformers.last("from_pretrained") == {"path": str(folder), "dtype": "torch.bfloat16"}
    audio = engine.synthesize(
        "Hello.", SynthesisOptions(extra={"speaker": "1", "temperature": 0.7, "max_new_tokens": 90})
    )
    assert_host_audio(audio)
    assert transformers.last("processor")["text"] == "[1]Hello."
    call = transformers.last("generate")
    assert call["output_audio"] is True
    assert call["input_ids"].tolist() == [[1, 2, 3]]
    assert (call["temperature"], call["max_new_tokens"]) == (0.7, 90)
    assert "token_type_ids" not in call
    assert ("inference_mode", ()) in fake_torch.calls
    assert not MarvisPtEngine.capabilities.stream
    # the load dtype is what the calls run with: the session's dtype knob casts nothing
    assert engine.tuning == Tuning("bfloat16", "off")
    assert engine.stage_seconds() == {}
    assert (engine.details()["dtype"], engine.details()["compile"]) == ("bfloat16", "off")
    with pytest.raises(EngineError, match="knob compile='fast!': expected true/false"):
        engine.synthesize("Hello.", SynthesisOptions(extra={"compile": "fast!"}))


def test_marvis_bad_dtype_and_no_download(tmp_path: Path, transformers: Recorder) -> None:
    folder = make_files(tmp_path, MARVIS_FILES)
    with pytest.raises(EngineError, match="dtype='int8'"):
        MarvisPtEngine(context(MARVIS, folder, options={"dtype": "int8"})).load()
    with pytest.raises(WeightsNotFound):
        MarvisPtEngine(context(MARVIS, None)).load()
    assert "AutoProcessor" not in transformers.names()
