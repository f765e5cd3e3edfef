"""The results doc on disk (default ``docs/BENCHMARK_RESULTS.md``): :func:`upsert` of a
session's results, :func:`upsert_entries` for merged ones.

The doc is the user's file. pytest-ttsbench owns blocks in it, each between an
HTML-comment begin and end marker (invisible when rendered): the headline table, one
section per suite, and their histories. Which result goes where is
:mod:`~pytest_ttsbench.report.sections`, reading the blocks is
:mod:`~pytest_ttsbench.report.doc_parse`, deciding what replaces what is
:mod:`~pytest_ttsbench.report.doc_update` (text in, text out); this module does the I/O:

- Writes are atomic (temp file + rename) and locked (``<doc>.lock``): the doc is read
  again under the lock, so concurrent sessions each land their rows.
- When the doc cannot be updated without guessing (damaged markers), its lock cannot be
  had in time, the user made it read-only (no write bit in its mode: root could still
  replace it) or the file system refuses the write, it stays untouched and the rows go
  to a side file next to it, ``<doc>.ttsbench-pending.md``; the outcome says so (``ok``
  False). When the side file cannot be written either, :func:`upsert` raises OSError
  and :func:`pending_text` gives the rows to keep elsewhere.
- With ``plot``, a chart ``<doc stem>.svg`` of the table is written beside the doc and
  linked from the results block.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import Timeout

from pytest_ttsbench.report import table as tb
from pytest_ttsbench.report.atomic import (
    DEFAULT_LOCK_TIMEOUT_S,
    atomic_write_bytes,
    claim_path,
    lock_path,
    locked,
    read_only,
    remove_stale_temps,
    write_target,
)
from pytest_ttsbench.report.doc_blocks import DocUpdate, Draft, RowId
from pytest_ttsbench.report.doc_parse import UnsafeDoc
from pytest_ttsbench.report.doc_update import update_doc_text
from pytest_ttsbench.report.plot import PlotPoint, plot_available, write_plot_points
from pytest_ttsbench.report.sections import HEADLINE_KEY, HEADLINE_PROMPT, RESULTS
from pytest_ttsbench.settings import Settings
from pytest_ttsbench.version import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_ttsbench.results.model import BenchResult


@dataclass(frozen=True)
class UpsertOutcome:
    doc: Path
    written: bool  # the doc's bytes changed on disk
    created: bool  # there was no doc before
    added: list[RowId] = field(default_factory=list)
    updated: list[RowId] = field(default_factory=list)
    unchanged: list[RowId] = field(default_factory=list)
    kept: list[RowId] = field(default_factory=list)  # good rows kept beside a failed run
    moved_to_history: int = 0
    warnings: list[str] = field(default_factory=list)
    side_file: Path | None = None  # where the rows went when the doc was unsafe
    reason: str | None = None  # why the doc was left untouched
    plot: Path | None = None

    @property
    def ok(self) -> bool:
        return self.side_file is None

    def describe(self) -> list[str]:
        """What happened, one line each, for a terminal or a log."""

        def keys(ks: Sequence[RowId]) -> str:
            return "; ".join(_row_name(label, k) for label, k in ks)

        if self.side_file is not None:
            out = [
                f"{self.doc}: NOT updated: {self.reason}",
                f"  the new rows are in {self.side_file}",
            ]
        elif not self.written and not (self.unchanged or self.kept):
            out = [f"{self.doc}: no results to write; left as it was"]
        elif not self.written:
            out = [f"{self.doc}: unchanged ({len(self.unchanged)} rows already up to date)"]
        else:
            out = [f"{self.doc}: {'created' if self.created else 'updated'}"]
        if self.side_file is None:
            if self.added:
                out.append(f"  added {len(self.added)}: {keys(self.added)}")
            if self.updated:
                out.append(f"  updated {len(self.updated)}: {keys(self.updated)}")
            if self.kept:
                out.append(
                    f"  kept the last good row of {len(self.kept)} whose run failed "
                    f"(noted under its table): {keys(self.kept)}"
                )
            if self.moved_to_history:
                out.append(f"  {self.moved_to_history} previous rows moved to the history")
        if self.plot is not None:
            out.append(f"  chart: {self.plot}")
        out += [f"  warning: {w}" for w in self.warnings]
        return out


def _row_name(label: str, key: tb.Key) -> str:
    name = " | ".join(key)
    return name if label == RESULTS else f"{label}: {name}"


def side_file_path(doc: Path) -> Path:
    return doc.with_name(f"{doc.stem}.ttsbench-pending{doc.suffix or '.md'}")


def plot_path_for(doc: Path) -> Path:
    return doc.with_name(f"{doc.stem}.svg")


def _read(path: Path) -> tuple[bytes | None, str | None]:
    """A file's bytes and text (undecodable bytes kept as surrogates); None, None when
    there is no file."""
    data = path.read_bytes() if path.exists() else None
    return data, None if data is None else data.decode("utf-8", "surrogateescape")


def _pending_header(doc: Path, reason: str) -> str:
    # The reason quotes markers: written as is, they would make this file look damaged
    # too, and "<!--" would hide the rest of the line when rendered.
    shown = tb.clean_text(reason).replace("<", "\\<").replace("ttsbench:", "ttsbench&#58;")
    return (
        f"# Pending benchmark results\n\n"
        f"pytest-ttsbench could not update `{doc.name}` safely and left it untouched:\n"
        f"{shown}.\n\n"
        f"Fix that file, then copy these rows into its table, or run\n"
        f"`python -m pytest_ttsbench merge RESULTS.json... --doc {doc.name}` again with "
        f"the results JSON files.\n\n"
    )


SIDE_LOCK_TIMEOUT_S = 10.0  # the side file's own lock: when busy too, a fresh side file


def pending_text(
    doc: Path, results: Sequence[BenchResult], reason: str, *, history: int, now: datetime
) -> str:
    """A side file's text: the rows of ``results`` as a doc of their own, headed by why
    ``doc`` was left untouched (for when no side file next to it can be written)."""
    header = _pending_header(doc, reason)
    update = update_doc_text(
        None, entries_for(results, now=now), history=history, new_doc_header=header
    )
    if update.text is None:  # pragma: no cover - a new doc is always safe
        raise RuntimeError("could not render the pending rows")
    return update.text


def plot_points(text: str) -> list[PlotPoint]:
    """The chart's data: the results table of a doc, as rendered (all keys, not only
    this run's)."""
    try:
        table = Draft.read(text).table(RESULTS, RESULTS, HEADLINE_KEY)
    except UnsafeDoc:
        return []
    if table is None:
        return []
    points = []
    seen: set[tb.Key] = set()
    for row in table.rows:
        if row.key in seen:
            continue
        seen.add(row.key)
        cells = table.values(row)
        points.append(
            PlotPoint(
                " · ".join(row.key),
                tb.parse_float(cells.get("ttfa_p50", "")),
                tb.parse_float(cells.get("rtf_p50", "")),
            )
        )
    return points


