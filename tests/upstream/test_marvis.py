"""Upstream tier, Marvis: transformers' CSM (marvis-pt) and mlx-audio's sesame model
(marvis-mlx) with tiny random-init weights built by their own classes; each reloads
through its own loader, then the shipped suites run through the real adapter."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.upstream.support import (
    assert_suites_ran,
    measured,
    offline_env,
    run_child,
    run_suites,
    sweep_tuning,
)

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.upstream

FRAME_SAMPLES = 1920  # 24 kHz / 12.5 Hz Mimi frames


@pytest.fixture(scope="module")
def pt_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.upstream.builders.marvis import build_marvis_pt

    return build_marvis_pt(tmp_path_factory.mktemp("marvis-pt"))


@pytest.fixture(scope="module")
def mlx_weights(tmp_path_factory: pytest.TempPathFactory, hf_home: Path) -> Path:
    pytest.importorskip("mlx.core")
    pytest.importorskip("mlx_audio.tts.utils")
    from tests.upstream.builders.marvis import build_marvis_mlx

    return build_marvis_mlx(tmp_path_factory.mktemp("marvis-mlx"), hf_home)


def test_marvis_pt_reloads_and_generates(pt_weights: Path) -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from pytest_ttsbench.engines.hub import hub_offline

    with hub_offline():
        processor = transformers.AutoProcessor.from_pretrained(str(pt_weights))
        model = transformers.CsmForConditionalGeneration.from_pretrained(str(pt_weights))
    inputs = processor("[0]Hello.", add_special_tokens=True, return_tensors="pt")
    inputs.pop("token_type_ids", None)
    with torch.inference_mode():
        audio = model.eval().generate(**inputs, output_audio=True, max_new_tokens=3)
    frames = audio[0].shape[-1] / FRAME_SAMPLES
    assert 1 <= frames <= 3, frames  # an all-eos frame may end it early
    assert bool(torch.isfinite(audio[0]).all())
    marker = json.loads((pt_weights / "ttsbench-random-weights.json").read_text("utf-8"))
    assert marker["random_weights"]
    assert marker["parameters"] == sum(p.numel() for p in model.parameters())


RELOAD_MLX = """
import json, sys
import mlx.core as mx
import numpy as np
from pathlib import Path
from mlx_audio.tts.utils import load_model
model = load_model(Path(sys.argv[1]))
chunks = [np.asarray(r.audio.astype(mx.float32)) for r in model.generate(
    "Hello.", max_audio_length_ms=240, stream=True, streaming_interval=0.16)]
print(json.dumps({"sizes": [c.size for c in chunks], "sample_rate": model.sample_rate,
                  "finite": all(bool(np.isfinite(c).all()) for c in chunks)}))
"""


def test_marvis_mlx_reloads_and_generates(mlx_weights: Path, hf_home: Path, tmp_path: Path) -> None:
    pytest.importorskip("mlx_audio.tts.utils")
    # A child process: huggingface_hub reads HF_HOME once, at import.
    stdout = run_child(RELOAD_MLX, [str(mlx_weights)], offline_env(hf_home, tmp_path / "cache"))
    out = json.loads(stdout.strip().splitlines()[-1])
    assert out["sample_rate"] == 24000
    assert out["finite"], out
    sizes = [s for s in out["sizes"] if s]  # the final streamed result may be empty
    assert 1 <= sum(sizes) // FRAME_SAMPLES <= 3, out  # 240 ms = 3 frames at most
    assert len(sizes) >= 2, out  # streamed: a chunk every 2 frames


def test_marvis_pt_suites(pt_weights: Path, hf_home: Path, tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    run = run_suites(
        tmp_path / "project", "marvis-pt", pt_weights, offline_env(hf_home, tmp_path / "cache")
    )
    assert_suites_ran(run, "marvis-pt")
    print("\n".join(["marvis-pt:", *measured(run)]))


def test_marvis_mlx_suites(mlx_weights: Path, hf_home: Path, tmp_path: Path) -> None:
    pytest.importorskip("mlx_audio.tts.utils")
    run = run_suites(
        tmp_path / "project", "marvis-mlx", mlx_weights, offline_env(hf_home, tmp_path / "cache")
    )
    # native default, small and large chunking, and sentence mode
    assert_suites_ran(run, "marvis-mlx", min_streaming=4)
    swept = {r["test"].rsplit("::", 1)[-1] for r in run.results}
    for chunking in ("small", "large"):  # the adapter's streaming_interval sweep ran
        assert f"test_streaming[marvis-mlx-cpu-short-{chunking}-native]" in swept, swept
    print("\n".join(["marvis-mlx:", *measured(run)]))


def test_marvis_pt_dtype_and_compile_sweep(pt_weights: Path, hf_home: Path, tmp_path: Path) -> None:
    """The shipped sweep suite over a dtype x compile grid on one loaded model: each
    point passes, runs with its own dtype and compile, and pays its switch in a
    warm-up, never in a measured trial."""
    pytest.importorskip("torch")
    env = offline_env(hf_home, tmp_path / "cache")
    sweep_tuning(tmp_path / "project", "marvis-pt", pt_weights, env)
