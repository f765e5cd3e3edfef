"""The result of one benchmark test, as data: what measure.py produces, what gates
judge, what the results JSON and the Markdown doc are made from. Pure: no pytest.

A result serializes to plain JSON (``as_dict``/``from_dict``, derived from the fields
by :mod:`~pytest_ttsbench.results.serialize`) so it can ride on a
test report's ``user_properties`` to the xdist controller and into results files.
Gates and reports read metrics by flat names (:meth:`BenchResult.metric`):
``ttfa_ms.p95``, ``rtf.p50``, ``latency_ms.ci_high``, ``load_s``, ``peak_rss_mb``.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.results import details, metrics

# The field types are imported at run time: the serializer reads them (get_type_hints).
from pytest_ttsbench.results.details import (  # noqa: TC001
    CacheCheck,
    ColdStartRuns,
    EngineWarning,
    Intelligibility,
    LoadSummary,
    RssTrace,
)
from pytest_ttsbench.results.fidelity import Fidelity  # noqa: TC001  (read by the serializer)
from pytest_ttsbench.results.ladder import RateLadder  # noqa: TC001  (read by the serializer)
from pytest_ttsbench.results.metrics import STATISTICS
from pytest_ttsbench.results.serialize import Omit, from_json, json_field, json_keys, to_json
from pytest_ttsbench.results.stats import Summary, gaps_ms, summarize
from pytest_ttsbench.results.target import Target  # noqa: TC001
from pytest_ttsbench.results.trial import Trial as Trial  # noqa: TC001  (re-exported)
from pytest_ttsbench.results.verdict import Verdict  # noqa: TC001

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from pytest_ttsbench.results.measurement import Measurement

SCHEMA_VERSION = 1
RANDOM_WEIGHTS = "random weights"  # how every output labels results of random-init weights


def _details(**kwargs: Any) -> Any:
    """A typed detail: schema 1 keeps it under "details", left out when None (a list:
    when empty)."""
    omit: Omit = "empty" if "default_factory" in kwargs else "none"
    return json_field(place="details", omit=omit, **kwargs)


@dataclass(frozen=True)
class BenchResult:
    """Everything one benchmark test measured for one target and one prompt.

    Frozen: the fixture builds it once, from the header it fills before the run and the
    :class:`~pytest_ttsbench.results.measurement.Measurement` the runner returns
    (:meth:`measured_by`). Summaries are computed from the trials when not given.
    """

    __json_computed__ = ("n",)

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
    cold_ttfa_ms: float | None = None  # from the target's cold trial
    cold_latency_ms: float | None = None
    summaries: dict[str, Summary] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    # what the engine reports of itself (free-form): engine, capabilities, options, clock
    details: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # swept knobs: {"speed": 1.2}
    gates: list[Verdict] = field(default_factory=list)  # the gate keeper's verdicts
    outcome: str = "passed"
    xdist_workers: int = 0  # > 0: other benchmarks ran in parallel; timings contended
    # the weights' random-init marker (what built them): noise, not a model's numbers
    random_weights: dict[str, Any] | None = None
    # ---- typed details: what each benchmark shape found besides the trials -----------
    trials_requested: int | None = _details(default=None)  # --tts-trials or trials=
    trials_planned: int | None = _details(default=None)  # raised by percentile gates
    cold_prompt: str | None = _details(default=None)  # the prompt of the cold trial
    rss: RssTrace | None = _details(default=None, inline=True)
    arrival_rate_hz: float | None = _details(default=None)  # open loop: the Poisson rate
    load: LoadSummary | None = _details(default=None)  # concurrent requests
    notes: list[str] = _details(default_factory=list)  # told to the user in the summary
    cold_start: ColdStartRuns | None = _details(default=None)
    cache_check: CacheCheck | None = _details(default=None)
    extra_info: dict[str, Any] | None = _details(default=None)  # tts_bench.extra_info
    # what the engine warned while this result ran (and, on the target's first result,
    # while it loaded): counted, never raised
    warnings: list[EngineWarning] = _details(default_factory=list)
    failure: str | None = _details(default=None)  # why the test failed, for the doc
    # the ASR round trip (measure/scoring.py): checked or why not, what was heard
    intelligibility: Intelligibility | None = _details(default=None)
    # a reference configuration against this one over a prompt set (fidelity suite)
    fidelity: Fidelity | None = _details(default=None)
    # open-loop loads at rising rates: goodput per rung, the best rate, the cliff
    rate_ladder: RateLadder | None = _details(default=None)

    def __post_init__(self) -> None:
        if self.trials and not self.summaries:
            object.__setattr__(self, "summaries", summarize_trials(self.valid_trials))

    def measured_by(self, run: Measurement, **header: Any) -> BenchResult:
        """This header with what a runner measured (and ``header`` fields changed)."""
        return replace(self, **(run.result_fields() | header))

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
        return series_of(self.valid_trials, name)

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
        name = metrics.aliases().get(name, name)
        series, _, stat = name.partition(".")
        metric = metrics.BY_NAME.get(series)
        if metric is None:
            raise KeyError(f"unknown metric {series!r}")
        if not metric.has_statistics:
            if stat:
                raise KeyError(f"{series} is one number per result: no statistic {stat!r}")
            if metric.kind == "detail":
                return self.detail(series)
            value = getattr(self, series)
            return None if value is None else float(value)
        if stat not in STATISTICS:
            raise KeyError(f"unknown statistic {stat!r} of {series}")
        summary = self.summaries.get(series)
        return None if summary is None else summary.get(stat)

    def unchecked(self, name: str) -> bool:
        """Whether a metric (flat name) is missing because its check did not run: the
        extra it needs is not installed, or it was turned off (Metric.checked_by)."""
        name = metrics.aliases().get(name, name)
        metric = metrics.BY_NAME.get(name.partition(".")[0])
        if metric is None or not metric.checked_by:
            return False
        return bool(getattr(getattr(self, metric.checked_by), "unchecked", False))

    def shown(self, name: str, fmt: metrics.Format) -> str:
        """A metric (flat name) as a table cell shows it in ``fmt``; "unchecked" when
        its check did not run."""
        value = self.metric(name)
        if value is None and self.unchecked(name):
            return metrics.UNCHECKED
        text = metrics.format_value(fmt, value)
        low, high = self.interval(name)
        if value is not None and low is not None and high is not None:
            text += f" [{metrics.format_value(fmt, low)}, {metrics.format_value(fmt, high)}]"
        return text

    def interval(self, name: str) -> tuple[float | None, float | None]:
        """The 95% interval a detail metric carries (Metric.interval); (None, None) when
        it has none or it was not computed."""
        metric = metrics.BY_NAME.get(metrics.aliases().get(name, name).partition(".")[0])
        if metric is None or metric.interval is None or metric.source is None:
            return None, None
        owner = getattr(self, metric.source[0])
        if owner is None:
            return None, None
        low, high = (getattr(owner, attr) for attr in metric.interval)
        return (None if low is None else float(low)), (None if high is None else float(high))

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

    # ---- JSON (results/serialize.py, from the fields) ----------------------------------
    def as_dict(self, with_trials: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"schema": SCHEMA_VERSION, **to_json(self)}
        out["details"] = out.get("details", {})
        if not with_trials:
            out["trials"] = []
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> BenchResult:
        schema = d.get("schema")
        if schema != SCHEMA_VERSION:
            raise ValueError(f"result schema {schema!r} is not {SCHEMA_VERSION}")
        result = from_json(cls, d)
        # the free-form details are what the typed ones leave
        typed = json_keys(cls, "details")
        free = {k: v for k, v in result.details.items() if k not in typed}
        return replace(result, details=free)


def series_of(trials: Iterable[Trial], name: str) -> list[float]:
    """The finite values of one metric over ``trials``; pooled metrics (chunk gaps)
    pool every gap of every trial."""
    if metrics.BY_NAME[name].kind == "pooled":
        return [gap for t in trials for gap in gaps_ms(t.chunk_ns)]
    values = [t.metrics.get(name) for t in trials]
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def summarize_trials(trials: list[Trial]) -> dict[str, Summary]:
    """A Summary of every series and pooled metric the trials measured."""
    found = {}
    for name in metrics.names("series", "pooled"):
        values = series_of(trials, name)
        if values:
            found[name] = summarize(values)
    return found


def warning_lines(results: Iterable[BenchResult]) -> list[str]:
    """One line per target that warned (:func:`details.warning_lines`)."""
    return details.warning_lines((r.target.id, r.warnings) for r in results)
