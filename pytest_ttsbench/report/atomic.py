"""Atomic, locked file writes: a reader never sees half a file, a crash leaves the old
one, and two sessions that update the same doc take turns (``<file>.lock``).

- A path that is a symlink is written through: the link's target is replaced (the temp
  file sits next to the target), the link stays a link.
- Temp files are named ``.<name>.<host>-<pid>-<random>.tmp``; one left by an
  interrupted write (older than a minute, or of a process of this host that is gone)
  is removed by the next write of the same file.
- :func:`claim_path` creates a new file name exclusively, so concurrent sessions that
  want the same name each get their own.
- A file whose mode has no write bit (0444: its owner made it read-only) is never
  replaced, even where the rights would allow it (root): :func:`read_only` tells, and
  :func:`atomic_write_bytes` refuses with PermissionError.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import secrets
import socket
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

if TYPE_CHECKING:
    from collections.abc import Iterator

DEFAULT_LOCK_TIMEOUT_S = 120.0
STALE_TEMP_S = 60.0  # a write takes milliseconds: a temp file this old was abandoned


def write_target(path: Path) -> Path:
    """The file a write of ``path`` replaces: a symlink's final target, else ``path``."""
    path = Path(path)
    return path.resolve() if path.is_symlink() else path


def read_only(path: Path) -> bool:
    """Whether the file a write of ``path`` replaces exists with no write bit in its
    mode: read-only by its owner's intent, whatever this process may do (root can
    replace it, so no access check tells)."""
    try:
        mode = write_target(Path(path)).stat().st_mode
    except OSError:
        return False
    return mode & 0o222 == 0


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


@contextlib.contextmanager
def locked(path: Path, timeout: float = DEFAULT_LOCK_TIMEOUT_S) -> Iterator[Path]:
    """Hold ``<path>.lock`` (an OS file lock, so other processes wait too), next to the
    file a write replaces (a symlink's target), so writers through the link and to the
    target take turns.

    Raises ``filelock.Timeout`` when another holder keeps it longer than ``timeout``.
    """
    target = write_target(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock_path(target)), timeout=timeout):
        yield path


def claim_path(folder: Path, stem: str, suffix: str) -> Path:
    """Create ``<stem><suffix>`` in ``folder`` (``<stem>-2<suffix>``, ``-3``... when
    taken) exclusively, and return it: an empty file no other writer can claim."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    k = 1
    while True:
        path = folder / (f"{stem}{suffix}" if k == 1 else f"{stem}-{k}{suffix}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            k += 1
            continue
        os.close(fd)
        return path


# ---- temp files ------------------------------------------------------------------------------
_HOST = hashlib.sha1(socket.gethostname().encode(), usedforsecurity=False).hexdigest()[:8]


def _temp_name(name: str) -> str:
    return f".{name}.{_HOST}-{os.getpid()}-{secrets.token_hex(4)}.tmp"


def _temp_pattern(name: str) -> re.Pattern[str]:
    # also the names of versions before the host and pid: ".<name>.<8 hex>.tmp"
    return re.compile(rf"^\.{re.escape(name)}\.(?:([0-9a-f]{{8}})-(\d+)-)?[0-9a-f]{{8}}\.tmp$")


def _pid_alive(pid: int) -> bool:
    if sys.platform == "win32":  # os.kill would end the process there: let age decide
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists, as another user's
        return True
    return True


def remove_stale_temps(path: Path, max_age_s: float = STALE_TEMP_S) -> list[Path]:
    """Remove the temp files of interrupted writes of ``path`` (our pattern only): older
    than ``max_age_s``, or left by a process of this host that no longer runs."""
    pattern = _temp_pattern(path.name)
    removed = []
    now = time.time()
    try:
        candidates = list(path.parent.iterdir())
    except OSError:
        return []
    for tmp in candidates:
        match = pattern.match(tmp.name)
        if match is None:
            continue
        host, pid = match.group(1), match.group(2)
        try:
            age = now - tmp.lstat().st_mtime
        except OSError:
            continue
        gone = host == _HOST and pid is not None and int(pid) != os.getpid()
        if age > max_age_s or (gone and not _pid_alive(int(pid))):
            with contextlib.suppress(OSError):
                tmp.unlink()
                removed.append(tmp)
    return removed


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
    ``path`` (over a symlink's target: the link stays). On any error the temp file is
    removed and ``path`` is as it was. Returns ``path``. A read-only file (no write bit)
    is a PermissionError, not replaced.
    """
    given = Path(path)
    path = write_target(given)
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    try:
        mode: int | None = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = None
    if mode is not None and mode & 0o222 == 0:
        raise PermissionError(errno.EACCES, f"read-only (mode {mode & 0o777:04o})", str(path))
    while True:
        tmp = folder / _temp_name(path.name)
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
    return given


def atomic_write_text(
    path: Path, text: str, encoding: str = "utf-8", errors: str = "strict"
) -> Path:
    return atomic_write_bytes(path, text.encode(encoding, errors))
