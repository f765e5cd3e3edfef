"""How exact is the harness? Ground truth and per-chunk overhead, on the synthetic engine.

    python -m pytest_ttsbench.tools.selfcheck [--trials 15] [--chunks 4000]

Ground truth: the synthetic engine hands chunks over at busy-waited offsets, so each
reported timing has a known true value; the error is measured minus true. Overhead:
the same zero-delay engine consumed by the harness (stamps, memory sampler running)
and by a bare loop; the difference per chunk is what the harness adds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass

from pytest_ttsbench.engines.base import SynthesisOptions
from pytest_ttsbench.engines.synthetic import SyntheticEngine
from pytest_ttsbench.measure.engine_thread import EngineThread
from pytest_ttsbench.measure.memory import RssSampler
from pytest_ttsbench.measure.stamps import capture
from pytest_ttsbench.measure.trial import build_trial
from pytest_ttsbench.results.metrics import TTFA_MS

TEXT = "Thank you for calling. Your order shipped this morning and arrives on Thursday."


def engine(**knobs: float) -> SyntheticEngine:
    return SyntheticEngine.standalone(**knobs)


@dataclass(frozen=True)
class GroundTruth:
    metric: str
    truth_ms: float
    median_error_ms: float
    max_error_ms: float


def ground_truth(
    trials: int = 15, first_ms: float = 40.0, gap_ms: float = 15.0, chunks: int = 6
) -> list[GroundTruth]:
    """Median and max |measured - true| per timing metric, through the real trial path."""
    eng = engine(first_ms=first_ms, gap_ms=gap_ms, chunks=chunks)
    opts = SynthesisOptions()
    worker = EngineThread("selfcheck")
    truth = {
        TTFA_MS: first_ms,
        "ttfa_audible_ms": first_ms,
        "latency_ms": first_ms + (chunks - 1) * gap_ms,
        "gap_max_ms": gap_ms,
    }
    errors: dict[str, list[float]] = {k: [] for k in truth}
    with RssSampler():
        for i in range(trials):
            captured = worker.call(lambda: capture(lambda: eng.stream(TEXT, opts)), 30)
            trial, _ = build_trial(
                captured, index=i, kind="measured", sample_rate=eng.sample_rate, text=TEXT
            )
            for name, true in truth.items():
                value = trial.metrics[name]
                if value is not None:
                    errors[name].append(value - true)
    worker.stop()
    return [
        GroundTruth(name, truth[name], statistics.median(errs), max(abs(e) for e in errs))
        for name, errs in errors.items()
    ]


def overhead_per_chunk_us(chunks: int = 4000, repeats: int = 7) -> tuple[float, float]:
    """(harness, bare) median microseconds per chunk with a zero-delay engine."""
    eng = engine(first_ms=0, gap_ms=0, chunks=chunks, chars_per_s=1e9)
    opts = SynthesisOptions()
    harness, bare = [], []
    with RssSampler():
        for _ in range(repeats):
            start = time.perf_counter_ns()
            for _chunk in eng.stream(TEXT, opts):
                pass
            bare.append((time.perf_counter_ns() - start) / chunks / 1e3)
            captured = capture(lambda: eng.stream(TEXT, opts))
            harness.append(captured.chunk_ns[-1] / chunks / 1e3)
    return statistics.median(harness), statistics.median(bare)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_ttsbench.tools.selfcheck")
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--chunks", type=int, default=4000)
    args = parser.parse_args(argv)
    print(f"ground truth, synthetic engine, {args.trials} trials (errors in ms):")
    for row in ground_truth(args.trials):
        print(
            f"  {row.metric:16s} true {row.truth_ms:8.3f}  median error "
            f"{row.median_error_ms:+.4f}  max |error| {row.max_error_ms:.4f}"
        )
    harness, bare = overhead_per_chunk_us(args.chunks)
    print(
        f"per-chunk cost with the RSS sampler running, {args.chunks} chunks: harness "
        f"{harness:.2f} us, bare loop {bare:.2f} us, added {harness - bare:+.2f} us"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
