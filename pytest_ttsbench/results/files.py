"""The results JSON every session writes: one file per session, every trial, the
machine and versions, so any later tool (the merge command, a baseline) can rebuild
the numbers. Pure apart from the file I/O: no pytest.

    {"format": "pytest-ttsbench-results", "schema": 1, "plugin_version": "0.1.0",
     "session": {...whatever the caller passes...}, "results": [BenchResult.as_dict()...]}
"""

from __future__ import annotations

import json
import math
import os
import platform
import socket
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.results.model import BenchResult
from pytest_ttsbench.version import __version__

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

FORMAT = "pytest-ttsbench-results"
SCHEMA = 1


class ResultsFileError(ValueError):
    """A results file that cannot be read; the message names the file and the fix."""


@dataclass(frozen=True)
class ResultsFile:
    path: Path
    plugin_version: str
    session: dict[str, Any]
    results: list[BenchResult]

    @property
    def created(self) -> str:
        """The session's ISO time ("created", else a "started" epoch), or "" if unknown."""
        value = self.session.get("created")
        if isinstance(value, str):
            return value
        started = self.session.get("started")
        if isinstance(started, (int, float)) and not isinstance(started, bool):
            return datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds")
        return ""


def _finite(value: Any) -> Any:
    # NaN/inf are not JSON; jq and browsers refuse them. A non-finite trial metric
    # means "not measured", which is what null says.
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def results_document(
    session: Mapping[str, Any], results: Sequence[BenchResult], *, with_trials: bool = True
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "schema": SCHEMA,
        "plugin_version": __version__,
        "session": _finite(dict(session)),
        "results": [_finite(r.as_dict(with_trials=with_trials)) for r in results],
    }


def _refuse(path: Path, why: str) -> ResultsFileError:
    return ResultsFileError(f"{path}: {why}")


def load_results_file(path: Path) -> ResultsFile:
    """Read and check one results file; raises :class:`ResultsFileError` (or OSError)."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _refuse(path, f"not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise _refuse(path, "not a pytest-ttsbench results file (the top level is not an object)")
    if data.get("format") != FORMAT:
        if "benchmarks" in data and "machine_info" in data:
            raise _refuse(
                path,
                "this is a pytest-benchmark JSON (--benchmark-json), not a "
                "pytest-ttsbench results file (look for results-*.json in "
                "the --tts-artifacts folder)",
            )
        raise _refuse(path, f'not a pytest-ttsbench results file (no "format": "{FORMAT}")')
    schema = data.get("schema")
    writer = data.get("plugin_version", "an unknown version")
    if schema != SCHEMA:
        if isinstance(schema, int) and schema > SCHEMA:
            fix = (
                f"upgrade pytest-ttsbench (this is {__version__}) to read it: "
                "pip install -U pytest-ttsbench"
            )
        else:
            fix = f"re-run the benchmark with pytest-ttsbench {__version__} to get schema {SCHEMA}"
        raise _refuse(
            path,
            f"results schema {schema!r} (written by pytest-ttsbench {writer}); "
            f"this version reads schema {SCHEMA} only: {fix}",
        )
    session = data.get("session", {})
    entries = data.get("results")
    if not isinstance(session, dict) or not isinstance(entries, list):
        raise _refuse(path, '"session" must be an object and "results" a list')
    results = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise _refuse(path, f"result {i} is not an object")
        try:
            results.append(BenchResult.from_dict(entry))
        except (KeyError, TypeError, ValueError) as exc:
            what = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            raise _refuse(path, f"result {i} ({entry.get('test', '?')}): {what}") from exc
    return ResultsFile(path, str(writer), session, results)


def read_results_json(path: Path) -> tuple[dict[str, Any], list[BenchResult]]:
    """(session, results) of one results file; raises :class:`ResultsFileError`."""
    loaded = load_results_file(path)
    return loaded.session, loaded.results


def git_commit(cwd: Path | None = None) -> dict[str, Any] | None:
    """The checkout's commit and whether it has local changes, or None outside git."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD") or os.environ.get("GITHUB_SHA")
    if not commit:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "commit": commit,
        "branch": git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(status) if status is not None else None,
    }


def build_session(
    *,
    machine: Mapping[str, Any] | None = None,
    args: Sequence[str] = (),
    now: datetime | None = None,
    cwd: Path | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``session`` object of a results file: when, where, what ran it."""
    now = now or datetime.now(UTC)
    session: dict[str, Any] = {
        "created": now.astimezone(UTC).isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "plugin_version": __version__,
        "machine": dict(machine or {}),
        "git": git_commit(cwd),
        "args": list(args),
    }
    session.update(extra or {})
    return session
