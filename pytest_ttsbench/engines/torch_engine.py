"""What the PyTorch adapters share (Chatterbox, Kokoro and Marvis on PyTorch): torch
imported when the model loads, device sync, peak device memory, release, tensors to
host arrays.

Imports nothing heavy: torch when ``_import_torch`` runs, numpy on first use.
"""

from __future__ import annotations

import gc
import importlib
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.engines.base import Engine
from pytest_ttsbench.engines.device_memory import torch_cuda_peak_bytes, torch_cuda_reset_peak
from pytest_ttsbench.engines.hub import hub_offline
from pytest_ttsbench.engines.lazy import lazy_module

if TYPE_CHECKING:
    import numpy as np

    from pytest_ttsbench.engines.base import AudioArray
else:
    np = lazy_module("numpy")


class TorchEngine(Engine):
    """What the PyTorch adapters share: device memory, release, tensors to host arrays."""

    model: Any = None
    _torch: Any = None

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

    def reset_peak_memory(self) -> None:
        if self.target.device == "cuda":
            torch_cuda_reset_peak(self._torch)

    def peak_memory_bytes(self) -> int | None:
        if self.target.device == "cuda":
            return torch_cuda_peak_bytes(self._torch)
        return None  # torch exposes no peak counter for mps or host memory

    def close(self) -> None:
        self.model = None
        gc.collect()
        torch = self._torch
        if torch is not None and self.target.device == "cuda":
            torch.cuda.empty_cache()
        elif torch is not None and self.target.device == "mps":
            torch.mps.empty_cache()
