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
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ttsbench.measure import prompts
from pytest_ttsbench.session import result_from_report

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pytest_ttsbench.results.model import BenchResult

PLUGIN = "plugin"
BARE = "bare (all)"  # every bare arm pooled
IN_PROCESS, FRESH = "bare", "fresh"  # the two kinds of bare block
BARE_ARMS = ("bare-main", "bare-worker", "fresh-main", "fresh-worker")
THREADS = ("main", "worker")
# Foreign CPU above this share of one core during a block marks it contended: clean
# blocks on a 2-core VM show 0.4-1.5% (kernel, agents); Kokoro keeps both cores busy,
# so foreign CPU stretches its latency about 1:1 (a 7% share added 6%).
CONTENDED_SHARE = 0.03
TOLERANCE = 0.03  # the goal: plugin / bare within 3% both ways
UNMEASURED = 2  # the plugin's cold trial and its one warm-up (--tts-warmup=1)


# ---- the plan and the summary (pure) ---------------------------------------------------
def plan(rounds: int, kinds: Sequence[str] = (IN_PROCESS, FRESH)) -> list[str]:
    """Block kinds in run order: a plugin block before each bare block and one at the
    end, so every bare block has a plugin block on both sides; the bare kinds swap
    order every round, so neither always runs first."""
    if rounds < 1 or not kinds:
        raise ValueError("need at least one round and one bare block kind")
    out: list[str] = []
    for r in range(rounds):
        for kind in kinds if r % 2 == 0 else list(reversed(kinds)):
            out += [PLUGIN, kind]
    return [*out, PLUGIN]


def alternation(threads: Sequence[str], calls: int, start: int = 0) -> list[str]:
    """Which thread makes each of ``calls`` calls: round robin from ``threads[start]``."""
    return [threads[(start + i) % len(threads)] for i in range(calls)]


@dataclass(frozen=True)
class Block:
    """One arm's timed calls in one block, and what else used the CPU meanwhile."""

    arm: str
    seq: int  # the block's place in the run (arms timed in one block share it)
    latencies_ms: tuple[float, ...]
    samples: tuple[int, ...]  # audio samples of each timed call
    wall_s: float
    foreign_cpu_s: float | None  # None: the platform cannot tell

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms)

    @property
    def foreign_share(self) -> float | None:
        """Foreign CPU seconds per wall second: 1.0 is one core busy all along."""
        if self.foreign_cpu_s is None or self.wall_s <= 0:
            return None
        return max(0.0, self.foreign_cpu_s) / self.wall_s

    @property
    def contended(self) -> bool:
        share = self.foreign_share
        return share is not None and share > CONTENDED_SHARE


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    n: int
    p50: float | None
    clean_n: int  # timed calls in blocks that were not contended
    clean_p50: float | None


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _mine(blocks: Sequence[Block], arm: str) -> list[Block]:
    return [b for b in blocks if b.arm == arm or (arm == BARE and b.arm != PLUGIN)]


def summarize(blocks: Sequence[Block], arms: Sequence[str]) -> dict[str, ArmSummary]:
    """Each arm's pooled median over all its blocks and over its clean ones."""
    out = {}
    for arm in arms:
        mine = _mine(blocks, arm)
        every = [x for b in mine for x in b.latencies_ms]
        clean = [x for b in mine if not b.contended for x in b.latencies_ms]
        out[arm] = ArmSummary(arm, len(every), _median(every), len(clean), _median(clean))
    return out


def ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def within(value: float | None, tolerance: float = TOLERANCE) -> bool:
    """True when ``value`` (a ratio) is within ``tolerance`` of 1, both ways."""
    return value is not None and 1 - tolerance <= value <= 1 + tolerance


def bracketed(block: Block, blocks: Sequence[Block], clean_only: bool = False) -> float | None:
    """The mean p50 of the plugin blocks just before and just after ``block`` (either
    alone at an edge) over ``block``'s p50; ``clean_only``: contended blocks count as
    missing. Drift that is linear over the three blocks cancels."""
    if clean_only and block.contended:
        return None
    plugin = [b for b in blocks if b.arm == PLUGIN and not (clean_only and b.contended)]
    before = [b for b in plugin if b.seq < block.seq]
    after = [b for b in plugin if b.seq > block.seq]
    sides = [max(before, key=lambda b: b.seq)] if before else []
    sides += [min(after, key=lambda b: b.seq)] if after else []
    if not sides:
        return None
    return ratio(statistics.fmean(b.p50 for b in sides), block.p50)


