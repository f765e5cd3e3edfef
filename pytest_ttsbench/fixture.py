"""The ``tts_bench`` fixture object: runs cold, warm-up and measured trials of one
prompt on one loaded engine and returns a :class:`BenchResult` with every metric.

The shapes follow pytest-benchmark where users already know them: call it, read
``.result`` / ``.stats``, add to ``.extra_info``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ttsbench.benchmark_bridge import feed_pytest_benchmark
from pytest_ttsbench.engines.base import SynthesisOptions
from pytest_ttsbench.measure import audio, memory, prompts
from pytest_ttsbench.measure.engine_thread import TrialHung
from pytest_ttsbench.measure.trial import (
    TrialPlan,
    build_trial,
    capture,
    collect_garbage,
    plan_trials,
    producer,
)
from pytest_ttsbench.results.model import BenchResult, Trial

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

    import numpy as np

    from pytest_ttsbench.matrix.pool import EngineHandle
    from pytest_ttsbench.session import BenchSession


class BenchError(Exception):
    """Trials that crashed, hung or produced invalid audio; the message lists them."""


@dataclass
class Prepared:
    """One benchmark's inputs, resolved and checked before any trial runs."""

    prompt: prompts.Prompt
    mode: str
    opts: SynthesisOptions
    params: dict[str, Any] = field(default_factory=dict)


