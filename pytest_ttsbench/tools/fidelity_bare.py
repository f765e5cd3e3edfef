"""The fidelity check's bare arms: ``Kokoro.create()`` in a plain loop, in this process
(on the main thread and on a worker thread, like the plugin's engine thread) or in a
fresh Python process, timed with ``perf_counter`` around each call."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.tools.cpu_meter import CpuMeter
from pytest_ttsbench.tools.fidelity_blocks import FRESH, UNMEASURED, Block, alternation

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


@dataclass(frozen=True)
class Bare:
    """What a bare loop needs: the plugin's model, voices, voice and text."""

    model: str
    voices: str
    voice: str
    text: str
    trials: int


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
    """The bare loop in a fresh Python process: the fidelity command's ``--child``,
    which runs :func:`child`."""
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


def child(spec_json: str) -> int:
    """The fresh process's side of :func:`fresh_loop`: run the loop, print its JSON."""
    raw = json.loads(spec_json)
    threads, start = raw.pop("threads"), raw.pop("start")
    print(json.dumps(bare_loop(Bare(**raw), threads, start)))
    return 0
