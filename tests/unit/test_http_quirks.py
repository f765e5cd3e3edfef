"""Protocol quirks of third-party OpenAI-compatible TTS servers that the HTTP client
reads right (docs/THIRD_PARTY_SERVERS.md).

fastkokoro (PyPI) streams ``response_format: wav`` as one whole WAV file per text
segment, back to back in one body, each with its own header and data size. A decoder
that stops at the first data size keeps the first segment only and calls the call done.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Route

from pytest_ttsbench.engines.base import EngineContext, SynthesisOptions, WeightsLookup
from pytest_ttsbench.engines.http_server import HttpServerEngine
from pytest_ttsbench.results.target import Target
from pytest_ttsbench.serving.framing import (
    MalformedWav,
    WavDecoder,
    s16le_to_float,
    wav_header,
)
from pytest_ttsbench.serving.serve import ServerThread

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

INTS = (np.arange(-300, 300, 7, dtype="<i2") * 97).astype("<i2")
SEGMENTS = [INTS[:30].tobytes(), INTS[30:31].tobytes(), INTS[31:].tobytes()]


def _wav_file(pcm: bytes, rate: int = 24000, channels: int = 1) -> bytes:
    """A whole WAV file, sizes filled in, as soundfile writes one."""
    return wav_header(rate, data_size=len(pcm), channels=channels) + pcm


def _feed(dec: object, body: bytes, cuts: list[int]) -> np.ndarray:
    out, last = [], 0
    for cut in [*cuts, len(body)]:
        out.append(dec.feed(body[last:cut]))  # type: ignore[attr-defined]
        last = cut
    dec.finish()  # type: ignore[attr-defined]
    return np.concatenate(out)


BODY = b"".join(_wav_file(pcm) for pcm in SEGMENTS)
EXPECTED = s16le_to_float(b"".join(SEGMENTS))


def test_wav_files_back_to_back_are_one_stream_at_every_split() -> None:
    # every file of the body, however it is split (a decoder that stopped at the first
    # data size kept EXPECTED[:30] and called it the whole answer)
    for cut in range(len(BODY) + 1):
        dec = WavDecoder()
        np.testing.assert_array_equal(_feed(dec, BODY, [cut]), EXPECTED)
        assert dec.files == 3
        assert dec.sample_rate == 24000
    dec = WavDecoder()
    np.testing.assert_array_equal(_feed(dec, BODY, list(range(1, len(BODY)))), EXPECTED)


def test_a_later_header_is_bounded_by_its_own_bytes() -> None:
    # more than the header limit (64 KiB) of audio before a second header split in two
    first = np.zeros(40_000, dtype="<i2").tobytes()
    body = _wav_file(first) + _wav_file(SEGMENTS[0])
    split = len(_wav_file(first)) + 20
    out = _feed(WavDecoder(), body, [split])
    assert out.size == 40_000 + 30


@pytest.mark.parametrize("size", [0, 0xFFFFFFFF])
def test_unknown_size_and_trailers_read_as_before(size: int) -> None:
    body = wav_header(22050, data_size=size) + b"".join(SEGMENTS)
    np.testing.assert_array_equal(_feed(WavDecoder(), body, [50]), EXPECTED)
    trailer = _wav_file(SEGMENTS[0]) + b"LIST\x04\x00\x00\x00trlr" + _wav_file(SEGMENTS[2])
    for cut in range(len(trailer) + 1):
        out = _feed(WavDecoder(), trailer, [cut])
        np.testing.assert_array_equal(out, EXPECTED[:30])  # after a trailer: not audio


def test_a_later_file_of_another_format_is_named() -> None:
    body = _wav_file(SEGMENTS[0]) + _wav_file(SEGMENTS[2], rate=16000)
    with pytest.raises(MalformedWav, match=r"WAV file 2 of the body is 1 channel\(s\) at 16000 Hz"):
        _feed(WavDecoder(), body, [])


def test_a_body_cut_inside_a_later_header_is_named() -> None:
    body = _wav_file(SEGMENTS[0]) + _wav_file(SEGMENTS[2])[:30]
    with pytest.raises(MalformedWav, match="inside the header of WAV file 2"):
        _feed(WavDecoder(), body, [])
    bad = _wav_file(SEGMENTS[0]) + b"RIFF\x00\x00\x00\x00WAVX"
    with pytest.raises(MalformedWav, match="not a RIFF/WAVE"):
        _feed(WavDecoder(), bad, [])


def _segments_server() -> Starlette:
    """fastkokoro's wav stream: one whole WAV file per segment, each its own write."""

    async def speech(request: object) -> StreamingResponse:
        del request

        async def body() -> AsyncIterator[bytes]:
            for pcm in SEGMENTS:
                yield _wav_file(pcm)

        return StreamingResponse(body(), media_type="audio/wav")

    return Starlette(routes=[Route("/v1/audio/speech", speech, methods=["POST"])])


def test_the_client_reads_every_segment_of_a_wav_stream() -> None:
    with ServerThread(_segments_server()) as server:
        ctx = EngineContext(
            Target("server", "http", "remote", "default"),
            WeightsLookup.not_needed(),
            {"response_format": "wav", "rtt_probes": "1"},
            False,
            Path(),
        )
        engine = type("Segments", (HttpServerEngine,), {"base_url": server.url})(ctx)
        engine.load()
        try:
            audio = engine.synthesize("hi", SynthesisOptions())
        finally:
            engine.close()
    np.testing.assert_array_equal(audio, EXPECTED)
    assert struct.unpack("<I", BODY[40:44])[0] == 60  # the first file's data size: 30 samples