class TTSBench:
    def __init__(
        self, session: BenchSession, handle: EngineHandle, request: pytest.FixtureRequest
    ) -> None:
        self.session = session
        self.handle = handle
        self.request = request
        self.extra_info: dict[str, Any] = {}
        self.result: BenchResult | None = None
        self.audio: list[np.ndarray[Any, np.dtype[np.float32]]] = []  # measured trials

    @property
    def stats(self) -> dict[str, Any] | None:
        """Summaries by metric name (``stats["latency_ms"].p50``), after a run."""
        return dict(self.result.summaries) if self.result else None

    # ---- inputs ------------------------------------------------------------------------
    def prepare(
        self,
        prompt: str,
        text: str | None,
        language: str | None,
        mode: str | None,
        voice: str | None,
        speed: float,
        reference_audio: Path | None,
        extra: dict[str, Any],
    ) -> Prepared:
        """Resolve the prompt and streaming mode; skip what this engine cannot do."""
        engine = self.handle.engine
        caps = engine.capabilities
        target = self.handle.target
        if text is not None:
            chosen = prompts.Prompt(
                name=prompt if prompt != "medium" else "custom",
                text=text,
                language=language or "en",
            )
        else:
            chosen = prompts.get(prompt)
        language = language or chosen.language
        if "tags" in chosen.needs and not caps.tags:
            pytest.skip(
                f"{target.id}: prompt {chosen.name!r} uses paralinguistic tags, "
                "which this engine does not support"
            )
        if language not in caps.languages:
            pytest.skip(
                f"{target.id}: no language {language!r} (supports "
                f"{', '.join(sorted(caps.languages))})"
            )
        if speed != 1.0 and not caps.speed:
            pytest.skip(f"{target.id}: no speed control")
        if reference_audio is not None and not caps.voice_clone:
            pytest.skip(f"{target.id}: no voice cloning from a reference clip")
        requested = mode or self.session.settings.stream
        if requested == "auto":
            requested = "native" if caps.stream else "none"
        if requested == "native" and not caps.stream:
            pytest.skip(
                f"{target.id}: no native streaming upstream; measure it with "
                "--tts-stream=sentence (the harness streams sentence by sentence)"
            )
        opts = SynthesisOptions(
            voice=voice,
            speed=speed,
            language=language,
            reference_audio=reference_audio,
            extra=dict(extra),
        )
        return Prepared(chosen, requested, opts)

    def _producer(self, prep: Prepared) -> Callable[[], Iterable[Any]]:
        return producer(self.handle.engine, prep.prompt.text, prep.opts, prep.mode)

    # ---- trials ------------------------------------------------------------------------
    def _trial(
        self, produce: Callable[[], Iterable[Any]], index: int, kind: str, prep: Prepared
    ) -> tuple[Trial, np.ndarray[Any, np.dtype[np.float32]] | None]:
        handle, engine = self.handle, self.handle.engine
        collect_garbage()
        try:
            handle.thread.call(engine.reset_peak_memory, 60)
            captured = handle.thread.call(
                lambda: capture(produce), self.session.settings.trial_timeout_s
            )
            trial, whole = build_trial(
                captured,
                index=index,
                kind=kind,
                sample_rate=engine.sample_rate,
                text=prep.prompt.text,
            )
            peak = handle.thread.call(engine.peak_memory_bytes, 60)
            trial.accel_peak_mb = None if peak is None else peak / 2**20
            trial.stages = handle.thread.call(engine.stage_seconds, 60)
        except TrialHung as exc:
            handle.broken = (
                f"{kind} trial {index} hung: {exc} (--tts-trial-timeout); the engine was abandoned"
            )
            return self._failed(index, kind, handle.broken), None
        except Exception as exc:
            return self._failed(index, kind, f"{type(exc).__name__}: {exc}"), None
        return trial, whole

    def _failed(self, index: int, kind: str, error: str) -> Trial:
        return Trial(
            index=index,
            kind=kind,
            t0_ns=0,
            chunk_ns=[],
            chunk_samples=[],
            sample_rate=self.handle.engine.sample_rate,
            error=error,
        )

    def __call__(
        self,
        prompt: str = "medium",
        *,
        text: str | None = None,
        language: str | None = None,
        mode: str | None = None,
        trials: int | None = None,
        warmup: int | None = None,
        voice: str | None = None,
        speed: float = 1.0,
        reference_audio: Path | None = None,
        params: dict[str, Any] | None = None,
        **extra: Any,
    ) -> BenchResult:
        """Benchmark ``prompt`` (a preset name, or ``text=``) on this test's target."""
        prep = self.prepare(prompt, text, language, mode, voice, speed, reference_audio, extra)
        prep.params = dict(params or {})
        result, produce = self._begin(prep, warmup)
        settings = self.session.settings
        n = settings.trials if trials is None else trials
        needed = self.session.gatekeeper.trials_needed(
            self.request.node, result, n, settings.max_trials
        )
        plan = TrialPlan(
            trials=needed,
            adaptive=settings.adaptive,
            precision=settings.precision,
            budget_s=settings.budget_s,
            max_trials=max(settings.max_trials, needed),
        )
        result.details["trials_requested"] = n
        result.details["trials_planned"] = needed
        self._measure(
            result,
            prep,
            lambda run_one: plan_trials(plan, lambda: result.series("latency_ms"), run_one),
            produce,
        )
        return self._finish(result)

    # ---- the shared steps ----------------------------------------------------------------
    def _begin(
        self, prep: Prepared, warmup: int | None
    ) -> tuple[BenchResult, Callable[[], Iterable[Any]]]:
        """A new result; the target's cold trial if it has none yet; the warm-ups."""
        if self.result is not None:
            raise BenchError("tts_bench runs once per test; parametrize for more runs")
        handle = self.handle
        if handle.broken:
            pytest.fail(f"{handle.target.id}: {handle.broken}", pytrace=False)
        result = self.session.new_result(self.request, handle, prep)
        produce = self._producer(prep)
        if handle.cold is None:
            handle.cold, _ = self._trial(produce, 0, "cold", prep)
            handle.cold_prompt = prep.prompt.name
            result.trials.append(handle.cold)  # only in the result of the test that ran it
        if handle.cold.valid:
            result.cold_ttfa_ms = handle.cold.metrics.get("ttfa_ms")
            result.cold_latency_ms = handle.cold.metrics.get("latency_ms")
        result.details["cold_prompt"] = handle.cold_prompt
        n_warmup = self.session.settings.warmup if warmup is None else warmup
        result.warmup = n_warmup
        for i in range(n_warmup):
            trial, _ = self._trial(produce, i, "warmup", prep)
            result.trials.append(trial)
        return result, produce

    def _measure(
        self,
        result: BenchResult,
        prep: Prepared,
        schedule: Callable[[Callable[[int], None]], None],
        produce: Callable[[], Iterable[Any]],
    ) -> None:
        """Measured trials on the engine thread, with the RSS sampler running."""
        rss: list[float] = []
        errors: list[Trial] = []

        def run_one(i: int) -> None:
            if errors:
                return  # a crashed or hung engine gets no more trials
            trial, whole = self._trial(produce, i, "measured", prep)
            result.trials.append(trial)
            rss.append(memory.rss_mb())
            if trial.error:
                errors.append(trial)
            elif whole is not None:
                self.audio.append(whole)

        with memory.RssSampler() as sampler:
            schedule(run_one)
        result.peak_rss_mb = sampler.peak_mb
        result.rss_growth_mb = memory.growth(rss)
        result.rss_slope_mb = memory.slope_mb_per_iter(rss)
        peaks = [t.accel_peak_mb for t in result.measured if t.accel_peak_mb is not None]
        result.accel_peak_mb = max(peaks) if peaks else None
        result.details["rss_sampler"] = sampler.as_dict()
        result.details["rss_after_trials_mb"] = rss

    def _finish(self, result: BenchResult) -> BenchResult:
        """Statistics, gate verdicts, the record; then fail on invalid trials or gates."""
        result.summarize()
        keeper = self.session.gatekeeper
        verdicts = keeper.verdicts(self.request.node, result)
        result.gates = list(verdicts)
        self.result = result
        self.session.record(self.request, result, self.extra_info)
        self._save_audio(result)
        feed_pytest_benchmark(
            self.request, self.session.replay_clock(self.request.node), result, self.extra_info
        )
        self._fail_on_invalid_trials(result)
        keeper.enforce(result, verdicts)
        return result

    # ---- other shapes of benchmark -------------------------------------------------------
    def concurrent(
        self,
        prompt: str = "short",
        *,
        concurrency: int = 2,
        requests: int | None = None,
        load_factor: float | None = None,
        mode: str | None = None,
        seed: int = 0,
        **extra: Any,
    ) -> BenchResult:
        """Requests from several threads against this one loaded engine.

        Closed loop: ``concurrency`` threads back to back. Open loop (``load_factor``):
        Poisson arrivals at that fraction of the rate one request at a time sustains.
        Latency counts from the scheduled start; issue lag is reported apart.
        """
        from pytest_ttsbench.measure import load

        engine = self.handle.engine
        if not engine.capabilities.thread_safe:
            pytest.skip(
                f"{self.handle.target.id}: the adapter does not declare the engine "
                "safe to call from several threads at once"
            )
        prep = self.prepare(prompt, None, None, mode, None, 1.0, None, extra)
        count = requests or max(6, 2 * concurrency)  # p50 gates need 5
        prep.params = (
            {"arrival": "poisson", "load": load_factor}
            if load_factor
            else {"concurrency": concurrency}
        )
        result, produce = self._begin(prep, None)
        timeout = self.session.settings.trial_timeout_s * count
        try:
            return self._concurrent(
                load, result, prep, produce, count, concurrency, load_factor, seed, timeout
            )
        except TrialHung as exc:
            self.handle.broken = f"concurrent requests hung: {exc}; the engine was abandoned"
            pytest.fail(f"{self.handle.target.id}: {self.handle.broken}", pytrace=False)

    def _concurrent(
        self,
        load: Any,
        result: BenchResult,
        prep: Prepared,
        produce: Callable[[], Iterable[Any]],
        count: int,
        concurrency: int,
        load_factor: float | None,
        seed: int,
        timeout: float,
    ) -> BenchResult:
        engine = self.handle.engine
        solo = load.closed_loop(produce, 1, 2, timeout)
        _, _, solo_rate = load.throughput(solo, engine.sample_rate)
        if load_factor:
            solo_latency = (
                statistics.median((r.end_ns or r.scheduled_ns) - r.scheduled_ns for r in solo) / 1e9
            )
            rate = load_factor / solo_latency if solo_latency > 0 else 1.0
            done = load.open_loop(produce, load.poisson_offsets(rate, count, seed), timeout)
            result.details["arrival_rate_hz"] = rate
        else:
            done = load.closed_loop(produce, concurrency, count, timeout)
        summary = load.summarize(
            done, engine.sample_rate, solo_rate, parallel=bool(load_factor) or concurrency > 1
        )
        for request in done:
            if request.captured is None:
                result.trials.append(
                    self._failed(request.index, "measured", request.error or "no audio")
                )
                continue
            trial, _ = build_trial(
                request.captured,
                index=request.index,
                kind="measured",
                sample_rate=engine.sample_rate,
                text=prep.prompt.text,
            )
            trial.metrics["issue_lag_ms"] = request.issue_lag_ms
            result.trials.append(trial)
        result.details["load"] = summary.as_dict()
        if summary.serialized:
            result.details.setdefault("notes", []).append(
                f"requests did not run in parallel: throughput x{summary.speedup:.2f} of one "
                "request at a time (the engine or the hardware serializes them)"
            )
        return self._finish(result)

    def cold_start(
        self, prompt: str = "short", *, runs: int = 3, mode: str | None = None, **extra: Any
    ) -> BenchResult:
        """Import, load and first synthesis in a fresh process, ``runs`` times."""
        from pytest_ttsbench.measure import coldstart

        handle = self.handle
        path = coldstart.engine_path(handle.entry.spec)
        if path is None:
            pytest.skip(
                f"{handle.target.id}: its engine class lives in a conftest or test "
                "module, which a fresh process cannot import; publish it in a module"
            )
        prep = self.prepare(prompt, None, None, mode, None, 1.0, None, extra)
        prep.params = {"process": "fresh"}
        result = self.session.new_result(self.request, handle, prep)
        result.warmup = 0
        settings = self.session.settings
        job = coldstart.job(
            path,
            handle.target,
            handle.entry.weights,
            dict(settings.engine_opts),
            settings.allow_download,
            self.session.pool.cache_dir,
            prep.prompt.text,
            prep.mode,
            prep.opts,
        )
        runs_out: list[dict[str, Any]] = []
        for i in range(runs):
            try:
                measured = coldstart.run(job, settings.trial_timeout_s)
            except coldstart.ColdStartError as exc:
                result.trials.append(self._failed(i, "measured", str(exc)))
                break
            runs_out.append(measured)
            result.trials.append(coldstart.trial_of(measured, i))
        if runs_out:
            result.load_s = statistics.median(r["load_s"] for r in runs_out)
            ttfas = [
                t.metrics["ttfa_ms"]
                for t in result.valid_trials
                if t.metrics.get("ttfa_ms") is not None
            ]
            result.cold_ttfa_ms = statistics.median(ttfas) if ttfas else None  # type: ignore[type-var]
        result.details["cold_start"] = {
            key: [r[key] for r in runs_out]
            for key in ("interpreter_s", "import_s", "load_s", "spawn_to_first_audio_ms", "wall_s")
        }
        return self._finish(result)

    def cache_check(
        self,
        prompt: str = "medium",
        *,
        repeats: int = 4,
        max_speedup: float = 1.4,
        mode: str | None = None,
        **extra: Any,
    ) -> BenchResult:
        """Repeated versus unique text: an engine (or server) that caches phonemes or
        audio answers a repeated prompt much faster, and would fool every benchmark that
        repeats one prompt. Fails when repeated is more than ``max_speedup`` faster."""
        prep = self.prepare(prompt, None, None, mode, None, 1.0, None, extra)
        prep.params = {"check": "cache"}
        result, produce = self._begin(prep, None)
        engine = self.handle.engine
        unique: list[float] = []
        for i in range(repeats):  # a new number each time: nothing to reuse
            text = f"Reference number {4711 + 37 * i}. {prep.prompt.text}"
            trial, _ = self._trial(producer(engine, text, prep.opts, prep.mode), i, "unique", prep)
            result.trials.append(trial)  # kept for the trace, not in the statistics
            if trial.valid and trial.metrics.get("rtf") is not None:
                unique.append(float(trial.metrics["rtf"] or 0.0))

        def repeated_runs(run_one: Callable[[int], None]) -> None:
            for i in range(repeats):
                run_one(i)

        self._measure(result, prep, repeated_runs, produce)
        repeated = result.series("rtf")
        result.details["cache_check"] = {"unique_rtf": unique, "repeated_rtf": repeated}
        result.summarize()
        if unique and repeated:
            ratio = statistics.median(unique) / statistics.median(repeated)
            result.details["cache_check"]["speedup"] = ratio
            if ratio > max_speedup:
                self._finish_quietly(result)
                pytest.fail(
                    f"{result.target.id}: a repeated prompt ran x{ratio:.2f} faster than "
                    f"unique ones (RTF p50 {statistics.median(repeated):.3f} vs "
                    f"{statistics.median(unique):.3f}): the engine caches, so benchmarks "
                    "that repeat one prompt overstate its speed; use unique prompts",
                    pytrace=False,
                )
        return self._finish(result)

    def _finish_quietly(self, result: BenchResult) -> None:
        """Record a result whose test is about to fail for a reason of its own."""
        result.summarize()
        self.result = result
        self.session.record(self.request, result, self.extra_info)

    # ---- after the trials ----------------------------------------------------------------
    def _fail_on_invalid_trials(self, result: BenchResult) -> None:
        bad = [t for t in result.trials if t.kind != "warmup" and not t.valid]
        if bad:
            lines = [
                f"  {t.kind} trial {t.index}: " + (t.error or "; ".join(t.problems)) for t in bad
            ]
            pytest.fail(
                f"{result.target.id} [{result.prompt}]: "
                f"{len(bad)} trial(s) invalid, left out of the statistics:\n" + "\n".join(lines),
                pytrace=False,
            )

    def _save_audio(self, result: BenchResult) -> None:
        if not self.session.settings.save_audio or not self.audio:
            return
        folder = self.session.artifacts_dir / "audio"
        stem = _safe(result.test)
        for i, clip in enumerate(self.audio):
            audio.write_wav(folder / f"{stem}-trial{i}.wav", clip, self.handle.engine.sample_rate)


def _safe(text: str) -> str:
    keep = [c if c.isalnum() or c in "-_." else "_" for c in text]
    return "".join(keep).strip("_")[:150] or "test"
