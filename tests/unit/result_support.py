"""The one hand-made result factory of the unit tests: measured trials that carry the
given per-trial metric values, and any other BenchResult field by keyword."""

from __future__ import annotations

from typing import Any

from pytest_ttsbench.results.metrics import TTFA_MS
from pytest_ttsbench.results.model import BenchResult, Trial
from pytest_ttsbench.results.target import Target

KOKORO_TEST = "suites/test_latency.py::test_latency[kokoro-onnx-cpu-short]"
CPU = "AMD EPYC 7B13 (2 cores)"


def make_result(
    values: dict[str, list[float]] | None = None,
    *,
    model: str = "kokoro",
    backend: str = "onnx",
    device: str = "cpu",
    variant: str = "int8",
    default_variant: bool = True,
    chunk_samples: tuple[int, int] = (100, 100),
    **fields: Any,
) -> BenchResult:
    """A summarized result whose measured trial i carries ``values[name][i]``. A trial
    with both TTFA and latency hands over its chunks at those times (else at 1 and 2 ms).
    ``fields`` set any other BenchResult field (suite, prompt, hardware, load_s, ...)."""
    values = values or {}
    n = max((len(v) for v in values.values()), default=0)
    trials = []
    for i in range(n):
        metrics: dict[str, float | None] = {k: v[i] for k, v in values.items() if i < len(v)}
        first, last = metrics.get(TTFA_MS), metrics.get("latency_ms")
        stamps = [1_000_000, 2_000_000]
        if first is not None and last is not None:
            stamps = [int(first * 1e6), int(last * 1e6)]
        trials.append(
            Trial(
                index=i,
                kind="measured",
                t0_ns=0,
                chunk_ns=stamps,
                chunk_samples=list(chunk_samples),
                sample_rate=24_000,
                metrics=metrics,
            )
        )
    header: dict[str, Any] = {
        "test": KOKORO_TEST,
        "suite": "latency",
        "prompt": "medium",
        "text_chars": 40,
        "language": "en",
        "stream_mode": "native",
        "hardware": CPU,
        "warmup": 1,
    }
    target = Target(model, backend, device, variant, default_variant)
    return BenchResult(target=target, trials=trials, **(header | fields))
