"""Loaded engines: one per target, loaded once per session on its own thread, and
released before another target loads on the same device, so one model's memory
never pollutes another's measurement.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ttsbench.engines.base import Engine, EngineContext, WeightsLookup
from pytest_ttsbench.measure.engine_thread import EngineThread, TrialHung

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytest_ttsbench.matrix.targets import MatrixEntry
    from pytest_ttsbench.results.model import Trial
    from pytest_ttsbench.results.target import Target


class EngineLoadError(RuntimeError):
    """The engine could not be built or loaded; the message says which and why."""


@dataclass
class EngineHandle:
    entry: MatrixEntry
    engine: Engine
    thread: EngineThread
    load_s: float
    cold: Trial | None = None  # the first trial after load, once per target
    cold_prompt: str | None = None
    broken: str | None = None  # set when a trial hung: later tests fail fast
    abandoned: str | None = None  # set when close() did not return: left behind, why
    # the dtype/compile knob combinations run so far (a new one gets its own warm-up)
    tunings: set[tuple[str, ...]] = field(default_factory=set)

    @property
    def target(self) -> Target:
        return self.entry.target

    @functools.cached_property
    def random_weights(self) -> dict[str, object] | None:
        """The random-weights marker of the loaded folder (None: real weights), read
        once per loaded engine, not once per test."""
        return self.engine.ctx.weights.random_weights


class EnginePool:
    def __init__(
        self,
        options: dict[str, str],
        allow_download: bool,
        cache_dir: Path,
        load_timeout_s: float,
        close_timeout_s: float = 60.0,
    ) -> None:
        self.options = options
        self.allow_download = allow_download
        self.cache_dir = cache_dir
        self.load_timeout_s = load_timeout_s
        # close() waits at most this long; then the engine is left behind and the
        # session goes on (an engine whose close waits on its hung call never returns)
        self.close_timeout_s = close_timeout_s
        self.loaded: dict[Target, EngineHandle] = {}
        self.failed: dict[Target, str] = {}  # a load that failed is not retried per test
        self.abandoned: list[str] = []  # engines left behind: close() did not return

    def acquire(self, entry: MatrixEntry) -> EngineHandle:
        target = entry.target
        if target in self.loaded:
            return self.loaded[target]
        if target in self.failed:
            raise EngineLoadError(self.failed[target])
        for other in [t for t in self.loaded if t.device == target.device]:
            self.release(other)
        handle = self._load(entry)
        self.loaded[target] = handle
        return handle

    @contextlib.contextmanager
    def borrow(self, entry: MatrixEntry) -> Iterator[EngineHandle]:
        """Another target loaded beside the ones in use, for one test (a fidelity
        comparison's reference), closed after it: the test's own engine stays loaded.
        A target the pool has loaded is lent as it is."""
        if entry.target in self.loaded:
            yield self.loaded[entry.target]
            return
        if entry.target in self.failed:
            raise EngineLoadError(self.failed[entry.target])
        handle = self._load(entry)
        try:
            yield handle
        finally:
            self._close(handle)

    def _load(self, entry: MatrixEntry) -> EngineHandle:
        target = entry.target
        ctx = EngineContext(
            target=target,
            weights=entry.weights or WeightsLookup.not_needed(),
            options=self.options,
            allow_download=self.allow_download,
            cache_dir=self.cache_dir,
        )
        thread = EngineThread(target.id)
        try:
            # importing the adapter (and its upstream package) and building it warn too
            with thread.catching("load"):
                engine = entry.spec.engine_class()(ctx)

            def load() -> float:
                start = time.perf_counter()
                engine.load()
                return time.perf_counter() - start

            load_s = thread.call(load, self.load_timeout_s, phase="load")
        except TrialHung:
            self.failed[target] = (
                f"{target.id}: loading did not finish within "
                f"{self.load_timeout_s:g} s (--tts-trial-timeout)"
            )
            raise EngineLoadError(self.failed[target]) from None
        except Exception as exc:
            thread.stop()
            self.failed[target] = f"{target.id}: loading failed: {_cause(exc)}"
            # from None: the message holds the cause, so it is told once, not chained
            raise EngineLoadError(self.failed[target]) from None
        return EngineHandle(entry=entry, engine=engine, thread=thread, load_s=load_s)

    def release(self, target: Target) -> None:
        handle = self.loaded.pop(target, None)
        if handle is not None:
            self._close(handle)

    def _close(self, handle: EngineHandle) -> None:
        target = handle.target
        thread, timeout = handle.thread, self.close_timeout_s
        try:
            if thread.hung:  # its own thread is stuck: close it from another one
                thread.call_aside(handle.engine.close, timeout, phase="close")
            else:
                thread.call(handle.engine.close, timeout, phase="close")
        except TrialHung:
            # the summary tells it as "abandoned: <this>": the word is said there, once
            handle.abandoned = f"{target.id}: close() did not return within {timeout:g} s"
            self.abandoned.append(handle.abandoned)
        except Exception:  # closing must not mask the test outcome
            pass
        finally:
            thread.stop()
            gc.collect()

    def close_all(self) -> None:
        for target in list(self.loaded):
            self.release(target)


def _cause(exc: BaseException) -> str:
    """``Type: message (raised at file.py:12 in load)``: the cause, told once."""
    text = f"{type(exc).__name__}: {exc}"
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        last = frames[-1]
        text += f" (raised at {Path(last.filename).name}:{last.lineno} in {last.name})"
    return text
