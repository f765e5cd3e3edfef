"""Repeated versus unique prompts: an engine that caches (phonemes, audio) answers a
repeated prompt much faster, and every benchmark that repeats one prompt would then
overstate its speed. This fails when repeated is more than x1.4 faster."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_ttsbench.fixture import TTSBench


def test_repeated_vs_unique(tts_bench: TTSBench) -> None:
    result = tts_bench.cache_check("short", repeats=4)
    assert result.details["cache_check"]["repeated_rtf"]
