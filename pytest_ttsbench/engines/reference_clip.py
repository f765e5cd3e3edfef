"""A voice-cloning reference clip read from a file: mono float32 at the rate the
engine wants. numpy and scipy load when a clip is first read, not at import."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from pytest_ttsbench.engines.base import EngineError
from pytest_ttsbench.engines.installed import has_module
from pytest_ttsbench.engines.lazy import lazy_module

if TYPE_CHECKING:
    from pathlib import Path

    import numpy as np
    import numpy.typing as npt
else:
    np = lazy_module("numpy")


def read_clip(path: Path, rate: int) -> npt.NDArray[np.float32]:
    """A reference clip as mono float32 at ``rate``: soundfile if installed, else WAV
    through scipy; resampled with a polyphase filter."""
    from scipy.signal import resample_poly

    try:
        if has_module("soundfile"):
            sf = importlib.import_module("soundfile")
            data, sr = sf.read(str(path), dtype="float32", always_2d=True)
        else:
            from scipy.io import wavfile

            sr, raw = wavfile.read(str(path))
            scale = float(np.iinfo(raw.dtype).max + 1) if raw.dtype.kind in "iu" else 1.0
            shift = scale if raw.dtype.kind == "u" else 0.0
            data = (np.asarray(raw, dtype=np.float64) - shift / 2) / (scale / (2 if shift else 1))
            data = data.reshape(len(raw), -1)
    except Exception as exc:
        raise EngineError(
            f"cannot read the reference clip {path}: {type(exc).__name__}: {exc}"
        ) from exc
    audio = np.asarray(data, dtype=np.float64).mean(axis=1)
    if int(sr) != rate:
        g = int(np.gcd(int(sr), rate))
        audio = resample_poly(audio, rate // g, int(sr) // g)
    return np.ascontiguousarray(audio, dtype=np.float32)
