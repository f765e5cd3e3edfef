"""Hand-made results for the report tests (no engine, no pytest run behind them)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ttsbench.results.target import Target
from pytest_ttsbench.results.verdict import Verdict
from tests.unit import result_support

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pytest_ttsbench.results.model import BenchResult


def make_result(
    model: str = "kokoro",
    backend: str = "onnx",
    hardware: str = "AMD EPYC 7763 (16 cores)",
    prompt: str = "medium",
    latencies_ms: Sequence[float] = (400.0, 410.0, 420.0, 430.0, 440.0),
    *,
    ttfa_ratio: float = 0.25,
    audio_s: float = 2.0,
    suite: str = "latency",
    device: str = "cpu",
    variant: str = "int8",
    default_variant: bool = True,
    stream_mode: str = "native",
    gates: Sequence[Verdict] = (),
    accel_peak_mb: float | None = None,
    peak_rss_mb: float | None = 812.4,
    load_s: float | None = 1.234,
    versions: dict[str, str] | None = None,
    xdist_workers: int = 0,
    params: Mapping[str, object] | None = None,
    outcome: str = "passed",
) -> BenchResult:
    """A result with one measured trial per latency; TTFA is ``ttfa_ratio`` of it."""
    ttfas = [latency * ttfa_ratio for latency in latencies_ms]
    values = {
        "ttfa_ms": ttfas,
        "latency_ms": list(latencies_ms),
        "audio_s": [audio_s] * len(latencies_ms),
        "rtf": [latency / 1000 / audio_s for latency in latencies_ms],
        "rtfx": [audio_s / (latency / 1000) for latency in latencies_ms],
    }
    target_id = Target(model, backend, device, variant, default_variant).id
    return result_support.make_result(
        values,
        model=model,
        backend=backend,
        device=device,
        variant=variant,
        default_variant=default_variant,
        chunk_samples=(12000, 36000),
        test=f"suites/test_{suite}.py::test_{suite}[{target_id}-{prompt}]",
        suite=suite,
        prompt=prompt,
        text_chars=120,
        stream_mode=stream_mode,
        hardware=hardware,
        load_s=load_s,
        peak_rss_mb=peak_rss_mb,
        accel_peak_mb=accel_peak_mb,
        versions=versions if versions is not None else {"kokoro-onnx": "0.4.9"},
        gates=list(gates),
        xdist_workers=xdist_workers,
        params=dict(params or {}),
        outcome=outcome,
    )


def block(text: str, name: str) -> str:
    """The lines between a managed block's markers ("" when the doc has no such block)."""
    begin, end = f"<!-- ttsbench:{name}:begin -->\n", f"<!-- ttsbench:{name}:end -->"
    if begin not in text:
        return ""
    return text.split(begin, 1)[1].split(end, 1)[0]


def table_rows(text: str, name: str) -> list[str]:
    """The body rows of the table in a block (header and separator left out)."""
    lines = [ln for ln in block(text, name).splitlines() if ln.startswith("|")]
    return lines[2:]


GOLDEN = Path(__file__).resolve().parents[1] / "golden"
NOW = datetime(2025, 1, 31, 12, 0, tzinfo=UTC)
LATER = datetime(2025, 2, 3, 9, 30, tzinfo=UTC)


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/golden/<name>; TTSBENCH_UPDATE_GOLDEN=1 rewrites the file."""
    path = GOLDEN / name
    if os.environ.get("TTSBENCH_UPDATE_GOLDEN") == "1":
        path.write_bytes(text.encode("utf-8"))
    expected = path.read_bytes().decode("utf-8")
    assert text == expected, f"differs from {path} (TTSBENCH_UPDATE_GOLDEN=1 to accept)"


def verdict(outcome: str, reason: str = "") -> Verdict:
    """A gate verdict with only the fields the report reads."""
    return Verdict("ttfa_ms", "p95", "<=", 300.0, None, None, outcome, "gates.toml:1", reason)


def sample_results() -> list[BenchResult]:
    """A small, varied run: CPU, GPU with a failing gate, a variant, a contended row."""
    return [
        make_result(),
        make_result(prompt="short", latencies_ms=[100.0, 110.0]),
        make_result(
            "chatterbox",
            "pt",
            "NVIDIA H100 80GB HBM3",
            device="cuda",
            accel_peak_mb=3120.0,
            latencies_ms=[900.0, 950.0, 1000.0, 1100.0, 1250.0],
            versions={"chatterbox-tts": "0.1.7", "torch": "2.6.0"},
            gates=[verdict("pass"), verdict("fail", "ttfa_ms.p95 312 > 300")],
        ),
        make_result(variant="fp32", default_variant=False, xdist_workers=2),
        make_result(
            "marvis",
            "mlx",
            "Apple M3 Max",
            device="gpu",
            stream_mode="sentence",
            suite="streaming",
            gates=[verdict("inconclusive")],
            versions={"mlx-audio": "0.6.2"},
        ),
    ]
