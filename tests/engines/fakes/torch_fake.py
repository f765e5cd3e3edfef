"""A numpy-backed stand-in for the few torch calls the PyTorch adapters and fakes make."""

from __future__ import annotations

import contextlib
import types
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from collections.abc import Iterator


class FakeTensor:
    """Just enough of torch.Tensor: shape, squeeze/unsqueeze, detach().cpu().float().numpy()."""

    def __init__(self, data: Any, device: str = "cpu") -> None:
        self.data: npt.NDArray[Any] = np.asarray(data)
        self.device = device

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    def __getitem__(self, index: Any) -> FakeTensor:
        return FakeTensor(self.data[index], self.device)

    def squeeze(self, dim: int) -> FakeTensor:
        return FakeTensor(np.squeeze(self.data, axis=dim), self.device)

    def unsqueeze(self, dim: int) -> FakeTensor:
        return FakeTensor(np.expand_dims(self.data, axis=dim), self.device)

    def detach(self) -> FakeTensor:
        return self

    def cpu(self) -> FakeTensor:
        return FakeTensor(self.data, "cpu")

    def float(self) -> FakeTensor:
        return FakeTensor(self.data.astype(np.float32), self.device)

    def numpy(self) -> npt.NDArray[Any]:
        if self.device != "cpu":
            raise TypeError("can't convert a device tensor to numpy; call .cpu() first")
        return self.data

    def to(self, device: str) -> FakeTensor:
        return FakeTensor(self.data, device)


class TorchRecorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []
        self.peak = 123_456


def make_torch() -> tuple[types.ModuleType, TorchRecorder]:
    rec = TorchRecorder()
    torch = types.ModuleType("torch")
    torch.__version__ = "0.0-fake"  # type: ignore[attr-defined]

    def record(name: str, result: object = None) -> Any:
        def call(*args: Any, **kwargs: Any) -> object:
            rec.calls.append((name, args))
            return result

        return call

    cuda = types.SimpleNamespace(
        is_available=lambda: True,
        is_initialized=lambda: True,
        synchronize=record("cuda.synchronize"),
        reset_peak_memory_stats=record("cuda.reset_peak_memory_stats"),
        max_memory_allocated=lambda *a: rec.peak,
        empty_cache=record("cuda.empty_cache"),
    )
    torch.cuda = cuda  # type: ignore[attr-defined]
    torch.mps = types.SimpleNamespace(empty_cache=record("mps.empty_cache"))  # type: ignore[attr-defined]
    torch.manual_seed = record("manual_seed")  # type: ignore[attr-defined]
    torch.float32 = "torch.float32"  # type: ignore[attr-defined]
    torch.float16 = "torch.float16"  # type: ignore[attr-defined]
    torch.bfloat16 = "torch.bfloat16"  # type: ignore[attr-defined]
    torch.from_numpy = FakeTensor  # type: ignore[attr-defined]

    @contextlib.contextmanager
    def inference_mode() -> Iterator[None]:
        rec.calls.append(("inference_mode", ()))
        yield

    torch.inference_mode = inference_mode  # type: ignore[attr-defined]
    return torch, rec
