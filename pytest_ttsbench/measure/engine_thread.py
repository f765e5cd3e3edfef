"""The thread an engine lives on, the timeout that abandons a hung call, and the
warnings an engine raises while the harness waits on it: Python warnings and, since
upstream packages warn through ``logging`` too, log records at WARNING and above.

Imports nothing heavy: the pool holds one of these per loaded engine.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sys
import sysconfig
import threading
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pytest_ttsbench.results.details import EngineWarning

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import FrameType

T = TypeVar("T")

_Reply = queue.Queue[tuple[bool, Any]]

# A log record as counted: (category, first line of the message, where).
_Logged = tuple[str, str, str]


class TrialHung(TimeoutError):
    """The engine did not hand over its last chunk within the trial timeout."""


class WarningTally:
    """Warnings an engine raised, counted by (phase, category, first line, where) until
    a result takes them (:meth:`drain`). Log records count here too, their category
    ``log LEVEL (logger)``, e.g. ``log WARNING (transformers.modeling_utils)``."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str, str, str], int] = {}
        self._lock = threading.Lock()

    def add(self, caught: list[warnings.WarningMessage], phase: str) -> None:
        self._count(
            phase,
            [
                (w.category.__name__, _first_line(w.message), f"{w.filename}:{w.lineno}")
                for w in caught
            ],
        )

    def add_logged(self, logged: list[_Logged], phase: str) -> None:
        """Log records, as :func:`_logged` reads them."""
        self._count(phase, logged)

    def _count(self, phase: str, entries: list[_Logged]) -> None:
        with self._lock:
            for category, first, where in entries:
                key = (phase, category, first, where)
                self._counts[key] = self._counts.get(key, 0) + 1

    def drain(self) -> list[EngineWarning]:
        """What was counted since the last drain, in the order first seen."""
        with self._lock:
            counts, self._counts = self._counts, {}
        return [EngineWarning(c, m, where, n, phase) for (phase, c, m, where), n in counts.items()]


class EngineThread:
    """One daemon thread per loaded engine: load, trials and close all run on it.

    Some frameworks keep per-thread state (MLX streams, CUDA contexts), so an engine
    must stay on the thread that loaded it. A call that outlives its timeout raises
    :class:`TrialHung`; the thread is abandoned (daemon: it cannot block exit).

    Warnings the engine raises while a call runs are counted in :attr:`warnings`, never
    raised: upstream packages warn a lot, and a project's ``filterwarnings = error``
    must not fail a benchmark over them. Log records at WARNING and above are counted
    beside them, never silenced: the user's handlers still get every record.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.hung = False
        self.hung_at: str | None = None  # where the hung call was when it was abandoned
        self.busy = False  # a call runs on the thread now
        self.warnings = WarningTally()
        self._jobs: queue.Queue[tuple[Callable[[], Any], _Reply] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._loop, name=f"ttsbench-{name}", daemon=True)
        self._thread.start()
        self._cpu_clock = _cpu_clock(self._thread)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, reply = job
            self.busy = True
            try:
                reply.put((True, fn()))
            except BaseException as exc:  # handed to the caller, who decides
                reply.put((False, exc))
            finally:
                self.busy = False

    @contextlib.contextmanager
    def catching(self, phase: str) -> Iterator[None]:
        """Count, never raise, the warnings raised while the caller waits on the engine,
        and count the log records of level WARNING and above logged meanwhile.

        Python's warning filters are process-wide, so this context, held by the one
        thread that waits, also catches what the engine's thread (or the load
        generator's threads) raise meanwhile. Only the waiting thread may enter it:
        contexts of several threads would restore each other's filters out of order.
        Log records are seen the same way, from any thread and any logger (see
        :func:`_logging_records`); the harness's own (``pytest_ttsbench.*``) are not
        counted.
        """
        logged: list[_Logged] = []
        with warnings.catch_warnings(record=True) as caught, _logging_records(logged):
            warnings.simplefilter("always")
            try:
                yield
            finally:
                self.warnings.add(caught, phase)
                self.warnings.add_logged(logged, phase)

    def call(
        self, fn: Callable[[], T], timeout_s: float | None = None, phase: str = "synthesis"
    ) -> T:
        """Run ``fn`` on the engine's thread and wait up to ``timeout_s``."""
        if self.hung:
            raise TrialHung("an earlier call on this engine hung; the engine is abandoned")
        reply: _Reply = queue.Queue(maxsize=1)
        self._jobs.put((fn, reply))
        try:
            return cast("T", self._wait(reply, timeout_s, phase))
        except TrialHung:
            self._abandon()
            raise

    def call_aside(self, fn: Callable[[], T], timeout_s: float, phase: str = "close") -> T:
        """Run ``fn`` on a fresh daemon thread and wait up to ``timeout_s``: how an
        engine whose own thread hung is closed. A call that outlives the timeout is
        left behind (:class:`TrialHung`)."""
        reply: _Reply = queue.Queue(maxsize=1)

        def run() -> None:
            try:
                reply.put((True, fn()))
            except BaseException as exc:  # handed to the caller, who decides
                reply.put((False, exc))

        threading.Thread(target=run, name=f"ttsbench-{self.name}-aside", daemon=True).start()
        return cast("T", self._wait(reply, timeout_s, phase))

    def _wait(self, reply: _Reply, timeout_s: float | None, phase: str) -> Any:
        with self.catching(phase):
            try:
                ok, value = reply.get(timeout=timeout_s)
            except queue.Empty:
                raise TrialHung(f"no result within {timeout_s:g} s") from None
        if ok:
            return value
        raise value

    def _abandon(self) -> None:
        self.hung = True
        frame = sys._current_frames().get(self._thread.ident or -1)
        self.hung_at = None if frame is None else _where(frame)
        with _ABANDONED_LOCK:
            _ABANDONED.append(self)

    @property
    def contending(self) -> bool:
        """Abandoned, and its hung call still runs: it may keep a core busy."""
        return self.hung and self.busy and self._thread.is_alive()

    def cpu_s(self) -> float | None:
        """CPU seconds the thread has used; None where the platform cannot tell."""
        if self._cpu_clock is None:
            return None
        try:
            return time.clock_gettime(self._cpu_clock)
        except OSError:  # the thread has ended
            return None

    def stop(self) -> None:
        # An abandoned thread gets the stop too: should its hung call ever return, it ends.
        self._jobs.put(None)
        if not self.hung:
            self._thread.join(timeout=5)


