"""What a session leaves behind, written once by the controller (or a plain run):
the results JSON, a per-trial chunk trace (CSV), the results doc upsert with its
chart, a GitHub step summary, and the terminal summary.
"""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import filelock

from pytest_ttsbench import report
from pytest_ttsbench.report.atomic import atomic_write_text

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from pytest_ttsbench.results.model import BenchResult
    from pytest_ttsbench.session import BenchSession

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


def chunk_trace_csv(results: list[BenchResult]) -> str:
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


def write_all(session: BenchSession) -> None:
    if not session.results:
        return
    settings = session.settings
    now = datetime.now(UTC)
    try:
        path = report.unique_results_path(settings.artifacts, now)
        report.write_results_json(path, session.machine_info(), session.results)
        session.written.append(("results JSON", path))
        trace = path.with_name(path.name.replace("results-", "chunks-", 1)).with_suffix(".csv")
        atomic_write_text(trace, chunk_trace_csv(session.results))
        session.written.append(("chunk trace", trace))
    except OSError as exc:
        session.warnings.append(f"could not write results to {settings.artifacts}: {exc}")
    if settings.update_results_doc:
        try:
            outcome = report.upsert(
                settings.results_doc,
                session.results,
                history=settings.history,
                now=now,
                plot=report.plot_available(),
            )
        except (OSError, filelock.Timeout) as exc:
            session.warnings.append(f"results doc {settings.results_doc} not updated: {exc}")
        else:
            session.doc_lines = outcome.describe()
    summary = report.append_step_summary(
        report.github_step_summary(session.results), env=dict(os.environ)
    )
    if summary is not None:
        session.written.append(("GitHub step summary", summary))


def terminal_summary(session: BenchSession, reporter: pytest.TerminalReporter) -> None:
    if not session.results and not session.warnings:
        return
    reporter.write_sep("=", "ttsbench results (RTF: lower is better)")
    for line in report.terminal_table(session.results).splitlines():
        reporter.write_line(line)
    for line in _gate_lines(session.results):
        reporter.write_line(line)
    for result in session.results:
        for note in result.details.get("notes", []):
            reporter.write_line(f"note: {result.target.id} [{result.prompt}]: {note}")
    for line in session.doc_lines:
        reporter.write_line(line)
    for label, path in session.written:
        reporter.write_line(f"{label}: {_shown(path, session)}")
    for warning in session.warnings:
        reporter.write_line(f"warning: {warning}", yellow=True)


def _gate_lines(results: list[BenchResult]) -> list[str]:
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


def _shown(path: Path, session: BenchSession) -> str:
    try:
        return str(path.relative_to(session.config.invocation_params.dir))
    except ValueError:
        return str(path)
