"""Upstream tier, Chatterbox on MLX: mlx-audio's chatterbox (chatterbox-mlx) and
chatterbox_turbo (chatterbox-turbo-mlx) models with random-init weights built by their
own classes; each reloads through load_model and speaks, then the shipped suites run
through the real adapter.

Neither T3 backbone can shrink through its config, nor S3Gen (see the builder), so a
0.5 B parameter LM and a full-size vocoder run on the CPU: the suites run on the
ultra-short prompt only ("Hello there.", 12 characters) with a 0.6 s length cap (15
speech tokens; the harness rejects audio faster than 30 characters a second),
Chatterbox without CFG (half the batch), Turbo's default chunk at 0.4 s (its 10-token
floor) and without the large chunk (100 tokens before the first chunk)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.upstream.support import (
    assert_suites_ran,
    hf_cache_snapshot,
    measured,
    offline_env,
    run_child,
    run_suites,
)

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.upstream

SAMPLE_RATE = 24_000
# --tts-prompts adds to run_suites' "short": -k keeps only the ultra-short cases
ULTRA_SHORT = ("--tts-max-audio=0.6", "--tts-prompts=ultra-short")


def need_mlx_audio() -> None:
    pytest.importorskip("mlx.core")
    pytest.importorskip("mlx_audio.tts.utils")
    pytest.importorskip("tokenizers")


@pytest.fixture(scope="module")
def cb_weights(tmp_path_factory: pytest.TempPathFactory, hf_home: Path) -> Path:
    need_mlx_audio()
    from tests.upstream.builders.chatterbox_mlx import build_chatterbox_mlx

    return build_chatterbox_mlx(tmp_path_factory.mktemp("chatterbox-mlx"), hf_home)


@pytest.fixture(scope="module")
def turbo_weights(tmp_path_factory: pytest.TempPathFactory, hf_home: Path) -> Path:
    need_mlx_audio()
    pytest.importorskip("transformers")
    from tests.upstream.builders.chatterbox_mlx import build_chatterbox_turbo_mlx

    return build_chatterbox_turbo_mlx(tmp_path_factory.mktemp("chatterbox-turbo-mlx"), hf_home)


# A child process: huggingface_hub reads HF_HOME once, at import.
RELOAD = """
import json, sys
import mlx.core as mx
import numpy as np
from pathlib import Path
from mlx.utils import tree_flatten
from mlx_audio.tts.utils import load_model
model = load_model(Path(sys.argv[1]))
s3 = getattr(model, "_s3_tokenizer", None) or model._s3tokenizer
saved = mx.load(sys.argv[2])
name, value = next(iter(sorted(tree_flatten(s3.parameters()))))
kwargs = json.loads(sys.argv[3])
chunks = [np.asarray(r.audio.astype(mx.float32)) for r in model.generate("Hello.", **kwargs)]
print(json.dumps({
    "sizes": [c.size for c in chunks],
    "finite": all(bool(np.isfinite(c).all()) for c in chunks),
    "sample_rate": model.sample_rate,
    "tokenizer": (model.tokenizer or getattr(model, "mtl_tokenizer", None)) is not None,
    "builtin_voice": model._conds is not None,
    "s3_tokenizer_loaded": bool(mx.array_equal(value, saved[name].astype(value.dtype))),
    "parameters": sum(int(v.size) for _, v in tree_flatten(model.parameters())),
}))
"""


def reload_and_generate(
    folder: Path, hf_home: Path, tmp_path: Path, **kwargs: object
) -> dict[str, object]:
    s3 = hf_cache_snapshot(hf_home, "mlx-community/S3TokenizerV2") / "model.safetensors"
    stdout = run_child(
        RELOAD, [str(folder), str(s3), json.dumps(kwargs)], offline_env(hf_home, tmp_path / "cache")
    )
    out: dict[str, object] = json.loads(stdout.strip().splitlines()[-1])
    assert out["sample_rate"] == SAMPLE_RATE
    assert out["finite"], out
    assert out["tokenizer"], out  # turbo's post_load_hook only warns on a bad tokenizer
    assert out["builtin_voice"], out
    assert out["s3_tokenizer_loaded"], out  # read from the HF cache, not left at init
    marker = json.loads((folder / "ttsbench-random-weights.json").read_text("utf-8"))
    assert marker["random_weights"]
    assert marker["parameters"] == out["parameters"]
    return out


def test_chatterbox_mlx_reloads_and_generates(
    cb_weights: Path, hf_home: Path, tmp_path: Path
) -> None:
    out = reload_and_generate(
        cb_weights, hf_home, tmp_path, max_new_tokens=3, cfg_weight=0.0, verbose=False
    )
    sizes = out["sizes"]
    assert isinstance(sizes, list)
    assert len(sizes) == 1, out  # one result: no streaming upstream
    # 3 tokens at most (its stop token ends it sooner): up to 3 * 40 ms of speech
    assert 0 < sizes[0] <= 3 * SAMPLE_RATE // 25 + SAMPLE_RATE // 10, out


def test_chatterbox_turbo_mlx_reloads_and_generates(
    turbo_weights: Path, hf_home: Path, tmp_path: Path
) -> None:
    out = reload_and_generate(turbo_weights, hf_home, tmp_path, max_tokens=3)
    sizes = out["sizes"]
    assert isinstance(sizes, list)
    assert len(sizes) == 1, out
    # 3 tokens plus Turbo's 3 silence tokens, 40 ms each (HiFi-GAN's edges aside)
    assert 0 < sizes[0] <= 6 * SAMPLE_RATE // 25 + SAMPLE_RATE // 10, out


def test_chatterbox_mlx_suites(cb_weights: Path, hf_home: Path, tmp_path: Path) -> None:
    need_mlx_audio()
    run = run_suites(
        tmp_path / "project",
        "chatterbox-mlx",
        cb_weights,
        offline_env(hf_home, tmp_path / "cache"),
        *ULTRA_SHORT,
        "-k",
        "ultra",
        "--tts-opt",
        "cfg_weight=0",
    )
    # no native streaming: its native cases skip, sentence mode runs
    assert_suites_ran(run, "chatterbox-mlx")
    print("\n".join(["chatterbox-mlx:", *measured(run)]))


def test_chatterbox_turbo_mlx_suites(turbo_weights: Path, hf_home: Path, tmp_path: Path) -> None:
    need_mlx_audio()
    run = run_suites(
        tmp_path / "project",
        "chatterbox-turbo-mlx",
        turbo_weights,
        offline_env(hf_home, tmp_path / "cache"),
        *ULTRA_SHORT,
        "-k",
        "ultra and not large",
        "--tts-opt",
        "streaming_interval=0.4",
    )
    # native default and small chunking, and sentence mode
    assert_suites_ran(run, "chatterbox-turbo-mlx", min_streaming=3)
    swept = {r["test"].rsplit("::", 1)[-1] for r in run.results}
    assert any("small-native" in test for test in swept), swept  # the chunk sweep ran
    print("\n".join(["chatterbox-turbo-mlx:", *measured(run)]))
