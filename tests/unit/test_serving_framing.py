"""The speech protocol's framings decoded incrementally: every body split at every
offset (and byte by byte) decodes to the same samples as the whole body at once."""

from __future__ import annotations

import base64
import json
import struct

import numpy as np
import pytest

from pytest_ttsbench.serving.framing import (
    DELTA,
    DONE,
    Decoder,
    FramingError,
    IncompleteStream,
    MalformedEvent,
    MalformedWav,
    PcmDecoder,
    ServerErrorEvent,
    SseDecoder,
    WavDecoder,
    float_to_s16le,
    make_decoder,
    s16le_to_float,
    sse_delta,
    sse_event,
    wav_header,
)

INTS = np.array([0, 1, -1, 32767, -32768, 1234, -4321, 7, 99, -100, 5], dtype="<i2")
PCM = INTS.tobytes()
EXPECTED = INTS.astype(np.float32) / 32768.0


def _feed_split(decoder: Decoder, body: bytes, cuts: list[int]) -> np.ndarray:
    pieces, start = [], 0
    for cut in [*cuts, len(body)]:
        out = decoder.feed(body[start:cut])
        assert out.dtype == np.float32
        pieces.append(out)
        start = cut
    decoder.finish()
    return np.concatenate(pieces)


def _every_split(body: bytes) -> list[np.ndarray]:
    outs = [_feed_split(PcmDecoder(), body, [cut]) for cut in range(len(body) + 1)]
    outs.append(_feed_split(PcmDecoder(), body, list(range(1, len(body)))))
    return outs


def test_pcm_every_split_carries_the_odd_byte() -> None:
    for out in _every_split(PCM):
        np.testing.assert_array_equal(out, EXPECTED)


def test_pcm_odd_tail_is_incomplete() -> None:
    dec = PcmDecoder()
    assert dec.feed(PCM[:3]).size == 1
    with pytest.raises(IncompleteStream, match="inside a sample"):
        dec.finish()


def test_encode_round_trip() -> None:
    x = np.array([0.0, 0.5, -0.5, 1.5, -1.5, np.nan], dtype=np.float32)
    back = s16le_to_float(float_to_s16le(x))
    np.testing.assert_allclose(back, [0.0, 0.5, -0.5, 1.0, -1.0, 0.0], atol=1e-4)


@pytest.mark.parametrize("size", [0, 0xFFFFFFFF, len(PCM)])
def test_wav_every_split(size: int) -> None:
    body = wav_header(22050, data_size=size) + PCM
    for cut in range(len(body) + 1):
        dec = WavDecoder()
        out = _feed_split(dec, body, [cut])
        np.testing.assert_array_equal(out, EXPECTED)
        assert dec.sample_rate == 22050
    dec = WavDecoder()
    np.testing.assert_array_equal(_feed_split(dec, body, list(range(1, len(body)))), EXPECTED)


def test_wav_skips_other_chunks_and_stops_at_the_data_size() -> None:
    fmt = struct.pack("<HHIIHH", 1, 2, 16000, 64000, 4, 16)
    stereo = np.repeat(INTS[:10], 2).tobytes()
    body = (
        b"RIFF\x00\x00\x00\x00WAVE"
        + b"LIST"
        + struct.pack("<I", 5)
        + b"abcde\x00"  # odd size: one pad byte
        + b"fmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", len(stereo))
        + stereo
        + b"LIST\x04\x00\x00\x00trlr"
    )
    for cut in range(len(body) + 1):
        dec = WavDecoder()
        out = _feed_split(dec, body, [cut])
        np.testing.assert_array_equal(out, EXPECTED[:10])
        assert (dec.sample_rate, dec.channels) == (16000, 2)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"RIFX\x00\x00\x00\x00WAVE", "not a RIFF/WAVE"),
        (b"RIFF\x00\x00\x00\x00WAVX", "not a RIFF/WAVE"),
        (b"OggS", "not a RIFF/WAVE"),
        (
            b"RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00"
            + struct.pack("<HHIIHH", 3, 1, 24000, 96000, 4, 32),
            "only 16-bit PCM",
        ),
        (b"RIFF\x00\x00\x00\x00WAVEdata\x00\x00\x00\x00", "before the fmt"),
    ],
)
def test_wav_malformed_headers_are_named(body: bytes, message: str) -> None:
    def feed_bytewise() -> None:
        dec = WavDecoder()
        for i in range(len(body)):
            dec.feed(body[i : i + 1])
        dec.finish()

    with pytest.raises(MalformedWav, match=message):
        feed_bytewise()


