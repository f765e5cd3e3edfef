"""Shared helpers of the gate tests: a summarized result factory, gate files, contexts."""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.gates.files import load_gates
from pytest_ttsbench.gates.matching import GateContext
from tests.unit.result_support import CPU, KOKORO_TEST

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_ttsbench.gates.rules import GateSet
    from pytest_ttsbench.results.model import BenchResult
    from pytest_ttsbench.results.verdict import Verdict


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
