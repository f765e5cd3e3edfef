"""The runners of each benchmark shape, without pytest's machinery: a small engine that
stamps its own handovers, loaded through the real pool (EngineHandle, EngineThread).

No wall-clock upper bounds: the machine is shared. Timing checks compare the harness's
stamps with the engine's own, relative to the chunk interval.
"""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pytest

from pytest_ttsbench.engines.base import (
    Capabilities,
    Engine,
    EngineContext,
    EngineSpec,
    SynthesisOptions,
)
from pytest_ttsbench.matrix.pool import EngineHandle, EnginePool
from pytest_ttsbench.matrix.targets import MatrixEntry
from pytest_ttsbench.measure import runners
from pytest_ttsbench.measure.cache_check import caching_message
from pytest_ttsbench.measure.coldstart import ColdStartJob
from pytest_ttsbench.measure.planning import TrialPlan
from pytest_ttsbench.measure.request import (
    Ask,
    EngineBroken,
    Unsupported,
    prepare,
)
from pytest_ttsbench.results.details import CacheCheck, ColdStartRuns, LoadSummary
from pytest_ttsbench.results.model import BenchResult
from pytest_ttsbench.results.serialize import to_json
from pytest_ttsbench.results.target import Target
from tests.unit.runner_support import ask, header

if TYPE_CHECKING:
    from collections.abc import Iterator

GAP_S = 0.03  # between an engine's chunks
CHUNKS = 4


