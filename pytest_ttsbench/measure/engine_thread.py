"""The thread an engine lives on, and the timeout that abandons a hung call.

Imports nothing heavy: the pool holds one of these per loaded engine.
"""

from __future__ import annotations

import queue
import threading
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")


class TrialHung(TimeoutError):
    """The engine did not hand over its last chunk within the trial timeout."""


class EngineThread:
    """One daemon thread per loaded engine: load, trials and close all run on it.

    Some frameworks keep per-thread state (MLX streams, CUDA contexts), so an engine
    must stay on the thread that loaded it. A call that outlives its timeout raises
    :class:`TrialHung`; the thread is abandoned (daemon: it cannot block exit).
    """

    def __init__(self, name: str) -> None:
        self._jobs: queue.Queue[tuple[Callable[[], Any], queue.Queue[Any]] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=f"ttsbench-{name}", daemon=True)
        self._thread.start()
        self.hung = False

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, reply = job
            try:
                reply.put((True, fn()))
            except BaseException as exc:  # handed to the caller, who decides
                reply.put((False, exc))

    def call(self, fn: Callable[[], T], timeout_s: float | None = None) -> T:
        if self.hung:
            raise TrialHung("an earlier call on this engine hung; the engine is abandoned")
        reply: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._jobs.put((fn, reply))
        try:
            ok, value = reply.get(timeout=timeout_s)
        except queue.Empty:
            self.hung = True
            raise TrialHung(f"no result within {timeout_s:g} s") from None
        if ok:
            return value  # type: ignore[no-any-return]
        raise value

    def stop(self) -> None:
        if not self.hung:
            self._jobs.put(None)
            self._thread.join(timeout=5)
