"""One synthesis as the harness stamped it: the record every metric is computed from.
Pure data: no pytest."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Trial:
    """One synthesis, from t0 (just before the engine call) to its last chunk."""

    index: int
    kind: str  # "cold", "warmup" or "measured"
    t0_ns: int
    chunk_ns: list[int]  # each chunk's handover time, ns after t0
    chunk_samples: list[int]
    sample_rate: int
    metrics: dict[str, float | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # invalid audio: why
    error: str | None = None  # the engine raised, hung or returned garbage
    accel_peak_mb: float | None = None
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.error is None and not self.problems
