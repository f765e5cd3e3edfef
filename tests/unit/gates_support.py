"""Shared helpers of the gate tests: a summarized result factory, gate files, contexts."""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.gates.files import load_gates
from pytest_ttsbench.gates.matching import GateContext
from pytest_ttsbench.results.model import BenchResult, Trial
from pytest_ttsbench.results.target import Target

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_ttsbench.gates.rules import GateSet
    from pytest_ttsbench.results.verdict import Verdict

KOKORO_TEST = "suites/test_latency.py::test_latency[kokoro-onnx-cpu-short]"
CPU = "AMD EPYC 7B13 (2 cores)"


def make_result(
    values: dict[str, list[float]] | None = None,
    *,
    model: str = "kokoro",
    backend: str = "onnx",
    device: str = "cpu",
    variant: str = "int8",
    hardware: str = CPU,
    test: str = KOKORO_TEST,
    suite: str = "latency",
    prompt: str = "medium",
    stream_mode: str = "native",
    params: dict[str, Any] | None = None,
    **scalars: Any,
) -> BenchResult:
    """A summarized result whose measured trials carry ``values`` (trial i gets value i)."""
    values = values or {}
    n = max((len(v) for v in values.values()), default=0)
    trials = [
        Trial(
            index=i,
            kind="measured",
            t0_ns=0,
            chunk_ns=[1_000_000, 2_000_000],
            chunk_samples=[100, 100],
            sample_rate=24_000,
            metrics={k: v[i] for k, v in values.items() if i < len(v)},
        )
        for i in range(n)
    ]
    target = Target(model, backend, device, variant)
    result = BenchResult(
        target=target,
        test=test,
        suite=suite,
        prompt=prompt,
        text_chars=40,
        language="en",
        stream_mode=stream_mode,
        hardware=hardware,
        warmup=1,
        trials=trials,
        params=dict(params or {}),
        **scalars,
    )
    result.summarize()
    return result


def spread(center: float, n: int, width: float = 0.1) -> list[float]:
    """n distinct values evenly spread over center * (1 +- width)."""
    if n == 1:
        return [center]
    return [center * (1 - width + 2 * width * i / (n - 1)) for i in range(n)]


def write(tmp_path: Path, text: str, name: str = "gates.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def gateset(tmp_path: Path, text: str) -> GateSet:
    return load_gates(write(tmp_path, text), None, use_defaults=False)


def ctx(**kw: str) -> GateContext:
    base = {
        "model": "kokoro",
        "backend": "onnx",
        "device": "cpu",
        "variant": "int8",
        "hardware": CPU,
        "suite": "latency",
        "test": KOKORO_TEST,
        "prompt": "short",
    }
    base.update(kw)
    return GateContext(**base)


def by_name(verdicts: list[Verdict]) -> dict[str, Verdict]:
    return {v.name: v for v in verdicts}


def write_results(tmp_path: Path, results: list[BenchResult], **top: Any) -> Path:
    doc = {
        "format": "pytest-ttsbench-results",
        "schema": 1,
        "plugin_version": "0.1.0",
        "session": {},
        "results": [r.as_dict() for r in results],
        **top,
    }
    path = tmp_path / "baseline.json"
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


def timing(latency: float, n: int = 10) -> dict[str, list[float]]:
    return {
        "latency_ms": spread(latency, n),
        "ttfa_ms": spread(latency / 5, n),
        "rtf": spread(latency / 2000, n),
    }
