"""Accelerator peak memory as the framework counts it: torch's CUDA caching allocator and
the MLX allocator, reset before and read after a measured region, in bytes; and MLX's
buffer cache, released when an engine closes.

``None`` wherever the framework is not loaded or does not expose a peak: never a 0 that
pretends. Each helper takes the framework module the adapter imported itself (``None``
before it loads one), so this module imports neither torch nor mlx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable


def _torch_cuda(torch: Any) -> Any | None:
    """torch.cuda when CUDA is available *and* initialized (else nothing is on it)."""
    cuda = getattr(torch, "cuda", None)
    if cuda is None:
        return None
    try:
        if not cuda.is_available() or not cuda.is_initialized():
            return None
    except Exception:  # a broken driver must not break the benchmark
        return None
    return cuda


def torch_cuda_reset_peak(torch: Any, device_index: int | None = None) -> bool:
    """Reset torch's CUDA peak-memory counters; True if there was one to reset.

    False when torch is not loaded, CUDA is unavailable, or not initialized yet (no
    CUDA memory exists, so the peak starts at 0 anyway when it initializes).
    """
    cuda = _torch_cuda(torch)
    if cuda is None:
        return False
    cuda.reset_peak_memory_stats(device_index)
    return True


def torch_cuda_peak_bytes(
    torch: Any, device_index: int | None = None, *, reserved: bool = False
) -> int | None:
    """Peak CUDA memory torch allocated (``reserved=True``: held by its caching
    allocator) since the last reset, in bytes; None when CUDA is not in use."""
    cuda = _torch_cuda(torch)
    if cuda is None:
        return None
    fn = cuda.max_memory_reserved if reserved else cuda.max_memory_allocated
    return int(fn(device_index))


def _mlx_fn(mx: Any, name: str) -> Callable[..., Any] | None:
    """mx.<name> (mlx >= 0.24) or mx.metal.<name> (older mlx), whichever exists."""
    if mx is None:
        return None
    for owner in (mx, getattr(mx, "metal", None)):
        fn = getattr(owner, name, None)
        if callable(fn):
            found: Callable[..., Any] = fn
            return found
    return None


def mlx_reset_peak(mx: Any) -> bool:
    """Reset MLX's peak-memory counter; True if mlx is loaded and exposes one."""
    fn = _mlx_fn(mx, "reset_peak_memory")
    if fn is None:
        return False
    fn()
    return True


def mlx_peak_bytes(mx: Any) -> int | None:
    """MLX's peak allocator memory since the last reset, in bytes; None if not exposed."""
    fn = _mlx_fn(mx, "get_peak_memory")
    if fn is None:
        return None
    return int(fn())


def mlx_clear_cache(mx: Any) -> bool:
    """Hand MLX's cached buffers back to the system; True if mlx is loaded and can."""
    fn = _mlx_fn(mx, "clear_cache")
    if fn is None:
        return False
    fn()
    return True
