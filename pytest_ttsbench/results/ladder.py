"""The typed detail of a rate ladder: open-loop Poisson loads at rising rates against one
engine, and where goodput holds (measure/goodput.py computes it). Pure data: no pytest.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pytest_ttsbench.results.serialize import json_field


@dataclass(frozen=True)
class Rung:
    """One load of the ladder: its offered rate and what came back."""

    load_factor: float  # of the rate one request at a time sustains
    rate_hz: float  # offered: Poisson arrivals per second
    requests: int = 0  # sent, errors and timeouts included
    errors: int = 0
    good: int = 0  # valid and within every SLO bound
    goodput: float = 0.0  # good / requests
    # over the rung's valid requests, from each one's scheduled start; None: none valid
    ttfa_p50_ms: float | None = json_field(default=None, omit="none")
    ttfa_p95_ms: float | None = json_field(default=None, omit="none")


@dataclass(frozen=True)
class RateLadder:
    """The rungs in the order they ran (rising rate) and what they say."""

    rungs: list[Rung] = field(default_factory=list)
    slo: dict[str, float] = field(default_factory=dict)  # the bounds a good request met
    target: float = 0.9  # the goodput a rung must reach to count as sustained
    solo_latency_ms: float = 0.0  # one request at a time: the rates' unit
    # the highest offered rate whose goodput reached the target; None: no rung did
    best_rate_hz: float | None = json_field(default=None, omit="none")
    best_factor: float | None = json_field(default=None, omit="none")
    cliff: bool = False  # goodput fell (or TTFA p95 jumped) between adjacent rungs
    cliff_factor: float | None = json_field(default=None, omit="none")  # first rung past it
    stopped: str | None = json_field(default=None, omit="none")  # why the climb ended early