def test_wav_cut_inside_the_header() -> None:
    dec = WavDecoder()
    dec.feed(wav_header(24000)[:30])
    with pytest.raises(MalformedWav, match="inside the WAV header"):
        dec.finish()


def _sse_body(newline: bytes = b"\n") -> bytes:
    first, second = PCM[:7], PCM[7:]  # the odd byte crosses events
    body = b": keep-alive comment\n\n" + b"event: speech\n" + sse_delta(first)
    body += b"id: 2\n" + sse_delta(second)
    body += sse_event({"type": "speech.audio.other", "x": 1})
    body += sse_event({"type": DONE, "usage": {"input_tokens": 3}})
    return body.replace(b"\n", newline)


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_sse_every_split(newline: bytes) -> None:
    body = _sse_body(newline)
    for cut in range(len(body) + 1):
        dec = SseDecoder()
        np.testing.assert_array_equal(_feed_split(dec, body, [cut]), EXPECTED)
        assert dec.state.done
        assert dec.state.done_event["usage"] == {"input_tokens": 3}
        assert dec.state.ignored_types == ["speech.audio.other"]
        assert dec.state.comments == 1
    dec = SseDecoder()
    step = list(range(1, len(body)))
    np.testing.assert_array_equal(_feed_split(dec, body, step), EXPECTED)


def test_sse_multi_line_data_is_joined() -> None:
    audio = base64.b64encode(PCM).decode()
    text = json.dumps({"type": DELTA, "audio": audio})
    half = text.index(", ") + 1  # between two JSON tokens
    body = f"data: {text[:half]}\ndata:{text[half:]}\n\n".encode()  # JSON tolerates the \n
    body += b"data: [DONE]\n\n"
    dec = SseDecoder()
    np.testing.assert_array_equal(_feed_split(dec, body, [5]), EXPECTED)


@pytest.mark.parametrize(
    ("event", "error", "message"),
    [
        (b"data: {not json\n\n", MalformedEvent, "not JSON"),
        (b'data: {"audio": "AAAA"}\n\n', MalformedEvent, "no type"),
        (b'data: {"type": "speech.audio.delta"}\n\n', MalformedEvent, "no audio"),
        (b'data: {"type": "speech.audio.delta", "audio": "@@@"}\n\n', MalformedEvent, "base64"),
        (b'data: {"type": "error", "error": "out of memory"}\n\n', ServerErrorEvent, "memory"),
    ],
)
def test_sse_malformed_events_are_named(event: bytes, error: type[Exception], message: str) -> None:
    dec = SseDecoder()
    dec.feed(sse_delta(PCM[:4]))
    with pytest.raises(error, match=message):
        dec.feed(event)
    assert issubclass(error, FramingError)


def test_sse_without_done_is_incomplete() -> None:
    dec = SseDecoder()
    assert dec.feed(sse_delta(PCM)).size == len(INTS)
    with pytest.raises(IncompleteStream, match=DONE):
        dec.finish()


def test_sse_last_event_without_blank_line_counts() -> None:
    dec = SseDecoder()
    dec.feed(sse_delta(PCM) + b'data: {"type": "speech.audio.done"}')
    dec.finish()
    assert dec.state.done


def test_make_decoder() -> None:
    assert isinstance(make_decoder("pcm", "audio"), PcmDecoder)
    assert isinstance(make_decoder("wav", "audio"), WavDecoder)
    assert isinstance(make_decoder("wav", "sse"), SseDecoder)
    with pytest.raises(FramingError, match="response_format"):
        make_decoder("mp3", "audio")
    with pytest.raises(FramingError, match="stream_format"):
        make_decoder("pcm", "ws")
