"""Atomic, locked file writes: a reader never sees half a file, a crash leaves the old
one, and two sessions that update the same doc take turns (``<file>.lock``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

if TYPE_CHECKING:
    from collections.abc import Iterator

DEFAULT_LOCK_TIMEOUT_S = 120.0


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def locked(path: Path, timeout: float = DEFAULT_LOCK_TIMEOUT_S) -> Iterator[Path]:
    """Hold ``<path>.lock`` (an OS file lock, so other processes wait too).

    Raises ``filelock.Timeout`` when another holder keeps it longer than ``timeout``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_path(path)), timeout=timeout):
        yield path


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible on Windows, where it does not matter.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temp file in the same folder, then ``os.replace`` it over
    ``path``. On any error the temp file is removed and ``path`` is as it was.
    """
    path = Path(path)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    try:
        mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    while True:
        tmp = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
        try:
            # 0o666 goes through the umask, as a plain open() would; mkstemp would give 0o600.
            fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666
            )
        except FileExistsError:
            continue
        break
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            tmp.chmod(mode)  # keep the permissions of the file we replace
        tmp.replace(path)  # os.replace: atomic on POSIX and Windows
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(folder)
    return path


def atomic_write_text(
    path: Path, text: str, encoding: str = "utf-8", errors: str = "strict"
) -> Path:
    return atomic_write_bytes(path, text.encode(encoding, errors))