class Stamped(Engine):
    """Streams CHUNKS sine chunks GAP_S apart and stamps each handover itself, just
    before the ``yield``: the ground truth the harness's stamps must follow."""

    capabilities = Capabilities(stream=True, thread_safe=True)
    sample_rate = 16_000
    fail_on: ClassVar[int] = 0  # raise on that call number
    nan: ClassVar[bool] = False

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self.calls: list[tuple[str, list[int]]] = []  # (text, handover stamps) per call
        self._lock = threading.Lock()

    def _audio(self, text: str) -> np.ndarray[Any, np.dtype[np.float32]]:
        seconds = len(text) / 15.0  # a plausible speaking rate
        t = np.arange(int(seconds * self.sample_rate)) / self.sample_rate
        wave = (0.3 * np.sin(2 * math.pi * 220.0 * t)).astype(np.float32)
        if self.nan:
            wave[len(wave) // 2 :] = np.nan
        return wave

    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[np.ndarray[Any, Any]]:
        stamps: list[int] = []
        with self._lock:
            self.calls.append((text, stamps))
            number = len(self.calls)
        if self.fail_on and number == self.fail_on:
            raise RuntimeError(f"fake failure on call {number}")
        for chunk in np.array_split(self._audio(text), CHUNKS):
            time.sleep(GAP_S)
            stamps.append(time.perf_counter_ns())
            yield chunk


class Serial(Stamped):
    capabilities = Capabilities(stream=True, thread_safe=False)


class Failing(Stamped):
    fail_on = 4  # cold, warm-up, measured 0 fine; measured 1 raises


class Nan(Stamped):
    nan = True


class Caching(Stamped):
    """Answers a text it has seen at once, like a server with an audio cache."""

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self.seen: set[str] = set()

    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[np.ndarray[Any, Any]]:
        if text in self.seen:
            yield self._audio(text)
            return
        self.seen.add(text)
        yield from super().stream(text, opts)


class Hanging(Stamped):
    """Hangs until closed (the pool closes an abandoned engine from another thread)."""

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self.release = threading.Event()

    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[np.ndarray[Any, Any]]:
        self.release.wait()
        yield self._audio(text)

    def close(self) -> None:
        self.release.set()


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[EnginePool]:
    engines = EnginePool({}, allow_download=False, cache_dir=tmp_path, load_timeout_s=30)
    yield engines
    engines.close_all()


def load(
    pool: EnginePool, cls: type[Engine], options: dict[str, str] | None = None
) -> EngineHandle:
    target = Target(cls.__name__.lower(), "py", "cpu", "default")
    pool.options = options or {}
    return pool.acquire(MatrixEntry(target, EngineSpec(target.model, "py", cls)))


def stamps_follow_the_engine(result: BenchResult, engine: Stamped, kinds: set[str]) -> None:
    """Every harness stamp is at or after the engine's own handover stamp of that chunk,
    and lags it by far less than the chunk interval (it stamps that chunk, not the next)."""
    lags: list[int] = []
    calls = [stamps for _, stamps in engine.calls]
    for trial in (t for t in result.trials if t.kind in kinds):
        harness = [trial.t0_ns + ns for ns in trial.chunk_ns]
        # the engine call this trial consumed: the one whose stamps it follows closest
        matching = [
            [h - e for h, e in zip(harness, own, strict=True)]
            for own in calls
            if len(own) == len(harness) and all(h >= e for h, e in zip(harness, own, strict=True))
        ]
        assert matching, f"{trial.kind} trial {trial.index}: a stamp before the engine's"
        best = min(matching, key=sum)
        lags.extend(best)
    interval_ns = GAP_S * 1e9
    assert lags
    # the median, not the max: one preemption of a busy machine may delay one stamp
    assert statistics.median(lags) < interval_ns / 10


# ---- single prompt ------------------------------------------------------------------------
def test_single_prompt_runs_cold_warmups_and_planned_trials(pool: EnginePool) -> None:
    handle = load(pool, Stamped)
    request = ask(handle)
    spec = runners.RunSpec(warmup=2, trial_timeout_s=60, plan=TrialPlan(trials=4))
    run = runners.single_prompt(handle, request, spec)
    result = header(handle, request).measured_by(run)
    assert [t.kind for t in result.trials] == ["cold", "warmup", "warmup"] + ["measured"] * 4
    assert [t.index for t in result.measured] == [0, 1, 2, 3]
    assert result.n == 4
    assert all(t.valid for t in result.trials)
    assert result.warmup == 2
    # each measured trial's audio, paired with its trial by index
    assert sorted(run.clips) == [t.index for t in result.measured]
    assert all(len(run.clips[t.index]) == sum(t.chunk_samples) for t in result.measured)
    assert handle.cold is result.trials[0]
    assert result.cold_prompt == handle.cold_prompt == "short"
    assert handle.cold is not None
    assert result.cold_ttfa_ms == handle.cold.metrics["ttfa_ms"]
    assert result.series("chunks") == [float(CHUNKS)] * 4
    assert result.rss is not None
    assert len(result.rss.after_trials_mb) == 4
    assert result.rss.sampler.rss_samples >= 0
    assert result.peak_rss_mb is not None
    assert result.peak_rss_mb > 0
    assert isinstance(handle.engine, Stamped)
    assert len(handle.engine.calls) == 7
    stamps_follow_the_engine(result, handle.engine, {"cold", "warmup", "measured"})

    # the cold trial runs once per target: the next benchmark only reads it
    again = header(handle, request).measured_by(
        runners.single_prompt(handle, request, runners.RunSpec(warmup=0, plan=TrialPlan(2)))
    )
    assert [t.kind for t in again.trials] == ["measured", "measured"]
    assert again.cold_ttfa_ms == result.cold_ttfa_ms
    assert runners.invalid_trials(again) is None


class Tunable(Stamped):
    """Declares TorchEngine's tuning knobs and records each call's values of them."""

    tuning_knobs = ("dtype", "compile")

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self.seen: list[tuple[object, object]] = []

    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[np.ndarray[Any, Any]]:
        self.seen.append((opts.extra.get("dtype"), opts.extra.get("compile")))
        yield from super().stream(text, opts)


def test_a_new_dtype_compile_combination_gets_its_own_warmup(pool: EnginePool) -> None:
    handle = load(pool, Tunable)
    spec = runners.RunSpec(warmup=0, plan=TrialPlan(trials=1))

    def kinds(**extra: object) -> list[str]:
        run = runners.single_prompt(handle, ask(handle, extra=extra), spec)
        assert run.warmup == sum(t.kind == "warmup" for t in run.trials)
        return [t.kind for t in run.trials]

    # the cold trial pays the first combination's switch
    assert kinds(dtype="float32", compile=False) == ["cold", "measured"]
    assert kinds(dtype="float32", compile=True) == ["warmup", "measured"]
    assert kinds(dtype="bfloat16", compile=True) == ["warmup", "measured"]
    assert kinds(dtype="float32", compile=True) == ["measured"]  # seen: no switch cost left
    assert kinds() == ["warmup", "measured"]  # back to the session's values: a switch too
    assert kinds(speed_knob=2) == ["measured"]  # other knobs never recast the model
    assert handle.tunings == {
        ("'float32'", "False"),
        ("'float32'", "True"),
        ("'bfloat16'", "True"),
        ("None", "None"),
    }
    assert isinstance(handle.engine, Tunable)
    assert handle.engine.seen[:4] == [
        ("float32", False),
        ("float32", False),
        ("float32", True),
        ("float32", True),
    ]
    # with warm-ups asked for, the new combination still gets one more
    run = runners.single_prompt(
        handle, ask(handle, extra={"dtype": "float16"}), replace(spec, warmup=2)
    )
    assert [t.kind for t in run.trials] == ["warmup"] * 3 + ["measured"]
    assert run.warmup == 3


def test_an_engine_without_tuning_knobs_gets_no_extra_warmup(pool: EnginePool) -> None:
    handle = load(pool, Stamped)
    spec = runners.RunSpec(warmup=0, plan=TrialPlan(trials=1))
    for extra in ({"dtype": "float32"}, {"dtype": "bfloat16", "compile": True}):
        run = runners.single_prompt(handle, ask(handle, extra=extra), spec)
        assert "warmup" not in [t.kind for t in run.trials]
    assert handle.tunings == {()}


def test_sentence_mode_calls_the_engine_once_per_sentence(pool: EnginePool) -> None:
    class Whole(Stamped):
        capabilities = Capabilities(stream=False)

        def synthesize(self, text: str, opts: SynthesisOptions) -> np.ndarray[Any, Any]:
            return self._audio(text)

    handle = load(pool, Whole)
    request = ask(handle, "medium", mode="sentence")
    spec = runners.RunSpec(warmup=0, plan=TrialPlan(trials=2))
    result = header(handle, request).measured_by(runners.single_prompt(handle, request, spec))
    assert result.stream_mode == "sentence"
    assert result.series("chunks") == [3.0, 3.0]  # three sentences in "medium"


# ---- concurrent ---------------------------------------------------------------------------
def test_closed_loop_runs_every_request_from_several_threads(pool: EnginePool) -> None:
    handle = load(pool, Stamped)
    shape = runners.LoadSpec(concurrency=2, requests=4)
    request = ask(handle, params=shape.params)
    spec = runners.RunSpec(warmup=1, trial_timeout_s=60)
    result = header(handle, request).measured_by(runners.concurrent(handle, request, spec, shape))
    assert [t.kind for t in result.trials] == ["cold", "warmup"] + ["measured"] * 4
    assert result.n == 4
    assert result.params == {"concurrency": 2}
    assert isinstance(result.load, LoadSummary)
    assert (result.load.requests, result.load.errors) == (4, 0)
    assert result.load.throughput > 0
    assert result.arrival_rate_hz is None
    assert all(t.metrics["issue_lag_ms"] is not None for t in result.measured)
    assert isinstance(handle.engine, Stamped)
    stamps_follow_the_engine(result, handle.engine, {"measured"})


def test_open_loop_counts_from_the_schedule(pool: EnginePool) -> None:
    handle = load(pool, Stamped)
    shape = runners.LoadSpec(load_factor=0.5, requests=4, seed=1)
    request = ask(handle, params=shape.params)
    spec = runners.RunSpec(warmup=0, trial_timeout_s=60)
    result = header(handle, request).measured_by(runners.concurrent(handle, request, spec, shape))
    assert result.params == {"arrival": "poisson", "load": 0.5}
    assert result.arrival_rate_hz is not None
    assert result.arrival_rate_hz > 0
    assert result.n == 4
    lags = [t.metrics["issue_lag_ms"] for t in result.measured]
    assert all(lag is not None and lag >= 0 for lag in lags)
    assert isinstance(handle.engine, Stamped)
    stamps_follow_the_engine(result, handle.engine, {"measured"})


def test_concurrent_needs_an_engine_declared_thread_safe(pool: EnginePool) -> None:
    handle = load(pool, Serial)
    request = ask(handle)
    with pytest.raises(Unsupported, match="safe to call from several threads at once"):
        header(handle, request).measured_by(
            runners.concurrent(handle, request, runners.RunSpec(), runners.LoadSpec())
        )
    assert handle.cold is None  # nothing ran


# ---- invalid trials and broken engines ----------------------------------------------------
def test_an_engine_that_raises_stops_the_trials_and_is_reported(pool: EnginePool) -> None:
    handle = load(pool, Failing)
    request = ask(handle)
    spec = runners.RunSpec(warmup=1, plan=TrialPlan(trials=5))
    result = header(handle, request).measured_by(runners.single_prompt(handle, request, spec))
    assert [t.kind for t in result.trials] == ["cold", "warmup", "measured", "measured"]
    assert result.n == 1  # the failed trial is kept but not measured; no more after it
    message = runners.invalid_trials(result)
    assert message is not None
    assert message.startswith("failing-py-cpu [short]: 1 trial(s) invalid, left out of the")
    assert "measured trial 1: RuntimeError: fake failure on call 4" in message


def test_nan_audio_makes_every_trial_invalid(pool: EnginePool) -> None:
    handle = load(pool, Nan)
    request = ask(handle)
    spec = runners.RunSpec(warmup=0, plan=TrialPlan(trials=2))
    result = header(handle, request).measured_by(runners.single_prompt(handle, request, spec))
    assert result.n == 0
    assert len(result.measured) == 2  # audio problems do not stop the trials
    message = runners.invalid_trials(result)
    assert message is not None
    assert "3 trial(s) invalid" in message  # the cold trial and both measured ones
    assert "cold trial 0:" in message
    assert "NaN or Inf" in message


def test_a_hung_engine_is_abandoned_and_later_runs_fail_fast(pool: EnginePool) -> None:
    handle = load(pool, Hanging)
    request = ask(handle)
    spec = runners.RunSpec(warmup=2, trial_timeout_s=0.2, plan=TrialPlan(trials=3))
    result = header(handle, request).measured_by(runners.single_prompt(handle, request, spec))
    hung = (
        "cold trial 0 hung: no result within 0.2 s (--tts-trial-timeout); the engine was abandoned"
    )
    assert [t.error for t in result.trials] == [hung]  # no warm-up or measured trial after it
    assert runners.invalid_trials(result) == (
        f"hanging-py-cpu [short]: 1 trial(s) invalid, left out of the statistics:\n  {hung}"
    )
    assert handle.broken is not None
    with pytest.raises(EngineBroken) as broken:
        header(handle, request).measured_by(runners.single_prompt(handle, request, spec))
    assert str(broken.value) == f"hanging-py-cpu: {hung}"  # "abandoned" once


# ---- cache check --------------------------------------------------------------------------
def test_cache_check_of_an_honest_engine(pool: EnginePool) -> None:
    handle = load(pool, Stamped)
    request = ask(handle, params={"check": "cache"})
    spec = runners.RunSpec(warmup=1, plan=TrialPlan(trials=4))
    result = header(handle, request).measured_by(runners.cache_check(handle, request, spec))
    kinds = [t.kind for t in result.trials]
    # interleaved, ABBA: a drift of the machine's load cancels out
    assert kinds == ["cold", "warmup"] + ["measured", "unique", "unique", "measured"] * 2
    assert isinstance(result.cache_check, CacheCheck)
    assert len(result.cache_check.unique_rtf) == 4
    assert result.cache_check.repeated_rtf == result.series("rtf")
    assert result.cache_check.speedup is not None
    assert "rtf" in result.summaries
    # the honest engine takes as long for a repeat: never "x1000 faster"
    assert caching_message(result, max_speedup=1000.0) is None
    assert isinstance(handle.engine, Stamped)
    texts = [text for text, _ in handle.engine.calls]
    unique_texts = [
        text for text, t in zip(texts, result.trials, strict=True) if t.kind == "unique"
    ]
    # unique texts: as many sentences and about as long as the repeated one
    assert len(set(unique_texts)) == 4
    assert request.prompt.text not in unique_texts
    assert all(abs(len(t) - len(request.prompt.text)) <= 3 for t in unique_texts)


def test_cache_check_catches_a_caching_engine(pool: EnginePool) -> None:
    handle = load(pool, Caching)
    request = ask(handle)
    spec = runners.RunSpec(warmup=1, plan=TrialPlan(trials=3))
    result = header(handle, request).measured_by(runners.cache_check(handle, request, spec))
    check = result.cache_check
    assert check is not None
    assert check.speedup is not None
    assert check.speedup > 1.4
    message = caching_message(result, max_speedup=1.4)
    assert message is not None
    assert message.startswith(f"caching-py-cpu: a repeated prompt ran x{check.speedup:.2f}")
    assert "the engine caches" in message


# ---- cold start ---------------------------------------------------------------------------
SYNTHETIC = "pytest_ttsbench.engines.synthetic:SyntheticEngine"
FAST = {"first_ms": "5", "gap_ms": "2", "chunks": "3", "load_ms": "50"}


def cold_job(tmp_path: Path) -> ColdStartJob:
    request = prepare(
        Ask("short", params={"process": "fresh"}), Capabilities(stream=True), "x", "auto"
    )
    return ColdStartJob(
        engine=SYNTHETIC,
        target=Target("synthetic", "sim", "cpu", "default"),
        weights=None,
        options=FAST,
        allow_download=False,
        cache_dir=tmp_path,
        request=request,
    )


def cold_header(job: ColdStartJob) -> BenchResult:
    return BenchResult(
        target=job.target,
        test="t",
        suite="unit",
        prompt="short",
        text_chars=job.request.prompt.chars,
        language="en",
        stream_mode=job.request.mode,
        hardware="test box",
        warmup=1,
    )


def test_cold_start_runs_fresh_processes_and_checks_their_audio_here(tmp_path: Path) -> None:
    job = cold_job(tmp_path)
    result = cold_header(job).measured_by(
        runners.cold_start(job, runs=2, timeout_s=120, sample_rate=24_000)
    )
    assert [t.kind for t in result.trials] == ["measured", "measured"]
    assert [t.index for t in result.trials] == [0, 1]
    assert runners.invalid_trials(result) is None
    assert result.warmup == 0
    # the audio checks ran here, on the audio the child sent back
    assert all(t.metrics["silence_ratio"] == 0.0 for t in result.trials)
    assert result.series("chunks") == [3.0, 3.0]
    cold = result.cold_start
    assert isinstance(cold, ColdStartRuns)
    assert len(cold.load_s) == 2
    assert all(s >= 0.05 for s in cold.load_s)  # load_ms=50, busy-waited
    assert all(w >= s for w, s in zip(cold.wall_s, cold.load_s, strict=True))
    assert all(ms is not None and ms > 0 for ms in cold.spawn_to_first_audio_ms)
    assert result.load_s == statistics.median(cold.load_s)
    assert result.cold_ttfa_ms is not None


def test_a_failed_fresh_process_is_an_invalid_run(tmp_path: Path) -> None:
    job = cold_job(tmp_path)
    broken = replace(job, engine="pytest_ttsbench.engines.synthetic:Nope")
    result = cold_header(broken).measured_by(
        runners.cold_start(broken, runs=3, timeout_s=120, sample_rate=24_000)
    )
    assert len(result.trials) == 1  # the first failure ends the runs
    assert result.trials[0].sample_rate == 24_000
    assert "the fresh process exited 1" in (result.trials[0].error or "")
    assert result.cold_start == ColdStartRuns([], [], [], [], [])
    assert result.load_s is None


def test_an_engine_in_a_test_module_cannot_cold_start() -> None:
    spec = EngineSpec("stamped", "py", Stamped)
    with pytest.raises(Unsupported, match="lives in a conftest or test module"):
        runners.importable_engine(spec, "stamped-py-cpu")
    assert runners.importable_engine(EngineSpec("s", "sim", SYNTHETIC), "s") == SYNTHETIC


def test_the_cold_start_child_imports_only_the_engine_and_the_stamping(tmp_path: Path) -> None:
    """The child's import time is the engine's: no audio checks, psutil, tabulate, pytest."""
    job = {**cold_job(tmp_path).as_json(), "spawned_ns": time.perf_counter_ns()}
    code = (
        "import json, sys\n"
        "from pytest_ttsbench.measure import coldstart\n"
        "out = coldstart.child(json.loads(sys.stdin.read()))\n"
        "print(json.dumps([sorted({m.split('.')[0] for m in sys.modules}), len(out['chunks'])]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=True,
    )
    loaded, chunks = json.loads(done.stdout.strip().splitlines()[-1])
    assert chunks == 3  # it really ran a trial
    assert sorted(set(loaded) & {"scipy", "pyloudnorm", "psutil", "tabulate", "pytest"}) == []


# ---- requests ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"prompt": "ar"}, "x: no language 'ar' (supports en)"),
        ({"prompt": "tags"}, "x: prompt 'tags' uses paralinguistic tags, which this engine"),
        ({"speed": 1.5}, "x: no speed control"),
        ({"reference_audio": Path("ref.wav")}, "x: no voice cloning from a reference clip"),
        ({"mode": "native"}, "x: no native streaming upstream; measure it with --tts-stream="),
    ],
)
def test_what_the_engine_cannot_do_is_unsupported(kw: dict[str, Any], reason: str) -> None:
    with pytest.raises(Unsupported) as caught:
        prepare(Ask(**kw), Capabilities(), "x", "auto")
    assert caught.value.reason.startswith(reason)


