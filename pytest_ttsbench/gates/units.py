"""Observed values as verdicts show them: a few significant digits, and the metric's
unit as the registry declares it (``ttfa_ms`` is in ms, ``lufs`` in LUFS)."""

from __future__ import annotations

import math

from pytest_ttsbench.results.metrics import unit


def fmt(x: float | None) -> str:
    """An observed value, to about four significant digits, without exponents."""
    if x is None:
        return "-"
    if not math.isfinite(x):
        return str(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    a = abs(x)
    if a >= 1000:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def with_unit(x: float | None, metric: str) -> str:
    """``fmt(x)`` followed by the metric's unit (the registry's), if it has one."""
    shown_unit = unit(metric)
    return f"{fmt(x)} {shown_unit}" if shown_unit else fmt(x)
