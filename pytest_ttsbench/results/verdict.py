"""A gate's verdict on one test: what was bounded, what was observed, and why."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping


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

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Verdict:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def format_bound(x: float | None) -> str:
    """A bound as the user wrote it: 500, 0.6, -1."""
    return "-" if x is None else f"{x:g}"
