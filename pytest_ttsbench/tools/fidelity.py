"""Does the plugin measure what a bare loop measures? Kokoro ONNX on this machine.

    python -m pytest_ttsbench.tools.fidelity [--trials 9] [--rounds 3] [--prompt medium]

Compares like with like (docs/METRICS.md, "Fidelity: the plugin vs a bare loop"):

- ``plugin``: the real plugin (pytest, the tts_bench fixture, the engine thread, the RSS
  sampler) on kokoro-onnx-cpu, whole-utterance synthesis;
- ``bare-main`` / ``bare-worker``: a bare ``Kokoro.create()`` loop in this process, the
  calls alternating between the main thread and a worker thread (the plugin calls
  engines on a thread of their own);
- ``fresh-main`` / ``fresh-worker``: the same in a fresh Python process.

A round is: plugin, in-process bare block, plugin, fresh bare block (the two bare
blocks swap every round), and the run ends with a plugin block, so every bare block
sits between two plugin blocks. A VM's speed steps by several percent for seconds to
minutes; the bracketed ratio (the mean of the two neighbouring plugin medians over the
bare block's) cancels slow drift, and the pooled medians average the steps.

Every bare block builds its own session from the plugin's model and voices and makes
as many unmeasured calls as the plugin (cold trial + one warm-up) before ``--trials``
timed calls per arm. Each block also records the CPU the rest of the machine used
meanwhile (``/proc/stat`` minus this process and its children): Kokoro keeps both
cores of a 2-core VM busy, so another process's work stretches its latency about 1:1,
and a block that shared the machine is marked contended and left out of the clean
comparison. Last, the plugin's sentence streaming mode: TTFA as a share of latency.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.measure import prompts
from pytest_ttsbench.session import result_from_report
from pytest_ttsbench.tools.cpu_meter import CpuMeter
from pytest_ttsbench.tools.fidelity_bare import Bare, bare_blocks, child
from pytest_ttsbench.tools.fidelity_blocks import (
    BARE_ARMS,
    FRESH,
    IN_PROCESS,
    PLUGIN,
    UNMEASURED,
    Block,
    block_line,
    plan,
    samples_line,
    summary_lines,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_ttsbench.results.model import BenchResult


# ---- the plugin arm --------------------------------------------------------------------
class _Collect:
    def __init__(self) -> None:
        self.results: list[BenchResult] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = result_from_report(report)
        if result is not None:
            self.results.append(result)


def plugin_run(prompt: str, trials: int, mode: str, folder: Path) -> BenchResult:
    test = folder / f"test_fidelity_{mode}.py"
    test.write_text(
        textwrap.dedent(f"""
        def test_fidelity(tts_bench):
            tts_bench({prompt!r}, mode={mode!r})
        """),
        encoding="utf-8",
    )
    collect = _Collect()
    out = io.StringIO()  # pytest's own report, shown only when the run fails
    with contextlib.redirect_stdout(out):
        code = pytest.main(
            [
                str(test),
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:xdist",
                "-p",
                "no:benchmark",
                "--tts-model=kokoro",
                "--tts-backend=onnx",
                "--tts-device=cpu",
                f"--tts-trials={trials}",
                f"--tts-warmup={UNMEASURED - 1}",  # plus the cold trial
                f"--tts-artifacts={folder / 'artifacts'}",
                f"--rootdir={folder}",
            ],
            plugins=[collect],
        )
    if code != 0 or not collect.results:
        print(out.getvalue(), file=sys.stderr)
        raise SystemExit(f"the plugin run failed (pytest exit code {int(code)})")
    return collect.results[0]


def plugin_block(prompt: str, trials: int, folder: Path, seq: int) -> tuple[Block, Bare, str]:
    """The plugin's block, the bare loop that matches it, and the hardware label."""
    meter = CpuMeter()
    result = plugin_run(prompt, trials, "none", folder)
    wall, foreign = meter.stop()
    engine, options = result.details["engine"], result.details["options"]
    bare = Bare(
        model=str(engine["model_path"]),
        voices=str(engine["voices_path"]),
        voice=str(options["voice"] or engine["default_voice"]),  # the plugin's voice
        text=prompts.get(prompt).text,
        trials=trials,
    )
    block = Block(
        arm=PLUGIN,
        seq=seq,
        latencies_ms=tuple(result.series("latency_ms")),
        samples=tuple(sum(t.chunk_samples) for t in result.valid_trials),
        wall_s=wall,
        foreign_cpu_s=foreign,
    )
    return block, bare, result.hardware


# ---- the command -----------------------------------------------------------------------
def _load() -> str:
    try:
        return "/".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def run(args: argparse.Namespace, arms: Sequence[str]) -> tuple[list[Block], str]:
    """Every block of the plan, printed as it ends; the blocks and the hardware label."""
    kinds = [k for k in (IN_PROCESS, FRESH) if any(a.startswith(f"{k}-") for a in arms)]
    blocks: list[Block] = []
    spec: Bare | None = None
    hardware = "this machine"
    with tempfile.TemporaryDirectory() as tmp:
        for seq, kind in enumerate(plan(args.rounds, kinds)):
            if kind == PLUGIN:
                block, spec, hardware = plugin_block(args.prompt, args.trials, Path(tmp), seq)
                done = [block]
            else:
                assert spec is not None  # the plan starts with a plugin block
                done = bare_blocks(kind, spec, arms, seq)
            for block in done:
                print(block_line(block, args.verbose), flush=True)
            blocks += done
    return blocks, hardware


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_ttsbench.tools.fidelity")
    parser.add_argument("--trials", type=int, default=9, help="timed calls per arm and block")
    parser.add_argument("--prompt", default="medium")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of plugin, bare, plugin, fresh blocks (default: 3)",
    )
    parser.add_argument(
        "--arms",
        default=",".join(BARE_ARMS),
        help=f"bare arms beside the plugin (default: {','.join(BARE_ARMS)})",
    )
    parser.add_argument(
        "--no-sentence", action="store_true", help="skip the sentence streaming mode"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="every timed call")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child)
    chosen = [a.strip() for a in args.arms.split(",") if a.strip()]
    unknown = sorted(set(chosen) - set(BARE_ARMS))
    if unknown or not chosen:
        parser.error(f"unknown or no arms {unknown}; valid: {', '.join(BARE_ARMS)}")
    arms = [PLUGIN, *(a for a in BARE_ARMS if a in chosen)]
    text = prompts.get(args.prompt).text
    print(
        f"kokoro-onnx-cpu, prompt {args.prompt!r} ({len(text)} chars), {args.rounds} rounds, "
        f"n={args.trials} per arm and block, load average {_load()} at start"
    )
    blocks, hardware = run(args, arms)
    sentence = None
    if not args.no_sentence:
        with tempfile.TemporaryDirectory() as tmp:
            sentence = plugin_run(args.prompt, args.trials, "sentence", Path(tmp))
    print(f"{hardware}, load average {_load()} at the end")
    for line in summary_lines(blocks, arms):
        print(line)
    print(samples_line(blocks))
    if sentence is not None:
        ttfa = sentence.metric("ttfa_ms.p50") or 0.0
        latency = sentence.metric("latency_ms.p50") or 1.0
        print(
            f"  sentence mode: TTFA p50 {ttfa:.1f} ms of latency p50 {latency:.1f} ms "
            f"= {ttfa / latency:.1%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
