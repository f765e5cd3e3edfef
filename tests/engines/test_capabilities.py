"""What every built-in adapter declares, checked against what the suites need of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.engines.catalog import BUILTIN_SPECS

if TYPE_CHECKING:
    from pytest_ttsbench.engines.base import EngineSpec

ADAPTERS = [spec for spec in BUILTIN_SPECS if spec.engine is not None]
AUTOREGRESSIVE = {"chatterbox", "chatterbox-turbo", "marvis"}  # they stop on a token


@pytest.mark.parametrize("spec", ADAPTERS, ids=lambda s: s.pair)
def test_a_chunk_knob_comes_with_its_sweep(spec: EngineSpec) -> None:
    # the streaming suite sweeps small / default / large; without values it always skips
    caps = spec.engine_class().capabilities
    if caps.chunk_knob is None:
        assert caps.chunk_sweep == ()
        return
    small, default, large = caps.chunk_sweep
    assert 0 < small < default < large


@pytest.mark.parametrize("spec", ADAPTERS, ids=lambda s: s.pair)
def test_autoregressive_engines_honour_a_length_cap(spec: EngineSpec) -> None:
    # random weights never emit the stop token: without a cap a trial runs for minutes
    caps = spec.engine_class().capabilities
    assert caps.length_cap == (spec.model in AUTOREGRESSIVE)
