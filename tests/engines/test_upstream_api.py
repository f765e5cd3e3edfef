"""The upstream API the adapters rely on: checked against the stand-ins always, and against
the real packages wherever they are installed (skipped with the reason otherwise)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import subprocess
import sys
import types
from typing import Any

import pytest

from .fakes import chatterbox_fake, kokoro_transformers_fake, mlx_fake, onnx_fake
from .fakes.torch_fake import make_torch
from .upstream_api import (
    CALLS,
    EXPECTED,
    FIELDS,
    Api,
    calls_in,
    fields_in,
    installed_source,
    params_of,
    real_params,
)


def _fake_modules() -> dict[str, dict[str, Any]]:
    torch, _ = make_torch()
    cb, _ = chatterbox_fake.make_chatterbox(torch)
    fork, _ = chatterbox_fake.make_chatterbox(torch, fork=True)
    mlx_audio = mlx_fake.make_mlx_audio(mlx_fake.Recorder())
    kokoro = kokoro_transformers_fake.make_kokoro(kokoro_transformers_fake.Recorder())
    transformers = kokoro_transformers_fake.make_transformers(kokoro_transformers_fake.Recorder())
    ort = onnx_fake.make_onnxruntime(onnx_fake.Recorder(), original=True)
    ns = types.SimpleNamespace
    return {
        "chatterbox-tts": {
            "chatterbox.tts": cb["chatterbox.tts"],
            "chatterbox.tts_turbo": cb["chatterbox.tts_turbo"],
        },
        "chatterbox-streaming": {"chatterbox.tts": fork["chatterbox.tts"]},
        "mlx-audio": {
            "mlx_audio.tts.utils": mlx_audio["mlx_audio.tts.utils"],
            "mlx_audio.lm.sample_utils": mlx_audio["mlx_audio.lm.sample_utils"],
            "mlx_audio.tts.models.chatterbox.chatterbox": ns(Model=mlx_fake.ChatterboxModel),
            "mlx_audio.tts.models.chatterbox_turbo.chatterbox_turbo": ns(
                ChatterboxTurboTTS=mlx_fake.ChatterboxTurboModel
            ),
            "mlx_audio.tts.models.kokoro.kokoro": ns(Model=mlx_fake.KokoroModel),
            "mlx_audio.tts.models.sesame.sesame": ns(Model=mlx_fake.SesameModel),
            "mlx_audio.tts.models.base": ns(GenerationResult=mlx_fake.GenerationResult),
        },
        "kokoro": {"kokoro.model": kokoro, "kokoro.pipeline": kokoro},
        "transformers": {
            "transformers.models.csm.generation_csm": ns(
                CsmGenerationMixin=getattr(transformers, "CsmForConditionalGeneration")  # noqa: B009
            )
        },
        "onnxruntime": {"onnxruntime": ort},
    }


FAKES = _fake_modules()


def _resolve(root: Any, qualname: str) -> Any:
    obj = root
    for part in qualname.split("."):
        obj = inspect.getattr_static(obj, part)
    return obj


@pytest.mark.parametrize("api", EXPECTED, ids=lambda a: a.id)
def test_fakes_mirror_the_upstream(api: Api) -> None:
    fake = _resolve(FAKES[api.dist][api.module], api.qualname)
    assert params_of(fake) == api.params


@pytest.mark.parametrize("api", EXPECTED, ids=lambda a: a.id)
def test_real_upstream_matches(api: Api) -> None:
    try:
        found, how = real_params(api)
    except LookupError as exc:
        pytest.skip(str(exc))
    assert found == api.params, f"{api.id} read with {how}"


@pytest.mark.parametrize(
    ("dist", "file", "qualname", "calls"), CALLS, ids=[f"{c[0]}:{c[2]}" for c in CALLS]
)
def test_generate_calls_the_substeps_we_time(
    dist: str, file: str, qualname: str, calls: frozenset[str]
) -> None:
    source = installed_source(dist, file)
    if source is None:
        pytest.skip(f"{dist} is not installed")
    assert calls <= calls_in(source, qualname)


@pytest.mark.parametrize(
    ("dist", "file", "module", "qualname", "names"), FIELDS, ids=[f[3] for f in FIELDS]
)
def test_result_fields(
    dist: str, file: str, module: str, qualname: str, names: tuple[str, ...]
) -> None:
    fake = getattr(FAKES[dist][module], qualname)
    assert tuple(f.name for f in dataclasses.fields(fake)) == names
    source = installed_source(dist, file)
    if source is None:
        pytest.skip(f"{dist} is not installed")
    assert fields_in(source, qualname) == names


def test_real_mlx_memory_and_device_api() -> None:
    mx = pytest.importorskip("mlx.core", reason="mlx is not installed (tox -e mlx)")
    for name in (
        "get_peak_memory",
        "reset_peak_memory",
        "clear_cache",
        "set_default_device",
        "default_device",
    ):
        assert callable(getattr(mx, name)), name
    mx.reset_peak_memory()
    assert isinstance(mx.get_peak_memory(), int)
    assert str(mx.default_device()).startswith("Device(")


def test_real_tokenizers_api() -> None:
    tokenizers = pytest.importorskip("tokenizers", reason="tokenizers is not installed")
    assert callable(tokenizers.Tokenizer.from_file)
    assert hasattr(tokenizers.Tokenizer, "encode")


def test_real_onnxruntime_api() -> None:
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    assert "CPUExecutionProvider" in ort.get_available_providers()
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    assert options.intra_op_num_threads == 2


def test_adapters_import_nothing_heavy() -> None:
    """Importing the adapters and asking where weights are must not import any engine."""
    code = """
