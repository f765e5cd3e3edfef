"""PyTorch optimisation knobs of the PyTorch adapters: ``dtype`` (float32, bfloat16,
float16) and ``compile`` (torch.compile of the model's hot modules), parsed per call,
plus the pieces :class:`~pytest_ttsbench.engines.torch_engine.TorchEngine` switches
them with: a reversible cast, a device check of a dtype, and compiled-module swaps.

A sweep changes these between calls on one loaded model, so every change must be
undone exactly: casts always start from a host copy of the weights as loaded (a
bfloat16 round trip would otherwise leave float32 weights rounded), and a compiled
module's original is kept to put back.

Imports nothing heavy: torch is handed in by the engine, which imported it at load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.engines.base import EngineError
from pytest_ttsbench.flag_words import parse_flag

if TYPE_CHECKING:
    from pytest_ttsbench.engines.knobs import Knobs

DTYPES = ("float32", "bfloat16", "float16")
DEFAULT_BACKEND = "inductor"  # what compile=true means
OFF = "off"
_BACKEND_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Tuning:
    """The dtype the weights compute in and the torch.compile backend ("off": eager)."""

    dtype: str = "float32"
    compile: str = OFF


def parse_tuning(knobs: Knobs) -> Tuning:
    """The call's ``dtype`` and ``compile`` knobs; float32 and off when not given."""
    base = Tuning()
    dtype = base.dtype
    if knobs.given("dtype"):
        raw = knobs.values["dtype"]
        dtype = str(raw).strip().lower()
        if dtype not in DTYPES:
            raise EngineError(
                f"{knobs.engine}: knob dtype={raw!r}: expected float32, bfloat16 or float16"
            )
    backend = base.compile
    if knobs.given("compile"):
        raw = knobs.values["compile"]
        flag = parse_flag(raw)
        if flag is not None:
            backend = DEFAULT_BACKEND if flag else OFF
        elif isinstance(raw, str) and _BACKEND_NAME.match(raw.strip().lower()):
            backend = raw.strip().lower()  # a backend name, checked when applied
        else:
            raise EngineError(
                f"{knobs.engine}: knob compile={raw!r}: expected true/false (inductor/off) "
                "or a torch.compile backend name such as inductor, aot_eager or eager"
            )
    return Tuning(dtype, backend)


def check_backend(torch: Any, backend: str, engine: str) -> None:
    """EngineError unless torch knows ``backend``."""
    known = list(torch._dynamo.list_backends(exclude_tags=()))
    if backend not in known:
        raise EngineError(
            f"{engine}: knob compile={backend!r}: not a torch.compile backend here; "
            f"have {', '.join(sorted(known))}"
        )


def compiled_graphs(torch: Any) -> int:
    """How many graphs torch.compile (dynamo) has built in this process so far."""
    counters = getattr(getattr(torch, "_dynamo", None), "utils", None)
    stats = getattr(counters, "counters", {}).get("stats", {})
    return int(stats.get("unique_graphs", 0))


# (id(torch), device, dtype) -> None (works) or why not; a probe runs once per process
_PROBED: dict[tuple[int, str, str], str | None] = {}


def check_dtype(torch: Any, device: str, dtype: str, engine: str) -> None:
    """EngineError when ``device`` cannot compute in ``dtype``: a small matmul and a
    conv1d in that dtype, run once per (device, dtype)."""
    if dtype == "float32":
        return
    key = (id(torch), device, dtype)
    if key not in _PROBED:
        try:
            kind = getattr(torch, dtype)
            a = torch.ones((4, 4), device=device, dtype=kind)
            conv = torch.nn.functional.conv1d(
                torch.ones((1, 2, 8), device=device, dtype=kind),
                torch.ones((3, 2, 3), device=device, dtype=kind),
            )
            float((a @ a).sum()) + float(conv.sum())  # runs the kernels now (cuda)
            _PROBED[key] = None
        except Exception as exc:
            _PROBED[key] = f"{type(exc).__name__}: {exc}"
    why = _PROBED[key]
    if why is not None:
        raise EngineError(
            f"{engine}: dtype {dtype} is not supported on {device} here: {why}; "
            "use float32 or bfloat16"
        )


