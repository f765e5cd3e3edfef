"""The plugin's version, at the bottom of the import graph: every module reads it from
here, none from the package top (pyproject reads it here too).

Semantic versioning of the public API: ``pytest_ttsbench.__all__``, the options (flag,
ini key, environment variable) and the results JSON schema. Before 1.0 a breaking
change bumps the minor version, an addition the patch or the minor. docs/CHANGELOG.md
says what each release changed and how to migrate; tests/unit/test_changelog.py holds
the two to each other."""

from __future__ import annotations

__version__ = "0.3.0"
