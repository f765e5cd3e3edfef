"""A user's own project, outside this repo, benchmarks its own engine with the packaged
suites, as docs/YOUR_ENGINE.md tells them to: real subprocesses, real `pytest --pyargs
pytest_ttsbench.suites`, an engine registered by an entry point or by a conftest hook in
a test folder, a gate in the user's pyproject, and warnings-as-errors in their config.

Everything the run writes must land in the user's project; nothing in the plugin's tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

ENGINE = textwrap.dedent(
    '''
    """A fast, honest engine: a tone as long as the text would take to say."""

    from __future__ import annotations

    import warnings
    from typing import TYPE_CHECKING

    import numpy as np

    from pytest_ttsbench import Capabilities, Engine, EngineSpec

    if TYPE_CHECKING:
        from collections.abc import Iterator

        from pytest_ttsbench import SynthesisOptions


    class MyVoice(Engine):
        capabilities = Capabilities(stream=True, deterministic=True, thread_safe=True)

        def load(self) -> None:
            warnings.warn("myvoice.load is deprecated", DeprecationWarning, stacklevel=1)
            warnings.warn("dropout option adds dropout after all but last layer", UserWarning)
            self.sample_rate = 16000

        def stream(self, text: str, opts: SynthesisOptions) -> Iterator[np.ndarray]:
            seconds = max(len(text) / 15.0, 0.2)
            n = int(seconds * self.sample_rate)
            tone = 0.3 * np.sin(2 * np.pi * 220.0 * np.arange(n) / self.sample_rate)
            for part in np.array_split(tone.astype(np.float32), 3):
                warnings.warn("torch.jit.script is deprecated", DeprecationWarning)
                yield part

        def synthesize(self, text: str, opts: SynthesisOptions) -> np.ndarray:
            return np.concatenate(list(self.stream(text, opts)))


    SPEC = EngineSpec("myvoice", "native", "myvoice_bench.engine:MyVoice", devices=("cpu",))
    '''
)

PYPROJECT = textwrap.dedent(
    """
    [project]
    name = "myvoice-bench"
    version = "0.1"

    [tool.pytest.ini_options]
    filterwarnings = ["error"]

    [[tool.ttsbench.gates]]
    name = "myvoice budget"
    model = "myvoice"
    bounds = ["latency_ms.p50 <= 60000"]
    """
)

CONFTEST_HOOK = textwrap.dedent(
    """
    from myvoice_bench.engine import SPEC


    def pytest_ttsbench_register_engines(registry, config):
        registry.register(SPEC)
    """
)

SUITE_ARGS = (
    "--tts-model=myvoice",
    "--tts-trials=2",  # the user's p50 gate raises it to 5, and the run says so
    "--tts-warmup=0",
    "--tts-prompts=short",
    "-p",
    "no:cacheprovider",
    "-p",
    "no:randomly",
)


def _project(tmp_path: Path, *, entry_point: bool) -> tuple[Path, dict[str, str]]:
    """The user's project, and an environment where its package is installed."""
    project = tmp_path / "myvoice-project"
    package = project / "myvoice_bench"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "engine.py").write_text(ENGINE, encoding="utf-8")
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    site = tmp_path / "site"
    site.mkdir()
    if entry_point:
        # what `pip install -e .` of the user's project leaves: a dist-info with the
        # entry point, and the project on sys.path
        info = site / "myvoice_bench-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: myvoice-bench\nVersion: 0.1\n", encoding="utf-8"
        )
        (info / "entry_points.txt").write_text(
            "[pytest_ttsbench.engines]\nmyvoice = myvoice_bench.engine:SPEC\n", encoding="utf-8"
        )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "TTSBENCH_")) and k != "PYTHONPATH"
    }
    env["PYTHONPATH"] = os.pathsep.join([str(project), str(site)])
    env["TTSBENCH_CACHE"] = str(tmp_path / "cache")
    env["TTSBENCH_INTELLIGIBILITY"] = "off"  # the engine's tones say no prompt
    return project, env


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _plugin_tree_state() -> dict[str, float]:
    """mtimes of what a run could write into the plugin's own checkout."""
    watched = [REPO / "docs" / "BENCHMARK_RESULTS.md", *(REPO / ".ttsbench").glob("*")]
    return {str(p): p.stat().st_mtime for p in watched if p.exists()}


def _check_outputs(project: Path, out: str) -> None:
    doc = project / "docs" / "BENCHMARK_RESULTS.md"
    assert doc.is_file(), out
    assert "myvoice" in doc.read_text(encoding="utf-8")
    results = sorted((project / ".ttsbench").glob("results-*.json"))
    assert len(results) == 1, out
    data = json.loads(results[0].read_text(encoding="utf-8"))
    verdicts = [v for r in data["results"] for v in r["gates"]]
    # shown relative to the project: the user's own pyproject, not the plugin's defaults
    user_gates = [v for v in verdicts if v["origin"].startswith("pyproject.toml:")]
    assert user_gates, f"no verdict from the user's pyproject: {verdicts}"
    assert all(v["outcome"] == "pass" for v in user_gates)
    assert {r["target"]["model"] for r in data["results"]} == {"myvoice"}


@pytest.mark.slow
@pytest.mark.parametrize("registration", ["entry point", "conftest in a test folder"])
def test_a_user_project_runs_the_packaged_suites(tmp_path: Path, registration: str) -> None:
    project, env = _project(tmp_path, entry_point=registration == "entry point")
    args = ["--pyargs", "pytest_ttsbench.suites", "--update-results-doc", *SUITE_ARGS]
    if registration != "entry point":
        bench = project / "tests" / "bench"
        bench.mkdir(parents=True)
        (bench / "conftest.py").write_text(CONFTEST_HOOK, encoding="utf-8")
        (bench / "test_mine.py").write_text(
            "def test_mine(tts_bench):\n    assert tts_bench('short').n == 5\n",
            encoding="utf-8",
        )
        # tests/bench/conftest.py is loaded while collection walks tests/, after start-up
        args = ["tests", *args]
    before = _plugin_tree_state()
    done = _run(args, project, env)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    _check_outputs(project, out)
    assert _plugin_tree_state() == before
    # upstream warnings: counted, shown once per target, never a failure
    assert "myvoice-native-cpu" in out
    assert "DeprecationWarning" in out, out
    assert "trials raised from 2 to 5" in out


@pytest.mark.slow
def test_suites_given_by_path_write_into_the_users_project(tmp_path: Path) -> None:
    """`pytest <plugin checkout>/suites` makes pytest take the checkout as rootdir; the
    doc, artifacts and gate file still belong to the project the user ran it from."""
    project, env = _project(tmp_path, entry_point=True)
    before = _plugin_tree_state()
    done = _run(
        [str(REPO / "suites"), "--update-results-doc", "-m", "not slow", *SUITE_ARGS],
        project,
        env,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    _check_outputs(project, out)
    assert _plugin_tree_state() == before


def test_an_unknown_model_names_the_sources_read(tmp_path: Path) -> None:
    project, env = _project(tmp_path, entry_point=False)
    done = _run(["--pyargs", "pytest_ttsbench.suites", "--tts-model=myvoice"], project, env)
    assert done.returncode == 4
    assert "unknown model 'myvoice'" in done.stderr
    assert "built-in pairs" in done.stderr
    assert "entry points" in done.stderr