def entries_for(
    results: Sequence[BenchResult],
    *,
    now: datetime | None = None,
    plugin_version: str = __version__,
) -> list[tb.Entry]:
    now = now or datetime.now(UTC)
    date = now.astimezone(UTC).date().isoformat()
    created = now.astimezone(UTC).isoformat(timespec="seconds")
    return [tb.Entry(r, date, plugin_version, created) for r in results]


def upsert(
    doc_path: Path,
    results: Sequence[BenchResult],
    *,
    history: int = Settings.history,
    now: datetime | None = None,
    plugin_version: str = __version__,
    plot: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S,
) -> UpsertOutcome:
    """Upsert ``results`` into the doc at ``doc_path`` (created when missing).

    ``now`` dates the rows (UTC); ``plot``: also write ``<doc stem>.svg`` and link it
    (a warning, no error, without matplotlib). When the doc is damaged, read-only, its
    write fails, or another session holds its lock longer than ``lock_timeout`` seconds,
    the doc is left alone, the rows go to a side file and the outcome is not ``ok``.
    Raises OSError when neither the doc nor a side file beside it can be written (the
    old doc is then intact).
    """
    return upsert_entries(
        doc_path,
        entries_for(results, now=now, plugin_version=plugin_version),
        history=history,
        plot=plot,
        lock_timeout=lock_timeout,
        now=now,
    )


def upsert_entries(
    doc_path: Path,
    entries: Sequence[tb.Entry],
    *,
    history: int = Settings.history,
    plot: bool = False,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S,
    now: datetime | None = None,
) -> UpsertOutcome:
    """:func:`upsert` for entries that carry their own date and plugin version (merge)."""
    doc = Path(doc_path)
    now = now or datetime.now(UTC)
    if not entries:  # nothing measured: never create an empty doc or touch an existing one
        return UpsertOutcome(doc, written=False, created=False)
    try:
        with locked(doc, lock_timeout):
            return _upsert_locked(doc, entries, history, plot, lock_timeout, now)
    except Timeout:
        reason = (
            f"its lock {lock_path(write_target(doc))} was held by another process for "
            f"more than {lock_timeout:g} s"
        )
        return _to_side_file(doc, entries, reason, history, now, lock_timeout, [])


