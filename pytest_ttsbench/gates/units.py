"""Observed values as verdicts show them: a few significant digits, and the unit that
the metric's name gives (``ttfa_ms`` is in ms, ``lufs`` in LUFS)."""

from __future__ import annotations

import math


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


def unit(metric: str) -> str:
    """The unit a metric's name ends in; "" for a ratio or a count."""
    for suffix, name in (
        ("_ms", "ms"),
        ("_s", "s"),
        ("_mb", "MB"),
        ("lufs", "LUFS"),
        ("_dbtp", "dBTP"),
        ("_dbfs", "dBFS"),
    ):
        if metric.endswith(suffix):
            return name
    return ""


def with_unit(x: float | None, metric: str) -> str:
    """``fmt(x)`` followed by the metric's unit, if it has one."""
    shown_unit = unit(metric)
    return f"{fmt(x)} {shown_unit}" if shown_unit else fmt(x)
