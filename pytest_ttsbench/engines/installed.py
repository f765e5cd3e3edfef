"""What is installed: importable modules and installed distributions, found without
importing them.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util


def has_module(name: str) -> bool:
    """Whether ``name`` is importable, without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def dist_versions(*names: str) -> dict[str, str]:
    """Installed versions of the named distributions (those that are installed)."""
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def dist_installed(name: str) -> bool:
    return bool(dist_versions(name))
