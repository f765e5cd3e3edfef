"""The matrix as a new user meets it: help, marks, selection, skips, usage errors."""

from __future__ import annotations

import re
import textwrap

import pytest

from tests.e2e.conftest import LATENCY_SUITE

PAIRS = [
    f"{m}-{b}"
    for m in ("chatterbox", "chatterbox-turbo", "kokoro", "marvis")
    for b in ("pt", "mlx", "onnx")
]

TARGET_ONLY = textwrap.dedent(
    """
    def test_target(tts_target):
        pass
    """
)


def ids(result: pytest.RunResult) -> list[str]:
    return re.findall(r"test_target\[([^\]]+)\]", result.stdout.str())


def test_help_lists_every_option(ttsb: pytest.Pytester) -> None:
    out = ttsb.runpytest("--help").stdout.str()
    for flag in (
        "--tts-model",
        "--tts-backend",
        "--tts-device",
        "--tts-variant",
        "--tts-trials",
        "--tts-warmup",
        "--tts-prompts",
        "--tts-gates",
        "--no-tts-gates",
        "--update-results-doc",
        "--tts-results-doc",
        "--tts-artifacts",
        "--tts-weights",
        "--tts-allow-download",
    ):
        assert flag in out
    assert "text-to-speech benchmarks (pytest-ttsbench)" in out


def test_markers_are_registered(ttsb: pytest.Pytester) -> None:
    out = ttsb.runpytest("--markers").stdout.str()
    for mark in (
        "@pytest.mark.cuda",
        "@pytest.mark.mps",
        "@pytest.mark.cpu",
        "@pytest.mark.pt",
        "@pytest.mark.mlx",
        "@pytest.mark.onnx",
        "@pytest.mark.tts_gate",
        "@pytest.mark.sim",
    ):
        assert mark in out


def test_header_names_hardware_and_selection(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TARGET_ONLY)
    out = ttsb.runpytest("--collect-only", "--tts-model=kokoro").stdout.str()
    assert re.search(r"ttsbench: .+\(\d+ cores\); model=kokoro, backend=all", out)


def test_all_twelve_pairs_on_their_devices(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TARGET_ONLY)
    result = ttsb.runpytest("-v", "--collect-only")
    collected = ids(result)
    for pair in PAIRS:
        devices = {
            i.removeprefix(pair + "-")
            for i in collected
            if i.startswith(pair + "-") and i.count("-") == pair.count("-") + 1
        }
        assert devices == {"cuda", "mps", "cpu"}, pair
    assert "synthetic-sim-cpu" in collected
    assert len(collected) == 12 * 3 + 1


def test_every_unavailable_target_is_a_skip_with_a_reason(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TARGET_ONLY)
    result = ttsb.runpytest("-rs", "--tts-device=cuda,mps")
    result.assert_outcomes(skipped=24)
    out = result.stdout.str()
    assert "marvis-onnx-cuda: Marvis has no ONNX export upstream" in out
    assert "benchmark it as marvis-mlx or marvis-pt" in out
    if "NVIDIA" not in out:
        assert "no CUDA GPU on this machine" in out
        assert "pytest -m cuda" in out
    assert "needs an Apple Silicon Mac" in out


def test_missing_package_names_the_extra_and_tox_env(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TARGET_ONLY)
    out = ttsb.runpytest("-rs", "--tts-model=chatterbox", "--tts-device=cpu").stdout.str()
    for pair in ("chatterbox-pt-cpu", "chatterbox-mlx-cpu", "chatterbox-onnx-cpu"):
        assert f"{pair}: " in out
    # chatterbox-tts is not installed in the test environment
    assert (
        "package chatterbox, torch not installed; install it with "
        "pip install 'pytest-ttsbench[chatterbox]' or tox -e chatterbox"
    ) in out
    # the extra pins torch 2.6.0: the skip also gives the recipe beside another torch
    assert "pip install --no-deps chatterbox-tts==0.1.7" in out
    assert "pytest-ttsbench[chatterbox-deps]" in out


