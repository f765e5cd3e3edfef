"""What a newcomer meets first: marks by model, selections that match nothing, engines
registered in a test folder's conftest, and one summary line per target."""

from __future__ import annotations

import re
import textwrap

import pytest

from tests.e2e.conftest import LATENCY_SUITE, SYNTHETIC_CONFTEST

TARGET_ONLY = "def test_target(tts_target):\n    pass\n"


def test_models_are_marks(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(test_targets=TARGET_ONLY)
    result = ttsb.runpytest("--collect-only", "-q", "-m", "kokoro")
    ids = re.findall(r"test_target\[([^\]]+)\]", result.stdout.str())
    assert ids
    assert all(i.startswith("kokoro-") for i in ids), ids
    turbo = ttsb.runpytest("--collect-only", "-q", "-m", "chatterbox-turbo")
    assert "chatterbox-turbo-onnx-cpu" in turbo.stdout.str()
    assert "test_target[chatterbox-pt-cpu]" not in turbo.stdout.str()


def test_a_selection_that_matches_nothing_says_why(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(test_targets=TARGET_ONLY)
    result = ttsb.runpytest("--tts-model=synthetic", "--tts-variant=fp16")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*the selection matches no target: synthetic-sim has no variant fp16*default, slow*"]
    )
    wrong_device = ttsb.runpytest("--tts-model=synthetic", "--tts-device=cuda")
    assert wrong_device.ret == pytest.ExitCode.USAGE_ERROR
    wrong_device.stderr.fnmatch_lines(["*synthetic-sim runs on no device cuda (runs on: cpu)*"])


def test_an_engine_registered_in_a_test_folder_joins_the_matrix(
    pytester: pytest.Pytester,
) -> None:
    """Its conftest is loaded during collection, long after pytest_configure."""
    pytester.makeini("[pytest]\naddopts = -p no:cacheprovider\n")
    bench = pytester.mkpydir("bench")
    (bench / "conftest.py").write_text(SYNTHETIC_CONFTEST, encoding="utf-8")
    (bench / "test_latency.py").write_text(LATENCY_SUITE, encoding="utf-8")
    result = pytester.runpytest("--tts-model=synthetic", "--tts-trials=2", "--tts-warmup=0")
    result.assert_outcomes(passed=1)
    assert "synthetic-sim-cpu" in result.stdout.str()


def test_an_unknown_model_lists_the_sources_read(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(test_targets=TARGET_ONLY)
    result = ttsb.runpytest("--tts-model=mine")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "unknown model 'mine'" in err
    assert "12 built-in pairs" in err
    assert "pytest_ttsbench_register_engines in" in err  # the project's conftest.py
    assert "docs/YOUR_ENGINE.md" in err


def test_one_line_per_target_instead_of_a_skip_line_per_test(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(
        test_two=textwrap.dedent(
            """
            def test_a(tts_target):
                pass

            def test_b(tts_target):
                pass
            """
        )
    )
    result = ttsb.runpytest("--tts-model=synthetic,kokoro", "--tts-backend=sim,pt")
    out = result.stdout.str()
    assert "SKIPPED" not in out  # no per-test lines unless -rs asks for them
    summary = out[out.index("ttsbench targets") :]
    lines = [line for line in summary.splitlines() if line.startswith(("ran", "skipped"))]
    assert "ran      synthetic-sim-cpu: 2 passed" in lines
    # one line per target at most: kokoro-pt-cpu/cuda/mps skip for different reasons,
    # or share a line when the reason is the same
    targets = [t for line in lines for t in line.split(":")[0].split()[1:]]
    assert len(lines) <= 4
    assert sorted(t.rstrip(",") for t in targets) == sorted(
        ["synthetic-sim-cpu", "kokoro-pt-cpu", "kokoro-pt-cuda", "kokoro-pt-mps"]
    )
    assert "-rs" in summary
    verbose = ttsb.runpytest("--tts-model=kokoro", "--tts-backend=pt", "-rs")
    assert verbose.stdout.str().count("SKIPPED [2]") == 3  # 2 tests x 3 targets, per reason


def test_an_engine_load_error_is_reported_once_with_its_cause(ttsb: pytest.Pytester) -> None:
    ttsb.makeconftest(
        textwrap.dedent(
            """
            from pytest_ttsbench import Engine, EngineSpec

            class Broken(Engine):
                def load(self):
                    raise FileNotFoundError("weights.bin is missing")

            def pytest_ttsbench_register_engines(registry, config):
                registry.register(EngineSpec("broken", "sim", Broken))
            """
        )
    )
    ttsb.makepyfile(test_latency=LATENCY_SUITE)
    result = ttsb.runpytest("--tts-model=broken")
    result.assert_outcomes(errors=1)
    out = result.stdout.str()
    errors = out[out.index("= ERRORS =") : out.index("short test summary")]
    assert errors.count("weights.bin is missing") == 1, errors
    assert "broken-sim-cpu: loading failed: FileNotFoundError: weights.bin is missing" in errors
    assert "raised at conftest.py:" in errors  # where, without a second traceback
    assert "During handling of the above exception" not in out
