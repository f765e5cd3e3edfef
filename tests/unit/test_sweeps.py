from __future__ import annotations

import pytest

from pytest_ttsbench.settings import SettingsError
from pytest_ttsbench.sweeps import parse_knob, sweep_id, sweep_points


def test_the_command_line_replaces_the_marker() -> None:
    points = sweep_points({"speed": ("0.8", "1.25")}, {"speed": [1.0]})
    assert points == [{"speed": 0.8}, {"speed": 1.25}]
    assert sweep_points({}, {"speed": [1.0]}) == [{"speed": 1.0}]
    assert sweep_points({}, None) == []


def test_a_grid() -> None:
    points = sweep_points({"speed": ("1",), "threads": ("1", "2")}, None)
    assert [sweep_id(p) for p in points] == ["speed=1-threads=1", "speed=1-threads=2"]


@pytest.mark.parametrize(
    ("cli", "marker", "message"),
    [
        ({"speed": ()}, {"speed": [1.0]}, "--tts-sweep: speed has no values; the form is"),
        ({"speed": ("fast",)}, None, "--tts-sweep: speed='fast' is not a number above 0"),
        ({"speed": ("0",)}, None, "speed=0 is not a number above 0"),
        ({}, {"speed": []}, "@pytest.mark.tts_sweep: speed has no values"),
    ],
)
def test_bad_values_are_usage_errors_with_the_form(
    cli: dict[str, tuple[str, ...]], marker: dict[str, list[object]] | None, message: str
) -> None:
    with pytest.raises(SettingsError, match="the form is --tts-sweep KNOB=V1,V2") as info:
        sweep_points(cli, marker)
    assert message in str(info.value)


def test_knob_values_keep_their_type() -> None:
    assert [parse_knob(v) for v in ("4", "1.5", "TRUE", "fp16")] == [4, 1.5, True, "fp16"]
