"""Cold start in a fresh process per run: interpreter, import, model load and the
first synthesis. The number serverless deployments pay on every scale-up."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_ttsbench import TTSBench


def test_cold_start(tts_bench: TTSBench) -> None:
    result = tts_bench.cold_start("short", runs=2)
    cold = result.cold_start
    assert cold is not None
    assert result.load_s is not None
    assert result.load_s > 0
    assert all(wall >= load for wall, load in zip(cold.wall_s, cold.load_s, strict=True))
