"""The ``dtype`` and ``compile`` knobs of the PyTorch adapters (TorchEngine.tune): parsed
and checked per call, applied to a tiny real torch module and undone exactly."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest

from pytest_ttsbench.engines.base import EngineContext, EngineError, WeightsLookup
from pytest_ttsbench.engines.knobs import Knobs
from pytest_ttsbench.engines.torch_engine import TorchEngine
from pytest_ttsbench.engines.torch_tuning import (
    Tuning,
    check_dtype,
    inputs_follow_weights,
    outputs_in,
    parse_tuning,
)
from pytest_ttsbench.results.target import Target

TARGET = Target("tiny", "pt", "cpu", "default")


def tuning(**values: object) -> Tuning:
    return parse_tuning(Knobs("kokoro-pt-cpu", {}, values))


# ---- parsing --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({}, Tuning("float32", "off")),
        ({"dtype": "bfloat16"}, Tuning("bfloat16", "off")),
        ({"dtype": "Float16"}, Tuning("float16", "off")),
        ({"compile": True}, Tuning("float32", "inductor")),  # a sweep's parsed "true"
        ({"compile": "on"}, Tuning("float32", "inductor")),
        ({"compile": 1}, Tuning("float32", "inductor")),
        ({"compile": False}, Tuning("float32", "off")),
        ({"compile": "no"}, Tuning("float32", "off")),
        ({"compile": "aot_eager", "dtype": "float32"}, Tuning("float32", "aot_eager")),
    ],
)
def test_parse_tuning_reads_the_knobs(values: dict[str, object], expected: Tuning) -> None:
    assert tuning(**values) == expected


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (
            {"dtype": "fp8"},
            "kokoro-pt-cpu: knob dtype='fp8': expected float32, bfloat16 or float16",
        ),
        ({"dtype": 16}, "knob dtype=16: expected float32"),
        ({"compile": "fast!"}, "knob compile='fast!': expected true/false (inductor/off) or a"),
        ({"compile": 2}, "knob compile=2: expected"),
    ],
)
def test_parse_tuning_rejects_bad_values(values: dict[str, object], message: str) -> None:
    with pytest.raises(EngineError) as caught:
        tuning(**values)
    assert message in str(caught.value)


def test_a_session_knob_applies_unless_the_call_sets_its_own() -> None:
    knobs = Knobs("t", {"dtype": "bfloat16", "compile": "true"}, {"compile": False})
    assert parse_tuning(knobs) == Tuning("bfloat16", "off")


def test_an_unsupported_dtype_is_probed_once_and_named() -> None:
    probes: list[object] = []

    def ones(*_a: object, **_k: object) -> object:
        probes.append(_k.get("dtype"))
        raise RuntimeError("no half kernels")

    stub = types.SimpleNamespace(float16="f16", ones=ones)
    for _ in range(2):
        with pytest.raises(EngineError) as caught:
            check_dtype(stub, "cpu", "float16", "tiny-pt-cpu")
        assert str(caught.value) == (
            "tiny-pt-cpu: dtype float16 is not supported on cpu here: RuntimeError: no half "
            "kernels; use float32 or bfloat16"
        )
    assert probes == ["f16"]  # once per (torch, device, dtype)
    check_dtype(stub, "cpu", "float32", "tiny-pt-cpu")  # float32 is never probed
    assert probes == ["f16"]


# ---- the state machine on a tiny real module -----------------------------------------
def _tiny_module(torch: Any) -> Any:
    class Tiny(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(4, 4)
            self.conv = torch.nn.Conv1d(1, 1, 3, padding=1)
            self.register_buffer("scale", torch.full((4,), 0.1234567))

        def forward(self, x: Any) -> Any:
            return self.conv(self.lin(x * self.scale).unsqueeze(1)).squeeze(1)

    torch.manual_seed(0)
    return Tiny().eval()


class TinyEngine(TorchEngine):
    """A TorchEngine over a tiny real module; ``run`` is one call with its knobs."""

    targets = True
    stages = False

    def load(self) -> None:
        self.model = _tiny_module(self._import_torch())

    def stage_seconds(self) -> dict[str, float]:
        if not self.stages:
            return super().stage_seconds()
        # an adapter with stages of its own adds the tuning ones, as Chatterbox does
        return {"forward": 0.001, **self.tuning_stages()}

    def compile_targets(self) -> list[tuple[object, str]]:
        return [(self.model, "lin"), (self.model, "conv")] if self.targets else []

    def run(self, **extra: object) -> Any:
        torch = self._torch
        self.tune(Knobs(self.target.id, {}, extra))
        with torch.inference_mode():
            return self.model(torch.ones(2, 4, dtype=next(self.model.parameters()).dtype))


def _tiny_engine(*, targets: bool = True, stages: bool = False) -> TinyEngine:
    engine = TinyEngine(EngineContext(TARGET, WeightsLookup(path=None), {}, False, Path()))
    engine.targets, engine.stages = targets, stages
    engine.load()
    return engine


def _state(engine: TorchEngine) -> dict[str, Any]:
    return {k: v.clone() for k, v in engine.model.state_dict().items()}


def test_cast_to_bfloat16_and_back_is_exact() -> None:
    torch = pytest.importorskip("torch")
    engine = _tiny_engine()
    loaded, before = _state(engine), engine.run()
    assert engine.stage_seconds() == {}  # nothing to switch: no tune stage

    engine.run(dtype="bfloat16")
    assert {v.dtype for v in engine.model.state_dict().values()} == {torch.bfloat16}
    assert engine.tuning == Tuning("bfloat16", "off")
    assert engine.details() == {}  # the base Engine's; adapters add tuning_details()
    assert engine.tuning_details() == {"dtype": "bfloat16", "compile": "off"}
    assert set(engine.stage_seconds()) == {"tune"}
    engine.run(dtype="bfloat16")
    assert engine.stage_seconds() == {}  # already there: no switch this call

    engine.run(dtype="float32")
    after = _state(engine)
    assert all(torch.equal(after[k], loaded[k]) for k in loaded)  # not rounded by bf16
    assert torch.equal(engine.run(), before)


def test_an_adapter_with_stages_gets_the_tune_stage_there() -> None:
    pytest.importorskip("torch")
    engine = _tiny_engine(stages=True)
    engine.run(dtype="bfloat16")
    assert set(engine.stage_seconds()) == {"forward", "tune"}


def test_compile_swaps_the_hot_modules_and_restores_them() -> None:
    torch = pytest.importorskip("torch")
    engine = _tiny_engine()
    lin, conv, eager = engine.model.lin, engine.model.conv, engine.run()

    compiled = engine.run(compile="eager")  # the cheap backend: dynamo, no codegen
    assert engine.stage_seconds()["compiled_graphs"] >= 1  # this call built them
    engine.run(compile="eager")
    assert engine.stage_seconds() == {"compiled_graphs": 0}  # warm: nothing built
    wrapper = engine.model.lin
    assert wrapper is not lin
    assert wrapper._orig_mod is lin
    assert engine.model.conv._orig_mod is conv
    assert torch.allclose(compiled, eager)
    assert engine.tuning_details() == {"dtype": "float32", "compile": "eager: lin, conv"}

    engine.run(compile=False)
    assert (engine.model.lin, engine.model.conv) == (lin, conv)
    assert engine.tuning_details()["compile"] == "off"
    engine.run(compile="eager")
    assert engine.model.lin is wrapper  # the cached wrapper, not a new one

    engine.run(compile="eager", dtype="bfloat16")  # both at once, the wrapper kept
    assert engine.model.lin is wrapper
    assert engine.tuning_details() == {"dtype": "bfloat16", "compile": "eager: lin, conv"}
    engine.close()


def test_compile_needs_targets_and_a_known_backend() -> None:
    torch = pytest.importorskip("torch")
    engine = _tiny_engine(targets=False)
    with pytest.raises(EngineError, match="tiny-pt-cpu: knob compile='inductor': TinyEngine"):
        engine.run(compile=True)
    assert engine.tuning == Tuning()
    engine = _tiny_engine()
    with pytest.raises(EngineError, match=r"not a torch.compile backend here; have .*eager"):
        engine.run(compile="warp_speed")
    assert engine.model.lin.__class__ is torch.nn.Linear


def test_inputs_follow_the_weights_dtype_while_hooked() -> None:
    torch = pytest.importorskip("torch")
    lin = torch.nn.Linear(4, 4).to(torch.bfloat16)
    x = torch.ones(1, 4)  # float32, as a voice vector upstream
    with pytest.raises(RuntimeError):
        lin(x)
    hooks = [*inputs_follow_weights(lin), outputs_in(lin, torch.float32)]
    assert lin(x).dtype == torch.float32  # computed in bfloat16, handed on in float32
    for hook in hooks:
        hook.remove()
    with pytest.raises(RuntimeError):
        lin(x)


def test_a_cached_plain_tensor_attribute_follows_the_cast() -> None:
    """Upstreams cache tensors derived from their buffers as plain attributes (Mimi's
    codebook ``_embed``): left behind, a float32 cache meets bfloat16 weights."""
    torch = pytest.importorskip("torch")
    engine = _tiny_engine()
    engine.model.lin._cache = torch.full((4,), 0.1234567)  # what an upstream derived
    loaded = engine.model.lin._cache.clone()
    engine.run(dtype="bfloat16")
    assert engine.model.lin._cache.dtype == torch.bfloat16
    engine.run(dtype="float32")
    assert torch.equal(engine.model.lin._cache, loaded)  # from the copy, not rounded
