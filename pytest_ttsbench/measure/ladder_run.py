"""The rate ladder: open-loop Poisson loads at rising fractions of the rate one request at
a time sustains, against one loaded engine, one rung after another. Pure: no pytest.

Each rung sends the same number of requests (all rungs together at most
:data:`~pytest_ttsbench.measure.goodput.LADDER_MAX_REQUESTS`); the climb stops early once
the goodput has collapsed (:func:`~pytest_ttsbench.measure.goodput.collapsed`). Every
rung's requests become measured trials, numbered on from the rung before, so the
intelligibility check judges them all; :func:`judge` then computes each rung's goodput
from the judged trials (the climb decided on the trials as they were before the check).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.measure import goodput, load, runners
from pytest_ttsbench.measure.engine_thread import TrialHung
from pytest_ttsbench.measure.request import EngineBroken, require_thread_safe
from pytest_ttsbench.results.ladder import RateLadder, Rung

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pytest_ttsbench.measure.request import BenchRequest
    from pytest_ttsbench.results.measurement import Measurement
    from pytest_ttsbench.results.trial import Trial


@dataclass(frozen=True)
class LadderSpec:
    """The rungs (load factors, climbed in rising order), the requests of each, and the
    goodput a rung must reach to count as sustained."""

    factors: tuple[float, ...] = goodput.LADDER_FACTORS
    requests: int = 8
    target: float = goodput.LADDER_TARGET
    max_requests: int = goodput.LADDER_MAX_REQUESTS
    seed: int = 0

    @property
    def per_rung(self) -> int:
        return goodput.per_rung(self.requests, len(self.factors), self.max_requests)

    @property
    def params(self) -> dict[str, Any]:
        """What the results row keys on."""
        return {"arrival": "poisson", "ladder": len(self.factors)}


def rate_ladder(
    slot: runners.EngineSlot,
    request: BenchRequest,
    spec: runners.RunSpec,
    shape: LadderSpec,
    slo: Mapping[str, float],
) -> Measurement:
    """Solo requests for the unit rate, then one open-loop load per rung. The run's shape
    is the ladder as the climb saw it; :func:`judge` it once the trials are checked."""
    require_thread_safe(slot.engine.capabilities, slot.target.id)
    if not shape.factors or any(f <= 0 for f in shape.factors):
        raise ValueError("a rate ladder needs load factors above 0")
    trials = runners._Trials(slot, request, spec)
    run = trials.begin()
    count = shape.per_rung
    planned = count * len(shape.factors)
    timeout = spec.trial_timeout_s * count
    rungs: list[Rung] = []
    sizes: list[int] = []
    stopped: str | None = None
    try:
        with slot.thread.catching("synthesis"):
            solo = load.closed_loop(trials.produce, 1, 2, timeout)
            solo_s = statistics.median(
                ((r.end_ns or r.scheduled_ns) - r.scheduled_ns) / 1e9 for r in solo
            )
            solo_s = solo_s if solo_s > 0 else 1.0
            for i, factor in enumerate(sorted(shape.factors)):
                rate = factor / solo_s
                # one arrival pattern for every rung, scaled to its rate
                offsets = load.poisson_offsets(rate, count, shape.seed)
                done = load.open_loop(trials.produce, offsets, timeout)
                first = sum(sizes)
                runners.record(trials, run, done, planned, first)
                sizes.append(len(done))
                measured = [t for t in run.trials if t.kind == "measured"][first:]
                rungs.append(goodput.rung(factor, rate, measured, slo))
                if goodput.collapsed([r.goodput for r in rungs]) and i + 1 < len(shape.factors):
                    stopped = (
                        f"goodput under {goodput.COLLAPSED_BELOW:g} on "
                        f"{goodput.COLLAPSED_RUNGS} rungs in a row: stopped at load {factor:g}"
                    )
                    break
    except TrialHung as exc:
        slot.broken = f"the rate ladder hung: {exc}; the engine was abandoned"
        raise EngineBroken(f"{slot.target.id}: {slot.broken}") from None
    run.shape = goodput.judge_ladder(
        rungs, slo, target=shape.target, solo_latency_ms=solo_s * 1000, stopped=stopped
    )
    if stopped:
        run.note(stopped)
    return trials.finish(run)


def judge(run: Measurement, slo: Mapping[str, float]) -> None:
    """Each rung's goodput again from its trials as judged now (the intelligibility
    check may have found trials that do not say their prompt)."""
    ladder = run.shape
    if not isinstance(ladder, RateLadder):
        return
    measured: list[Trial] = [t for t in run.trials if t.kind == "measured"]
    rungs: list[Rung] = []
    first = 0
    for rung in ladder.rungs:
        mine = measured[first : first + rung.requests]
        first += rung.requests
        rungs.append(goodput.rung(rung.load_factor, rung.rate_hz, mine, slo))
    judged = goodput.judge_ladder(
        rungs,
        slo,
        target=ladder.target,
        solo_latency_ms=ladder.solo_latency_ms,
        stopped=ladder.stopped,
    )
    run.shape = judged
