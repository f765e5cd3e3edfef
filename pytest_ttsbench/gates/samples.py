"""The sample-size rule: how many measured trials a test runs so that every gate on it
can be judged. Each bound's statistic needs a fewest number of values
(``pytest_ttsbench.gates.bounds.needed_n``: 59 for a p95 by the binomial rule); the
trial count is raised to the largest need among the bounds in force, up to a cap.
Raising it above what the user or the test asked for is said in a note
(``raised_trials_note``), never done silently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from pytest_ttsbench.gates.bounds import needed_n
from pytest_ttsbench.gates.matching import explain
from pytest_ttsbench.results import metrics
from pytest_ttsbench.settings import trial_cap

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_ttsbench.gates.bounds import Bound
    from pytest_ttsbench.gates.matching import GateContext
    from pytest_ttsbench.gates.rules import GateSet, Rule

_NAMED = 3  # bounds a note names before "and N more": one line stays one line


class TrialCount(NamedTuple):
    n: int  # the measured trials to run
    note: str | None  # why n is above what was asked; None when it is not


def count_trials(
    gates: GateSet, context: GateContext, current_n: int, cap: int, markers: Sequence[Rule] = ()
) -> TrialCount:
    """How many measured trials to run so that every percentile gate can be judged:
    at least ``current_n`` (what was asked), raised up to ``cap`` (never lowered), and
    a note when it was raised. Pooled metrics (chunk_gap_ms) count gaps, not trials,
    and do not raise it.
    """
    series = metrics.names("series")
    raising = [b for b, _ in explain(gates, context, markers).applied if b.metric in series]
    need = max((needed_n(b) for b in raising), default=current_n)
    n = min(max(need, current_n), trial_cap(cap, current_n))
    return TrialCount(n, raised_trials_note(current_n, n, raising))


def raised_trials_note(asked: int, needed: int, bounds: Sequence[Bound]) -> str | None:
    """The note for a result whose trials the gates raised from ``asked`` to ``needed``:
    which bounds raised them, and which stay inconclusive when the cap stopped short of
    their need. None when nothing was raised."""
    if needed <= asked:
        return None
    raising = sorted((b for b in bounds if needed_n(b) > asked), key=needed_n, reverse=True)
    shown = [f"{b.text()} needs n >= {needed_n(b)} ({b.origin})" for b in raising[:_NAMED]]
    if len(raising) > _NAMED:
        shown.append(f"and {len(raising) - _NAMED} more")
    note = f"trials raised from {asked} to {needed} so the gates can be judged: {', '.join(shown)}"
    short = sorted({b.name for b in raising if needed_n(b) > needed})
    if short:
        note += (
            f"; capped at {needed} by --tts-max-trials, so {', '.join(short)} "
            f"{'stays' if len(short) == 1 else 'stay'} inconclusive"
        )
    return note
