"""Trial stamping: call the engine and stamp each chunk as it is handed over. Pure and
light (numpy and the engine protocol only): the cold-start child process imports this
and nothing of the audio checks, so its import time is the engine's, not ours.

A trial's clock starts at t0 = ``perf_counter_ns()`` just before the engine call and
stamps each chunk when the engine hands over a host-resident array (the moment
``next()`` returns). Validation happens after the last chunk, outside the timed region.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_ttsbench.measure.prompts import split_sentences

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from pytest_ttsbench.engines.base import Engine, SynthesisOptions


@dataclass(frozen=True)
class Chunked:
    """A finished trial's raw capture: when each chunk arrived, and the audio."""

    t0_ns: int
    chunk_ns: list[int]  # relative to t0
    chunks: list[np.ndarray[Any, np.dtype[np.float32]]]


def capture(produce: Callable[[], Iterable[Any]]) -> Chunked:
    """Call the engine and stamp every chunk. The only timed code in the plugin."""
    stamps: list[int] = []
    raw: list[Any] = []
    clock = time.perf_counter_ns
    t0 = clock()
    for chunk in produce():
        stamps.append(clock())
        raw.append(chunk)
    return Chunked(t0, [s - t0 for s in stamps], [as_audio(c, i) for i, c in enumerate(raw)])


def as_audio(chunk: Any, index: int) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Validate one handed-over chunk: a host array of float samples, flattened to mono."""
    if not isinstance(chunk, np.ndarray):
        raise TypeError(
            f"chunk {index} is a {type(chunk).__module__}.{type(chunk).__name__}, not a numpy "
            "array: adapters must hand over host memory (.cpu().numpy(), np.asarray(mx.array))"
        )
    if chunk.dtype.kind in "iu":  # PCM integers: cast as they are, they read as clipping
        raise TypeError(
            f"chunk {index}: engine handed over {chunk.dtype} audio; adapters must hand over "
            "float32 in [-1, 1]"
        )
    if chunk.dtype.kind != "f":
        raise TypeError(f"chunk {index} has dtype {chunk.dtype}, not audio samples")
    squeezed = np.squeeze(chunk)
    if squeezed.ndim > 1:
        raise TypeError(f"chunk {index} has shape {chunk.shape}: expected mono audio")
    return np.ascontiguousarray(squeezed.reshape(-1), dtype=np.float32)


def sentence_chunks(synthesize: Callable[[str], Any], sentences: Iterable[str]) -> Iterator[Any]:
    """The harness's sentence streaming: one engine call per sentence, in order."""
    for sentence in sentences:
        yield synthesize(sentence)


def producer(
    engine: Engine, text: str, opts: SynthesisOptions, mode: str
) -> Callable[[], Iterable[Any]]:
    """What one trial calls: native streaming, sentence by sentence, or one whole call.
    The engine call happens when the returned iterable is first advanced, inside t0."""
    if mode == "native":
        return lambda: engine.stream(text, opts)
    if mode == "sentence":
        sentences = split_sentences(text)
        return lambda: sentence_chunks(lambda s: engine.synthesize(s, opts), sentences)

    def whole() -> Iterator[Any]:
        yield engine.synthesize(text, opts)

    return whole