def test_prepare_resolves_the_prompt_and_the_mode() -> None:
    caps = Capabilities(stream=True, speed=True)
    auto = prepare(Ask("short", speed=1.2, extra={"k": 1}), caps, "x", "auto")
    assert (auto.prompt.name, auto.mode, auto.opts.speed, dict(auto.opts.extra)) == (
        "short",
        "native",
        1.2,
        {"k": 1},
    )
    custom = prepare(Ask(text="Hi there.", params={"a": 1}), Capabilities(), "x", "auto")
    assert (custom.prompt.name, custom.mode, custom.params) == ("custom", "none", {"a": 1})


# ---- the JSON edge -------------------------------------------------------------------------
OLD_DETAILS: dict[str, Any] = {  # as results files of schema 1 have always had them
    "engine": {"provider": "cpu"},
    "clock": "time.perf_counter_ns",
    "trials_requested": 5,
    "trials_planned": 8,
    "cold_prompt": "short",
    "rss_sampler": {
        "peak_rss_mb": 300.0,
        "baseline_rss_mb": 290.0,
        "rss_samples": 12,
        "rss_interval_ms": 10.1,
        "rss_max_interval_ms": None,
        "rss_sampler_cpu_s": 0.001,
    },
    "rss_after_trials_mb": [295.0, 296.0],
    "arrival_rate_hz": 3.5,
    "load": {
        "requests": 8,
        "errors": 0,
        "wall_s": 1.0,
        "audio_s": 4.0,
        "throughput": 4.0,
        "speedup": 1.1,
        "serialized": True,
        "issue_lag_p50_ms": 0.1,
        "issue_lag_max_ms": 0.4,
    },
    "notes": ["requests did not run in parallel"],
    "cold_start": {
        "interpreter_s": [0.1],
        "import_s": [0.2],
        "load_s": [0.3],
        "spawn_to_first_audio_ms": [None],
        "wall_s": [0.9],
    },
    "cache_check": {"unique_rtf": [0.5], "repeated_rtf": [0.1], "speedup": 5.0},
    "extra_info": {"run": "nightly"},
}


