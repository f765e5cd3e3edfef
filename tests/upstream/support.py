"""Run the shipped suites through a real adapter and its real upstream package, as a
user would from their own project: a subprocess, `pytest --pyargs`, the hub offline,
an empty HF cache of our own, `filterwarnings = error` in the user's pyproject (upstream
warnings must be counted, never fail a trial)."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

SUITES = ("pytest_ttsbench.suites.test_latency", "pytest_ttsbench.suites.test_streaming")
PYPROJECT = """\
[tool.pytest.ini_options]
filterwarnings = ["error"]
"""
REVISION = "0" * 40  # the snapshot name of every repo the builders put in the HF cache
# The dtype x compile grid of the PyTorch adapters, through the sweep suite (the latency
# suite's test takes no sweep point).
TUNING_SWEEP = (
    "pytest_ttsbench.suites.test_sweeps",
    "-k",
    "test_sweep",
    "--tts-sweep",
    "dtype=float32,bfloat16",
    "--tts-sweep",
    "compile=false,true",
)
# Per-pair lines for the CI log ("kokoro-mlx-cpu: latency 1 passed; streaming ...").
TIER_LOG: list[str] = []


def offline_env(hf_home: Path, cache: Path) -> dict[str, str]:
    """This process's environment without pytest's or ours, the hub off, caches ours."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "TTSBENCH_", "HF_")) and k != "PYTHONPATH"
    }
    env.update(
        HF_HOME=str(hf_home),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TTSBENCH_CACHE=str(cache),
    )
    return env


def hf_cache_snapshot(hf_home: Path, repo: str) -> Path:
    """``<hf_home>/hub/models--org--name/snapshots/<rev>/`` with ``refs/main``, as
    huggingface_hub lays a download out (the caller writes the files)."""
    root = hf_home / "hub" / f"models--{repo.replace('/', '--')}"
    snap = root / "snapshots" / REVISION
    snap.mkdir(parents=True, exist_ok=True)
    (root / "refs").mkdir(exist_ok=True)
    (root / "refs" / "main").write_text(REVISION, encoding="utf-8")
    return snap


def mlx_parameters(module: Any) -> list[tuple[str, Any]]:
    """An mlx Module's parameters as (dotted name, array) pairs; typed loosely so that
    mypy reads the builders alike with and without mlx installed."""
    tree_flatten = importlib.import_module("mlx.utils").tree_flatten
    return list(tree_flatten(module.parameters()))


