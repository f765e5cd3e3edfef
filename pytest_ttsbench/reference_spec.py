"""A configuration of one model as the fidelity suite names it: the reference
(``--tts-reference mode=none``, ``@pytest.mark.tts_reference(speed=1.0)``) or the
configuration under test. Pure: no pytest.

Keys: ``variant``, ``backend`` and ``device`` name another target of the same model
(int8 against fp32, ONNX against PyTorch); ``mode`` (native, sentence, none), ``speed``
and ``voice`` are the synthesis options every engine knows; any other key is an engine
knob (``chunk_size=25``, ``compile=true``), passed as the sweeps pass it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.settings import SettingsError
from pytest_ttsbench.sweeps import parse_knob

if TYPE_CHECKING:
    from collections.abc import Mapping

TARGET_KEYS = ("variant", "backend", "device")
MODES = ("native", "sentence", "none")
FORM = (
    "name the reference as KEY=VALUE pairs, e.g. --tts-reference mode=none, "
    "--tts-reference speed=1.0 or --tts-reference variant=fp32"
)


@dataclass(frozen=True)
class Configuration:
    """What differs from the test's own configuration (empty: the test's own)."""

    target: dict[str, str] = field(default_factory=dict)  # variant / backend / device
    mode: str | None = None
    speed: float | None = None
    voice: str | None = None
    knobs: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """``mode=none, speed=1.0``: the keys as the user names them; "default" if none."""
        parts = [f"{k}={v}" for k, v in self.target.items()]
        parts += [
            f"{k}={v}"
            for k, v in (("mode", self.mode), ("speed", self.speed), ("voice", self.voice))
            if v is not None
        ]
        parts += [f"{k}={v}" for k, v in self.knobs.items()]
        return ", ".join(parts) or "default"

    @property
    def other_target(self) -> bool:
        return bool(self.target)


def parse(pairs: Mapping[str, object], where: str) -> Configuration:
    """KEY=VALUE pairs (values as text or as a marker gives them) -> Configuration.
    Raises SettingsError with the valid form."""
    if not pairs:
        raise SettingsError(f"{where}: no keys; {FORM}")
    target: dict[str, str] = {}
    knobs: dict[str, Any] = {}
    mode = voice = None
    speed: float | None = None
    for key, raw in pairs.items():
        value = parse_knob(raw) if isinstance(raw, str) else raw
        if key in TARGET_KEYS:
            target[key] = str(raw)
        elif key == "mode":
            if value not in MODES:
                raise SettingsError(f"{where}: mode={raw!r} is not one of {', '.join(MODES)}")
            mode = str(value)
        elif key == "speed":
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value <= 0
            ):
                raise SettingsError(f"{where}: speed={raw!r} is not a number above 0")
            speed = float(value)
        elif key == "voice":
            voice = str(raw)
        else:
            knobs[key] = value
    return Configuration(target, mode, speed, voice, knobs)
