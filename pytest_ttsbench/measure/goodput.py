"""Goodput and the rate ladder: which requests of a load met the SLO, and where along a
ladder of arrival rates the goodput holds and where it falls off. Pure: no pytest, no
engines; plain trials and numbers in, plain numbers out (docs/METRICS.md, "Goodput").

- A request is **good** when its trial is valid (no error, no audio problem, and, when
  the intelligibility check judged it, it says its prompt) and every SLO bound holds:
  its value is present and at most the bound (``ttfa_ms <= 1000`` meets at 1000).
- **Goodput** is good requests over every request sent: an error or a timeout is a
  miss, never left out.
- The ladder's **best rung** is the highest offered rate whose goodput reaches the
  target fraction, every lower rung reaching it too; a **cliff** is the first pair of
  adjacent rungs where goodput falls by more than :data:`CLIFF_DROP` or the TTFA p95
  grows by more than :data:`CLIFF_P95_FACTOR`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_ttsbench.results.ladder import RateLadder, Rung
from pytest_ttsbench.results.stats import percentile

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from pytest_ttsbench.results.trial import Trial


# ---- the SLO (--tts-slo: bounds in ms by per-trial metric, settings.py parses them) --
def meets(trial: Trial, slo: Mapping[str, float]) -> bool:
    """A valid trial whose every bounded metric is present and at most its bound."""
    if not trial.valid:
        return False
    for key, bound in slo.items():
        value = trial.metrics.get(key)
        if value is None or not math.isfinite(value) or value > bound:
            return False
    return True


@dataclass(frozen=True)
class Goodput:
    good: int
    requests: int  # every request sent: errors and timeouts included

    @property
    def fraction(self) -> float:
        return self.good / self.requests if self.requests else 0.0


def count_good(trials: Iterable[Trial], slo: Mapping[str, float]) -> Goodput:
    """Good requests among ``trials`` (every measured request of a load, one trial each,
    failed ones included) and how many there were."""
    listed = [t for t in trials if t.kind == "measured"]
    return Goodput(sum(meets(t, slo) for t in listed), len(listed))


def good_rate(good: int, wall_s: float) -> float:
    """Good requests per second of the load's wall time (0 when none finished)."""
    return good / wall_s if wall_s > 0 else 0.0


# ---- the rate ladder ----------------------------------------------------------------------
LADDER_FACTORS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)  # of the rate one at a time sustains
LADDER_TARGET = 0.9  # the goodput a rung must reach to count as sustained
LADDER_MAX_REQUESTS = 60  # every rung's requests together, at most
CLIFF_DROP = 0.3  # goodput falling by more than this between adjacent rungs is a cliff
CLIFF_P95_FACTOR = 3.0  # ... or the TTFA p95 growing by more than this factor
COLLAPSED_BELOW = 0.5  # the climb stops after COLLAPSED_RUNGS rungs in a row under it
COLLAPSED_RUNGS = 2


def per_rung(requests: int, rungs: int, cap: int = LADDER_MAX_REQUESTS) -> int:
    """Requests of each rung: ``requests``, lowered so all rungs fit in ``cap``."""
    if requests < 1 or rungs < 1:
        raise ValueError("requests and rungs must be at least 1")
    return max(1, min(requests, cap // rungs))


def collapsed(goodputs: Sequence[float]) -> bool:
    """The last COLLAPSED_RUNGS rungs all fell under COLLAPSED_BELOW: climbing further
    only queues more requests that miss."""
    tail = goodputs[-COLLAPSED_RUNGS:]
    return len(tail) == COLLAPSED_RUNGS and all(g < COLLAPSED_BELOW for g in tail)


def best_rung(rungs: Sequence[Rung], target: float = LADDER_TARGET) -> Rung | None:
    """The rung of the highest offered rate that reaches ``target`` with every rung
    below it reaching it too: a rung past one that missed is luck, not capacity."""
    best = None
    for rung in sorted(rungs, key=lambda r: r.rate_hz):
        if rung.goodput < target:
            break
        best = rung
    return best


def cliff_at(
    rungs: Sequence[Rung], drop: float = CLIFF_DROP, p95_factor: float = CLIFF_P95_FACTOR
) -> int | None:
    """Index of the first rung (in rate order) past a cliff: goodput more than ``drop``
    under the rung before, or a TTFA p95 more than ``p95_factor`` times its."""
    ordered = sorted(rungs, key=lambda r: r.rate_hz)
    for i in range(1, len(ordered)):
        before, after = ordered[i - 1], ordered[i]
        if before.goodput - after.goodput > drop + 1e-9:  # 1.0 - 0.7 is not above 0.3
            return rungs.index(after)
        low, high = before.ttfa_p95_ms, after.ttfa_p95_ms
        if low is not None and high is not None and low > 0 and high > p95_factor * low:
            return rungs.index(after)
    return None


def rung(
    load_factor: float, rate_hz: float, trials: Sequence[Trial], slo: Mapping[str, float]
) -> Rung:
    """One rung from its requests' trials (every one sent, failed ones included)."""
    found = count_good(trials, slo)
    measured = [t for t in trials if t.kind == "measured"]
    ttfa = [
        float(v)
        for t in measured
        if t.valid and (v := t.metrics.get("ttfa_ms")) is not None and math.isfinite(v)
    ]
    return Rung(
        load_factor=load_factor,
        rate_hz=rate_hz,
        requests=found.requests,
        errors=sum(t.error is not None for t in measured),
        good=found.good,
        goodput=found.fraction,
        ttfa_p50_ms=percentile(ttfa, 50) if ttfa else None,
        ttfa_p95_ms=percentile(ttfa, 95) if ttfa else None,
    )


def judge_ladder(
    rungs: Sequence[Rung],
    slo: Mapping[str, float],
    *,
    target: float = LADDER_TARGET,
    solo_latency_ms: float = 0.0,
    stopped: str | None = None,
) -> RateLadder:
    """The ladder's detail: its rungs, the best one and the cliff."""
    best = best_rung(rungs, target)
    cliff = cliff_at(rungs)
    return RateLadder(
        rungs=list(rungs),
        slo=dict(slo),
        target=target,
        solo_latency_ms=solo_latency_ms,
        best_rate_hz=None if best is None else best.rate_hz,
        best_factor=None if best is None else best.load_factor,
        cliff=cliff is not None,
        cliff_factor=None if cliff is None else rungs[cliff].load_factor,
        stopped=stopped,
    )
