"""pytester set-up shared by the end-to-end tests."""

from __future__ import annotations

import importlib
import textwrap

import pytest

# The plugin imports these only when a benchmark runs. pytester's in-process runs drop
# every module the inner run imported, and numpy's C extensions cannot be imported a
# second time in one process: import them here, in the outer process, once.
for _name in ("numpy", "numpy.fft", "scipy.signal", "scipy.stats", "pyloudnorm", "psutil"):
    importlib.import_module(_name)

SYNTHETIC_CONFTEST = textwrap.dedent(
    """
    from pytest_ttsbench.engines.synthetic import SYNTHETIC_SPEC

    def pytest_ttsbench_register_engines(registry, config):
        registry.register(SYNTHETIC_SPEC)
    """
)

LATENCY_SUITE = textwrap.dedent(
    """
    def test_latency(tts_bench):
        result = tts_bench("short")
        assert result.n >= 1
    """
)


@pytest.fixture(autouse=True)
def _unscored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inner runs check no intelligibility unless a test asks on its command line
    (--tts-intelligibility=auto or require; CLI beats the environment): the synthetic
    engine's tones say nothing, and these tests are about the harness, not speech."""
    monkeypatch.setenv("TTSBENCH_INTELLIGIBILITY", "off")


@pytest.fixture
def ttsb(
    pytester: pytest.Pytester,
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> pytest.Pytester:
    """A project with the synthetic engine registered and a stable, strict ini."""
    pytester.makeconftest(SYNTHETIC_CONFTEST)
    pytester.makeini(
        """
        [pytest]
        addopts = --strict-markers -p no:randomly -p no:cacheprovider
        console_output_style = classic
        filterwarnings = error
        """
    )
    # Inner runs are plain runs even when the outer one runs under xdist.
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)
    # Keep assembled weights and artifacts inside the test's own folders.
    monkeypatch.setenv("TTSBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
    return pytester