def run_child(script: str, args: list[str], env: dict[str, str]) -> str:
    """Run ``python -c script *args`` (a fresh process: huggingface_hub reads HF_HOME
    once, at import) and return its stdout; a failure shows its output."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-6000:]
    return done.stdout


@dataclass
class SuiteRun:
    """One pytest run of the suites: its exit code, output and results JSON."""

    returncode: int
    output: str
    results: list[dict[str, Any]] = field(default_factory=list)

    def outcomes(self, suite: str) -> Counter[str]:
        """passed / failed / skipped per suite, from the output's per-test lines."""
        counts: Counter[str] = Counter()
        for line in self.output.splitlines():
            if f"test_{suite}.py::" in line or f"test_{suite}[" in line:
                for word in ("PASSED", "FAILED", "SKIPPED", "ERROR"):
                    if word in line.split():
                        counts[word.lower()] += 1
        return counts

    def summary(self, pair: str) -> str:
        parts = []
        for suite in ("latency", "streaming", "sweep"):
            counts = self.outcomes(suite)
            if counts:
                parts.append(f"{suite} " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
        return f"{pair}: " + ("; ".join(parts) or "no suite test ran")


def run_suites(
    project: Path,
    pair: str,
    weights: Path,
    env: dict[str, str],
    *extra: str,
    timeout_s: float = 1200,
    prompts: str = "short",
) -> SuiteRun:
    """The latency and streaming suites on ``pair`` (``kokoro-mlx``) on the CPU at n=1,
    with the results doc updated in ``project``; results JSON read back."""
    project.mkdir(parents=True, exist_ok=True)
    (project / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    model, _, backend = pair.rpartition("-")
    args = [
        sys.executable,
        "-m",
        "pytest",
        "--pyargs",
        *SUITES,
        f"--tts-model={model}",
        f"--tts-backend={backend}",
        "--tts-device=cpu",
        "--tts-weights",
        f"{pair}={weights}",
        "--tts-trials=1",
        "--tts-warmup=0",
        f"--tts-prompts={prompts}",
        "--tts-gates-mode=warn",
        "--update-results-doc",
        "-p",
        "no:cacheprovider",
        "-v",
        "-rfEs",
        *extra,
    ]
    done = subprocess.run(
        args, cwd=project, env=env, capture_output=True, text=True, timeout=timeout_s, check=False
    )
    out = done.stdout + done.stderr
    results: list[dict[str, Any]] = []
    for file in sorted((project / ".ttsbench").glob("results-*.json")):
        results += json.loads(file.read_text(encoding="utf-8"))["results"]
    run = SuiteRun(done.returncode, out, results)
    TIER_LOG.append(run.summary(f"{pair}-cpu"))
    TIER_LOG.extend(f"    {line}" for line in measured(run))
    return run


def assert_suites_ran(run: SuiteRun, pair: str, min_streaming: int = 1) -> None:
    """Exit 0, the latency suite passed, the streaming suite passed at least
    ``min_streaming`` tests, and every result (JSON, terminal, doc) says random weights."""
    assert run.returncode == 0, run.output[-6000:]
    assert run.outcomes("latency")["passed"] >= 1, run.output[-6000:]
    assert run.outcomes("latency")["failed"] == 0, run.output[-6000:]
    assert run.outcomes("streaming")["passed"] >= min_streaming, run.output[-6000:]
    assert run.outcomes("streaming")["failed"] == 0, run.output[-6000:]
    assert run.results, run.output[-3000:]
    for result in run.results:
        assert result["target"]["model"] + "-" + result["target"]["backend"] == pair
        assert result["random_weights"], result["test"]
        ttfa = result["summaries"]["ttfa_ms"]["p50"]
        latency = result["summaries"]["latency_ms"]["p50"]
        assert 0 < ttfa <= latency, (ttfa, latency)
    assert "(random weights)" in run.output  # the terminal table


def measured(run: SuiteRun) -> list[str]:
    """``test: TTFA p50 / latency p50 ms`` per result, for the closing note and the log."""
    lines = []
    for r in run.results:
        test, summaries = r["test"].rsplit("::", 1)[-1], r["summaries"]
        if "ttfa_ms" not in summaries:  # no valid trial: its failure is in the output
            lines.append(f"{test}: no valid trial ({r.get('outcome')})")
            continue
        lines.append(
            f"{test}: TTFA {summaries['ttfa_ms']['p50']:.0f} ms, "
            f"latency {summaries['latency_ms']['p50']:.0f} ms"
        )
    return lines


def assert_tuning_swept(run: SuiteRun) -> None:
    """Every point of TUNING_SWEEP passed; its result's engine details name the dtype
    and compile backend it ran with; a point whose combination was new paid the switch
    (the ``tune`` stage) in a warm-up or the cold trial, not in a measured trial."""
    assert run.returncode == 0, run.output[-6000:]
    # the run's closing line (the suite's live output splits its per-test lines)
    assert re.search(r"= 4 passed, \d+ deselected in ", run.output), run.output[-6000:]
    points = set()
    for result in run.results:
        extra = result["details"]["options"]["extra"]
        point = (extra["dtype"], "inductor" if extra["compile"] else "off")
        points.add(point)
        engine = result["details"]["engine"]
        assert (engine["dtype"], engine["compile"].split(":")[0]) == point, result["test"]
        measured = [t for t in result["trials"] if t["kind"] == "measured"]
        assert measured, result["test"]
        for trial in measured:  # warm: no switch, no compilation in a measured trial
            stages = trial.get("stages") or {}
            assert "tune" not in stages, (result["test"], stages)
            assert stages.get("compiled_graphs", 0) == 0, (result["test"], stages)
        if point != ("float32", "off"):  # the load's state: nothing to switch
            assert result["trials"][0]["kind"] in ("cold", "warmup")
    assert points == {(d, c) for d in ("float32", "bfloat16") for c in ("off", "inductor")}


def sweep_tuning(
    project: Path,
    pair: str,
    weights: Path,
    env: dict[str, str],
    *extra: str,
    prompts: str = "short",
) -> None:
    """The dtype x compile grid (:data:`TUNING_SWEEP`) on ``pair``, checked by
    :func:`assert_tuning_swept`, its numbers printed for the log."""
    run = run_suites(project, pair, weights, env, *TUNING_SWEEP, *extra, prompts=prompts)
    assert_tuning_swept(run)
    print("\n".join([f"{pair} dtype x compile:", *measured(run)]))