def _to_side_file(
    doc: Path,
    entries: Sequence[tb.Entry],
    reason: str,
    history: int,
    now: datetime,
    lock_timeout: float,
    warnings: list[str],
) -> UpsertOutcome:
    """The doc cannot be updated: the rows go to a side file, and the outcome says so."""
    side = side_file_path(doc)
    header = _pending_header(doc, reason)
    update: DocUpdate | None = None  # None: the side file was busy or read-only
    try:
        with locked(side, min(lock_timeout, SIDE_LOCK_TIMEOUT_S)):
            if not read_only(side):  # one the user made read-only stays as it is
                _, text = _read(side)
                update = update_doc_text(text, entries, history=history, new_doc_header=header)
                if update.text is not None:
                    atomic_write_bytes(side, update.text.encode("utf-8", "surrogateescape"))
    except Timeout:
        pass
    if update is None or update.text is None:
        # the side file is damaged, busy or read-only too: a fresh one, never overwriting
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        side = claim_path(doc.parent, f"{doc.stem}.ttsbench-pending-{stamp}", doc.suffix or ".md")
        update = update_doc_text(None, entries, history=history, new_doc_header=header)
        if update.text is None:  # pragma: no cover - a new doc is always safe
            raise RuntimeError("could not render the pending rows")
        atomic_write_bytes(side, update.text.encode("utf-8", "surrogateescape"))
    return UpsertOutcome(
        doc,
        written=False,
        created=False,
        side_file=side,
        reason=reason,
        warnings=warnings + [f"{side}: {w}" for w in update.warnings],
    )


def _write_chart(points: Sequence[PlotPoint], svg: Path) -> str | None:
    """Write the chart; None when written, else why not (a warning: the doc's table
    holds its numbers)."""
    try:
        if write_plot_points(points, svg) is not None:
            return None
    except OSError as exc:
        return f"no chart: {svg} could not be written: {exc}"
    return (
        "no chart: the headline table has no row with a TTFA or RTF value "
        f"(only test_latency on the {HEADLINE_PROMPT!r} prompt feeds it)"
    )


def _upsert_locked(
    doc: Path,
    entries: Sequence[tb.Entry],
    history: int,
    plot: bool,
    lock_timeout: float,
    now: datetime,
) -> UpsertOutcome:
    # read under the lock: another session may have written since we started
    warnings: list[str] = []
    remove_stale_temps(write_target(doc))  # even when nothing is written this time
    data, text = _read(doc)
    svg: Path | None = None
    if plot and plot_available():
        svg = plot_path_for(doc)
    elif plot:
        warnings.append(
            "no chart: matplotlib is not installed (pip install 'pytest-ttsbench[plot]')"
        )
    update = update_doc_text(text, entries, history=history, plot_link=svg.name if svg else None)
    if update.text is None:
        reason = update.unsafe or "unknown"
        return _to_side_file(doc, entries, reason, history, now, lock_timeout, warnings)
    new_text = update.text
    new = new_text.encode("utf-8", "surrogateescape")
    if new != data and read_only(doc):
        mode = f"{write_target(doc).stat().st_mode & 0o777:04o}"
        reason = f"it is read-only (mode {mode}): left as its owner set it"
        return _to_side_file(doc, entries, reason, history, now, lock_timeout, warnings)
    if svg is not None:
        no_chart = _write_chart(plot_points(new_text), svg)
        if no_chart is not None:
            warnings.append(no_chart)
            svg = None
            update = update_doc_text(text, entries, history=history)
            new_text = update.text or new_text  # the same doc stays safe without the link
            new = new_text.encode("utf-8", "surrogateescape")
    if new != data:
        try:
            atomic_write_bytes(doc, new)
        except OSError as exc:  # the old doc is intact: its rows go to the side file
            reason = f"writing it failed: {exc}"
            return _to_side_file(doc, entries, reason, history, now, lock_timeout, warnings)
    return UpsertOutcome(
        doc,
        written=new != data,
        created=data is None,
        added=update.added,
        updated=update.updated,
        unchanged=update.unchanged,
        kept=update.kept,
        moved_to_history=update.moved_to_history,
        warnings=warnings + [f"{doc}: {w}" for w in update.warnings],
        plot=svg,
    )
