"""Hooks that pytest-ttsbench adds for users and other plugins."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_ttsbench.engines.registry import EngineRegistry


@pytest.hookspec
def pytest_ttsbench_register_engines(registry: EngineRegistry, config: pytest.Config) -> None:
    """Add your own engines to the matrix.

    Called once for each conftest.py (or plugin) that implements it, when pytest
    registers it: at start-up for the rootdir's conftest, during collection for a
    test folder's. Entry points in the group ``pytest_ttsbench.engines`` need no hook.

    A registered pair gets the same parametrization, marks, skips, fixtures, metrics,
    gates and results rows as the built-in ones. Example, in ``conftest.py``::

        from pytest_ttsbench import Capabilities, Engine, EngineSpec

        class MyServerEngine(Engine):
            capabilities = Capabilities(stream=True)
            sample_rate = 24000

            def load(self):
                self.client = connect("http://127.0.0.1:8000")

            def stream(self, text, opts):
                for chunk in self.client.speak(text):
                    yield chunk  # float32 numpy array, mono

            def synthesize(self, text, opts):
                return np.concatenate(list(self.stream(text, opts)))

        def pytest_ttsbench_register_engines(registry, config):
            registry.register(EngineSpec("myvoice", "server", MyServerEngine,
                                         devices=("cpu",)))

    The same spec can be published from a package through the entry-point group
    ``pytest_ttsbench.engines`` (an EngineSpec, a list of them, or a callable that
    takes the registry).
    """
