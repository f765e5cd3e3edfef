"""Merge many results files into the results doc: each CI runner uploads its results
JSON, one job downloads them all and runs ``python -m pytest_ttsbench merge``.
"""

from __future__ import annotations

import glob
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ttsbench.report.doc import UpsertOutcome, entries_for, upsert_entries
from pytest_ttsbench.results.files import ResultsFile, ResultsFileError, load_results_file
from pytest_ttsbench.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from pytest_ttsbench.report.table import Entry

_GLOB_CHARS = frozenset("*?[")


def expand_paths(args: Iterable[str]) -> list[Path]:
    """Files named on the command line. A folder means every ``results-*.json`` below it
    (download-artifact puts each artifact in its own folder); a pattern the shell did not
    expand (Windows, or quoted) is expanded here. Raises ResultsFileError for a name that
    matches nothing."""
    out: list[Path] = []
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            found = sorted(path.rglob("results-*.json"))
            if not found:
                raise ResultsFileError(f"{arg}: no results-*.json files in this folder")
            out += found
        elif path.exists():
            out.append(path)
        elif _GLOB_CHARS & set(arg):
            # glob.glob, not Path.glob: the pattern may be absolute
            matches = sorted(glob.glob(arg, recursive=True))  # noqa: PTH207
            if not matches:
                raise ResultsFileError(f"{arg}: no file matches this pattern")
            out += [Path(m) for m in matches]
        else:
            raise ResultsFileError(f"{arg}: no such file")
    unique: dict[Path, None] = {}
    for p in out:
        unique.setdefault(p.resolve(), None)
    return list(unique)


def load_all(paths: Sequence[Path]) -> list[ResultsFile]:
    """Every file read and checked before anything is written; all problems at once."""
    files: list[ResultsFile] = []
    problems: list[str] = []
    for path in paths:
        try:
            files.append(load_results_file(path))
        except ResultsFileError as exc:
            problems.append(str(exc))
        except OSError as exc:
            problems.append(f"{path}: cannot read ({exc.strerror or exc})")
    if problems:
        raise ResultsFileError("\n".join(problems))
    return files


def _session_time(created: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def entries_from_files(files: Sequence[ResultsFile], now: datetime | None = None) -> list[Entry]:
    """Each result dated by its own session (falling back to ``now``)."""
    now = now or datetime.now(UTC)
    entries = []
    for f in files:
        when = _session_time(f.created) or now
        entries += entries_for(f.results, now=when, plugin_version=f.plugin_version)
    return entries


def merge(
    paths: Sequence[Path],
    doc: Path,
    *,
    history: int = Settings.history,
    plot: bool = False,
    now: datetime | None = None,
) -> UpsertOutcome:
    """Upsert every result of ``paths`` into ``doc``; raises ResultsFileError for any
    bad file before touching the doc."""
    files = load_all(paths)
    return upsert_entries(doc, entries_from_files(files, now), history=history, plot=plot, now=now)
