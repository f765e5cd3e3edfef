"""No engine fault hangs the session or silently taints later numbers: closing a hung
engine has a timeout, a spinning abandoned thread marks what is measured beside it,
integer audio is named as such, and a load error is told once with its cause.

No wall-clock upper bounds: the waits below are generous and the assertions are on
behaviour (it returned, it is marked), never on how fast.
"""

from __future__ import annotations

import math
import re
import threading
import time
import traceback
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pytest

from pytest_ttsbench.engines.base import Capabilities, Engine, EngineContext, EngineSpec
from pytest_ttsbench.matrix.pool import EngineHandle, EngineLoadError, EnginePool
from pytest_ttsbench.matrix.targets import MatrixEntry
from pytest_ttsbench.measure import runners
from pytest_ttsbench.measure.engine_thread import TrialHung
from pytest_ttsbench.measure.planning import TrialPlan
from pytest_ttsbench.measure.stamps import as_audio
from pytest_ttsbench.results.target import Target
from tests.unit.runner_support import ask, header

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytest_ttsbench.engines.base import SynthesisOptions
    from pytest_ttsbench.results.model import BenchResult

HERE = Path(__file__).name
GENEROUS_S = 120.0  # how long a test waits for something that must happen


def sine(sample_rate: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    t = np.arange(3 * sample_rate) / sample_rate  # 3 s: a plausible length for "short"
    return (0.3 * np.sin(2 * math.pi * 220.0 * t)).astype(np.float32)


class Fine(Engine):
    capabilities = Capabilities(stream=True)
    sample_rate = 16_000

    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[np.ndarray[Any, Any]]:
        yield sine(self.sample_rate)


class Stuck(Fine):
    """Its synthesis waits on a gate, and so does its close: closing it from another
    thread frees nothing, as with a lock the hung call holds."""

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self.gate = threading.Event()

    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[np.ndarray[Any, Any]]:
        self.gate.wait()
        yield sine(self.sample_rate)

    def close(self) -> None:
        self.gate.wait()


class StuckClose(Fine):
    """Synthesizes fine; only its close never returns."""

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self.gate = threading.Event()

    def close(self) -> None:
        self.gate.wait()


class Spin(Fine):
    """A busy loop that never ends by itself: the abandoned thread keeps a core busy."""

    stop: ClassVar[threading.Event] = threading.Event()

    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[np.ndarray[Any, Any]]:
        while not self.stop.is_set():
            pass
        yield sine(self.sample_rate)


class Int16(Fine):
    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[np.ndarray[Any, Any]]:
        yield (sine(self.sample_rate) * 32767).astype(np.int16)


class Boom(Fine):
    built: ClassVar[int] = 0

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        Boom.built += 1

    def load(self) -> None:
        raise FileNotFoundError("weights.bin is missing")


def make_pool(tmp_path: Path, close_timeout_s: float = 60.0) -> EnginePool:
    return EnginePool(
        {},
        allow_download=False,
        cache_dir=tmp_path,
        load_timeout_s=30,
        close_timeout_s=close_timeout_s,
    )


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[EnginePool]:
    engines = make_pool(tmp_path)
    yield engines
    engines.close_all()


def load(pool: EnginePool, cls: type[Engine]) -> EngineHandle:
    target = Target(cls.__name__.lower(), "py", "cpu", "default")
    return pool.acquire(MatrixEntry(target, EngineSpec(target.model, "py", cls)))


def run(handle: EngineHandle, trials: int = 1, timeout_s: float = 60.0) -> BenchResult:
    request = ask(handle)
    spec = runners.RunSpec(warmup=0, trial_timeout_s=timeout_s, plan=TrialPlan(trials=trials))
    return header(handle, request).measured_by(runners.single_prompt(handle, request, spec))


def release_in_background(pool: EnginePool, target: Target) -> threading.Event:
    """Release on a helper thread, so a release that never returns fails this test
    instead of hanging the run; the event is set when it returned."""
    returned = threading.Event()

    def release() -> None:
        pool.release(target)
        returned.set()

    threading.Thread(target=release, daemon=True).start()
    returned.wait(GENEROUS_S)
    return returned


# ---- close() after a hang ------------------------------------------------------------------
def test_release_of_an_engine_whose_close_waits_on_its_hung_call_returns(tmp_path: Path) -> None:
    pool = make_pool(tmp_path, close_timeout_s=1.0)
    handle = load(pool, Stuck)
    assert isinstance(handle.engine, Stuck)
    try:
        result = run(handle, timeout_s=0.2)
        assert "cold trial 0 hung" in (result.trials[0].error or "")
        # every later call into the hung engine fails at once, without waiting
        with pytest.raises(TrialHung, match="abandoned"):
            handle.thread.call(handle.engine.versions, GENEROUS_S)
        returned = release_in_background(pool, handle.target)
        assert returned.is_set(), "release() of a hung engine never returned"
        assert handle.abandoned is not None
        # the session tells it as "abandoned: <this>": the word once
        assert handle.abandoned == f"{handle.target.id}: close() did not return within 1 s"
        assert pool.abandoned == [handle.abandoned]  # for the session to tell
        assert handle.target not in pool.loaded
        pool.close_all()  # nothing left to wait for
    finally:
        handle.engine.gate.set()


def test_release_of_an_engine_whose_close_never_returns_returns(tmp_path: Path) -> None:
    pool = make_pool(tmp_path, close_timeout_s=1.0)
    handle = load(pool, StuckClose)
    assert isinstance(handle.engine, StuckClose)
    try:
        assert run(handle).n == 1
        returned = release_in_background(pool, handle.target)
        assert returned.is_set(), "release() never returned"
        assert handle.abandoned is not None
        assert "close() did not return within 1 s" in handle.abandoned
    finally:
        handle.engine.gate.set()


# ---- a spinning abandoned thread -----------------------------------------------------------
NOTE = re.compile(
    r"^measured while an abandoned engine thread of spin-py-cpu was still running "
    rf"\(it hung at {HERE}:\d+ in stream\): timings may read high$"
)


def stop_spinning(spinning: EngineHandle) -> None:
    """End the busy loop and wait until its call returned, so no later test (on this
    worker) is measured beside it."""
    Spin.stop.set()
    deadline = time.monotonic() + GENEROUS_S
    while spinning.thread.busy and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not spinning.thread.busy


@pytest.fixture
def spinning(pool: EnginePool) -> Iterator[EngineHandle]:
    """A spinning engine whose trial hung: abandoned, and its thread still spins."""
    Spin.stop.clear()
    handle = load(pool, Spin)
    try:
        hung = run(handle, timeout_s=0.3)
        assert "hung" in (hung.trials[0].error or "")
        yield handle
    finally:
        stop_spinning(handle)


def test_results_measured_beside_a_spinning_abandoned_thread_say_so(
    pool: EnginePool, spinning: EngineHandle
) -> None:
    fine = load(pool, Fine)  # releases the spinning engine first: same device
    assert spinning.target not in pool.loaded
    first, second = run(fine), run(fine)
    for result in (first, second):
        assert result.n == 1
        assert len(result.notes) == 1
        assert NOTE.match(result.notes[0]), result.notes
    stop_spinning(spinning)
    assert run(fine).notes == []  # once the thread has ended, nothing is contended


def test_concurrent_results_beside_a_spinning_abandoned_thread_say_so(
    pool: EnginePool, spinning: EngineHandle
) -> None:
    class Parallel(Fine):
        capabilities = Capabilities(stream=True, thread_safe=True)

    fine = load(pool, Parallel)
    request = ask(fine)
    shape = runners.LoadSpec(concurrency=2, requests=2)
    spec = runners.RunSpec(warmup=0, trial_timeout_s=60)
    result = header(fine, request).measured_by(runners.concurrent(fine, request, spec, shape))
    assert any(NOTE.match(n) for n in result.notes), result.notes


@pytest.mark.skipif(
    not hasattr(time, "pthread_getcpuclockid"),
    reason="without a thread's CPU clock every abandoned thread that runs counts",
)
def test_a_blocked_abandoned_thread_taints_nothing(tmp_path: Path) -> None:
    """A hung call that waits (on a lock, a socket) costs no CPU: no note."""
    pool = make_pool(tmp_path, close_timeout_s=1.0)
    stuck = load(pool, Stuck)
    assert isinstance(stuck.engine, Stuck)
    try:
        run(stuck, timeout_s=0.2)
        fine = load(pool, Fine)
        assert run(fine).notes == []
    finally:
        stuck.engine.gate.set()
        pool.close_all()


# ---- audio that is not float ---------------------------------------------------------------
def test_integer_audio_is_named_as_such(pool: EnginePool) -> None:
    handle = load(pool, Int16)
    result = run(handle, trials=2)
    message = runners.invalid_trials(result)
    assert message is not None
    assert "engine handed over int16 audio; adapters must hand over float32 in [-1, 1]" in message
    assert "clipping" not in message


@pytest.mark.parametrize("dtype", ["int16", "int32", "uint8", "int64"])
def test_as_audio_refuses_integer_samples(dtype: str) -> None:
    with pytest.raises(TypeError, match=rf"engine handed over {dtype} audio; adapters must"):
        as_audio(np.zeros(100, dtype=dtype), 0)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_as_audio_takes_float_samples(dtype: str) -> None:
    out = as_audio(np.full((1, 100), 0.25, dtype=dtype), 0)
    assert out.dtype == np.float32
    assert out.shape == (100,)
    assert float(out[0]) == 0.25


# ---- a load error, once --------------------------------------------------------------------
def test_a_load_error_is_told_once_with_its_cause(pool: EnginePool) -> None:
    Boom.built = 0
    with pytest.raises(EngineLoadError) as caught:
        load(pool, Boom)
    message = str(caught.value)
    assert message.startswith("boom-py-cpu: loading failed: FileNotFoundError: weights.bin is")
    assert re.search(rf"\(raised at {HERE}:\d+ in load\)", message)
    # the whole report pytest would print holds the cause once: no chained copies
    told = "".join(traceback.format_exception(caught.value))
    assert told.count("weights.bin is missing") == 1
    assert "During handling" not in told
    assert "direct cause" not in told
    # recorded once: the next test of the target gets the same message, no new load
    with pytest.raises(EngineLoadError) as again:
        load(pool, Boom)
    assert str(again.value) == message
    assert Boom.built == 1