def test_typed_details_read_and_write_their_schema_1_places() -> None:
    base = BenchResult(
        Target("m", "b", "cpu", "default"), "t", "s", "short", 10, "en", "none", "h", 1
    )
    old = {**base.as_dict(), "details": OLD_DETAILS}
    result = BenchResult.from_dict(old)
    assert result.details == {"engine": {"provider": "cpu"}, "clock": "time.perf_counter_ns"}
    assert (result.trials_requested, result.trials_planned) == (5, 8)
    assert result.cold_prompt == "short"
    assert result.rss is not None
    assert result.rss.sampler.rss_samples == 12
    assert result.rss.after_trials_mb == [295.0, 296.0]
    assert result.load is not None
    assert result.load.serialized is True
    assert result.arrival_rate_hz == 3.5
    assert result.notes == ["requests did not run in parallel"]
    assert result.cold_start == ColdStartRuns([0.1], [0.2], [0.3], [None], [0.9])
    assert result.cache_check == CacheCheck([0.5], [0.1], 5.0)
    assert result.extra_info == {"run": "nightly"}
    assert result.as_dict()["details"] == OLD_DETAILS
    # a shape that did not set a detail leaves its key out, as before
    assert set(base.as_dict()["details"]) == set()
    assert "speedup" not in to_json(CacheCheck([], [0.1]))


