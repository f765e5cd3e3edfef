"""Sweep axes: ``--tts-sweep speed=0.8,1.0`` or ``@pytest.mark.tts_sweep(speed=[...])``
into the grid of points each test is parametrized with. Bad values are usage errors
that show the valid form, never a silently dropped sweep or a traceback in a suite."""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

from pytest_ttsbench.settings import SettingsError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

FORM = "the form is --tts-sweep KNOB=V1,V2,... (e.g. speed=0.8,1.0,1.25)"
# knobs the suites read as numbers, with what a value must be
NUMERIC = {"speed": "a number above 0"}


def parse_knob(text: str) -> object:
    """'1.25' -> 1.25, '4' -> 4, 'true' -> True; anything else stays a string."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def _check(knob: str, values: Sequence[object], where: str) -> None:
    if not values:
        raise SettingsError(f"{where}: {knob} has no values; {FORM}")
    if knob in NUMERIC:
        for value in values:
            number = value if isinstance(value, int | float) else None
            if (
                isinstance(value, bool)
                or number is None
                or not math.isfinite(number)
                or number <= 0
            ):
                raise SettingsError(f"{where}: {knob}={value!r} is not {NUMERIC[knob]}; {FORM}")


def sweep_points(
    cli: Mapping[str, Sequence[str]], marker: Mapping[str, Sequence[object]] | None
) -> list[dict[str, object]]:
    """Every point of the grid; the command line's axes replace the marker's."""
    if cli:
        axes = {k: [parse_knob(v) for v in vs] for k, vs in cli.items()}
        where = "--tts-sweep"
    else:
        axes = {k: list(vs) for k, vs in (marker or {}).items()}
        where = "@pytest.mark.tts_sweep"
    for knob, values in axes.items():
        _check(knob, values, where)
    if not axes:
        return []
    return [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]


def sweep_id(point: Mapping[str, object]) -> str:
    return "-".join(f"{k}={v}" for k, v in point.items())
