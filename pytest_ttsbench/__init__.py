"""pytest-ttsbench: text-to-speech benchmarks as pytest tests.

The public API: what a test, a suite or a user's engine imports. pytest loads this
package in every run of every project that has it installed, so each name is imported
on first access (PEP 562) and ``import pytest_ttsbench`` alone loads nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from pytest_ttsbench.version import __version__

if TYPE_CHECKING:
    from pytest_ttsbench.engines.base import (
        Capabilities,
        Engine,
        EngineContext,
        EngineError,
        EngineSpec,
        SynthesisOptions,
        WeightsLookup,
        WeightsNotFound,
        WeightsQuery,
        mark_random_weights,
    )
    from pytest_ttsbench.engines.registry import EngineRegistry
    from pytest_ttsbench.engines.weights import Search as WeightsSearch
    from pytest_ttsbench.engines.weights import find as find_weights
    from pytest_ttsbench.engines.weights import hf_cache_dir, hf_snapshots
    from pytest_ttsbench.fixture import TTSBench
    from pytest_ttsbench.results.model import BenchResult, Trial
    from pytest_ttsbench.results.target import Target
    from pytest_ttsbench.results.verdict import Verdict

# public name -> (the module that defines it, its name there)
_LAZY = {
    "TTSBench": ("pytest_ttsbench.fixture", "TTSBench"),
    "BenchResult": ("pytest_ttsbench.results.model", "BenchResult"),
    "Trial": ("pytest_ttsbench.results.model", "Trial"),
    "Verdict": ("pytest_ttsbench.results.verdict", "Verdict"),
    "Target": ("pytest_ttsbench.results.target", "Target"),
    "Capabilities": ("pytest_ttsbench.engines.base", "Capabilities"),
    "Engine": ("pytest_ttsbench.engines.base", "Engine"),
    "EngineContext": ("pytest_ttsbench.engines.base", "EngineContext"),
    "EngineError": ("pytest_ttsbench.engines.base", "EngineError"),
    "EngineSpec": ("pytest_ttsbench.engines.base", "EngineSpec"),
    "SynthesisOptions": ("pytest_ttsbench.engines.base", "SynthesisOptions"),
    "WeightsLookup": ("pytest_ttsbench.engines.base", "WeightsLookup"),
    "WeightsNotFound": ("pytest_ttsbench.engines.base", "WeightsNotFound"),
    "WeightsQuery": ("pytest_ttsbench.engines.base", "WeightsQuery"),
    "EngineRegistry": ("pytest_ttsbench.engines.registry", "EngineRegistry"),
    # weights lookup for adapters: named for what they find at this level
    "WeightsSearch": ("pytest_ttsbench.engines.weights", "Search"),
    "find_weights": ("pytest_ttsbench.engines.weights", "find"),
    "hf_cache_dir": ("pytest_ttsbench.engines.weights", "hf_cache_dir"),
    "hf_snapshots": ("pytest_ttsbench.engines.weights", "hf_snapshots"),
    # label a folder of random-init weights: every result from it says so
    "mark_random_weights": ("pytest_ttsbench.engines.base", "mark_random_weights"),
}

__all__ = [
    "BenchResult",
    "Capabilities",
    "Engine",
    "EngineContext",
    "EngineError",
    "EngineRegistry",
    "EngineSpec",
    "SynthesisOptions",
    "TTSBench",
    "Target",
    "Trial",
    "Verdict",
    "WeightsLookup",
    "WeightsNotFound",
    "WeightsQuery",
    "WeightsSearch",
    "__version__",
    "find_weights",
    "hf_cache_dir",
    "hf_snapshots",
    "mark_random_weights",
]


if not TYPE_CHECKING:  # mypy reads the imports above, and flags a name not among them

    def __getattr__(name: str) -> object:
        where = _LAZY.get(name)
        if where is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        module, attr = where
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value  # later reads skip this function
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
