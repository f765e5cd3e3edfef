"""Upstream tier, Kokoro: kokoro 0.9.4 (kokoro-pt) and mlx-audio 0.6.2 (kokoro-mlx) with
tiny random-init weights built by their own classes, and a stand-in for spaCy's
en_core_web_sm (misaki's English G2P needs it; it is not on the package index)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.upstream.builders.kokoro import VOICES, build_kokoro_mlx, build_kokoro_pt
from tests.upstream.builders.spacy_standin import build_spacy_standin, with_standin
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

PT_PACKAGES = ("torch", "kokoro", "misaki", "spacy")
MLX_PACKAGES = ("mlx.core", "mlx_audio.tts.utils", "misaki", "spacy")

# Run in a subprocess (the stand-in on PYTHONPATH, the hub off): the upstream's own
# loader reads the saved folder and its pipeline speaks through misaki's G2P.
RELOAD_PT = """
import json, sys
from kokoro import KModel, KPipeline
folder = sys.argv[1]
model = KModel(repo_id="hexgrad/Kokoro-82M", config=folder + "/config.json",
               model=folder + "/kokoro-v1_0.pth").eval()
pipeline = KPipeline(lang_code="a", repo_id="hexgrad/Kokoro-82M", model=model)
out = []
for voice in sys.argv[2:]:
    for result in pipeline("Hello there. How are you?", voice=f"{folder}/voices/{voice}.pt"):
        audio = result.audio
        out.append({"phonemes": result.phonemes, "samples": int(audio.numel()),
                    "finite": bool(audio.isfinite().all())})
print("RESULT", json.dumps(out))
"""
RELOAD_MLX = """
import json, sys
from pathlib import Path
import numpy as np
from mlx_audio.tts.utils import load_model
folder = Path(sys.argv[1])
model = load_model(folder)
out = []
for voice in sys.argv[2:]:
    for result in model.generate("Hello there. How are you?", voice=voice, lang_code="a"):
        audio = np.asarray(result.audio)
        out.append({"samples": int(audio.size), "finite": bool(np.isfinite(audio).all()),
                    "sample_rate": model.sample_rate})
print("RESULT", json.dumps(out))
"""


def _import_all(names: tuple[str, ...]) -> None:
    for name in names:
        pytest.importorskip(name)


def _env(tmp_path: Path, hf_home: Path) -> dict[str, str]:
    standin = build_spacy_standin(tmp_path / "spacy-standin")
    return with_standin(offline_env(hf_home, tmp_path / "ttsbench-cache"), standin)


def _reload(script: str, folder: Path, env: dict[str, str]) -> list[dict[str, object]]:
    stdout = run_child(script, [str(folder), *VOICES], env)
    line = next(x for x in stdout.splitlines() if x.startswith("RESULT "))
    results: list[dict[str, object]] = json.loads(line.removeprefix("RESULT "))
    return results


def _assert_audio(results: list[dict[str, object]]) -> None:
    assert len(results) == len(VOICES)  # one segment per voice (no newline in the text)
    for result in results:
        assert result["finite"], result
        samples = result["samples"]
        assert isinstance(samples, int)
        assert 24000 * 0.2 < samples < 24000 * 10, result  # ~50 ms per phoneme


@pytest.fixture(scope="module")
def pt_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _import_all(PT_PACKAGES)
    return build_kokoro_pt(tmp_path_factory.mktemp("kokoro-pt"))


@pytest.fixture(scope="module")
def mlx_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _import_all(MLX_PACKAGES)
    return build_kokoro_mlx(tmp_path_factory.mktemp("kokoro-mlx"))


def test_kokoro_pt_weights_reload_and_speak(
    pt_weights: Path, tmp_path: Path, hf_home: Path
) -> None:
    results = _reload(RELOAD_PT, pt_weights, _env(tmp_path, hf_home))
    _assert_audio(results)
    assert all(str(r["phonemes"]).startswith("h") for r in results)  # misaki's G2P ran


def test_kokoro_mlx_weights_reload_and_speak(
    mlx_weights: Path, tmp_path: Path, hf_home: Path
) -> None:
    results = _reload(RELOAD_MLX, mlx_weights, _env(tmp_path, hf_home))
    _assert_audio(results)
    assert {r["sample_rate"] for r in results} == {24000}


def test_kokoro_pt_suites(pt_weights: Path, tmp_path: Path, hf_home: Path) -> None:
    run = run_suites(tmp_path / "project", "kokoro-pt", pt_weights, _env(tmp_path, hf_home))
    assert_suites_ran(run, "kokoro-pt")
    print("\n".join(measured(run)))


def test_kokoro_mlx_suites(mlx_weights: Path, tmp_path: Path, hf_home: Path) -> None:
    run = run_suites(tmp_path / "project", "kokoro-mlx", mlx_weights, _env(tmp_path, hf_home))
    assert_suites_ran(run, "kokoro-mlx")
    print("\n".join(measured(run)))


def test_kokoro_pt_dtype_and_compile_sweep(pt_weights: Path, tmp_path: Path, hf_home: Path) -> None:
    """The shipped sweep suite over a dtype x compile grid on one loaded model: each
    point passes, runs with its own dtype and compile, and pays its switch in a
    warm-up, never in a measured trial."""
    pytest.importorskip("torch")
    sweep_tuning(tmp_path / "project", "kokoro-pt", pt_weights, _env(tmp_path, hf_home))
