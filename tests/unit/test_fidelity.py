"""The fidelity check's pure logic: the alternation plan, contention marks, the ratio
summary. No engine runs and nothing is timed."""

from __future__ import annotations

import sys

import pytest

from pytest_ttsbench.tools import fidelity, fidelity_blocks
from pytest_ttsbench.tools.cpu_meter import CpuMeter
from pytest_ttsbench.tools.fidelity_blocks import (
    BARE,
    BARE_ARMS,
    FRESH,
    IN_PROCESS,
    PLUGIN,
    Block,
    alternation,
    bracketed,
    bracketed_median,
    plan,
    ratio,
    samples_line,
    summarize,
    summary_lines,
    within,
)


def block(
    arm: str, seq: int, ms: tuple[float, ...], foreign: float | None = 0.0, wall: float = 10.0
) -> Block:
    return Block(arm, seq, ms, tuple(100 for _ in ms), wall, foreign)


def test_plan_brackets_every_bare_block_with_plugin_blocks() -> None:
    kinds = plan(3)
    assert kinds[0] == PLUGIN  # its result names the model the bare arms load
    assert kinds[-1] == PLUGIN
    assert kinds[::2] == [PLUGIN] * 7
    assert kinds[1::2] == [IN_PROCESS, FRESH, FRESH, IN_PROCESS, IN_PROCESS, FRESH]
    assert plan(2, [FRESH]) == [PLUGIN, FRESH, PLUGIN, FRESH, PLUGIN]


def test_plan_rejects_nothing_to_run() -> None:
    with pytest.raises(ValueError, match="at least one"):
        plan(0)
    with pytest.raises(ValueError, match="at least one"):
        plan(2, [])


def test_alternation_is_round_robin_from_a_chosen_thread() -> None:
    assert alternation(["main", "worker"], 5) == ["main", "worker", "main", "worker", "main"]
    assert alternation(["main", "worker"], 2, start=1) == ["worker", "main"]
    assert alternation(["worker"], 3, start=1) == ["worker"] * 3


def test_contended_is_foreign_cpu_per_wall_second_above_the_bar() -> None:
    bar = fidelity_blocks.CONTENDED_SHARE
    assert not block(PLUGIN, 0, (1.0,), foreign=bar * 10.0 * 0.9).contended
    assert block(PLUGIN, 0, (1.0,), foreign=bar * 10.0 * 1.1).contended
    unknown = block(PLUGIN, 0, (1.0,), foreign=None)
    assert unknown.foreign_share is None
    assert not unknown.contended
    # a clock tick of rounding can read negative: it counts as none
    assert block(PLUGIN, 0, (1.0,), foreign=-0.01).foreign_share == 0.0


def test_ratio_and_within_both_ways() -> None:
    assert ratio(103.0, 100.0) == pytest.approx(1.03)
    assert ratio(None, 1.0) is None
    assert ratio(1.0, 0.0) is None
    assert within(1.03)
    assert within(0.97)
    assert not within(1.031)
    assert not within(0.969)
    assert not within(None)


def test_summarize_pools_clean_blocks_apart() -> None:
    blocks = [
        block(PLUGIN, 0, (100.0, 102.0, 104.0)),
        block("bare-main", 1, (101.0, 103.0, 105.0)),
        block("bare-worker", 1, (101.0, 103.0, 105.0)),
        block(PLUGIN, 2, (200.0, 200.0, 200.0), foreign=5.0),  # contended
    ]
    stats = summarize(blocks, [PLUGIN, "bare-main", BARE])
    assert stats[PLUGIN].n == 6
    assert stats[PLUGIN].clean_n == 3
    assert stats[PLUGIN].clean_p50 == 102.0
    assert stats["bare-main"].clean_p50 == 103.0
    assert stats[BARE].n == 6  # every bare block, none of the plugin's


def test_bracketed_ratio_uses_the_plugin_blocks_on_both_sides() -> None:
    blocks = [
        block(PLUGIN, 0, (100.0,)),
        block("bare-main", 1, (110.0,)),
        block(PLUGIN, 2, (120.0,)),  # drift: the bare block sits in the middle of it
        block("fresh-main", 3, (100.0,)),
        block(PLUGIN, 4, (90.0,), foreign=5.0),  # contended
    ]
    assert bracketed(blocks[1], blocks) == pytest.approx(1.0)
    assert bracketed(blocks[3], blocks) == pytest.approx(1.05)
    # clean only: the contended plugin block is missing, the nearest clean one is used
    assert bracketed(blocks[3], blocks, clean_only=True) == pytest.approx(1.2)
    assert bracketed_median(blocks, BARE, False) == pytest.approx(1.025)
    assert bracketed_median(blocks, "bare-worker", False) is None
    lonely = [block("bare-main", 1, (1.0,))]
    assert bracketed(lonely[0], lonely) is None


def test_summary_verdict() -> None:
    arms = [PLUGIN, *BARE_ARMS]

    def run(plugin_ms: float, foreign: float = 0.0) -> list[Block]:
        out = []
        for seq in range(5):
            if seq % 2 == 0:
                out.append(block(PLUGIN, seq, (plugin_ms,), foreign))
            else:
                out += [block(a, seq, (100.0,), foreign) for a in BARE_ARMS]
        return out

    lines = summary_lines(run(101.0), arms)
    assert any(line.lstrip().startswith(BARE) for line in lines)
    assert lines[-1].endswith("yes")
    assert summary_lines(run(110.0), arms)[-1].endswith("NO")
    assert "too few to compare" in summary_lines(run(100.0, foreign=5.0), arms)[-1]


def test_samples_line_tells_a_different_audio_length() -> None:
    same = [block(PLUGIN, 0, (1.0,)), block("bare-main", 1, (1.0,))]
    assert "the same in every arm" in samples_line(same)
    other = Block("bare-main", 1, (1.0,), (99,), 1.0, 0.0)
    assert "DIFFERENT" in samples_line([*same, other])


def test_cpu_meter_reads_wall_and_foreign_cpu() -> None:
    wall, foreign = CpuMeter().stop()
    assert wall >= 0.0
    if sys.platform.startswith("linux"):
        assert foreign is not None


def test_unknown_arm_is_refused() -> None:
    with pytest.raises(SystemExit):
        fidelity.main(["--arms", "bare-nowhere"])
