"""The ``tts_bench`` fixture object: the pytest face of the runners in
:mod:`pytest_ttsbench.measure.runners`.

It builds the request and the result's header, calls the runner of the benchmark's
shape, and turns what comes back into pytest outcomes: ``Unsupported`` is a skip, a
broken engine or invalid trials a failure, gate verdicts a failure or a skip. The shapes
follow pytest-benchmark where users already know them: call it, read ``.result`` /
``.stats``, add to ``.extra_info``.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ttsbench.benchmark_bridge import feed_pytest_benchmark, xdist_workers
from pytest_ttsbench.measure import audio, goodput, ladder_run, runners, scoring
from pytest_ttsbench.measure.cache_check import caching_message
from pytest_ttsbench.measure.coldstart import ColdStartJob
from pytest_ttsbench.measure.planning import TrialPlan
from pytest_ttsbench.measure.request import (
    Ask,
    BenchRequest,
    EngineBroken,
    Unsupported,
    length_cap,
    prepare,
    require_thread_safe,
)
from pytest_ttsbench.progress import ProgressPrinter
from pytest_ttsbench.results.details import UNCHECKED, Intelligibility
from pytest_ttsbench.results.keys import suite_name
from pytest_ttsbench.results.model import BenchResult
from pytest_ttsbench.results.serialize import jsonable
from pytest_ttsbench.settings import trial_cap

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from pathlib import Path

    import numpy as np

    from pytest_ttsbench.matrix.pool import EngineHandle
    from pytest_ttsbench.results.measurement import Measurement
    from pytest_ttsbench.session import BenchSession


class BenchError(Exception):
    """The fixture was used in a way it cannot measure; the message says how to fix it."""


@contextlib.contextmanager
def _outcomes() -> Iterator[None]:
    """The runners' exceptions as pytest outcomes, with their messages as they are,
    told once (no "during handling" chain that repeats the message)."""
    try:
        yield
    except Unsupported as exc:
        pytest.skip(exc.reason)
    except EngineBroken as exc:
        raise pytest.fail.Exception(str(exc), pytrace=False) from None


class TTSBench:
    def __init__(
        self, session: BenchSession, handle: EngineHandle, request: pytest.FixtureRequest
    ) -> None:
        self.session = session
        self.handle = handle
        self.request = request
        self.extra_info: dict[str, Any] = {}
        self.result: BenchResult | None = None
        # the measured trials' audio by trial index, after a run
        self.clips: dict[int, np.ndarray[Any, np.dtype[np.float32]]] = {}

    @property
    def stats(self) -> dict[str, Any] | None:
        """Summaries by metric name (``stats["latency_ms"].p50``), after a run."""
        return dict(self.result.summaries) if self.result else None

    # ---- the shapes ---------------------------------------------------------------------
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
        ask = Ask(prompt, text, language, mode, voice, speed, reference_audio, extra, params or {})
        settings = self.session.settings
        with _outcomes():
            bench, header = self._start(ask)
            n = settings.trials if trials is None else trials
            count = self.session.gatekeeper.trials_needed(
                self.request.node, header, n, settings.max_trials
            )
            plan = TrialPlan(
                trials=count.n,
                adaptive=settings.adaptive,
                precision=settings.precision,
                budget_s=settings.budget_s,
                max_trials=trial_cap(settings.max_trials, count.n),
            )
            run = runners.single_prompt(self.handle, bench, self._spec(plan, warmup))
            checked = self._score(run, bench)
            notes = [count.note] if count.note else []
            result = header.measured_by(
                run,
                trials_requested=n,
                trials_planned=count.n,
                notes=notes + run.notes,
                intelligibility=checked,
            )
        return self._finish(result)

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
        shape = runners.LoadSpec(concurrency, requests, load_factor, seed)
        with _outcomes():
            require_thread_safe(self.handle.engine.capabilities, self.handle.target.id)
            bench, header = self._start(Ask(prompt, mode=mode, extra=extra, params=shape.params))
            run = runners.concurrent(self.handle, bench, self._spec(TrialPlan()), shape)
            checked = self._score(run, bench)
            runners.judge_load(run, self.session.settings.slo)
        return self._finish(header.measured_by(run, intelligibility=checked))

    def rate_ladder(
        self,
        prompt: str = "short",
        *,
        factors: Sequence[float] = goodput.LADDER_FACTORS,
        requests: int = 8,
        target: float = goodput.LADDER_TARGET,
        mode: str | None = None,
        seed: int = 0,
        **extra: Any,
    ) -> BenchResult:
        """Poisson arrivals at each of ``factors`` times the rate one request at a time
        sustains, ``requests`` per rung (all rungs at most LADDER_MAX_REQUESTS): goodput
        per rung under --tts-slo, the highest rate whose goodput reaches ``target``, and
        whether it falls off a cliff. The result's ``rate_ladder`` detail holds it."""
        shape = ladder_run.LadderSpec(tuple(factors), requests, target, seed=seed)
        slo = self.session.settings.slo
        with _outcomes():
            require_thread_safe(self.handle.engine.capabilities, self.handle.target.id)
            bench, header = self._start(Ask(prompt, mode=mode, extra=extra, params=shape.params))
            run = ladder_run.rate_ladder(self.handle, bench, self._spec(TrialPlan()), shape, slo)
            checked = self._score(run, bench)
            ladder_run.judge(run, slo)
        return self._finish(header.measured_by(run, intelligibility=checked))

    def cold_start(
        self, prompt: str = "short", *, runs: int = 3, mode: str | None = None, **extra: Any
    ) -> BenchResult:
        """Import, load and first synthesis in a fresh process, ``runs`` times."""
        handle, settings = self.handle, self.session.settings
        with _outcomes():
            path = runners.importable_engine(handle.entry.spec, handle.target.id)
            ask = Ask(prompt, mode=mode, extra=extra, params={"process": "fresh"})
            bench, header = self._start(ask)
            job = ColdStartJob(
                engine=path,
                target=handle.target,
                weights=handle.entry.weights,
                options=dict(settings.engine_opts),
                allow_download=settings.allow_download,
                cache_dir=self.session.pool.cache_dir,
                request=bench,
            )
            sample_rate = handle.engine.sample_rate
            run = runners.cold_start(
                job,
                runs,
                settings.trial_timeout_s,
                sample_rate,
                ProgressPrinter(self.request.config),
            )
            checked = self._score(run, bench)
        return self._finish(header.measured_by(run, intelligibility=checked))

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
        with _outcomes():
            bench, header = self._start(
                Ask(prompt, mode=mode, extra=extra, params={"check": "cache"})
            )
            spec = self._spec(TrialPlan(trials=repeats))
            run = runners.cache_check(self.handle, bench, spec, max_speedup)
            checked = self._score(run, bench)
        result = header.measured_by(run, intelligibility=checked)
        message = caching_message(result, max_speedup)
        if message is not None:
            self._finish_quietly(result)
            pytest.fail(message, pytrace=False)
        return self._finish(result)

    def fidelity(
        self,
        reference: Mapping[str, Any] | None = None,
        *,
        prompts: str | Sequence[str] = "fidelity",
        mode: str | None = None,
        speed: float | None = None,
        voice: str | None = None,
        trials: int | None = None,
        **knobs: Any,
    ) -> BenchResult:
        """A prompt set (8 shipped prompts unless ``prompts`` names another set or gives
        texts) through this test's configuration and a reference configuration of the
        same model: ``reference={"mode": "none"}``, ``{"speed": 1.0}``,
        ``{"variant": "fp32"}``, ``{"backend": "pt"}`` or any knob; None: the one
        --tts-reference or ``@pytest.mark.tts_reference`` names. The result's
        ``fidelity`` detail holds the CER difference and duration ratio with their
        paired 95% intervals and, for deterministic pairs, spectral distances."""
        from pytest_ttsbench.fidelity_bench import Steps, compare_configurations
        from pytest_ttsbench.reference_spec import Configuration

        steps = Steps(
            self.session,
            self.handle,
            self.request,
            start=self._start,
            spec=self._spec,
            check=self._check,
            finish=self._finish,
            outcomes=_outcomes,
            keep_clips=self._keep_clips,
        )
        candidate = Configuration(mode=mode, speed=speed, voice=voice, knobs=dict(knobs))
        return compare_configurations(steps, reference, prompts, candidate, trials)

    # ---- the shared steps ----------------------------------------------------------------
    def _keep_clips(self, clips: dict[int, Any]) -> None:
        self.clips = clips

    def _start(self, ask: Ask) -> tuple[BenchRequest, BenchResult]:
        """The resolved request and the result's header: every field the run does not
        measure (the runner's Measurement fills the rest, :meth:`BenchResult.measured_by`)."""
        handle = self.handle
        settings = self.session.settings
        cap = length_cap(settings.max_audio_s, handle.random_weights is not None)
        bench = prepare(ask, handle.engine.capabilities, handle.target.id, settings.stream, cap)
        if self.result is not None:
            raise BenchError("tts_bench runs once per test; parametrize for more runs")
        runners.ensure_usable(handle)
        return bench, self._new_result(bench)

    def _new_result(self, bench: BenchRequest) -> BenchResult:
        handle, node, settings = self.handle, self.request.node, self.session.settings
        target = handle.target
        engine = handle.thread.call(handle.engine.details, 60)
        options = bench.opts.as_dict()
        if options.get("voice") is None:  # the voice the engine used when none was asked
            options["voice"] = settings.engine_opts.get("voice") or engine.get("default_voice")
        return BenchResult(
            target=target,
            test=node.nodeid,
            suite=suite_name(node.module.__name__ if node.module else ""),
            prompt=bench.prompt.name,
            text_chars=bench.prompt.chars,
            language=bench.opts.language,
            stream_mode=bench.mode,
            hardware=self.session.hardware.label(target.device),
            warmup=settings.warmup,
            load_s=handle.load_s,
            versions=handle.thread.call(handle.engine.versions, 60),
            details={
                "engine": engine,
                "capabilities": handle.engine.capabilities.as_dict(),
                "options": options,
                "engine_opts": dict(settings.engine_opts),
                "clock": "time.perf_counter_ns",
                "stamp": "host array handed over",
            },
            params=bench.params,
            xdist_workers=xdist_workers(),
            random_weights=handle.random_weights,
        )

    def _score(self, run: Measurement, bench: BenchRequest) -> Intelligibility:
        """After the trials, never beside one: does each measured trial's audio say its
        prompt (measure/scoring.py)? Keeps the run's audio for --tts-save-audio."""
        self.clips = dict(run.clips)
        return self._check(run, bench)

    def _check(
        self, run: Measurement, bench: BenchRequest, random_weights: bool | None = None
    ) -> Intelligibility:
        """The ASR round trip of one run (see :meth:`_score`); ``random_weights``: of
        the engine that ran it, this test's when None."""
        if random_weights is None:
            random_weights = self.handle.random_weights is not None
        session, language = self.session, bench.opts.language
        mode = session.settings.intelligibility
        checked = scoring.unscored(mode, session.intelligibility_missing(), language)
        if checked is None:
            scorer = session.scorer()
            if isinstance(scorer, str):  # installed, and it cannot be used as pinned
                if mode == "require":
                    pytest.fail(f"--tts-intelligibility=require: {scorer}", pytrace=False)
                checked = Intelligibility(UNCHECKED, reason=scorer)
            else:
                checked = scoring.score_run(
                    run,
                    bench.prompt.text,
                    language,
                    scorer,
                    random_weights=random_weights,
                )
        note = scoring.note(checked)
        if note is not None:
            run.note(note)
        return checked

    def _spec(self, plan: TrialPlan, warmup: int | None = None) -> runners.RunSpec:
        settings = self.session.settings
        return runners.RunSpec(
            warmup=settings.warmup if warmup is None else warmup,
            trial_timeout_s=settings.trial_timeout_s,
            plan=plan,
            progress=ProgressPrinter(self.request.config),
        )

    def _finish(self, measured: BenchResult) -> BenchResult:
        """Gate verdicts, the record; then fail on invalid trials or gates."""
        measured = self._engine_after(measured)
        keeper = self.session.gatekeeper
        verdicts = keeper.verdicts(self.request.node, measured)
        result = replace(measured, gates=list(verdicts), extra_info=jsonable(self.extra_info))
        self.result = result
        self.session.record(self.request, result)
        self._save_audio(result)
        feed_pytest_benchmark(
            self.request, self.session.replay_clock(self.request.node), result, self.extra_info
        )
        invalid = runners.invalid_trials(result)
        if invalid is not None:
            pytest.fail(invalid, pytrace=False)
        keeper.enforce(result, verdicts)
        return result

    def _finish_quietly(self, measured: BenchResult) -> None:
        """Record a result whose test is about to fail for a reason of its own."""
        measured = self._engine_after(measured)
        self.result = replace(measured, extra_info=jsonable(self.extra_info))
        self.session.record(self.request, self.result)

    def _engine_after(self, measured: BenchResult) -> BenchResult:
        """The engine's details as the trials left them: a call can change them (the
        dtype a sweep point switched to, the token limit a length cap set). An engine
        that hung or fails to say keeps what it said before the trials."""
        thread = self.handle.thread
        if thread.hung:
            return measured
        try:
            engine = thread.call(self.handle.engine.details, 60)
        except Exception:  # the result is recorded all the same
            return measured
        return replace(measured, details={**measured.details, "engine": engine})

    def _save_audio(self, result: BenchResult) -> None:
        if not self.session.settings.save_audio or not self.clips:
            return
        folder = self.session.artifacts_dir / "audio"
        stem = _safe(result.test)
        rates = {t.index: t.sample_rate for t in result.measured}
        for i, clip in sorted(self.clips.items()):
            rate = rates.get(i, self.handle.engine.sample_rate)
            audio.write_wav(folder / f"{stem}-trial{i}.wav", clip, rate)


def _safe(text: str) -> str:
    keep = [c if c.isalnum() or c in "-_." else "_" for c in text]
    return "".join(keep).strip("_")[:150] or "test"
