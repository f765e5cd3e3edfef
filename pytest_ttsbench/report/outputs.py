"""What a session leaves behind, written once by the controller (or a plain run):
the results JSON, a per-trial chunk trace (CSV), the results doc upsert with its
chart, a GitHub step summary, and the lines of the terminal summary.

Pure: plain inputs in, a :class:`Written` record of what was written out; session.py
(the pytest edge) keeps that record and prints :func:`summary_lines` through pytest's
terminal reporter.

Nothing is lost silently: an output that was asked for and cannot be written where
asked (the artifacts folder is a file, the disk is full, no permission, the doc is
read-only or damaged or locked) is a :class:`Lost` in the record, its data goes to a
side file beside the doc or to a fresh folder in the temp folder, and the session
exits non-zero with one line for it that says what and where.
"""

from __future__ import annotations

import contextlib
import csv
import io
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import filelock

from pytest_ttsbench.report import transcripts
from pytest_ttsbench.report.atomic import DEFAULT_LOCK_TIMEOUT_S, atomic_write_text
from pytest_ttsbench.report.doc import pending_text, side_file_path, upsert
from pytest_ttsbench.report.plot import plot_available
from pytest_ttsbench.report.results_json import (
    results_json_name,
    results_json_text,
    unique_results_path,
)
from pytest_ttsbench.report.summary import (
    append_step_summary,
    github_step_summary,
    terminal_table,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime

    from pytest_ttsbench.results.model import BenchResult

SUMMARY_TITLE = "ttsbench results (RTF: lower is better)"

TRACE_COLUMNS = (
    "test",
    "target",
    "prompt",
    "stream_mode",
    "trial",
    "kind",
    "chunk",
    "t_ms",
    "samples",
    "audio_end_s",
)


@dataclass(frozen=True)
class Lost:
    """An output that was asked for and not written where asked: ``what`` (results JSON,
    chunk trace, results doc, GitHub step summary), where it was to go, why, and where
    its data went instead (None: nowhere, the reason says why)."""

    what: str
    intended: Path
    why: str
    instead: Path | None

    @property
    def line(self) -> str:
        """The one line that tells it."""
        verb = "updated" if self.what == "results doc" else "written"
        went = (
            f"its {'rows are' if self.what == 'results doc' else 'data is'} in {self.instead}"
            if self.instead is not None
            else "it could not be saved anywhere else either"
        )
        return f"{self.what} {self.intended} not {verb} ({self.why}); {went}"


@dataclass(frozen=True)
class Written:
    """What :func:`write_all` wrote: labelled files, warnings, the results doc's lines,
    and the outputs that were asked for and could not be written (``lost``: the run
    should exit non-zero)."""

    files: tuple[tuple[str, Path], ...] = ()
    warnings: tuple[str, ...] = ()
    doc_lines: tuple[str, ...] = ()
    lost: tuple[Lost, ...] = ()

    @property
    def failed(self) -> bool:
        return bool(self.lost)


@dataclass(frozen=True)
class SummaryLine:
    text: str
    warning: bool = False  # shown in yellow
    error: bool = False  # shown in red: an output was lost, the run fails


def chunk_trace_csv(results: Sequence[BenchResult]) -> str:
    """One row per chunk of every trial: when it arrived and how much audio it held."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(TRACE_COLUMNS)
    for result in results:
        for trial in result.trials:
            audio_end = 0
            for k, (t_ns, n) in enumerate(zip(trial.chunk_ns, trial.chunk_samples, strict=True)):
                audio_end += n
                writer.writerow(
                    [
                        result.test,
                        result.target.id,
                        result.prompt,
                        result.stream_mode,
                        trial.index,
                        trial.kind,
                        k,
                        f"{t_ns / 1e6:.4f}",
                        n,
                        f"{audio_end / trial.sample_rate:.4f}",
                    ]
                )
    return buffer.getvalue()


def write_all(
    results: Sequence[BenchResult],
    *,
    machine: Mapping[str, Any],
    artifacts: Path,
    results_doc: Path | None,
    history: int,
    now: datetime,
    env: Mapping[str, str],
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S,
) -> Written:
    """Write every output of a session with results; ``results_doc`` None: leave the
    doc alone. Never raises for a file that cannot be written: it is a :class:`Lost`
    in the record, its data kept beside it or in the temp folder."""
    if not results:
        return Written()
    out = _Outputs()
    name = _write_results(out, results, machine, Path(artifacts), now)
    trace_name = Path(name.replace("results-", "chunks-", 1)).with_suffix(".csv").name
    out.write("chunk trace", Path(artifacts) / trace_name, chunk_trace_csv(results))
    transcripts.write(out.write, Path(artifacts), name, results)
    if results_doc is not None:
        _update_doc(out, results, Path(results_doc), history, now, lock_timeout)
    markdown = github_step_summary(results)
    try:
        summary = append_step_summary(markdown, env=dict(env))
    except OSError as exc:
        intended = Path(env.get("GITHUB_STEP_SUMMARY") or ".")
        why = _why(exc, intended.parent)
        out.rescue("GitHub step summary", intended, why, "step-summary.md", markdown)
    else:
        if summary is not None:
            out.files.append(("GitHub step summary", summary))
    return Written(tuple(out.files), tuple(out.warnings), out.doc_lines, tuple(out.lost))


@dataclass
class _Outputs:
    """What :func:`write_all` has written so far, and what it could not: the data of a
    lost output goes to a fresh folder of our own in the temp folder, made at the
    first need."""

    files: list[tuple[str, Path]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    doc_lines: tuple[str, ...] = ()
    lost: list[Lost] = field(default_factory=list)
    folder: Path | None = None  # the temp folder's rescue folder, once made

    def write(self, what: str, path: Path, text: str) -> bool:
        """Write ``path`` atomically; the temp folder when that fails."""
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            self.rescue(what, path, _why(exc, path.parent), path.name, text)
            return False
        self.files.append((what, path))
        return True

    def rescue(self, what: str, intended: Path, why: str, name: str, text: str) -> None:
        instead: Path | None = None
        try:
            if self.folder is None:
                self.folder = Path(tempfile.mkdtemp(prefix="ttsbench-rescued-"))
            instead = self.folder / name
            # a plain write: a fresh private folder needs no atomic replace
            with instead.open("x", encoding="utf-8", errors="surrogateescape") as f:
                f.write(text)
        except OSError as exc:
            why = f"{why}; the temp folder refused it too: {exc}"
            instead = None
        self.lost.append(Lost(what, intended, why, instead))


def _write_results(
    out: _Outputs,
    results: Sequence[BenchResult],
    machine: Mapping[str, Any],
    artifacts: Path,
    now: datetime,
) -> str:
    """The results JSON under a name no other session has; returns the name."""
    text = results_json_text(machine, results)
    try:
        path = unique_results_path(artifacts, now)
    except OSError as exc:  # the folder cannot be made or written
        name = results_json_name(now, socket.gethostname())
        out.rescue("results JSON", artifacts / name, _why(exc, artifacts), name, text)
        return name
    if not out.write("results JSON", path, text):
        _drop_empty_claim(path)
    return path.name


def _update_doc(
    out: _Outputs,
    results: Sequence[BenchResult],
    doc: Path,
    history: int,
    now: datetime,
    lock_timeout: float,
) -> None:
    try:
        outcome = upsert(
            doc, results, history=history, now=now, plot=plot_available(), lock_timeout=lock_timeout
        )
    except (OSError, filelock.Timeout) as exc:
        # neither the doc nor a side file beside it could be written
        why = _why(exc, doc.parent)
        text = pending_text(doc, results, why, history=history, now=now)
        out.rescue("results doc", doc, why, side_file_path(doc).name, text)
        return
    if outcome.ok:
        out.doc_lines = tuple(outcome.describe())
    else:  # told in one line (Lost.line), not in the doc's own lines too
        out.lost.append(Lost("results doc", doc, outcome.reason or "unknown", outcome.side_file))
        out.warnings.extend(outcome.warnings)


def _why(exc: BaseException, folder: Path) -> str:
    """An error in a few words: ``PermissionError: [Errno 13] ...``; a folder that is a
    file and a lock timeout say what they are."""
    if isinstance(exc, filelock.Timeout):
        return f"its lock could not be had: {exc}"
    for part in (folder, *folder.parents):
        if part.exists():
            if not part.is_dir():
                return f"{part} is a file, not a folder"
            break
    return f"{type(exc).__name__}: {exc}"


def _drop_empty_claim(path: Path | None) -> None:
    """A claimed results name whose write failed: an empty file would break a merge of
    the folder later."""
    if path is None:
        return
    with contextlib.suppress(OSError):
        if path.stat().st_size == 0:
            path.unlink()


def summary_lines(
    results: Sequence[BenchResult], written: Written, invocation_dir: Path
) -> list[SummaryLine]:
    """The terminal summary under :data:`SUMMARY_TITLE`; empty: print nothing."""
    if not results and not written.warnings and not written.lost:
        return []
    lines = [SummaryLine(line) for line in terminal_table(results).splitlines()]
    lines.extend(SummaryLine(line) for line in _gate_lines(results))
    for result in results:
        for note in result.notes:
            lines.append(SummaryLine(f"note: {result.target.id} [{result.prompt}]: {note}"))
    lines.extend(SummaryLine(line) for line in written.doc_lines)
    lines.extend(
        SummaryLine(f"{label}: {_shown(path, invocation_dir)}") for label, path in written.files
    )
    lines.extend(SummaryLine(f"warning: {w}", warning=True) for w in written.warnings)
    lines.extend(SummaryLine(f"error: {lost.line}", error=True) for lost in written.lost)
    return lines


def _gate_lines(results: Sequence[BenchResult]) -> list[str]:
    """Failures show in the test's own report; here: inconclusive, warn-mode, noise."""
    lines = []
    for result in results:
        where = f"{result.target.id} [{result.prompt}]"
        for v in result.gates:
            if v.outcome == "inconclusive" and not v.informational:
                lines.append(f"gate inconclusive: {where}: {v.name}: {v.reason}")
            elif v.outcome == "fail" and result.outcome == "passed":
                lines.append(f"gate broken (warn mode): {where}: {v.name}: {v.reason}")
            if v.note:
                lines.append(f"gate note: {where}: {v.name}: {v.note}")
    return lines


def _shown(path: Path, invocation_dir: Path) -> str:
    try:
        return str(path.relative_to(invocation_dir))
    except ValueError:
        return str(path)