def _first_line(message: object) -> str:
    return str(message).strip().partition("\n")[0]


# The records being handed to handlers on this thread, seen by a wrapper already: the
# wrapper of an inner (nested) _logging_records context calls the outer one's, which
# must not count them again.
_COUNTING = threading.local()


@contextlib.contextmanager
def _logging_records(logged: list[_Logged]) -> Iterator[None]:
    """Append to ``logged`` each record of level WARNING and above that any logger
    hands to its handlers meanwhile, on any thread.

    A handler on the root logger would miss records of loggers that do not propagate
    (transformers' own) and of loggers created meanwhile, so ``Logger.callHandlers``
    is wrapped, class-wide, and restored exactly on exit. The record then goes on to
    the handlers as before: what the user's logging shows does not change.
    """
    previous = logging.Logger.callHandlers

    def call_handlers(logger: logging.Logger, record: logging.LogRecord) -> None:
        counting: list[logging.LogRecord] = _COUNTING.__dict__.setdefault("records", [])
        if all(r is not record for r in counting):
            with contextlib.suppress(Exception):  # counting never breaks the logging
                if _counted(record):
                    logged.append(_logged(record))
        counting.append(record)
        try:
            previous(logger, record)
        finally:
            counting.pop()

    # setattr: mypy refuses an assignment to a method
    setattr(logging.Logger, "callHandlers", call_handlers)  # noqa: B010
    try:
        yield
    finally:
        setattr(logging.Logger, "callHandlers", previous)  # noqa: B010


def _counted(record: logging.LogRecord) -> bool:
    name = record.name
    ours = name == "pytest_ttsbench" or name.startswith("pytest_ttsbench.")
    return record.levelno >= logging.WARNING and not ours


def _logged(record: logging.LogRecord) -> _Logged:
    """A record as the tally keys it: ``log WARNING (logger)``, its message's first
    line, ``pathname:lineno``."""
    try:
        message = record.getMessage()
    except Exception:  # arguments that do not fit the format: the format itself
        message = str(record.msg)
    where = f"{record.pathname}:{record.lineno}"
    return (f"log {record.levelname} ({record.name})", _first_line(message), where)


# Abandoned engine threads, until their hung call returns: what is measured meanwhile
# shares the machine with them.
_ABANDONED: list[EngineThread] = []
_ABANDONED_LOCK = threading.Lock()


def still_running(besides: EngineThread | None = None) -> list[EngineThread]:
    """The abandoned engine threads (other than ``besides``) whose hung call still runs."""
    with _ABANDONED_LOCK:
        _ABANDONED[:] = [t for t in _ABANDONED if t.contending]
        return [t for t in _ABANDONED if t is not besides]


class ContentionWatch:
    """Abandoned engine threads that may share the machine with a run: those whose hung
    call still runs when the run starts, and the CPU time they burn until it ends.

    A thread blocked on a lock costs nothing; one that spins (or busy-waits on a
    device) keeps a core and skews every timing measured beside it.
    """

    def __init__(self, besides: EngineThread | None = None) -> None:
        self._besides = besides
        self._process_cpu = time.process_time()
        self._cpu = {t: t.cpu_s() for t in still_running(besides)}

    def contended(self) -> list[EngineThread]:
        """The threads that used a noticeable share of this process's CPU time since the
        watch began; where the CPU time cannot be read, every one that still ran."""
        # 5% of what the whole process used (not of wall time: on a busy machine the
        # process, and the spinning thread with it, gets little of a core) and at least
        # 1 ms: a thread that waits on a lock stays far below both
        floor = max(0.001, 0.05 * (time.process_time() - self._process_cpu))
        found = list(self._cpu)
        found += [t for t in still_running(self._besides) if t not in self._cpu]
        out = []
        for thread in found:
            before, now = self._cpu.get(thread), thread.cpu_s()
            if before is None or now is None or now - before >= floor:
                out.append(thread)
        return out


def _cpu_clock(thread: threading.Thread) -> int | None:
    """The clock of ``thread``'s CPU time (POSIX threads), or None."""
    try:
        return time.pthread_getcpuclockid(thread.ident or 0)
    except (AttributeError, OSError):  # not on every platform
        return None


_PATHS = sysconfig.get_paths()
_STDLIB = _PATHS["stdlib"]
_SITE = (_PATHS["purelib"], _PATHS["platlib"])  # often inside the stdlib folder


def _where(frame: FrameType) -> str:
    """The innermost frame outside the standard library and this package's stamping:
    the engine's own line (a thread waiting on a lock sits in threading.py)."""
    here = str(Path(__file__).parent)
    innermost: FrameType | None = frame
    while innermost is not None:
        name = innermost.f_code.co_filename
        stdlib = name.startswith(_STDLIB) and not name.startswith(_SITE)
        if not stdlib and not name.startswith(here):
            break
        innermost = innermost.f_back
    chosen = innermost or frame
    return f"{Path(chosen.f_code.co_filename).name}:{chosen.f_lineno} in {chosen.f_code.co_name}"