def bracketed_median(blocks: Sequence[Block], arm: str, clean_only: bool) -> float | None:
    """The median over ``arm``'s blocks (BARE: every bare block) of :func:`bracketed`."""
    found = [bracketed(b, blocks, clean_only) for b in _mine(blocks, arm) if b.arm != PLUGIN]
    return _median([r for r in found if r is not None])


# ---- the CPU the rest of the machine used ----------------------------------------------
def machine_busy_s() -> float | None:
    """CPU seconds all CPUs spent busy since boot (Linux ``/proc/stat``), else None.

    user + nice + system + irq + softirq + steal: steal is a VM's neighbours."""
    try:
        with Path("/proc/stat").open(encoding="ascii") as f:
            fields = f.readline().split()
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
    return (user + nice + system + irq + softirq + steal) / ticks


def own_cpu_s() -> float:
    """This process's CPU seconds plus those of its children it waited for."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class CpuMeter:
    """Wall time and foreign CPU (the machine's busy CPU minus ours) over a block."""

    def __init__(self) -> None:
        self._busy = machine_busy_s()
        self._own = own_cpu_s()
        self._start = time.perf_counter()

    def stop(self) -> tuple[float, float | None]:
        wall = time.perf_counter() - self._start
        busy = machine_busy_s()
        if busy is None or self._busy is None:
            return wall, None
        return wall, (busy - self._busy) - (own_cpu_s() - self._own)


# ---- the plugin arm --------------------------------------------------------------------
@dataclass(frozen=True)
class Bare:
    """What a bare loop needs: the plugin's model, voices, voice and text."""

    model: str
    voices: str
    voice: str
    text: str
    trials: int


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


# ---- the bare arms ---------------------------------------------------------------------
class _Worker:
    """A thread that runs what it is handed, one call at a time, like the plugin's
    engine thread; exceptions come back to the caller."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], Any] | None] = queue.Queue()
        self._replies: queue.Queue[tuple[bool, Any]] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name="fidelity-bare", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                self._replies.put((True, job()))
            except BaseException as exc:  # handed to the caller
                self._replies.put((False, exc))

    def call(self, fn: Callable[[], Any]) -> Any:
        self._jobs.put(fn)
        ok, value = self._replies.get()
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join()


Timed = dict[str, tuple[list[float], list[int]]]  # thread -> (latencies ms, samples)


def bare_loop(spec: Bare, threads: Sequence[str], start: int = 0) -> Timed:
    """kokoro-onnx as its README uses it, timed with perf_counter around create(): a new
    session, one unmeasured call per thread (at least the plugin's count), then
    ``spec.trials`` timed calls per thread, alternating call by call."""
    from pytest_ttsbench.engines.kokoro_onnx import plain_kokoro

    kokoro = plain_kokoro(Path(spec.model), Path(spec.voices))

    def once() -> tuple[float, int]:
        begin = time.perf_counter()
        audio, _ = kokoro.create(spec.text, voice=spec.voice)
        return (time.perf_counter() - begin) * 1e3, len(audio)

    worker = _Worker() if "worker" in threads else None

    def on(thread: str) -> tuple[float, int]:
        return once() if worker is None or thread == "main" else worker.call(once)

    try:
        for thread in alternation(threads, max(UNMEASURED, len(threads)), start):
            on(thread)
        out: Timed = {t: ([], []) for t in threads}
        for thread in alternation(threads, spec.trials * len(threads), start):
            ms, samples = on(thread)
            out[thread][0].append(ms)
            out[thread][1].append(samples)
    finally:
        if worker is not None:
            worker.stop()
    return out


def fresh_loop(spec: Bare, threads: Sequence[str], start: int) -> Timed:
    """The bare loop in a fresh Python process (this module's ``--child``)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_ttsbench.tools.fidelity",
            "--child",
            json.dumps({**asdict(spec), "threads": list(threads), "start": start}),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"the fresh bare loop failed:\n{done.stderr}")
    reply = json.loads(done.stdout.strip().splitlines()[-1])
    return {t: ([float(x) for x in ms], [int(x) for x in n]) for t, (ms, n) in reply.items()}


def bare_blocks(kind: str, spec: Bare, arms: Sequence[str], seq: int) -> list[Block]:
    """One bare block: the arms of ``kind`` (bare-* or fresh-*) alternating call by call."""
    threads = [a.partition("-")[2] for a in arms if a.startswith(f"{kind}-")]
    start = seq % len(threads)  # which thread goes first changes from block to block
    meter = CpuMeter()
    timed = fresh_loop(spec, threads, start) if kind == FRESH else bare_loop(spec, threads, start)
    wall, foreign = meter.stop()
    return [
        Block(f"{kind}-{t}", seq, tuple(timed[t][0]), tuple(timed[t][1]), wall, foreign)
        for t in threads
    ]


# ---- the report ------------------------------------------------------------------------
def _share(block: Block) -> str:
    share = block.foreign_share
    if share is None:
        return "foreign CPU n/a"
    return f"foreign CPU {share:5.1%}{' CONTENDED' if block.contended else ''}"


def block_line(block: Block, verbose: bool = False) -> str:
    line = f"  {block.seq:>3} {block.arm:<12} p50 {block.p50:8.1f} ms  {_share(block)}"
    if verbose:
        line += f"  [{' '.join(f'{x:.0f}' for x in block.latencies_ms)}]"
    return line


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def summary_lines(blocks: Sequence[Block], arms: Sequence[str]) -> list[str]:
    """The pooled table (all blocks, clean blocks), the median bracketed ratio, and the
    verdict: plugin / bare within TOLERANCE on clean blocks, pooled and bracketed."""
    rows = [*arms, BARE] if len(arms) > 2 else list(arms)
    stats = summarize(blocks, rows)
    plugin = stats[PLUGIN]
    lines = [
        f"  {'':<12} {'all blocks':^26}   {'clean blocks':^26}   {'bracketed':^15}",
        f"  {'arm':<12} {'n':>3} {'p50 ms':>8} {'plugin/arm':>12}   "
        f"{'n':>3} {'p50 ms':>8} {'plugin/arm':>12}   {'all':>7} {'clean':>7}",
    ]
    verdict: list[float | None] = []
    for arm in rows:
        s = stats[arm]
        bare = arm != PLUGIN
        r_all = ratio(plugin.p50, s.p50) if bare else None
        r_clean = ratio(plugin.clean_p50, s.clean_p50) if bare else None
        m_all = bracketed_median(blocks, arm, False) if bare else None
        m_clean = bracketed_median(blocks, arm, True) if bare else None
        if bare:
            verdict += [r_clean, m_clean]
        lines.append(
            f"  {arm:<12} {s.n:>3} {_fmt(s.p50, '8.1f'):>8} {_fmt(r_all, '.4f'):>12}   "
            f"{s.clean_n:>3} {_fmt(s.clean_p50, '8.1f'):>8} {_fmt(r_clean, '.4f'):>12}   "
            f"{_fmt(m_all, '.4f'):>7} {_fmt(m_clean, '.4f'):>7}"
        )
    if not verdict or any(v is None for v in verdict):
        lines.append(
            "  clean blocks: too few to compare (other processes used the CPU; see "
            "foreign CPU above): rerun on a quieter machine"
        )
    else:
        ok = all(within(v) for v in verdict)
        lines.append(
            f"  clean blocks: plugin / bare within {TOLERANCE:.0%} both ways, every arm, "
            f"pooled and bracketed: {'yes' if ok else 'NO'}"
        )
    return lines


def samples_line(blocks: Sequence[Block]) -> str:
    """Whether every arm synthesized the same audio length (same text, voice, speed)."""
    seen: dict[str, list[int]] = {}
    for b in blocks:
        seen.setdefault(b.arm, [])
        seen[b.arm] = sorted({*seen[b.arm], *b.samples})
    values = {n for v in seen.values() for n in v}
    verdict = "the same in every arm" if len(values) == 1 else "DIFFERENT"
    return f"  audio samples per call: {verdict} ({seen})"


# ---- the command -----------------------------------------------------------------------
def child(spec_json: str) -> int:
    raw = json.loads(spec_json)
    threads, start = raw.pop("threads"), raw.pop("start")
    print(json.dumps(bare_loop(Bare(**raw), threads, start)))
    return 0


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