class Masters:
    """A host copy of each floating parameter, buffer and plain tensor attribute as
    loaded, taken at the first cast; every cast starts from it, so casting back is
    exact. Plain attributes are caches an upstream derives from its buffers (Mimi's
    codebook ``_embed``): left in the old dtype they would meet cast weights. One first
    seen after a cast is copied as it is then."""

    def __init__(self) -> None:
        # (id(owner module), name) -> (owner, name, kind, host copy)
        self._copies: dict[tuple[int, str], tuple[Any, str, str, Any]] = {}

    def cast(self, module: Any, dtype: Any) -> None:
        """Every floating tensor of ``module`` in ``dtype``, from the loaded values."""
        for owner in module.modules():
            for kind, table in _tensors(owner):
                for name, tensor in table.items():
                    if tensor is None or not tensor.is_floating_point():
                        continue
                    key = (id(owner), name)
                    if key not in self._copies:
                        host = tensor.detach().to("cpu", copy=True)
                        self._copies[key] = (owner, name, kind, host)
                    self._put(key, tensor, dtype)

    def _put(self, key: tuple[int, str], tensor: Any, dtype: Any) -> None:
        owner, name, kind, host = self._copies[key]
        value = host.to(device=tensor.device, dtype=dtype)
        if kind == "buffer":
            owner._buffers[name] = value
        elif kind == "attribute":
            setattr(owner, name, value)
        else:
            tensor.data = value  # the same Parameter object: hooks and references stay

    def clear(self) -> None:
        self._copies.clear()


def _tensors(owner: Any) -> list[tuple[str, dict[str, Any]]]:
    """A module's parameters, buffers and plain tensor attributes, by kind."""
    registered = set(owner._parameters) | set(owner._buffers)
    plain = {
        name: value
        for name, value in vars(owner).items()
        if name not in registered
        and hasattr(value, "is_floating_point")
        and hasattr(value, "dtype")
    }
    return [("parameter", owner._parameters), ("buffer", owner._buffers), ("attribute", plain)]


class Compiled:
    """Swaps (parent, attribute) modules for their torch.compile wrappers and back;
    one wrapper per (module, backend), so switching compile on again reuses it."""

    def __init__(self) -> None:
        self._originals: dict[tuple[int, str], tuple[Any, Any]] = {}  # -> (parent, module)
        self._wrappers: dict[tuple[int, str, str], Any] = {}

    def switch(self, torch: Any, targets: list[tuple[object, str]], backend: str) -> None:
        for parent, name in targets:
            key = (id(parent), name)
            if key not in self._originals:
                self._originals[key] = (parent, getattr(parent, name))
            original = self._originals[key][1]
            if backend == OFF:
                setattr(parent, name, original)
                continue
            wrapper = self._wrappers.get((*key, backend))
            if wrapper is None:
                wrapper = torch.compile(original, backend=backend)
                self._wrappers[(*key, backend)] = wrapper
            setattr(parent, name, wrapper)

    def clear(self) -> None:
        self._originals.clear()
        self._wrappers.clear()


def dotted_names(model: Any, targets: list[tuple[object, str]]) -> list[str]:
    """``decoder``, ``predictor.text_encoder``: each target's place in ``model`` (its
    parent's class name where ``model`` is no module tree or does not hold it)."""
    where: dict[int, str] = {}
    if hasattr(model, "named_modules"):
        for path, module in model.named_modules():
            where.setdefault(id(module), path)
    names = []
    for parent, name in targets:
        prefix = where.get(id(parent), type(parent).__name__)
        names.append(f"{prefix}.{name}" if prefix else name)
    return names


def _cast_tree(value: Any, dtype: Any) -> Any:
    """Floating tensors in ``value`` (tuples, lists, named tuples such as a
    PackedSequence) in ``dtype``; everything else as is."""
    if hasattr(value, "is_floating_point"):
        return value.to(dtype) if value.is_floating_point() and value.dtype != dtype else value
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_cast_tree(v, dtype) for v in value))
    if isinstance(value, tuple | list):
        return type(value)(_cast_tree(v, dtype) for v in value)
    return value


def _own_dtype(module: Any) -> Any:
    for table in (module._parameters, module._buffers):
        for tensor in table.values():
            if tensor is not None and tensor.is_floating_point():
                return tensor.dtype
    return None


def inputs_follow_weights(module: Any) -> list[Any]:
    """Hooks that hand every submodule holding floating weights its floating inputs in
    its weights' dtype: upstream code that mixes float32 inputs (a voice vector) with
    cast weights then works. Remove the returned handles to undo."""

    def cast_inputs(owner: Any, args: Any, kwargs: Any) -> Any:
        dtype = _own_dtype(owner)
        if dtype is None:
            return None
        return _cast_tree(args, dtype), {k: _cast_tree(v, dtype) for k, v in kwargs.items()}

    return [
        sub.register_forward_pre_hook(cast_inputs, with_kwargs=True)
        for sub in module.modules()
        if _own_dtype(sub) is not None
    ]


def outputs_in(module: Any, dtype: Any) -> Any:
    """A hook that hands ``module``'s floating outputs on in ``dtype`` (for upstream
    code that multiplies them with tensors it made in float32)."""
    return module.register_forward_hook(lambda _m, _a, out: _cast_tree(out, dtype))
