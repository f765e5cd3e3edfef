"""``tts_bench.fidelity(...)``: a prompt set through the configuration under test and a
reference configuration of the same model, as one result whose ``fidelity`` detail says
how far the candidate moved (measure/comparison.py). The pytest edge of the comparison:
the reference is resolved, loaded and run here; the runs are measure/comparison_run.py's.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ttsbench.measure import comparison, comparison_run
from pytest_ttsbench.measure.planning import TrialPlan
from pytest_ttsbench.measure.prompts import prompt_set
from pytest_ttsbench.measure.request import Ask, length_cap, prepare
from pytest_ttsbench.measure.scoring import cost_of
from pytest_ttsbench.reference_spec import Configuration, parse
from pytest_ttsbench.results.details import Intelligibility

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence
    from contextlib import AbstractContextManager

    from pytest_ttsbench.matrix.pool import EngineHandle
    from pytest_ttsbench.measure.request import BenchRequest
    from pytest_ttsbench.measure.runners import RunSpec
    from pytest_ttsbench.results.measurement import Measurement
    from pytest_ttsbench.results.model import BenchResult
    from pytest_ttsbench.session import BenchSession

MARKER = "tts_reference"
NONDETERMINISTIC_TRIALS = 3  # per prompt and side when the engines sample at random
SPECTRAL_NEEDS = "spectral distances need a deterministic pair (both engines repeat exactly)"


@dataclass(frozen=True)
class Steps:
    """What the comparison needs of the ``tts_bench`` fixture object (fixture.py), so
    this module needs nothing of it: its shared steps, as callables."""

    session: BenchSession
    handle: EngineHandle
    request: pytest.FixtureRequest
    start: Callable[[Ask], tuple[BenchRequest, BenchResult]]
    spec: Callable[[TrialPlan], RunSpec]
    check: Callable[[Measurement, BenchRequest, bool], Intelligibility]
    finish: Callable[[BenchResult], BenchResult]
    outcomes: Callable[[], AbstractContextManager[None]]
    keep_clips: Callable[[dict[int, Any]], None]

    def scorer(self, handle: EngineHandle) -> comparison_run.Score:
        judged = handle.random_weights is not None
        return lambda run, request: self.check(run, request, judged)


class NoReference(Exception):
    """No reference was named: the message says the three ways to name one."""


def named_reference(steps: Steps, given: Mapping[str, Any] | None) -> Configuration:
    """The reference: the call's, else --tts-reference (its ini key or environment
    variable), else the test's ``@pytest.mark.tts_reference``. NoReference otherwise."""
    if given is not None:
        return parse(given, "tts_bench.fidelity(reference=...)")
    settings = steps.session.settings
    if settings.reference:
        return parse(settings.reference, "--tts-reference")
    marker = steps.request.node.get_closest_marker(MARKER)
    if marker is not None:
        return parse(marker.kwargs, f"@pytest.mark.{MARKER}")
    raise NoReference(
        "no reference configuration named: pass --tts-reference KEY=VALUE (e.g. mode=none, "
        f"speed=1.0, variant=fp32), mark the test @pytest.mark.{MARKER}(...), or call "
        "tts_bench.fidelity(reference={...})"
    )


def _texts(prompts: str | Sequence[str]) -> tuple[str, list[str], str]:
    """(set name, texts, language) of a shipped set's name or the user's own texts."""
    if isinstance(prompts, str):
        chosen = prompt_set(prompts)
        return prompts, [p.text for p in chosen], chosen[0].language
    texts = [str(t) for t in prompts]
    if not texts:
        raise ValueError("tts_bench.fidelity(prompts=[...]) needs at least one text")
    return "custom", texts, "en"


def _requests(
    steps: Steps,
    handle: EngineHandle,
    name: str,
    texts: list[str],
    language: str,
    config: Configuration,
) -> list[BenchRequest]:
    settings = steps.session.settings
    cap = length_cap(settings.max_audio_s, handle.random_weights is not None)
    return [
        prepare(
            Ask(
                f"{name}.{i}",
                text,
                language,
                config.mode,
                config.voice,
                1.0 if config.speed is None else config.speed,
                None,
                dict(config.knobs),
                {},
            ),
            handle.engine.capabilities,
            handle.target.id,
            settings.stream,
            cap,
        )
        for i, text in enumerate(texts, start=1)
    ]


