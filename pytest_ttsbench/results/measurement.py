"""What a runner measured, before it becomes a result: the trials, plus the typed detail
of the benchmark's shape (memory over the trials, the load, the fresh processes, the
cache check). Runners fill one as the run goes and return it; the fixture builds the
frozen :class:`~pytest_ttsbench.results.model.BenchResult` from it once. Pure: no pytest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.results.metrics import TTFA_MS

if TYPE_CHECKING:
    from pytest_ttsbench.results.details import (
        CacheCheck,
        ColdStartRuns,
        EngineWarning,
        LoadSummary,
        RssTrace,
    )
    from pytest_ttsbench.results.fidelity import Fidelity
    from pytest_ttsbench.results.ladder import RateLadder
    from pytest_ttsbench.results.trial import Trial


@dataclass(frozen=True)
class MemoryUse:
    """Process and accelerator memory over the measured trials."""

    peak_rss_mb: float | None
    rss_growth_mb: float | None
    rss_slope_mb: float | None
    accel_peak_mb: float | None
    rss: RssTrace


@dataclass(frozen=True)
class LoadRun:
    """Concurrent requests: their summary, and the Poisson rate of an open loop."""

    summary: LoadSummary
    arrival_rate_hz: float | None = None


@dataclass(frozen=True)
class ColdStart:
    """Fresh processes: where the time went, and the medians that stand for the target."""

    runs: ColdStartRuns
    load_s: float | None  # median engine.load() over the processes
    ttfa_ms: float | None  # median first audio over the valid runs


@dataclass
class Measurement:
    """Trials and what the shape found, in run order; notes and warnings to tell; the
    measured trials' audio."""

    warmup: int = 0
    trials: list[Trial] = field(default_factory=list)
    cold: Trial | None = None  # the target's cold trial, whichever run ran it
    cold_prompt: str | None = None
    memory: MemoryUse | None = None
    shape: LoadRun | ColdStart | CacheCheck | Fidelity | RateLadder | None = None
    notes: list[str] = field(default_factory=list)
    warnings: list[EngineWarning] = field(default_factory=list)
    # each measured trial's audio (float32 mono at its trial's sample rate) by the trial's
    # index, where the runner has it: scored and saved after the run, never in the result
    clips: dict[int, Any] = field(default_factory=dict)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def result_fields(self) -> dict[str, Any]:
        """The BenchResult fields this measurement sets."""
        from pytest_ttsbench.results.details import CacheCheck
        from pytest_ttsbench.results.fidelity import Fidelity
        from pytest_ttsbench.results.ladder import RateLadder

        out: dict[str, Any] = {
            "warmup": self.warmup,
            "trials": list(self.trials),
            "cold_prompt": self.cold_prompt,
            "notes": list(self.notes),
            "warnings": list(self.warnings),
        }
        cold = self.cold
        if cold is not None and cold.valid:
            out["cold_ttfa_ms"] = cold.metrics.get(TTFA_MS)
            out["cold_latency_ms"] = cold.metrics.get("latency_ms")
        if self.memory is not None:
            m = self.memory
            out |= {
                "peak_rss_mb": m.peak_rss_mb,
                "rss_growth_mb": m.rss_growth_mb,
                "rss_slope_mb": m.rss_slope_mb,
                "accel_peak_mb": m.accel_peak_mb,
                "rss": m.rss,
            }
        shape = self.shape
        if isinstance(shape, LoadRun):
            out |= {"load": shape.summary, "arrival_rate_hz": shape.arrival_rate_hz}
        elif isinstance(shape, ColdStart):
            out |= {"cold_start": shape.runs, "cold_ttfa_ms": shape.ttfa_ms}
            if shape.load_s is not None:
                out["load_s"] = shape.load_s
        elif isinstance(shape, CacheCheck):
            out["cache_check"] = shape
        elif isinstance(shape, Fidelity):
            out["fidelity"] = shape
        elif isinstance(shape, RateLadder):
            out["rate_ladder"] = shape
        return out
