"""Does the plugin measure what a bare loop measures? Kokoro ONNX on this machine.

    python -m pytest_ttsbench.tools.fidelity [--trials 9] [--prompt medium]

Runs the real plugin (pytest, the tts_bench fixture, the engine thread, the memory
sampler) on kokoro-onnx-cpu with whole-utterance synthesis, then, in the same process
right after, a bare ``Kokoro.create()`` loop on the same model, voices, provider and
text; repeats that pair of blocks ``--rounds`` times (a VM's speed drifts by several
percent from minute to minute) and prints each round's and the pooled medians and
their ratio. It also runs the plugin's sentence
streaming mode and prints TTFA as a share of that mode's latency.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.measure import prompts
from pytest_ttsbench.session import result_from_report

if TYPE_CHECKING:
    from pytest_ttsbench.results.model import BenchResult


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
            "--tts-warmup=1",
            f"--tts-artifacts={folder / 'artifacts'}",
            f"--rootdir={folder}",
        ],
        plugins=[collect],
    )
    if code != 0 or not collect.results:
        raise SystemExit(f"the plugin run failed (pytest exit code {int(code)})")
    return collect.results[0]


def bare_run(result: BenchResult, text: str, trials: int) -> list[float]:
    """The same engine, built by hand, timed with perf_counter around create()."""
    from pytest_ttsbench.engines.kokoro_onnx import plain_kokoro

    engine = result.details["engine"]
    model, voices = Path(str(engine["model_path"])), Path(str(engine["voices_path"]))
    kokoro = plain_kokoro(model, voices)
    voice = str(result.details["options"]["voice"] or engine["default_voice"])  # same voice
    kokoro.create(text, voice=voice)  # warm-up, as the plugin does
    out = []
    for _ in range(trials):
        start = time.perf_counter()
        kokoro.create(text, voice=voice)
        out.append((time.perf_counter() - start) * 1e3)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_ttsbench.tools.fidelity")
    parser.add_argument("--trials", type=int, default=9)
    parser.add_argument("--prompt", default="medium")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="alternating plugin/bare blocks: machine drift between blocks "
        "then hits both sides alike (default: 3)",
    )
    args = parser.parse_args(argv)
    text = prompts.get(args.prompt).text
    plugin_all: list[float] = []
    bare_all: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(1, args.rounds + 1):
            whole = plugin_run(args.prompt, args.trials, "none", Path(tmp))
            bare = bare_run(whole, text, args.trials)
            mine = whole.series("latency_ms")
            plugin_all += mine
            bare_all += bare
            print(
                f"  round {round_no}: plugin p50 {statistics.median(mine):8.1f} ms, bare p50 "
                f"{statistics.median(bare):8.1f} ms, ratio "
                f"{statistics.median(mine) / statistics.median(bare):.4f}"
            )
        sentence = plugin_run(args.prompt, args.trials, "sentence", Path(tmp))
    plugin_median = statistics.median(plugin_all)
    bare_median = statistics.median(bare_all)
    print(
        f"kokoro-onnx-cpu, prompt {args.prompt!r} ({len(text)} chars), "
        f"{args.rounds} rounds x n={args.trials}, {whole.hardware}"
    )
    print(f"  plugin latency p50 {plugin_median:9.1f} ms (n={len(plugin_all)})")
    print(f"  bare   create() p50 {bare_median:8.1f} ms (n={len(bare_all)})")
    print(f"  ratio plugin / bare = {plugin_median / bare_median:.4f}")
    ttfa = sentence.metric("ttfa_ms.p50") or 0.0
    latency = sentence.metric("latency_ms.p50") or 1.0
    print(
        f"  sentence mode: TTFA p50 {ttfa:.1f} ms of latency p50 {latency:.1f} ms "
        f"= {ttfa / latency:.1%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
