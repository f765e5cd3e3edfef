"""What a session leaves behind, written once by the controller (or a plain run):
the results JSON, a per-trial chunk trace (CSV), the results doc upsert with its
chart, a GitHub step summary, and the lines of the terminal summary.

Pure: plain inputs in, a :class:`Written` record of what was written out; session.py
(the pytest edge) keeps that record and prints :func:`summary_lines` through pytest's
terminal reporter.
"""

from __future__ import annotations

import contextlib
import csv
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import filelock

from pytest_ttsbench.report.atomic import DEFAULT_LOCK_TIMEOUT_S, atomic_write_text
from pytest_ttsbench.report.doc import upsert
from pytest_ttsbench.report.plot import plot_available
from pytest_ttsbench.report.results_json import unique_results_path, write_results_json
from pytest_ttsbench.report.summary import (
    append_step_summary,
    github_step_summary,
    terminal_table,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime
    from pathlib import Path

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
class Written:
    """What :func:`write_all` wrote: labelled files, warnings, the results doc's lines.

    ``doc_failed`` is True when the results doc was asked for and not updated (its lock
    could not be had in time, it is damaged, or the file system refused the write): the
    run should exit non-zero. ``doc_side_file`` is where its rows went instead, if
    anywhere; ``doc_failure`` says why, in one line."""

    files: tuple[tuple[str, Path], ...] = ()
    warnings: tuple[str, ...] = ()
    doc_lines: tuple[str, ...] = ()
    doc_failed: bool = False
    doc_side_file: Path | None = None
    doc_failure: str | None = None


@dataclass(frozen=True)
class SummaryLine:
    text: str
    warning: bool = False  # shown in yellow


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
    doc alone. A file that cannot be written is a warning, never an error; a doc that
    could not be updated also sets ``Written.doc_failed``."""
    if not results:
        return Written()
    files: list[tuple[str, Path]] = []
    warnings: list[str] = []
    doc_lines: tuple[str, ...] = ()
    path: Path | None = None
    try:
        path = unique_results_path(artifacts, now)
        write_results_json(path, machine, results)
        files.append(("results JSON", path))
        trace = path.with_name(path.name.replace("results-", "chunks-", 1)).with_suffix(".csv")
        atomic_write_text(trace, chunk_trace_csv(results))
        files.append(("chunk trace", trace))
    except OSError as exc:
        warnings.append(f"could not write results to {artifacts}: {exc}")
        _drop_empty_claim(path)
    failure: str | None = None
    side: Path | None = None
    if results_doc is not None:
        try:
            outcome = upsert(
                results_doc,
                results,
                history=history,
                now=now,
                plot=plot_available(),
                lock_timeout=lock_timeout,
            )
        except (OSError, filelock.Timeout) as exc:
            failure = f"results doc {results_doc} not updated: {exc}"
            warnings.append(failure)
        else:
            doc_lines = tuple(outcome.describe())
            if not outcome.ok:
                side = outcome.side_file
                failure = (
                    f"results doc {results_doc} not updated ({outcome.reason}); "
                    f"its rows are in {side}"
                )
                warnings.append(failure)
    summary = append_step_summary(github_step_summary(results), env=dict(env))
    if summary is not None:
        files.append(("GitHub step summary", summary))
    return Written(
        tuple(files),
        tuple(warnings),
        doc_lines,
        doc_failed=failure is not None,
        doc_side_file=side,
        doc_failure=failure,
    )


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
    if not results and not written.warnings:
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
