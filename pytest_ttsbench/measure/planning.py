"""How many measured trials: a fixed count, or adaptive until the median latency is
known precisely enough. Pure: no pytest, no engines."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_ttsbench.results.stats import median_ci, percentile
from pytest_ttsbench.settings import default

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


@dataclass(frozen=True)
class TrialPlan:
    """How many measured trials: a fixed count, or adaptive until precise."""

    # the options' defaults, declared once (options.py)
    trials: int = default("trials")
    adaptive: bool = default("adaptive")
    precision: float = default("precision")  # adaptive: CI half-width of median / median
    budget_s: float = default("budget_s")  # adaptive: no more trials after this long
    max_trials: int = default("max_trials")


def precise_enough(latencies_ms: Sequence[float], precision: float) -> bool:
    """Adaptive stop rule: the 95% CI half-width of the median within ``precision``."""
    if len(latencies_ms) < 6:  # below 6 the median CI cannot reach 95%
        return False
    low, high, _ = median_ci(latencies_ms)
    median = percentile(latencies_ms, 50)
    return median > 0 and (high - low) / 2 / median <= precision


def run_planned(
    plan: TrialPlan,
    done_valid_latencies: Callable[[], list[float]],
    run_one: Callable[[int], None],
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run ``plan.trials`` measured trials, then in adaptive mode more until precise."""
    start = clock()
    for i in range(plan.trials):
        run_one(i)
    i = plan.trials
    while (
        plan.adaptive
        and i < plan.max_trials
        and clock() - start < plan.budget_s
        and not precise_enough(done_valid_latencies(), plan.precision)
    ):
        run_one(i)
        i += 1