def test_each_shape_writes_the_details_it_always_wrote(pool: EnginePool) -> None:
    handle = load(pool, Stamped)
    request = ask(handle)
    spec = runners.RunSpec(warmup=0, plan=TrialPlan(trials=2))
    single = header(handle, request).measured_by(runners.single_prompt(handle, request, spec))
    assert set(single.as_dict()["details"]) == {"cold_prompt", "rss_sampler", "rss_after_trials_mb"}
    cache = header(handle, request).measured_by(runners.cache_check(handle, request, spec))
    assert set(cache.as_dict()["details"]) == {
        "cold_prompt",
        "rss_sampler",
        "rss_after_trials_mb",
        "cache_check",
    }
    shape = runners.LoadSpec(load_factor=0.5, requests=2)
    loaded = header(handle, request).measured_by(runners.concurrent(handle, request, spec, shape))
    assert set(loaded.as_dict()["details"]) >= {"cold_prompt", "arrival_rate_hz", "load"}
    for result in (single, cache, loaded):
        again = BenchResult.from_dict(json.loads(json.dumps(result.as_dict())))
        assert again.as_dict() == result.as_dict()


# ---- progress ------------------------------------------------------------------------------
def test_progress_is_told_after_every_trial(pool: EnginePool) -> None:
    handle = load(pool, Stamped)
    request = ask(handle)
    told: list[runners.Progress] = []
    spec = runners.RunSpec(warmup=2, trial_timeout_s=60, plan=TrialPlan(3), progress=told.append)
    result = header(handle, request).measured_by(runners.single_prompt(handle, request, spec))
    assert [(p.kind, p.index, p.planned) for p in told] == [
        ("cold", 0, 1),
        ("warmup", 0, 2),
        ("warmup", 1, 2),
        ("measured", 0, 3),
        ("measured", 1, 3),
        ("measured", 2, 3),
    ]
    assert {(p.target_id, p.prompt, p.valid) for p in told} == {("stamped-py-cpu", "short", True)}
    assert [p.latency_ms for p in told] == [t.metrics["latency_ms"] for t in result.trials]
    latencies = result.series("latency_ms")
    assert (
        [p.running_p50_ms for p in told]
        == [
            None,  # no measured trial yet
            None,
            None,
            latencies[0],
            statistics.median(latencies[:2]),
            statistics.median(latencies),
        ]
    )

    # the cache check's unique prompts are told too; the target's cold trial ran already
    told.clear()
    spec = runners.RunSpec(warmup=0, plan=TrialPlan(2), progress=told.append)
    checked = header(handle, request).measured_by(runners.cache_check(handle, request, spec))
    assert [(p.kind, p.index) for p in told] == [(t.kind, t.index) for t in checked.trials]
    assert {p.kind for p in told} >= {"unique", "measured"}
    assert all(p.planned >= max(2, p.index + 1) for p in told if p.kind != "warmup")

    # adaptive plans run past the first count: planned grows with them
    told.clear()
    adaptive = TrialPlan(trials=2, adaptive=True, precision=0.0, max_trials=4)
    spec = runners.RunSpec(warmup=0, plan=adaptive, progress=told.append)
    header(handle, request).measured_by(runners.single_prompt(handle, request, spec))
    assert [(p.index, p.planned) for p in told] == [(0, 2), (1, 2), (2, 3), (3, 4)]


