"""Judging a result against the gates: one ``Verdict`` per bound in force (pass, fail,
or inconclusive when the metric was not measured or has too few values for its
statistic), with the statistic's 95% CI and a note when the verdict is within noise or
was timed under contention; and ``should_fail``, whether the verdicts fail the test.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from pytest_ttsbench.gates.bounds import PERCENTILE_STATS, needed_n
from pytest_ttsbench.gates.matching import GateContext, explain
from pytest_ttsbench.gates.rules import FAIL, INCONCLUSIVE, PASS
from pytest_ttsbench.gates.units import fmt, with_unit
from pytest_ttsbench.results import metrics
from pytest_ttsbench.results.stats import CI_LEVEL, quantile_lower_bound, quantile_upper_bound
from pytest_ttsbench.results.verdict import Verdict, format_bound

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from pytest_ttsbench.gates.bounds import Bound
    from pytest_ttsbench.gates.rules import GateSet, Rule
    from pytest_ttsbench.results.metrics import Metric
    from pytest_ttsbench.results.model import BenchResult


def _metric(bound: Bound) -> Metric:
    """The registry's entry of the bound's metric (parse_bound checked that it has one):
    whether it is one number per result, pooled, slowed by other xdist workers."""
    return metrics.BY_NAME[bound.metric]


def _statistic_ci(bound: Bound, result: BenchResult) -> tuple[float | None, float | None]:
    """A 95% CI of the statistic a bound gates: the median's from the Summary, a
    distribution-free order-statistic interval for p90..p99, none for the others."""
    summary = result.summaries.get(bound.metric)
    if summary is None:
        return None, None
    if bound.statistic == "p50":
        return summary.ci_low, summary.ci_high
    if bound.statistic in ("p90", "p95", "p99"):
        values = result.series(bound.metric)
        if not values:  # trials stripped from the JSON: no interval without them
            return None, None
        q, side = PERCENTILE_STATS[bound.statistic], 1 - (1 - CI_LEVEL) / 2
        return (quantile_lower_bound(values, q, side), quantile_upper_bound(values, q, side))
    return None, None


def _noise_note(
    bound: Bound, observed: float, ci: tuple[float | None, float | None], cv: float | None
) -> str | None:
    if bound.op == "==":
        return None
    low, high = ci
    for edge in (bound.value, bound.high):
        if edge is None:
            continue
        if low is not None and high is not None and low <= edge <= high:
            return (
                f"within noise: the bound {format_bound(edge)} lies inside the 95% CI "
                f"[{fmt(low)}, {fmt(high)}] of {bound.name}; a rerun may flip it"
            )
        if cv is not None and abs(edge - observed) < cv * abs(observed):
            return (
                f"within noise: {bound.name} is {fmt(abs(edge - observed))} from the "
                f"bound {format_bound(edge)}, less than one CV ({cv:.1%}) of the observed value"
            )
    return None


def _unmeasured_reason(bound: Bound, result: BenchResult) -> str:
    if not _metric(bound).has_statistics:
        return (
            f"{bound.metric} was not measured (not exposed for this target, or not "
            f"recorded by this test)"
        )
    summary = result.summaries.get(bound.metric)
    if summary is None:
        if result.n == 0:
            return f"{bound.name}: no valid measured trials"
        return f"{bound.metric} was not measured by this test (no values)"
    return f"{bound.name} is undefined with n={summary.n}"


def _judge(bound: Bound, rule: Rule, result: BenchResult) -> Verdict | None:
    observed = result.metric(bound.name)
    summary = result.summaries.get(bound.metric)
    n: int | None
    if _metric(bound).interval is not None:  # a difference over paired values
        n = _paired_count(bound, result)
    elif not _metric(bound).has_statistics:
        n = None if observed is None else 1
    else:
        n = summary.n if summary is not None else 0

    def verdict(
        outcome: str,
        reason: str,
        ci: tuple[float | None, float | None] = (None, None),
        note: str | None = None,
    ) -> Verdict:
        return Verdict(
            bound.metric,
            bound.statistic,
            bound.op,
            bound.value,
            observed,
            n,
            outcome,
            bound.origin,
            reason,
            bound_high=bound.high,
            ci_low=ci[0],
            ci_high=ci[1],
            note=note,
        )

    if observed is None:
        if rule.missing == "skip":
            return None
        return verdict(INCONCLUSIVE, _unmeasured_reason(bound, result))
    if _metric(bound).interval is not None and bound.op != "==":
        return _judge_interval(bound, result, observed, verdict)
    count = n or 0
    need = needed_n(bound)
    if count < need:
        if _metric(bound).kind == "pooled":
            reason = (
                f"{bound.statistic} needs at least {need} values, got {count} "
                f"{bound.metric} values; run more or longer trials"
            )
        elif bound.statistic in PERCENTILE_STATS:
            reason = (
                f"{bound.statistic} needs at least {need} trials, got {count}; raise "
                f"--tts-trials or --tts-max-trials"
            )
        else:
            reason = (
                f"{bound.statistic} needs at least {need} trials for a "
                f"{CI_LEVEL:.0%} claim, got {count}; raise --tts-trials"
            )
        return verdict(INCONCLUSIVE, reason)
    ci = _statistic_ci(bound, result)
    ok = bound.holds(observed)
    shown = f"{bound.name} = {with_unit(observed, bound.metric)}"
    if ok:
        reason = f"{shown}, within {bound.op} {_bound_range(bound)}"
    elif bound.op == "in":
        reason = f"{shown}, outside [{format_bound(bound.value)}, {format_bound(bound.high)}]"
    else:
        over = observed - bound.value
        pct = f" ({over / abs(bound.value):+.1%})" if bound.value else ""
        reason = f"{shown}, breaks {bound.op} {format_bound(bound.value)} by {fmt(abs(over))}{pct}"
    notes = [_noise_note(bound, observed, ci, summary.cv if summary else None)]
    if result.xdist_workers > 0 and _metric(bound).timing:
        notes.append(f"timed beside {result.xdist_workers} xdist workers: contended")
    note = "; ".join(x for x in notes if x) or None
    return verdict(PASS if ok else FAIL, f"{reason} (n={count})", ci, note)


def _paired_count(bound: Bound, result: BenchResult) -> int | None:
    """How many paired values a difference's interval stands on (its detail's
    ``prompts``), or None when it was not measured."""
    source = _metric(bound).source
    owner = None if source is None else getattr(result, source[0], None)
    count = getattr(owner, "prompts", None)
    return count if isinstance(count, int) else None


def _interval_outcome(bound: Bound, low: float, high: float) -> str:
    """Equivalence: pass when the whole interval meets the bound, fail when none of it
    does, inconclusive when the bound cuts through it."""
    if bound.op == "in":
        top = bound.high if bound.high is not None else math.inf
        if bound.value <= low and high <= top:
            return PASS
        return FAIL if high < bound.value or low > top else INCONCLUSIVE
    inside = (bound.holds(low), bound.holds(high))
    return PASS if all(inside) else FAIL if not any(inside) else INCONCLUSIVE


def _judge_interval(
    bound: Bound, result: BenchResult, observed: float, verdict: Callable[..., Verdict]
) -> Verdict:
    """A metric with an interval (a difference from a reference) is judged from its 95%
    interval, never its point estimate: a margin is met only when the data show it."""
    low, high = result.interval(bound.metric)
    shown = f"{bound.name} = {with_unit(observed, bound.metric)}"
    if low is None or high is None:
        return verdict(
            INCONCLUSIVE,
            f"{shown} has no 95% interval (fewer than 2 paired values); "
            "an equivalence margin needs one",
        )
    outcome = _interval_outcome(bound, low, high)
    ci = f"95% CI [{fmt(low)}, {fmt(high)}]"
    wanted = f"{bound.op} {_bound_range(bound)}"
    reason = {
        PASS: f"{shown}, its {ci} is wholly {wanted}",
        FAIL: f"{shown}, no part of its {ci} is {wanted}",
        INCONCLUSIVE: (
            f"{shown}, its {ci} is only partly {wanted}: the data cannot tell; "
            "add prompts or trials"
        ),
    }[outcome]
    return verdict(outcome, reason, (low, high))


def _bound_range(bound: Bound) -> str:
    return (
        f"[{format_bound(bound.value)}, {format_bound(bound.high)}]"
        if bound.op == "in"
        else format_bound(bound.value)
    )


def evaluate(gates: GateSet, result: BenchResult, markers: Sequence[Rule] = ()) -> list[Verdict]:
    """Judge every bound in force for ``result`` (whose summaries must be computed).
    Bounds on unmeasured metrics are inconclusive, or left out where the rule says
    ``missing = "skip"``.
    """
    applied = explain(gates, GateContext.from_result(result), markers).applied
    verdicts = (_judge(bound, rule, result) for bound, rule in applied)
    return [v for v in verdicts if v is not None]


def should_fail(verdicts: Iterable[Verdict], mode: str) -> bool:
    """Whether the test fails: in "fail" mode when any judged verdict failed. An
    inconclusive verdict never fails a test; the plugin reports it (never silently)."""
    if mode not in ("fail", "warn"):
        raise ValueError(f"gate mode {mode!r} is not 'fail' or 'warn'")
    return mode == "fail" and any(v.outcome == FAIL and not v.informational for v in verdicts)
