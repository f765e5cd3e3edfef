"""Repository-level defaults only: the plugin itself is loaded by its pytest11 entry point."""

from __future__ import annotations

# The plugin's own tests drive pytest through pytester.
pytest_plugins = ["pytester"]
