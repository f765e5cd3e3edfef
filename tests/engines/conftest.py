"""Shared helpers for the adapter contract tests.

Stand-in upstream modules are installed with ``monkeypatch.setitem(sys.modules, ...)``
inside each test, so they vanish at teardown and never leak into another test.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from pytest_ttsbench.engines.base import EngineContext, WeightsLookup, WeightsQuery

from .fakes.onnx_fake import Recorder as OnnxRecorder
from .fakes.onnx_fake import make_onnxruntime, make_tokenizers
from .fakes.torch_fake import TorchRecorder, make_torch

if TYPE_CHECKING:
    from pytest_ttsbench.results.target import Target

Install = Callable[[Mapping[str, types.ModuleType]], None]


@pytest.fixture
def install(monkeypatch: pytest.MonkeyPatch) -> Install:
    """Put stand-in modules into sys.modules for this test only."""

    def put(modules: Mapping[str, types.ModuleType]) -> None:
        for name, module in modules.items():
            monkeypatch.setitem(sys.modules, name, module)

    return put


@pytest.fixture
def fake_torch(install: Install) -> TorchRecorder:
    torch, rec = make_torch()
    install({"torch": torch})
    return rec


@pytest.fixture
def hf_env(tmp_path: Path) -> dict[str, str]:
    """An environment whose Hugging Face cache is an empty folder of this test."""
    return {"HF_HUB_CACHE": str(tmp_path / "hf-cache")}


def make_files(folder: Path, names: Iterable[str]) -> Path:
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    return folder


def cache_snapshot(env: Mapping[str, str], repo: str, names: Iterable[str]) -> Path:
    """Lay out ``names`` as a cached snapshot of ``repo``, as huggingface_hub does."""
    root = Path(env["HF_HUB_CACHE"]) / f"models--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True, exist_ok=True)
    (root / "refs" / "main").write_text("abc123", encoding="utf-8")
    return make_files(root / "snapshots" / "abc123", names)


def query(env: Mapping[str, str], explicit: Mapping[str, Path] | None = None) -> WeightsQuery:
    return WeightsQuery(explicit=dict(explicit or {}), env=dict(env), cache_dir=Path())


def context(
    target: Target,
    folder: Path | None,
    *,
    options: Mapping[str, str] | None = None,
    allow_download: bool = False,
) -> EngineContext:
    lookup = WeightsLookup(path=folder, hint="Put the files in a folder")
    return EngineContext(
        target=target,
        weights=lookup,
        options=dict(options or {}),
        allow_download=allow_download,
        cache_dir=Path(),
    )


def assert_host_audio(audio: object) -> None:
    """The contract: a 1-D float32 numpy array in host memory, not empty."""
    assert isinstance(audio, np.ndarray)
    assert audio.dtype == np.float32
    assert audio.ndim == 1
    assert audio.size > 0


# -- the ONNX Runtime stand-in (original and Turbo exports) -----------------------------


@pytest.fixture
def ort(install: Install) -> OnnxRecorder:
    rec = OnnxRecorder()
    install({"onnxruntime": make_onnxruntime(rec, original=True), "tokenizers": make_tokenizers()})
    return rec


@pytest.fixture
def turbo_ort(install: Install) -> OnnxRecorder:
    rec = OnnxRecorder()
    install({"onnxruntime": make_onnxruntime(rec, original=False), "tokenizers": make_tokenizers()})
    return rec
