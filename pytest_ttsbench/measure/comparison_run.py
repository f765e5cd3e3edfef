"""The runs of a fidelity comparison: every prompt of a set through the configuration
under test (the candidate) and the reference, each scored by the ASR after its trials.
Pure: no pytest; the fixture gives the engines, the requests and the scorer.

Order: on one engine the sides alternate per prompt, candidate first on even prompts and
reference first on odd ones, so drift over the run (thermal, caches) falls on both
sides alike. A reference on another engine runs after the candidate's prompts. Each side
warms up before its first prompt only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from pytest_ttsbench.measure import runners
from pytest_ttsbench.measure.comparison import Rendering
from pytest_ttsbench.measure.scoring import heard_wrong_only
from pytest_ttsbench.results.details import (
    NOT_JUDGED,
    SCORED,
    SKIPPED,
    UNCHECKED,
    merge_warnings,
)
from pytest_ttsbench.results.measurement import Measurement

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_ttsbench.measure.request import BenchRequest
    from pytest_ttsbench.results.details import Intelligibility

    Score = Callable[[Measurement, BenchRequest], Intelligibility]


@dataclass
class Side:
    """One configuration: its engine, one request per prompt, how to score a run."""

    slot: runners.EngineSlot
    requests: list[BenchRequest]
    score: Score
    runs: list[Measurement | None] = field(default_factory=list)
    checks: list[Intelligibility | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.runs = [None] * len(self.requests)
        self.checks = [None] * len(self.requests)

    def run(self, i: int, spec: runners.RunSpec, first: bool) -> None:
        spec = spec if first else replace(spec, warmup=0)
        measured = runners.single_prompt(self.slot, self.requests[i], spec)
        self.checks[i] = self.score(measured, self.requests[i])
        self.runs[i] = measured

    def renderings(self) -> list[Rendering]:
        """Per prompt: the valid measured trials' clips, durations and CER."""
        out = []
        for run, check in zip(self.runs, self.checks, strict=True):
            rendering = Rendering(sample_rate=self.slot.engine.sample_rate)
            for trial in run.trials if run is not None else ():
                # a trial the ASR judged still counts: its CER is what is compared
                if trial.kind != "measured" or not heard_wrong_only(trial):
                    continue
                clip = run.clips.get(trial.index) if run is not None else None
                if clip is not None:
                    rendering.clips.append(clip)
                rendering.sample_rate = trial.sample_rate
                audio_s = trial.metrics.get("audio_s")
                if audio_s:
                    rendering.durations_s.append(float(audio_s))
                cer = trial.metrics.get("cer")
                if cer is not None:
                    rendering.cers.append(float(cer))
            if check is not None and check.heard:
                rendering.heard = check.heard[0].text
            out.append(rendering)
        return out


def run_sides(candidate: Side, reference: Side, spec: runners.RunSpec, same_engine: bool) -> None:
    """Every prompt through both sides, in the order the module docs give."""
    count = len(candidate.requests)
    if len(reference.requests) != count:
        raise ValueError("one request per prompt and side")
    for i in range(count):
        if not same_engine:
            candidate.run(i, spec, first=i == 0)
            continue
        pair = (candidate, reference) if i % 2 == 0 else (reference, candidate)
        for side in pair:
            side.run(i, spec, first=i == 0)
    if not same_engine:
        for i in range(count):
            reference.run(i, spec, first=i == 0)


def merged(side: Side) -> Measurement:
    """The candidate's runs as one measurement: its trials in run order, numbered
    afresh (cold and warm-ups keep their kind), and their clips under the new numbers."""
    out = Measurement()
    index = 0
    for run in side.runs:
        if run is None:
            continue
        if out.cold is None:
            out.cold, out.cold_prompt, out.warmup = run.cold, run.cold_prompt, run.warmup
        for trial in run.trials:
            if trial.kind != "measured":
                out.trials.append(trial)
                continue
            clip = run.clips.get(trial.index)
            renumbered = replace(trial, index=index)
            out.trials.append(renumbered)
            if clip is not None:
                out.clips[index] = clip
            index += 1
        for note in run.notes:
            out.note(note)
        out.warnings = merge_warnings(out.warnings, run.warnings)
    return out


def asr_state(*sides: Side) -> tuple[str, str | None]:
    """One state for the comparison's CER: unchecked or skipped when any run was (with
    its reason), not judged when any was, else scored."""
    checks = [c for side in sides for c in side.checks if c is not None]
    for state in (UNCHECKED, SKIPPED, NOT_JUDGED):
        found = next((c for c in checks if c.state == state), None)
        if found is not None:
            return state, found.reason
    return (SCORED, None) if checks else (UNCHECKED, "nothing was run")
