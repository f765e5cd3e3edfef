"""Reports: the results JSON, the Markdown results doc (upsert, merge), a chart, and
session summaries for the terminal and GitHub Actions. No pytest import here.

Import the submodules themselves (``pytest_ttsbench.report.doc``, ``.summary``, ...):
this package re-exports nothing, so importing one writer never loads the others.
"""
