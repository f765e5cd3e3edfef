"""What every built-in adapter declares, checked against what the suites need of it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.engines.catalog import BUILTIN_SPECS
from pytest_ttsbench.engines.chatterbox_pt import chatterbox_capabilities

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


@pytest.mark.parametrize("fork", [True, False], ids=["chatterbox-streaming", "chatterbox-tts"])
def test_chatterbox_pt_declares_its_chunk_sweep_where_it_streams(fork: bool) -> None:
    # chatterbox-streaming's generate_stream(chunk_size=25): speech tokens per chunk
    caps = chatterbox_capabilities(fork)
    assert caps.stream is fork
    if fork:
        assert caps.chunk_knob == "chunk_size"
        assert caps.chunk_sweep == (10.0, 25.0, 50.0)
    else:
        assert (caps.chunk_knob, caps.chunk_sweep) == (None, ())