def test_progress_of_concurrent_requests_and_failed_trials(pool: EnginePool) -> None:
    handle = load(pool, Stamped)
    shape = runners.LoadSpec(concurrency=2, requests=4)
    request = ask(handle, params=shape.params)
    told: list[runners.Progress] = []
    spec = runners.RunSpec(warmup=1, trial_timeout_s=60, progress=told.append)
    result = header(handle, request).measured_by(runners.concurrent(handle, request, spec, shape))
    assert [(p.kind, p.index, p.planned) for p in told] == [("cold", 0, 1), ("warmup", 0, 1)] + [
        ("measured", i, 4) for i in range(4)
    ]
    assert told[-1].running_p50_ms == statistics.median(result.series("latency_ms"))

    failing = load(pool, Failing)
    told.clear()
    spec = runners.RunSpec(warmup=1, plan=TrialPlan(5), progress=told.append)
    header(failing, ask(failing)).measured_by(runners.single_prompt(failing, ask(failing), spec))
    assert [(p.kind, p.index, p.valid) for p in told] == [
        ("cold", 0, True),
        ("warmup", 0, True),
        ("measured", 0, True),
        ("measured", 1, False),  # the engine raised: told, then no more trials
    ]
    assert told[-1].latency_ms is None
    assert told[-1].running_p50_ms == told[-2].running_p50_ms == told[-2].latency_ms


def test_progress_of_cold_start_runs(tmp_path: Path) -> None:
    job = cold_job(tmp_path)
    told: list[runners.Progress] = []
    result = cold_header(job).measured_by(
        runners.cold_start(job, runs=2, timeout_s=120, sample_rate=24_000, progress=told.append)
    )
    assert [(p.target_id, p.kind, p.index, p.planned) for p in told] == [
        ("synthetic-sim-cpu", "measured", 0, 2),
        ("synthetic-sim-cpu", "measured", 1, 2),
    ]
    assert told[-1].running_p50_ms == statistics.median(result.series("latency_ms"))
