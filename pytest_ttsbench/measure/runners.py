"""One runner per benchmark shape: single prompt, concurrent requests, cold start in
fresh processes, and the cache check. Pure: no pytest.

A runner takes a loaded engine (anything shaped like :class:`EngineSlot`), the resolved
:class:`~pytest_ttsbench.measure.request.BenchRequest` and the settings it needs; it runs
the trials and returns a :class:`~pytest_ttsbench.results.measurement.Measurement`: the
trials plus the typed detail of its shape, from which the caller builds the frozen
result once, and each measured trial's audio by its index (``Measurement.clips``), which
the caller scores and saves after the run. What the engine cannot do raises
:class:`~pytest_ttsbench.measure.request.Unsupported`; an engine that hung raises
:class:`~pytest_ttsbench.measure.request.EngineBroken`. Invalid trials stay in the
measurement (:func:`invalid_trials` says which) and never enter the statistics.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

from pytest_ttsbench.measure import coldstart, goodput, load, memory
from pytest_ttsbench.measure.engine_thread import ContentionWatch, TrialHung
from pytest_ttsbench.measure.planning import TrialPlan, run_planned
from pytest_ttsbench.measure.request import EngineBroken, Unsupported, require_thread_safe
from pytest_ttsbench.measure.stamps import capture, producer
from pytest_ttsbench.measure.trial import build_trial, collect_garbage, failed_trial
from pytest_ttsbench.results.details import ColdStartRuns, LoadSummary, merge_warnings
from pytest_ttsbench.results.measurement import ColdStart, LoadRun, Measurement
from pytest_ttsbench.results.metrics import TTFA_MS
from pytest_ttsbench.settings import default

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    import numpy as np

    from pytest_ttsbench.engines.base import Engine, EngineSpec
    from pytest_ttsbench.measure.engine_thread import EngineThread
    from pytest_ttsbench.measure.request import BenchRequest
    from pytest_ttsbench.results.model import BenchResult, Trial
    from pytest_ttsbench.results.target import Target

    Audio = np.ndarray[Any, np.dtype[np.float32]]
    Produce = Callable[[], Iterable[Any]]

# Engine housekeeping calls (peak memory, stage times) get this long, whatever the
# trial timeout: they read counters, they do not synthesize.
HOUSEKEEPING_S = 60.0


class EngineSlot(Protocol):
    """What the runners use of a loaded engine; ``matrix.pool.EngineHandle`` is one.

    ``cold`` is the target's first trial after load, run once per target by whichever
    benchmark comes first; ``broken`` is set when a call hung, so later ones fail fast;
    ``tunings`` holds the engine's tuning-knob combinations (:func:`tuning_point`) run.
    """

    engine: Engine
    thread: EngineThread
    cold: Trial | None
    cold_prompt: str | None
    broken: str | None
    tunings: set[tuple[str, ...]]

    @property
    def target(self) -> Target: ...


@dataclass(frozen=True)
class Progress:
    """One trial that just ended, told to :attr:`RunSpec.progress` (live output)."""

    target_id: str
    prompt: str
    kind: str  # cold, warmup, unique (cache check) or measured
    index: int  # of this kind, from 0
    planned: int  # trials of this kind planned; adaptive plans may add more
    latency_ms: float | None  # None: the trial failed
    running_p50_ms: float | None  # median latency of the valid measured trials so far
    valid: bool = True  # False: failed, hung or invalid audio (left out of the stats)


@dataclass(frozen=True)
class RunSpec:
    """The settings a runner needs: warm-ups, the trial timeout, how many trials, and
    whom to tell as each trial ends (called on the runner's thread, after the trial)."""

    warmup: int = default("warmup")
    trial_timeout_s: float = default("trial_timeout_s")
    plan: TrialPlan = field(default_factory=TrialPlan)
    progress: Callable[[Progress], None] | None = None


@dataclass(frozen=True)
class LoadSpec:
    """Concurrent load: ``concurrency`` threads back to back (closed loop), or Poisson
    arrivals at ``load_factor`` of the rate one request at a time sustains (open loop)."""

    concurrency: int = 2
    requests: int | None = None  # default: max(6, 2 x concurrency); p50 gates need 5
    load_factor: float | None = None
    seed: int = 0

    @property
    def count(self) -> int:
        return self.requests or max(6, 2 * self.concurrency)

    @property
    def params(self) -> dict[str, Any]:
        """What the results row keys on."""
        if self.load_factor:
            return {"arrival": "poisson", "load": self.load_factor}
        return {"concurrency": self.concurrency}


# a trial asked of an engine that an earlier hang abandoned (the hang said so already)
HUNG_EARLIER = "an earlier call on this engine hung"


def ensure_usable(slot: EngineSlot) -> None:
    """An engine abandoned after a hang runs nothing more."""
    if slot.broken:
        raise EngineBroken(f"{slot.target.id}: {slot.broken}")


def tuning_point(engine: Engine, request: BenchRequest) -> tuple[str, ...]:
    """The request's values of the knobs that make the engine recast or recompile its
    model (TorchEngine's dtype and compile); () for an engine without such knobs."""
    extra = request.opts.extra
    return tuple(repr(extra.get(knob)) for knob in engine.tuning_knobs)


# ---- the shared steps ------------------------------------------------------------------
class _Trials:
    """Runs trials of one request on the engine's own thread."""

    def __init__(self, slot: EngineSlot, request: BenchRequest, spec: RunSpec) -> None:
        self.slot = slot
        self.request = request
        self.spec = spec
        self.produce = self.producer(request.prompt.text)
        self.latencies: list[float] = []  # valid measured trials so far: the running p50
        # an abandoned engine thread that spins meanwhile skews this run's timings
        self.watch = ContentionWatch(slot.thread)

    def producer(self, text: str) -> Produce:
        return producer(self.slot.engine, text, self.request.opts, self.request.mode)

    def failed(self, index: int, kind: str, error: str) -> Trial:
        return failed_trial(index, kind, self.slot.engine.sample_rate, error)

    def one(self, produce: Produce, index: int, kind: str) -> tuple[Trial, Audio | None]:
        """One trial, then the progress callback."""
        trial, whole = self._attempt(produce, index, kind)
        self.report(trial)
        return trial, whole

    def report(self, trial: Trial, planned: int | None = None) -> None:
        """Tell :attr:`RunSpec.progress` that ``trial`` ended."""
        self.latencies.extend(_valid_latency(trial))
        if self.spec.progress is None:
            return
        if planned is None:
            planned = {"cold": 1, "warmup": self.spec.warmup}.get(trial.kind, self.spec.plan.trials)
        target, prompt = self.slot.target.id, self.request.prompt.name
        self.spec.progress(_progress(target, prompt, trial, planned, self.latencies))

    def finish(self, run: Measurement) -> Measurement:
        """What the run leaves besides trials: the engine's warnings since the last
        result took them (the load's, on the target's first result), and contention."""
        run.warnings = merge_warnings(run.warnings, self.slot.thread.warnings.drain())
        for thread in self.watch.contended():
            run.note(
                f"measured while an abandoned engine thread of {thread.name} was still "
                f"running (it hung at {thread.hung_at or 'an unknown place'}): "
                "timings may read high"
            )
        return run

    def _attempt(self, produce: Produce, index: int, kind: str) -> tuple[Trial, Audio | None]:
        """One trial: stamps, metrics, audio checks, accelerator peak, stage times."""
        slot, engine = self.slot, self.slot.engine
        collect_garbage()
        try:
            slot.thread.call(engine.reset_peak_memory, HOUSEKEEPING_S)
            captured = slot.thread.call(lambda: capture(produce), self.spec.trial_timeout_s)
            trial, whole = build_trial(
                captured,
                index=index,
                kind=kind,
                sample_rate=engine.sample_rate,
                text=self.request.prompt.text,
                speed=self.request.opts.speed,
                capped=self.request.opts.max_audio_s is not None,
            )
            peak = slot.thread.call(engine.peak_memory_bytes, HOUSEKEEPING_S)
            trial.accel_peak_mb = None if peak is None else peak / 2**20
            trial.stages = slot.thread.call(engine.stage_seconds, HOUSEKEEPING_S)
        except TrialHung as exc:
            if slot.broken is None:  # this call hung: said once, here
                slot.broken = (
                    f"{kind} trial {index} hung: {exc} (--tts-trial-timeout); "
                    "the engine was abandoned"
                )
                return self.failed(index, kind, slot.broken), None
            return self.failed(index, kind, f"{kind} trial {index} not run: {HUNG_EARLIER}"), None
        except Exception as exc:
            return self.failed(index, kind, f"{type(exc).__name__}: {exc}"), None
        return trial, whole

    def begin(self) -> Measurement:
        """The target's cold trial if it has none yet (only the measurement of the test
        that ran it holds it; every one of the target's results reads its numbers);
        then the warm-ups, one more when the request's dtype/compile combination is new
        to this engine: its first call pays the cast and compilation, never measured."""
        ensure_usable(self.slot)
        slot = self.slot
        point = tuning_point(slot.engine, self.request)
        warmups = self.spec.warmup + (point not in slot.tunings and slot.cold is not None)
        slot.tunings.add(point)
        run = Measurement(warmup=warmups)
        if slot.cold is None:
            slot.cold, _ = self.one(self.produce, 0, "cold")
            slot.cold_prompt = self.request.prompt.name
            run.trials.append(slot.cold)
        run.cold = slot.cold
        run.cold_prompt = slot.cold_prompt
        for i in range(warmups):
            if slot.broken:  # the cold trial hung: the engine runs nothing more
                break
            trial, _ = self.one(self.produce, i, "warmup")
            run.trials.append(trial)
        return run

    def measure(self, run: Measurement) -> Measurement:
        """Measured trials as planned, with the RSS sampler running; their audio goes to
        ``run.clips``."""
        rss: list[float] = []
        errors: list[Trial] = []

        def run_one(i: int) -> None:
            if errors or self.slot.broken:
                return  # a crashed or hung engine gets no more trials
            trial, whole = self.one(self.produce, i, "measured")
            run.trials.append(trial)
            rss.append(memory.rss_mb())
            if trial.error:
                errors.append(trial)
            elif whole is not None:
                run.clips[trial.index] = whole

        with memory.RssSampler() as sampler:
            run_planned(self.spec.plan, lambda: list(self.latencies), run_one)
        run.memory = memory.usage(sampler, rss, run.trials)
        return self.finish(run)


# ---- the shapes ------------------------------------------------------------------------
def single_prompt(slot: EngineSlot, request: BenchRequest, spec: RunSpec) -> Measurement:
    """Cold trial (once per target), warm-ups, then the planned measured trials.
    The measured trials' audio goes to ``clips`` by trial index."""
    trials = _Trials(slot, request, spec)
    return trials.measure(trials.begin())


def concurrent(
    slot: EngineSlot, request: BenchRequest, spec: RunSpec, shape: LoadSpec
) -> Measurement:
    """Requests from several threads against this one loaded engine.

    Latency counts from each request's scheduled start; issue lag is reported apart.
    The whole load gets ``spec.trial_timeout_s`` per request.
    """
    require_thread_safe(slot.engine.capabilities, slot.target.id)
    trials = _Trials(slot, request, spec)
    run = trials.begin()
    try:
        # The load's threads call the engine directly, not through its EngineThread:
        # this thread, waiting on them, holds the one context that counts their warnings.
        with slot.thread.catching("synthesis"):
            done = _load(trials, shape)
    except TrialHung as exc:
        slot.broken = f"concurrent requests hung: {exc}; the engine was abandoned"
        raise EngineBroken(f"{slot.target.id}: {slot.broken}") from None
    record(trials, run, done.requests, shape.count)
    run.shape = LoadRun(done.summary, done.arrival_rate_hz)
    if done.summary.serialized:
        run.note(
            f"requests did not run in parallel: throughput x{done.summary.speedup:.2f} of one "
            "request at a time (the engine or the hardware serializes them)"
        )
    return trials.finish(run)


def record(
    trials: _Trials, run: Measurement, done: list[load.Request], planned: int, first: int = 0
) -> None:
    """The load's requests as measured trials (index ``first`` on), told after the load:
    the progress callback never runs on its threads."""
    request, sample_rate = trials.request, trials.slot.engine.sample_rate
    for req in done:
        index = first + req.index
        if req.captured is None:
            trial = trials.failed(index, "measured", req.error or "no audio")
        else:
            trial, whole = build_trial(
                req.captured,
                index=index,
                kind="measured",
                sample_rate=sample_rate,
                text=request.prompt.text,
                speed=request.opts.speed,
                capped=request.opts.max_audio_s is not None,
            )
            trial.metrics["issue_lag_ms"] = req.issue_lag_ms
            run.clips[trial.index] = whole
        run.trials.append(trial)
        trials.report(trial, planned=planned)


def judge_load(run: Measurement, slo: Mapping[str, float]) -> None:
    """Goodput of a load, once its trials are judged (intelligibility included)."""
    if not isinstance(run.shape, LoadRun):
        return
    summary = run.shape.summary
    found = goodput.count_good(run.trials, slo)
    judged = replace(
        summary,
        good=found.good,
        goodput=found.fraction,
        good_rate=goodput.good_rate(found.good, summary.wall_s),
        slo=dict(slo),
    )
    run.shape = replace(run.shape, summary=judged)


@dataclass(frozen=True)
class _LoadRun:
    requests: list[load.Request]
    summary: LoadSummary
    arrival_rate_hz: float | None  # open loop: the Poisson rate


def _load(trials: _Trials, shape: LoadSpec) -> _LoadRun:
    """One request at a time first (the throughput to compare with), then the load."""
    produce, count = trials.produce, shape.count
    sample_rate = trials.slot.engine.sample_rate
    rate: float | None = None
    timeout = trials.spec.trial_timeout_s * count
    solo = load.closed_loop(produce, 1, 2, timeout)
    _, _, solo_rate = load.throughput(solo, sample_rate)
    if shape.load_factor:
        solo_latency = (
            statistics.median((r.end_ns or r.scheduled_ns) - r.scheduled_ns for r in solo) / 1e9
        )
        rate = shape.load_factor / solo_latency if solo_latency > 0 else 1.0
        done = load.open_loop(produce, load.poisson_offsets(rate, count, shape.seed), timeout)
    else:
        done = load.closed_loop(produce, shape.concurrency, count, timeout)
    parallel = bool(shape.load_factor) or shape.concurrency > 1
    summary = load.summarize(done, sample_rate, solo_rate, parallel=parallel)
    return _LoadRun(done, summary, rate)


def importable_engine(spec: EngineSpec, target_id: str) -> str:
    """``module:Class`` of the engine for a fresh process, or :class:`Unsupported`."""
    path = coldstart.engine_path(spec)
    if path is None:
        raise Unsupported(
            f"{target_id}: its engine class lives in a conftest or test "
            "module, which a fresh process cannot import; publish it in a module"
        )
    return path


def cold_start(
    job: coldstart.ColdStartJob,
    runs: int,
    timeout_s: float,
    sample_rate: int,
    progress: Callable[[Progress], None] | None = None,
) -> Measurement:
    """Import, load and first synthesis in a fresh process, ``runs`` times; the audio
    checks run here, on the audio each process sent back. ``sample_rate`` labels a run
    that failed (the engine loaded in this process). ``progress`` hears of each run."""
    run = Measurement(warmup=0)
    done: list[coldstart.ChildRun] = []
    latencies: list[float] = []
    target_id, prompt = job.target.id, job.request.prompt.name

    def tell(trial: Trial) -> None:
        run.trials.append(trial)
        latencies.extend(_valid_latency(trial))
        if progress is not None:
            progress(_progress(target_id, prompt, trial, runs, latencies))

    for i in range(runs):
        try:
            child = coldstart.run(job, timeout_s)
        except coldstart.ColdStartError as exc:
            tell(failed_trial(i, "measured", sample_rate, str(exc)))
            break
        done.append(child)
        trial, whole = build_trial(
            child.captured,
            index=i,
            kind="measured",
            sample_rate=child.sample_rate,
            text=job.request.prompt.text,
            speed=job.request.opts.speed,
            capped=job.request.opts.max_audio_s is not None,
        )
        run.clips[trial.index] = whole
        tell(trial)
    ttfas = [t.metrics.get(TTFA_MS) for t in run.trials if t.valid]
    found = [v for v in ttfas if v is not None]
    runs_seen = ColdStartRuns(
        interpreter_s=[r.interpreter_s for r in done],
        import_s=[r.import_s for r in done],
        load_s=[r.load_s for r in done],
        spawn_to_first_audio_ms=[r.spawn_to_first_audio_ms for r in done],
        wall_s=[r.wall_s for r in done],
    )
    run.shape = ColdStart(
        runs_seen,
        load_s=statistics.median(r.load_s for r in done) if done else None,
        ttfa_ms=statistics.median(found) if found else None,
    )
    return run


def cache_check(
    slot: EngineSlot,
    request: BenchRequest,
    spec: RunSpec,
    max_speedup: float | None = None,
) -> Measurement:
    """Repeated versus unique text: ``spec.plan.trials`` measured repeats of the prompt
    and as many unique texts of the same length (kept for the trace, not in the
    statistics), interleaved; :mod:`~pytest_ttsbench.measure.cache_check` says how and
    judges. At least one warm-up runs the repeated prompt first. The repeats' audio
    goes to ``clips`` by trial index."""
    from dataclasses import replace

    from pytest_ttsbench.measure import cache_check as check  # the check's own module

    trials = _Trials(slot, request, replace(spec, warmup=max(1, spec.warmup)))
    run = trials.begin()
    threshold = check.DEFAULT_MAX_SPEEDUP if max_speedup is None else max_speedup
    text, pairs = request.prompt.text, spec.plan.trials
    return check.run(trials, run, text, pairs, threshold)


# ---- progress ---------------------------------------------------------------------------
def _valid_latency(trial: Trial) -> list[float]:
    """The trial's latency if it counts toward the running median, else nothing."""
    latency = trial.metrics.get("latency_ms")
    if trial.kind != "measured" or not trial.valid or latency is None:
        return []
    return [float(latency)]


def _progress(
    target_id: str, prompt: str, trial: Trial, planned: int, latencies: list[float]
) -> Progress:
    return Progress(
        target_id=target_id,
        prompt=prompt,
        kind=trial.kind,
        index=trial.index,
        planned=max(planned, trial.index + 1),  # adaptive plans run past the first count
        latency_ms=trial.metrics.get("latency_ms"),
        running_p50_ms=statistics.median(latencies) if latencies else None,
        valid=trial.valid,
    )


# ---- verdicts of the runs themselves ---------------------------------------------------
def _said(trial: Trial) -> str:
    """What went wrong with a trial, named once: ``cold trial 0 hung: ...``."""
    label = f"{trial.kind} trial {trial.index}"
    text = trial.error or "; ".join(trial.problems)
    return text if text.startswith(f"{label} ") else f"{label}: {text}"


def invalid_trials(result: BenchResult) -> str | None:
    """The failure message for trials that crashed, hung or gave invalid audio."""
    bad = [t for t in result.trials if t.kind != "warmup" and not t.valid]
    if not bad:
        return None
    lines = [f"  {_said(t)}" for t in bad]
    return (
        f"{result.target.id} [{result.prompt}]: "
        f"{len(bad)} trial(s) invalid, left out of the statistics:\n" + "\n".join(lines)
    )