import sys
from pathlib import Path
from pytest_ttsbench.engines.base import WeightsQuery
from pytest_ttsbench.results.target import Target
from pytest_ttsbench.engines import chatterbox_pt, chatterbox_onnx, kokoro_pt, marvis_pt
from pytest_ttsbench.engines import mlx_chatterbox, mlx_kokoro, mlx_marvis
q = WeightsQuery(explicit={}, env={"HF_HUB_CACHE": "/nonexistent"}, cache_dir=Path("."))
for cls, model, backend, variant in [
        (chatterbox_pt.ChatterboxEngine, "chatterbox", "pt", "default"),
        (chatterbox_pt.ChatterboxTurboEngine, "chatterbox-turbo", "pt", "default"),
        (chatterbox_onnx.ChatterboxOnnxEngine, "chatterbox", "onnx", "fp32"),
        (chatterbox_onnx.ChatterboxTurboOnnxEngine, "chatterbox-turbo", "onnx", "q4"),
        (kokoro_pt.KokoroPtEngine, "kokoro", "pt", "default"),
        (marvis_pt.MarvisPtEngine, "marvis", "pt", "default"),
        (mlx_chatterbox.ChatterboxMlxEngine, "chatterbox", "mlx", "fp16"),
        (mlx_chatterbox.ChatterboxTurboMlxEngine, "chatterbox-turbo", "mlx", "4bit"),
        (mlx_kokoro.KokoroMlxEngine, "kokoro", "mlx", "bf16"),
        (mlx_marvis.MarvisMlxEngine, "marvis", "mlx", "8bit")]:
    assert not cls.locate_weights(Target(model, backend, "cpu", variant), q).found
heavy = {"torch", "mlx", "onnxruntime", "chatterbox", "kokoro", "transformers", "mlx_audio",
         "tokenizers", "huggingface_hub", "misaki", "spacy"}
loaded = sorted(heavy & {name.split(".")[0] for name in sys.modules})
assert not loaded, loaded
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr


def test_stand_ins_do_not_leak() -> None:
    """Each test's fakes are gone afterwards (monkeypatch restores sys.modules)."""
    for name in ("chatterbox", "chatterbox.tts", "mlx_audio.tts.utils", "kokoro", "transformers"):
        module = sys.modules.get(name)
        assert module is None or getattr(module, "__file__", None), name
    torch = sys.modules.get("torch")
    assert torch is None or importlib.util.find_spec("torch") is not None
