"""Parameter sweeps: each knob value is its own test id and its own results row.

Sweep from the command line with ``--tts-sweep speed=0.8,1.0,1.25`` (repeat for a
grid; any knob the adapter reads, e.g. ``--tts-sweep threads=1,2``), or in code with
``@pytest.mark.tts_sweep(...)``. Variants and precisions sweep through the matrix:
``--tts-variant=all``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_ttsbench import TTSBench


@pytest.mark.tts_prompts("short")
@pytest.mark.tts_sweep(speed=[0.8, 1.0, 1.25])
def test_sweep(tts_bench: TTSBench, tts_prompt: str, tts_sweep: dict[str, Any]) -> None:
    knobs = dict(tts_sweep)
    speed = float(knobs.pop("speed", 1.0))
    result = tts_bench(tts_prompt, speed=speed, params=tts_sweep, **knobs)
    assert result.n >= 1
