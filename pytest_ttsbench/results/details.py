"""Typed per-shape details of a result: what the cache check, cold start, load and
memory runs found besides the per-trial metrics. Pure data: no pytest, no engines.

Each type writes and reads its own JSON (``as_dict``/``from_dict``); the result puts
them under ``details`` in the places schema 1 always had them, so files written before
these types existed read back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


def _floats(values: Any) -> list[float]:
    return [float(v) for v in values or ()]


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class CacheCheck:
    """Repeated versus unique prompts: RTF of each, and how much faster repeated ran."""

    unique_rtf: list[float]
    repeated_rtf: list[float]
    speedup: float | None = None  # median unique RTF / median repeated RTF

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "unique_rtf": list(self.unique_rtf),
            "repeated_rtf": list(self.repeated_rtf),
        }
        if self.speedup is not None:  # absent when either side had no valid trial
            out["speedup"] = self.speedup
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CacheCheck:
        return cls(
            unique_rtf=_floats(d.get("unique_rtf")),
            repeated_rtf=_floats(d.get("repeated_rtf")),
            speedup=_opt_float(d.get("speedup")),
        )


@dataclass(frozen=True)
class ColdStartRuns:
    """Per fresh-process run, in run order: where the cold start's time went."""

    interpreter_s: list[float]  # spawn to the child's first line of Python
    import_s: list[float]  # importing the adapter module
    load_s: list[float]  # engine.load()
    spawn_to_first_audio_ms: list[float | None]  # None: the run handed over no audio
    wall_s: list[float]  # spawn to the child's exit, seen from the parent

    def as_dict(self) -> dict[str, Any]:
        return {f.name: list(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ColdStartRuns:
        return cls(
            interpreter_s=_floats(d.get("interpreter_s")),
            import_s=_floats(d.get("import_s")),
            load_s=_floats(d.get("load_s")),
            spawn_to_first_audio_ms=[_opt_float(v) for v in d.get("spawn_to_first_audio_ms", ())],
            wall_s=_floats(d.get("wall_s")),
        )


@dataclass(frozen=True)
class LoadSummary:
    """Concurrent requests against one engine: throughput and whether they overlapped."""

    requests: int
    errors: int
    wall_s: float  # first scheduled start to last chunk
    audio_s: float
    throughput: float  # audio seconds produced per wall second
    speedup: float | None  # throughput / one request at a time's throughput
    serialized: bool  # concurrency bought (almost) no throughput
    issue_lag_p50_ms: float
    issue_lag_max_ms: float

    def as_dict(self) -> dict[str, float | int | bool | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LoadSummary:
        return cls(
            requests=int(d.get("requests", 0)),
            errors=int(d.get("errors", 0)),
            wall_s=float(d.get("wall_s", 0.0)),
            audio_s=float(d.get("audio_s", 0.0)),
            throughput=float(d.get("throughput", 0.0)),
            speedup=_opt_float(d.get("speedup")),
            serialized=bool(d.get("serialized", False)),
            issue_lag_p50_ms=float(d.get("issue_lag_p50_ms", 0.0)),
            issue_lag_max_ms=float(d.get("issue_lag_max_ms", 0.0)),
        )


@dataclass(frozen=True)
class RssSamplerStats:
    """What the RSS sampler saw while the measured trials ran (MiB, ms, s)."""

    peak_rss_mb: float
    baseline_rss_mb: float
    rss_samples: int
    rss_interval_ms: float | None  # achieved mean interval between readings
    rss_max_interval_ms: float | None
    rss_sampler_cpu_s: float  # the sampler thread's own CPU time

    def as_dict(self) -> dict[str, float | int | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RssSamplerStats:
        return cls(
            peak_rss_mb=float(d.get("peak_rss_mb", 0.0)),
            baseline_rss_mb=float(d.get("baseline_rss_mb", 0.0)),
            rss_samples=int(d.get("rss_samples", 0)),
            rss_interval_ms=_opt_float(d.get("rss_interval_ms")),
            rss_max_interval_ms=_opt_float(d.get("rss_max_interval_ms")),
            rss_sampler_cpu_s=float(d.get("rss_sampler_cpu_s", 0.0)),
        )


@dataclass(frozen=True)
class RssTrace:
    """Process memory over the measured trials: the sampler and one reading per trial."""

    sampler: RssSamplerStats
    after_trials_mb: list[float]  # RSS after each measured trial, in order


# The order phases are told in; an engine warns in these, in this order.
WARNING_PHASES = ("load", "synthesis", "close")


@dataclass(frozen=True)
class EngineWarning:
    """Warnings an engine raised while it loaded or synthesized: counted, never raised.

    One per (phase, category, first line of the message, where it was raised)."""

    category: str  # the warning class's name: DeprecationWarning, UserWarning, ...
    message: str  # its first line
    where: str  # filename:lineno, as the warning names it
    count: int
    phase: str  # load (building and loading), synthesis (trials, housekeeping) or close

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.phase, self.category, self.message, self.where)

    def as_dict(self) -> dict[str, str | int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EngineWarning:
        return cls(
            category=str(d.get("category", "Warning")),
            message=str(d.get("message", "")),
            where=str(d.get("where", "")),
            count=int(d.get("count", 1)),
            phase=str(d.get("phase", "synthesis")),
        )


def merge_warnings(*groups: Sequence[EngineWarning]) -> list[EngineWarning]:
    """One entry per key with the counts summed, in phase order, then most frequent."""
    counts: dict[tuple[str, str, str, str], int] = {}
    for group in groups:
        for w in group:
            counts[w.key] = counts.get(w.key, 0) + w.count
    merged = [EngineWarning(c, m, where, n, phase) for (phase, c, m, where), n in counts.items()]
    rank = {phase: i for i, phase in enumerate(WARNING_PHASES)}
    return sorted(merged, key=lambda w: (rank.get(w.phase, len(rank)), -w.count))
