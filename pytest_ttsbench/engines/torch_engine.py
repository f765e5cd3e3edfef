"""What the PyTorch adapters share (Chatterbox, Kokoro and Marvis on PyTorch): torch
imported when the model loads, device sync, peak device memory, release, tensors to
host arrays, and the ``dtype`` / ``compile`` knobs switched per call (:meth:`tune`).

Imports nothing heavy: torch when ``_import_torch`` runs, numpy on first use.
"""

from __future__ import annotations

import gc
import importlib
import time
from typing import TYPE_CHECKING, Any, ClassVar

from pytest_ttsbench.engines.base import Engine, EngineError
from pytest_ttsbench.engines.device_memory import torch_cuda_peak_bytes, torch_cuda_reset_peak
from pytest_ttsbench.engines.hub import hub_offline
from pytest_ttsbench.engines.lazy import lazy_module
from pytest_ttsbench.engines.torch_tuning import (
    OFF,
    Compiled,
    Masters,
    Tuning,
    check_backend,
    check_dtype,
    compiled_graphs,
    dotted_names,
    parse_tuning,
)

if TYPE_CHECKING:
    import numpy as np

    from pytest_ttsbench.engines.base import AudioArray, EngineContext
    from pytest_ttsbench.engines.knobs import Knobs
else:
    np = lazy_module("numpy")


class TorchEngine(Engine):
    """What the PyTorch adapters share: device memory, release, tensors to host arrays,
    and the per-call ``dtype`` / ``compile`` knobs.

    An adapter calls :meth:`tune` first in each call; it overrides :meth:`cast_model`
    when its model is more than ``self.model`` and :meth:`compile_targets` to name its
    hot modules.
    """

    model: Any = None
    _torch: Any = None
    tuning_knobs: ClassVar[tuple[str, ...]] = ("dtype", "compile")  # see Engine

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self.tuning = Tuning()  # what the model runs with now
        self._masters = Masters()
        self._compiled = Compiled()
        self._compiled_names: list[str] = []
        self._tune_s: float | None = None  # this call's switch, when it made one
        self._graphs_at: int | None = None  # dynamo's graph count as the call began

    def _import_torch(self) -> Any:
        self._torch = importlib.import_module("torch")
        return self._torch

    def _offline(self) -> Any:
        return hub_offline(not self.ctx.allow_download)

    def _sync(self) -> None:
        if self.target.device == "cuda" and self._torch is not None:
            self._torch.cuda.synchronize()

    @staticmethod
    def host(tensor: Any) -> AudioArray:
        """A (1, N) or (N,) tensor as a 1-D float32 array in host memory."""
        array = tensor.detach().cpu().float().numpy()
        return np.ascontiguousarray(np.asarray(array, dtype=np.float32).reshape(-1))

    # ---- dtype and torch.compile, per call -------------------------------------------
    def tune(self, knobs: Knobs) -> None:
        """Move the model to the call's ``dtype`` and ``compile`` when they differ from
        what it runs with now (a sweep changes them between calls). The switch's time
        is the call's ``tune`` stage; compilation itself happens in the next forward."""
        want = parse_tuning(knobs)
        self._tune_s = None
        # graphs dynamo compiles during this call: a measured trial that recompiles shows it
        self._graphs_at = None if want.compile == OFF else compiled_graphs(self._torch)
        if want == self.tuning:
            return
        start = time.perf_counter()
        torch, now = self._torch, self.tuning
        if want.dtype != now.dtype:
            check_dtype(torch, self.target.device, want.dtype, self.target.id)
            self._switch(
                f"casting to {want.dtype}", lambda: self.cast_model(getattr(torch, want.dtype))
            )
            self.tuning = Tuning(want.dtype, now.compile)
        if want.compile != now.compile:
            self._set_compile(want.compile)
        self._sync()
        self.tuning = want
        self._tune_s = time.perf_counter() - start

    def _switch(self, what: str, step: Any) -> None:
        try:
            step()
        except EngineError:
            raise
        except Exception as exc:
            raise EngineError(
                f"{self.target.id}: {what} failed: {type(exc).__name__}: {exc}"
            ) from exc

    def _set_compile(self, backend: str) -> None:
        targets = self.compile_targets()
        if backend != OFF:
            if not targets:
                raise EngineError(
                    f"{self.target.id}: knob compile={backend!r}: "
                    f"{type(self).__name__} names no modules to compile"
                )
            check_backend(self._torch, backend, self.target.id)
            self._compiled_names = dotted_names(self.model, targets)
        self._switch(
            f"compile={backend}", lambda: self._compiled.switch(self._torch, targets, backend)
        )

    def cast_model(self, dtype: Any) -> None:
        """Put the model's weights in ``dtype`` (a torch dtype), from the weights as
        loaded; adapters whose model is several modules cast each with
        :meth:`cast_module`."""
        self.cast_module(self.model, dtype)

    def cast_module(self, module: Any, dtype: Any) -> None:
        """``module``'s floating parameters and buffers in ``dtype``, from a host copy
        of them as loaded: casting back to the load dtype is exact."""
        self._masters.cast(module, dtype)

    def compile_targets(self) -> list[tuple[object, str]]:
        """(parent, attribute name) of each hot nn.Module that compile=... compiles."""
        return []

    def tuning_details(self) -> dict[str, object]:
        """What details() reports: the dtype and compile state the model runs with."""
        backend = self.tuning.compile
        compiled = f"{backend}: {', '.join(self._compiled_names)}" if backend != OFF else OFF
        return {"dtype": self.tuning.dtype, "compile": compiled}

    def stage_seconds(self) -> dict[str, float]:
        return self.tuning_stages()

    def tuning_stages(self) -> dict[str, float]:
        """What an adapter's ``stage_seconds`` adds to its own stages: this call's
        ``tune`` seconds (when it switched) and, with compile on, ``compiled_graphs``:
        the graphs torch.compile built during the call (0 once warm; more means the
        call paid for compilation)."""
        out = {} if self._tune_s is None else {"tune": self._tune_s}
        if self._graphs_at is not None:
            out["compiled_graphs"] = float(compiled_graphs(self._torch) - self._graphs_at)
        return out

    def reset_peak_memory(self) -> None:
        if self.target.device == "cuda":
            torch_cuda_reset_peak(self._torch)

    def peak_memory_bytes(self) -> int | None:
        if self.target.device == "cuda":
            return torch_cuda_peak_bytes(self._torch)
        return None  # torch exposes no peak counter for mps or host memory

    def close(self) -> None:
        self._compiled.clear()
        self._masters.clear()
        self.model = None
        gc.collect()
        torch = self._torch
        if torch is not None and self.target.device == "cuda":
            torch.cuda.empty_cache()
        elif torch is not None and self.target.device == "mps":
            torch.mps.empty_cache()
