"""A user engine joins the matrix both ways: the hook (conftest) and the entry point."""

from __future__ import annotations

import re
import textwrap

import pytest

ENGINE_MODULE = textwrap.dedent(
    """
    import numpy as np
    from pytest_ttsbench.engines.base import Capabilities, Engine, EngineSpec

    class ServerEngine(Engine):
        capabilities = Capabilities(stream=True)

        def stream(self, text, opts):
            for _ in range(3):
                yield np.full(len(text) * 500, 0.2, dtype=np.float32)

        def synthesize(self, text, opts):
            return np.concatenate(list(self.stream(text, opts)))

    SPEC = EngineSpec("myvoice", "server", ServerEngine, devices=("cpu", "cuda"))
    """
)


def test_entry_point_engine_joins_the_matrix(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = pytester.mkdir("site")
    (site / "myvoice_engine.py").write_text(ENGINE_MODULE)
    dist = site / "myvoice_engine-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myvoice-engine\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[pytest_ttsbench.engines]\nmyvoice = myvoice_engine:SPEC\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv("TTSBENCH_CACHE", str(pytester.path / "cache"))
    pytester.makepyfile(
        """
        def test_latency(tts_bench):
            result = tts_bench("short", trials=2, warmup=0)
            assert result.target.model == "myvoice"
        """
    )
    result = pytester.runpytest_subprocess(
        "-v", "-rs", "-p", "no:cacheprovider", "--tts-backend=server", "--no-tts-gates"
    )
    result.assert_outcomes(passed=1, skipped=1)
    out = result.stdout.str()
    assert "test_latency[myvoice-server-cpu] PASSED" in out
    assert "myvoice-server-cuda: no CUDA GPU" in out or "NVIDIA" in out
    marks = pytester.runpytest_subprocess("--collect-only", "-q", "-m", "server and cpu")
    assert re.search(r"test_latency\[myvoice-server-cpu\]", marks.stdout.str())


def test_a_broken_entry_point_is_a_clear_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = pytester.mkdir("site")
    dist = site / "broken_engine-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-engine\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pytest_ttsbench.engines]\nbroken = nowhere:SPEC\n")
    monkeypatch.setenv("PYTHONPATH", str(site))
    pytester.makepyfile("def test_x(tts_target): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "entry point broken = nowhere:SPEC (pytest_ttsbench.engines) failed to load" in (
        result.stderr.str()
    )
    # a project that benchmarks nothing never reads the engine entry points
    pytester.makepyfile("def test_x(): pass")
    plain = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    plain.assert_outcomes(passed=1)
