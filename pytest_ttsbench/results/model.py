"""The result of one benchmark test, as data: what measure.py produces, what gates
judge, what the results JSON and the Markdown doc are made from. Pure: no pytest.

A result serializes to plain JSON (``as_dict``/``from_dict``) so it can ride on a
test report's ``user_properties`` to the xdist controller and into results files.
Gates and reports read metrics by flat names (:meth:`BenchResult.metric`):
``ttfa_ms.p95``, ``rtf.p50``, ``latency_ms.ci_high``, ``load_s``, ``peak_rss_mb``.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.results import metrics
from pytest_ttsbench.results.details import (
    CacheCheck,
    ColdStartRuns,
    EngineWarning,
    LoadSummary,
    RssSamplerStats,
    RssTrace,
    merge_warnings,
)
from pytest_ttsbench.results.metrics import STATISTICS
from pytest_ttsbench.results.stats import Summary, gaps_ms, summarize
from pytest_ttsbench.results.target import Target
from pytest_ttsbench.results.verdict import Verdict

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

SCHEMA_VERSION = 1
RANDOM_WEIGHTS = "random weights"  # how every output labels results of random-init weights

# The metric names by kind, from the registry (results.metrics): per-trial series get a
# Summary each, pooled values one Summary over all trials, scalars one number per result,
# detail metrics are read from a benchmark shape's typed detail.
SERIES = metrics.names("series")
POOLED = metrics.names("pooled")
SCALARS = metrics.names("scalar")
DETAILS = metrics.names("detail")
ALIASES = metrics.aliases()  # old spellings users write in gate files


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "t0_ns": self.t0_ns,
            "chunk_ns": list(self.chunk_ns),
            "chunk_samples": list(self.chunk_samples),
            "sample_rate": self.sample_rate,
            "metrics": dict(self.metrics),
            "problems": list(self.problems),
            "error": self.error,
            "accel_peak_mb": self.accel_peak_mb,
            "stages": dict(self.stages),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Trial:
        return cls(
            index=int(d["index"]),
            kind=str(d["kind"]),
            t0_ns=int(d["t0_ns"]),
            chunk_ns=[int(x) for x in d["chunk_ns"]],
            chunk_samples=[int(x) for x in d["chunk_samples"]],
            sample_rate=int(d["sample_rate"]),
            metrics=dict(d.get("metrics", {})),
            problems=list(d.get("problems", [])),
            error=d.get("error"),
            accel_peak_mb=d.get("accel_peak_mb"),
            stages=dict(d.get("stages", {})),
        )


@dataclass
class BenchResult:
    """Everything one benchmark test measured for one target and one prompt."""

    target: Target
    test: str  # the test's node id
    suite: str  # latency, streaming, memory, ... (the suite file's stem without test_)
    prompt: str  # preset name, or "custom"
    text_chars: int
    language: str
    stream_mode: str  # native, sentence or none
    hardware: str  # label for the results table
    warmup: int
    trials: list[Trial] = field(default_factory=list)  # cold + warmup + measured
    load_s: float | None = None
    peak_rss_mb: float | None = None
    rss_growth_mb: float | None = None
    accel_peak_mb: float | None = None
    rss_slope_mb: float | None = None
    cold_ttfa_ms: float | None = None  # set from the cold trial by measure.py
    cold_latency_ms: float | None = None
    versions: dict[str, str] = field(default_factory=dict)
    # what the engine reports of itself (free-form): engine, capabilities, options, clock
    details: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # swept knobs: {"speed": 1.2}
    gates: list[Verdict] = field(default_factory=list)  # filled by the gate keeper
    outcome: str = "passed"
    xdist_workers: int = 0  # > 0: other benchmarks ran in parallel; timings contended
    summaries: dict[str, Summary] = field(default_factory=dict)
    # what each benchmark shape found besides the trials (JSON: under "details")
    notes: list[str] = field(default_factory=list)  # told to the user in the summary
    trials_requested: int | None = None  # --tts-trials or trials=
    trials_planned: int | None = None  # raised by percentile gates that need more
    cold_prompt: str | None = None  # the prompt of the target's cold trial
    rss: RssTrace | None = None
    load: LoadSummary | None = None  # concurrent requests
    arrival_rate_hz: float | None = None  # open loop: the Poisson rate
    cold_start: ColdStartRuns | None = None
    cache_check: CacheCheck | None = None
    extra_info: dict[str, Any] | None = None  # the test's tts_bench.extra_info
    # the weights' random-init marker (what built them): noise, not a model's numbers
    random_weights: dict[str, Any] | None = None
    # what the engine warned while this result ran (and, on the target's first result,
    # while it loaded): counted, never raised
    warnings: list[EngineWarning] = field(default_factory=list)

    # ---- derived -------------------------------------------------------------------
    @property
    def measured(self) -> list[Trial]:
        return [t for t in self.trials if t.kind == "measured"]

    @property
    def valid_trials(self) -> list[Trial]:
        return [t for t in self.measured if t.valid]

    @property
    def n(self) -> int:
        if self.trials:
            return len(self.valid_trials)
        summary = self.summaries.get("latency_ms")  # trials stripped from the JSON
        return summary.n if summary else 0

    @property
    def cold(self) -> Trial | None:
        return next((t for t in self.trials if t.kind == "cold"), None)

    def series(self, name: str) -> list[float]:
        """The finite values of one per-trial metric over the valid measured trials."""
        if name == "chunk_gap_ms":
            gaps: list[float] = []
            for t in self.valid_trials:
                gaps.extend(gaps_ms(t.chunk_ns))
            return gaps
        values = [t.metrics.get(name) for t in self.valid_trials]
        return [float(v) for v in values if v is not None and math.isfinite(v)]

    def summarize(self) -> None:
        """(Re)compute every summary from the trials."""
        self.summaries = {}
        for name in (*SERIES, *POOLED):
            values = self.series(name)
            if values:
                self.summaries[name] = summarize(values)

    def scalar(self, name: str) -> float | None:
        value = getattr(self, name)
        return None if value is None else float(value)

    def detail(self, name: str) -> float | None:
        """A metric read from a benchmark shape's typed detail; a list reads as its
        median over the values present."""
        source = metrics.BY_NAME[name].source
        assert source is not None, name
        owner = getattr(self, source[0])
        value = None if owner is None else getattr(owner, source[1])
        if isinstance(value, list):
            found = sorted(float(v) for v in value if v is not None)
            return statistics.median(found) if found else None
        return None if value is None else float(value)

    def metric(self, name: str) -> float | None:
        """A metric by flat name: ``series.stat`` or a scalar. None: not measured."""
        name = ALIASES.get(name, name)
        if name in SCALARS:
            return self.scalar(name)
        if name in DETAILS:
            return self.detail(name)
        series, _, stat = name.partition(".")
        if series not in SERIES and series not in POOLED:
            raise KeyError(f"unknown metric {series!r}")
        if stat not in STATISTICS:
            raise KeyError(f"unknown statistic {stat!r} of {series}")
        summary = self.summaries.get(series)
        return None if summary is None else summary.get(stat)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What a results-doc row and a baseline match on."""
        model = self.target.model
        tags = [] if self.target.default_variant else [self.target.variant]
        tags += [f"{k}={v}" for k, v in sorted(self.params.items())]
        if self.random_weights is not None:
            tags.append(RANDOM_WEIGHTS)
        if tags:
            model = f"{model} ({', '.join(tags)})"
        return (model, self.target.backend, self.hardware, self.prompt)

    # ---- JSON ---------------------------------------------------------------------
    def _typed_details(self) -> dict[str, Any]:
        """The typed details in their schema-1 places; a shape that did not set one
        leaves its key out, as the dicts of old did."""
        out: dict[str, Any] = {}
        if self.trials_requested is not None:
            out["trials_requested"] = self.trials_requested
        if self.trials_planned is not None:
            out["trials_planned"] = self.trials_planned
        if self.cold_prompt is not None:
            out["cold_prompt"] = self.cold_prompt
        if self.rss is not None:
            out["rss_sampler"] = self.rss.sampler.as_dict()
            out["rss_after_trials_mb"] = list(self.rss.after_trials_mb)
        if self.arrival_rate_hz is not None:
            out["arrival_rate_hz"] = self.arrival_rate_hz
        if self.load is not None:
            out["load"] = self.load.as_dict()
        if self.notes:
            out["notes"] = list(self.notes)
        if self.cold_start is not None:
            out["cold_start"] = self.cold_start.as_dict()
        if self.cache_check is not None:
            out["cache_check"] = self.cache_check.as_dict()
        if self.extra_info is not None:
            out["extra_info"] = dict(self.extra_info)
        if self.warnings:
            out["warnings"] = [w.as_dict() for w in self.warnings]
        return out

    def as_dict(self, with_trials: bool = True) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "target": self.target.as_dict(),
            "test": self.test,
            "suite": self.suite,
            "prompt": self.prompt,
            "text_chars": self.text_chars,
            "language": self.language,
            "stream_mode": self.stream_mode,
            "hardware": self.hardware,
            "warmup": self.warmup,
            "n": self.n,
            "load_s": self.load_s,
            "peak_rss_mb": self.peak_rss_mb,
            "rss_growth_mb": self.rss_growth_mb,
            "accel_peak_mb": self.accel_peak_mb,
            "rss_slope_mb": self.rss_slope_mb,
            "cold_ttfa_ms": self.cold_ttfa_ms,
            "cold_latency_ms": self.cold_latency_ms,
            "summaries": {k: v.as_dict() for k, v in sorted(self.summaries.items())},
            "versions": dict(self.versions),
            "details": {**self.details, **self._typed_details()},
            "params": dict(self.params),
            "gates": [v.as_dict() for v in self.gates],
            "outcome": self.outcome,
            "xdist_workers": self.xdist_workers,
            "random_weights": self.random_weights,
            "trials": [t.as_dict() for t in self.trials] if with_trials else [],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BenchResult:
        schema = d.get("schema")
        if schema != SCHEMA_VERSION:
            raise ValueError(f"result schema {schema!r} is not {SCHEMA_VERSION}")
        details = dict(d.get("details", {}))
        typed = _pop_typed_details(details)
        result = cls(
            target=Target.from_dict(d["target"]),
            test=str(d["test"]),
            suite=str(d["suite"]),
            prompt=str(d["prompt"]),
            text_chars=int(d["text_chars"]),
            language=str(d["language"]),
            stream_mode=str(d["stream_mode"]),
            hardware=str(d["hardware"]),
            warmup=int(d["warmup"]),
            trials=[Trial.from_dict(t) for t in d.get("trials", [])],
            load_s=d.get("load_s"),
            peak_rss_mb=d.get("peak_rss_mb"),
            rss_growth_mb=d.get("rss_growth_mb"),
            accel_peak_mb=d.get("accel_peak_mb"),
            rss_slope_mb=d.get("rss_slope_mb"),
            cold_ttfa_ms=d.get("cold_ttfa_ms"),
            cold_latency_ms=d.get("cold_latency_ms"),
            versions=dict(d.get("versions", {})),
            details=details,
            params=dict(d.get("params", {})),
            gates=[Verdict.from_dict(v) for v in d.get("gates", [])],
            outcome=str(d.get("outcome", "passed")),
            xdist_workers=int(d.get("xdist_workers", 0)),
            random_weights=d.get("random_weights"),
            summaries={k: Summary.from_dict(v) for k, v in d.get("summaries", {}).items()},
            **typed,
        )
        if result.trials and not result.summaries:
            result.summarize()
        return result


