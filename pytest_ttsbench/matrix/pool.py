"""Loaded engines: one per target, loaded once per session on its own thread, and
released before another target loads on the same device, so one model's memory
never pollutes another's measurement.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_ttsbench.engines.base import Engine, EngineContext, WeightsLookup
from pytest_ttsbench.measure.engine_thread import EngineThread, TrialHung

if TYPE_CHECKING:
    from pathlib import Path

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
    tests: int = field(default=0)

    @property
    def target(self) -> Target:
        return self.entry.target


class EnginePool:
    def __init__(
        self, options: dict[str, str], allow_download: bool, cache_dir: Path, load_timeout_s: float
    ) -> None:
        self.options = options
        self.allow_download = allow_download
        self.cache_dir = cache_dir
        self.load_timeout_s = load_timeout_s
        self.loaded: dict[Target, EngineHandle] = {}
        self.failed: dict[Target, str] = {}  # a load that failed is not retried per test

    def acquire(self, entry: MatrixEntry) -> EngineHandle:
        target = entry.target
        if target in self.loaded:
            return self.loaded[target]
        if target in self.failed:
            raise EngineLoadError(self.failed[target])
        for other in [t for t in self.loaded if t.device == target.device]:
            self.release(other)
        ctx = EngineContext(
            target=target,
            weights=entry.weights or WeightsLookup.not_needed(),
            options=self.options,
            allow_download=self.allow_download,
            cache_dir=self.cache_dir,
        )
        thread = EngineThread(target.id)
        try:
            engine = entry.spec.engine_class()(ctx)

            def load() -> float:
                start = time.perf_counter()
                engine.load()
                return time.perf_counter() - start

            load_s = thread.call(load, self.load_timeout_s)
        except TrialHung:
            self.failed[target] = (
                f"{target.id}: loading did not finish within "
                f"{self.load_timeout_s:g} s (--tts-trial-timeout)"
            )
            raise EngineLoadError(self.failed[target]) from None
        except Exception as exc:
            thread.stop()
            self.failed[target] = f"{target.id}: loading failed: {type(exc).__name__}: {exc}"
            raise EngineLoadError(self.failed[target]) from exc
        handle = EngineHandle(entry=entry, engine=engine, thread=thread, load_s=load_s)
        self.loaded[target] = handle
        return handle

    def release(self, target: Target) -> None:
        handle = self.loaded.pop(target, None)
        if handle is None:
            return
        try:
            if handle.thread.hung:
                handle.engine.close()  # best effort from here: its thread is stuck
            else:
                handle.thread.call(handle.engine.close, 60)
        except Exception:  # closing must not mask the test outcome
            pass
        finally:
            handle.thread.stop()
            gc.collect()

    def close_all(self) -> None:
        for target in list(self.loaded):
            self.release(target)
