"""A gate's verdict on one test: what was bounded, what was observed, and why."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """One gate on one test. Serializes to a plain JSON dict."""

    metric: str
    statistic: str  # "" for a scalar
    operator: str
    bound: float
    observed: float | None
    n: int | None
    outcome: str  # pass, fail or inconclusive
    origin: str  # "gates.toml:12", "marker on test_x", "baseline base.json"
    reason: str
    bound_high: float | None = None  # the high end of "in [lo, hi]"
    ci_low: float | None = None  # 95% CI of the gated statistic, where one exists
    ci_high: float | None = None
    note: str | None = None  # "within noise: ...", contention, improvements
    informational: bool = False  # shown, never judged (e.g. no baseline for this key)
    baseline: float | None = None  # baseline median, for baseline verdicts
    p_value: float | None = None

    @property
    def name(self) -> str:
        return f"{self.metric}.{self.statistic}" if self.statistic else self.metric

    def bound_text(self) -> str:
        if not self.operator:
            return "-"
        if self.operator == "in":
            return f"in [{format_bound(self.bound)}, {format_bound(self.bound_high)}]"
        return f"{self.operator} {format_bound(self.bound)}"


def format_bound(x: float | None) -> str:
    """A bound as the user wrote it: 500, 0.6, -1."""
    return "-" if x is None else f"{x:g}"