def test_selection_by_model_and_backend(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TARGET_ONLY)
    result = ttsb.runpytest("-v", "--tts-model=chatterbox", "--tts-backend=pt")
    assert sorted(ids(result)) == ["chatterbox-pt-cpu", "chatterbox-pt-cuda", "chatterbox-pt-mps"]
    assert "34 deselected" in result.stdout.str()


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("cuda", {f"{p}-cuda" for p in PAIRS}),
        (
            "onnx and cpu",
            {
                "chatterbox-onnx-cpu",
                "chatterbox-turbo-onnx-cpu",
                "kokoro-onnx-cpu",
                "marvis-onnx-cpu",
            },
        ),
        ("sim", {"synthetic-sim-cpu"}),
    ],
)
def test_selection_by_marks(ttsb: pytest.Pytester, expr: str, expected: set[str]) -> None:
    ttsb.makepyfile(TARGET_ONLY)
    result = ttsb.runpytest("-v", "-m", expr)
    assert set(ids(result)) == expected


def test_variants_all_and_named(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TARGET_ONLY)
    result = ttsb.runpytest(
        "-v",
        "--collect-only",
        "--tts-model=kokoro",
        "--tts-backend=onnx",
        "--tts-device=cpu",
        "--tts-variant=all",
    )
    assert sorted(ids(result)) == [
        "kokoro-onnx-cpu",
        "kokoro-onnx-cpu-fp16",
        "kokoro-onnx-cpu-fp32",
    ]
    result = ttsb.runpytest("-v", "--collect-only", "--tts-variant=4bit", "--tts-device=cpu")
    assert sorted(ids(result)) == [
        "chatterbox-mlx-cpu-4bit",
        "chatterbox-turbo-mlx-cpu-4bit",
        "kokoro-mlx-cpu-4bit",
        "marvis-mlx-cpu-4bit",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tts-trials=-1"], "--tts-trials: '-1' must be a non-negative number"),
        (["--tts-trials=0"], "--tts-trials: must be at least 1"),
        (["--tts-trials=many"], "--tts-trials: 'many' is not a int"),
        (
            ["--tts-model=kokoro,nope"],
            "unknown model 'nope'; valid: chatterbox, "
            "chatterbox-turbo, kokoro, marvis, synthetic (or 'all')",
        ),
        (["--tts-backend=tf"], "unknown backend 'tf'; valid: pt, mlx, onnx, sim"),
        (["--tts-device=tpu"], "unknown device 'tpu'; valid: cuda, mps, cpu"),
        (["--tts-variant=fp8"], "unknown variant 'fp8'"),
        (["--tts-stream=maybe"], "--tts-stream: 'maybe' is not one of auto, native"),
        (["--tts-prompts=haiku"], "unknown prompt preset 'haiku'; valid: ultra-short"),
        (["--tts-weights=kokoro"], "--tts-weights: 'kokoro' is not KEY=VALUE"),
        (["--tts-max-regression=ten"], "is not a percentage"),
    ],
)
def test_usage_errors(ttsb: pytest.Pytester, args: list[str], message: str) -> None:
    ttsb.makepyfile(TARGET_ONLY)
    result = ttsb.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert message in result.stderr.str()
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_ini_and_env_precedence(ttsb: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    ttsb.makepyfile(TARGET_ONLY)
    ttsb.makeini(
        """
        [pytest]
        addopts = -p no:randomly -p no:cacheprovider
        tts_model = marvis
        """
    )
    assert set(ids(ttsb.runpytest("-v"))) == {
        f"marvis-{b}-{d}" for b in ("pt", "mlx", "onnx") for d in ("cuda", "mps", "cpu")
    }
    monkeypatch.setenv("TTSBENCH_MODEL", "kokoro")
    monkeypatch.setenv("TTSBENCH_BACKEND", "onnx")
    assert set(ids(ttsb.runpytest("-v"))) == {
        "kokoro-onnx-cuda",
        "kokoro-onnx-mps",
        "kokoro-onnx-cpu",
    }
    cli = ids(ttsb.runpytest("-v", "--tts-model=chatterbox"))
    assert set(cli) == {"chatterbox-onnx-cuda", "chatterbox-onnx-mps", "chatterbox-onnx-cpu"}


def test_xdist_collects_the_same_ids(ttsb: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    ttsb.makepyfile(TARGET_ONLY)
    plain = ttsb.runpytest("-rs", "-p", "no:xdist")
    spread = ttsb.runpytest("-rs", "-n", "2")
    assert "Different tests were collected" not in spread.stdout.str()
    counts = plain.parseoutcomes()
    assert counts == spread.parseoutcomes()
    assert counts.get("passed", 0) + counts.get("skipped", 0) == 37


def test_runs_the_synthetic_engine_end_to_end(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(LATENCY_SUITE)
    result = ttsb.runpytest("--tts-model=synthetic", "--tts-trials=3")
    result.assert_outcomes(passed=1)
