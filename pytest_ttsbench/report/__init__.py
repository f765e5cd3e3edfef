"""Reports: the results JSON, the Markdown results doc (upsert, merge), a chart, and
session summaries for the terminal and GitHub Actions. No pytest import here."""

from __future__ import annotations

from pytest_ttsbench.report.doc import (
    DEFAULT_HISTORY,
    UnsafeDoc,
    UpsertOutcome,
    entries_for,
    plot_path_for,
    side_file_path,
    update_doc_text,
    upsert,
    upsert_entries,
)
from pytest_ttsbench.report.merge import expand_paths, merge
from pytest_ttsbench.report.plot import plot_available, write_plot
from pytest_ttsbench.report.results_json import (
    results_json_name,
    unique_results_path,
    write_results_json,
)
from pytest_ttsbench.report.summary import append_step_summary, github_step_summary, terminal_table
from pytest_ttsbench.report.table import Entry
from pytest_ttsbench.results.files import (
    ResultsFile,
    ResultsFileError,
    build_session,
    load_results_file,
    read_results_json,
)

__all__ = [
    "DEFAULT_HISTORY",
    "Entry",
    "ResultsFile",
    "ResultsFileError",
    "UnsafeDoc",
    "UpsertOutcome",
    "append_step_summary",
    "build_session",
    "entries_for",
    "expand_paths",
    "github_step_summary",
    "load_results_file",
    "merge",
    "plot_available",
    "plot_path_for",
    "read_results_json",
    "results_json_name",
    "side_file_path",
    "terminal_table",
    "unique_results_path",
    "update_doc_text",
    "upsert",
    "upsert_entries",
    "write_plot",
    "write_results_json",
]