def _resolved(candidate: Configuration, reference: Configuration) -> Configuration:
    """The reference as it runs: the candidate's options with the reference's changes."""
    return Configuration(
        target=dict(reference.target),
        mode=reference.mode or candidate.mode,
        speed=candidate.speed if reference.speed is None else reference.speed,
        voice=reference.voice or candidate.voice,
        knobs={**candidate.knobs, **reference.knobs},
    )


@contextlib.contextmanager
def _reference_engine(steps: Steps, reference: Configuration) -> Iterator[EngineHandle]:
    """This test's engine, or another target of the model loaded beside it for the
    comparison and closed after it."""
    from pytest_ttsbench.matrix.pool import EngineLoadError

    own = steps.handle
    keys = reference.target
    target = replace(
        own.target,
        variant=keys.get("variant", own.target.variant),
        backend=keys.get("backend", own.target.backend),
        device=keys.get("device", own.target.device),
    )
    if target == own.target:
        yield own
        return
    entry = steps.session.reference_entry(target)
    if isinstance(entry, str):
        pytest.skip(f"{own.target.id}: the reference cannot run: {entry}")
    with contextlib.ExitStack() as stack:
        try:
            handle = stack.enter_context(steps.session.pool.borrow(entry))
        except EngineLoadError as exc:
            error = str(exc)
        else:
            yield handle
            return
    pytest.fail(f"{own.target.id}: the reference did not load: {error}", pytrace=False)


def compare_configurations(
    steps: Steps,
    reference_given: Mapping[str, Any] | None,
    prompts: str | Sequence[str],
    candidate: Configuration,
    trials: int | None,
) -> BenchResult:
    """Run the comparison and finish the test's result (gates, record, failures)."""
    try:
        named = named_reference(steps, reference_given)
    except NoReference as exc:
        pytest.skip(str(exc))
    reference = _resolved(candidate, named)
    name, texts, language = _texts(prompts)
    handle = steps.handle
    with steps.outcomes():
        ask = Ask(name, texts[0], language, candidate.mode, candidate.voice)
        if candidate.speed is not None:
            ask = replace(ask, speed=candidate.speed)
        shown = {k: v for k, v in (("speed", candidate.speed), ("voice", candidate.voice)) if v}
        ask = replace(ask, extra=dict(candidate.knobs), params={**candidate.knobs, **shown})
        request, header = steps.start(ask)
        own = _requests(steps, handle, name, texts, language, candidate)
        with _reference_engine(steps, reference) as ref_handle:
            refs = _requests(steps, ref_handle, name, texts, language, reference)
            deterministic = (
                handle.engine.capabilities.deterministic
                and ref_handle.engine.capabilities.deterministic
            )
            n = trials or (1 if deterministic else NONDETERMINISTIC_TRIALS)
            spec = steps.spec(TrialPlan(trials=n, adaptive=False, max_trials=n))
            cand = comparison_run.Side(handle, own, steps.scorer(handle))
            ref = comparison_run.Side(ref_handle, refs, steps.scorer(ref_handle))
            comparison_run.run_sides(cand, ref, spec, same_engine=ref_handle is handle)
        state, reason = comparison_run.asr_state(cand, ref)
        sides = comparison.Sides(
            reference=named.describe(),
            # the mode the candidate ran in, where the reference changes it
            candidate=replace(
                candidate, mode=candidate.mode or (request.mode if named.mode else None)
            ).describe(),
            state=state,
            reason=reason,
            deterministic=deterministic,
            spectral_reason=None if deterministic else SPECTRAL_NEEDS,
        )
        found = comparison.compare(texts, ref.renderings(), cand.renderings(), sides)
        found = replace(found, reference_target=ref_handle.target.id)
        run = comparison_run.merged(cand)
        run.shape = found
        if found.prompts < len(texts):
            run.note(
                f"fidelity: {len(texts) - found.prompts} of {len(texts)} prompts had no "
                "valid rendering on both sides and were left out"
            )
        steps.keep_clips(dict(run.clips))
        checked = Intelligibility(
            state,
            reason=reason,
            **cost_of([c for c in (*cand.checks, *ref.checks) if c is not None]),
        )
        result = header.measured_by(
            run,
            text_chars=round(sum(map(len, texts)) / len(texts)),
            trials_requested=n,
            trials_planned=n,
            intelligibility=checked,
            params={**request.params, "reference": sides.reference},
        )
    return steps.finish(result)