def _pop_typed_details(details: dict[str, Any]) -> dict[str, Any]:
    """Take the typed details out of a JSON ``details`` dict (what remains is the
    engine's free-form info); the keyword arguments of :class:`BenchResult`."""
    out: dict[str, Any] = {}
    notes = details.pop("notes", None)
    if notes:
        out["notes"] = [str(n) for n in notes]
    for key in ("trials_requested", "trials_planned"):
        value = details.pop(key, None)
        if value is not None:
            out[key] = int(value)
    cold_prompt = details.pop("cold_prompt", None)
    if cold_prompt is not None:
        out["cold_prompt"] = str(cold_prompt)
    sampler = details.pop("rss_sampler", None)
    after = details.pop("rss_after_trials_mb", None)
    if sampler is not None or after is not None:
        out["rss"] = RssTrace(
            sampler=RssSamplerStats.from_dict(sampler or {}),
            after_trials_mb=[float(v) for v in after or ()],
        )
    rate = details.pop("arrival_rate_hz", None)
    if rate is not None:
        out["arrival_rate_hz"] = float(rate)
    readers: dict[str, Any] = {
        "load": LoadSummary.from_dict,
        "cold_start": ColdStartRuns.from_dict,
        "cache_check": CacheCheck.from_dict,
    }
    for key, read in readers.items():
        value = details.pop(key, None)
        if value is not None:
            out[key] = read(value)
    extra = details.pop("extra_info", None)
    if extra is not None:
        out["extra_info"] = dict(extra)
    warned = details.pop("warnings", None)
    if warned:
        out["warnings"] = [EngineWarning.from_dict(w) for w in warned]
    return out


# A warning's message in a summary line: long enough to recognise, short enough to read.
WARNING_MESSAGE_CHARS = 50


def warning_lines(results: Iterable[BenchResult]) -> list[str]:
    """One line per target that warned, counts summed over its results, e.g.
    ``warnings: kokoro-pt-cpu: 3 UserWarning 'dropout option adds ...' (load), ...``."""
    by_target: dict[str, list[EngineWarning]] = {}
    for result in results:
        if result.warnings:
            by_target.setdefault(result.target.id, []).extend(result.warnings)
    lines = []
    for target_id, found in by_target.items():
        told = [
            f"{w.count} {w.category} '{_shorten(w.message)}' ({w.phase})"
            for w in merge_warnings(found)
        ]
        lines.append(f"warnings: {target_id}: " + ", ".join(told))
    return lines


def _shorten(message: str) -> str:
    if len(message) <= WARNING_MESSAGE_CHARS:
        return message
    return message[: WARNING_MESSAGE_CHARS - 3].rstrip() + "..."
