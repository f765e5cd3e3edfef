"""The OpenAI-compatible speech protocol's audio framings, decoded incrementally.

``POST /v1/audio/speech`` answers with one of three bodies, and a client reads them in
whatever pieces the network hands over:

- ``pcm`` (``stream_format`` "audio"): raw signed 16-bit little-endian mono samples; a
  read may end in the middle of a sample, so the odd byte is carried to the next read.
- ``wav``: a RIFF header (``RIFF`` size ``WAVE``, a ``fmt `` chunk, maybe others, then
  ``data``), then the same samples. The sample rate comes from the header; a streaming
  server writes a data size of 0 or 0xFFFFFFFF (unknown), which is accepted.
- ``sse`` (``stream_format`` "sse"): ``text/event-stream`` events
  ``data: {"type": "speech.audio.delta", "audio": "<base64 pcm>"}``, ending with
  ``{"type": "speech.audio.done", ...}``; events may be split anywhere, lines end in LF
  or CRLF, an event may have several ``data:`` lines, ``:`` lines are comments.

Each decoder's ``feed(bytes)`` returns the float32 samples (full scale 1.0) decoded so
far from what it was given, possibly none; ``finish()`` says whether the body ended
cleanly. Anything malformed raises a :class:`FramingError` subclass that names what
was wrong. The encoders the serving app writes with live here too, so both sides agree.

Pure: numpy and the standard library only (no pytest, no HTTP client).
"""

from __future__ import annotations

import base64
import binascii
import json
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]

DEFAULT_SAMPLE_RATE = 24000
RESPONSE_FORMATS = ("pcm", "wav")
STREAM_FORMATS = ("audio", "sse")
DELTA = "speech.audio.delta"
DONE = "speech.audio.done"
UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # a streaming WAV header's RIFF / data size
MAX_HEADER_BYTES = 1 << 16  # a WAV header (fmt and LIST chunks) longer than this is garbage
MAX_EVENT_BYTES = 1 << 24  # one SSE event (16 MiB of base64) at most


class FramingError(ValueError):
    """A response body that does not follow its framing; the message says how."""


class MalformedWav(FramingError):
    """A WAV header that is not RIFF/WAVE 16-bit PCM, or a body cut inside it."""


class MalformedEvent(FramingError):
    """An SSE event that is not the speech protocol's JSON, or carries bad audio."""


class IncompleteStream(FramingError):
    """The body ended where the framing says more must follow."""


class ServerErrorEvent(FramingError):
    """The server reported an error inside an SSE stream (``{"type": "error"}``)."""


def _empty() -> FloatArray:
    return np.zeros(0, dtype=np.float32)


def s16le_to_float(data: bytes, channels: int = 1) -> FloatArray:
    """Whole 16-bit samples (interleaved channels averaged to mono) as float32."""
    ints = np.frombuffer(data, dtype="<i2")
    samples = ints.astype(np.float32) / np.float32(32768.0)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1, dtype=np.float32)
    return samples


class PcmDecoder:
    """Raw s16le: whole samples out, a trailing partial sample carried to the next feed."""

    def __init__(self, sample_rate: int = DEFAULT_SAMPLE_RATE, channels: int = 1) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self._carry = b""
        self.bytes_in = 0
        self.samples_out = 0

    def feed(self, data: bytes) -> FloatArray:
        self.bytes_in += len(data)
        buf = self._carry + data
        frame = 2 * self.channels
        whole = len(buf) - len(buf) % frame
        self._carry = buf[whole:]
        if not whole:
            return _empty()
        out = s16le_to_float(buf[:whole], self.channels)
        self.samples_out += out.size
        return out

    def finish(self) -> None:
        if self._carry:
            raise IncompleteStream(
                f"PCM body ended inside a sample: {len(self._carry)} byte(s) left over "
                f"after {self.bytes_in} bytes (s16le needs {2 * self.channels} per frame)"
            )


class WavDecoder:
    """RIFF/WAVE headers parsed across any split, then their 16-bit PCM data. A body may
    hold several whole WAV files back to back (fastkokoro streams ``wav`` so, one file
    per text segment): a ``RIFF`` right after a data chunk starts the next file, whose
    rate and channels must be the first's (else MalformedWav); any other chunk there is
    a trailer (``LIST``), dropped. Stopping at the first data size instead would cut the
    audio to the first segment without a word."""

    def __init__(self) -> None:
        self._buf = b""
        self._pcm: PcmDecoder | None = None
        self._fmt: tuple[int, int, int] | None = None  # (channels, rate, bits)
        self._riff = False
        self._data_left: int | None = None  # None: unknown size (streaming)
        self._in_header = True
        self._header_in = 0  # bytes fed to the header being parsed
        self._gap = b""  # bytes after a data chunk, until four say what follows
        self._trailer = False
        self.files = 0  # the files whose data chunk has begun
        self.bytes_in = 0
        self.sample_rate: int | None = None
        self.channels = 1

    @property
    def header_done(self) -> bool:
        return self._pcm is not None

    def feed(self, data: bytes) -> FloatArray:
        self.bytes_in += len(data)
        pieces: list[FloatArray] = []
        while data and not self._trailer:
            if self._in_header:
                self._header_in += len(data)
                self._buf += data
                data = self._parse_header()
                if self._in_header:
                    break
            elif self._pcm is None:  # pragma: no cover - a header always sets it
                break
            elif self._data_left is None:  # unknown size: the rest is audio
                pieces.append(self._pcm.feed(data))
                data = b""
            elif self._data_left:
                audio, data = data[: self._data_left], data[self._data_left :]
                self._data_left -= len(audio)
                pieces.append(self._pcm.feed(audio))
            else:
                self._gap += data
                if len(self._gap) < 4:
                    break
                data, self._gap = self._gap, b""
                if data[:4] == b"RIFF":  # the next file
                    self._riff, self._fmt, self._in_header, self._header_in = (
                        False,
                        None,
                        True,
                        0,
                    )
                else:
                    self._trailer = True
        pieces = [p for p in pieces if p.size]
        if len(pieces) == 1:
            return pieces[0]
        return np.concatenate(pieces) if pieces else _empty()

    def _parse_header(self) -> bytes:
        """Consume header bytes from the buffer; return what follows the data header."""
        buf = self._buf
        if not self._riff:
            if len(buf) < 12:
                self._check_prefix(buf)
                return b""
            if buf[:4] != b"RIFF" or buf[8:12] != b"WAVE":
                raise MalformedWav(f"not a RIFF/WAVE header: starts {buf[:12]!r}")
            self._riff, buf = True, buf[12:]
        while len(buf) >= 8:
            kind, size = buf[:4], struct.unpack("<I", buf[4:8])[0]
            if kind == b"data":
                if self._fmt is None:
                    raise MalformedWav("data chunk before the fmt chunk")
                self._start_data(size)
                self._buf = b""
                return buf[8:]
            padded = size + (size & 1)
            if padded > MAX_HEADER_BYTES:
                raise MalformedWav(f"{kind!r} chunk of {size} bytes before the audio data")
            if len(buf) < 8 + padded:
                break
            if kind == b"fmt ":
                self._read_fmt(buf[8 : 8 + size])
            buf = buf[8 + padded :]
        if self._header_in > MAX_HEADER_BYTES:  # each file's header by its own bytes
            raise MalformedWav(f"no data chunk in the first {MAX_HEADER_BYTES} bytes")
        self._buf = buf
        return b""

    @staticmethod
    def _check_prefix(buf: bytes) -> None:
        head = b"RIFF"[: len(buf)]
        if buf[: len(head)] != head or (len(buf) > 8 and buf[8:] != b"WAVE"[: len(buf) - 8]):
            raise MalformedWav(f"not a RIFF/WAVE header: starts {buf!r}")

    def _read_fmt(self, body: bytes) -> None:
        if len(body) < 16:
            raise MalformedWav(f"fmt chunk of {len(body)} bytes (at least 16 expected)")
        tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
        if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the subformat
            tag = struct.unpack("<H", body[24:26])[0]
        if tag != 1 or bits != 16:
            raise MalformedWav(f"format tag {tag} with {bits} bits: only 16-bit PCM is read")
        if channels < 1 or rate < 1:
            raise MalformedWav(f"{channels} channels at {rate} Hz")
        self._fmt = (channels, rate, bits)

    def _start_data(self, size: int) -> None:
        assert self._fmt is not None
        channels, rate, _ = self._fmt
        self._in_header = False
        self.files += 1
        if self._pcm is not None and (rate, channels) != (self.sample_rate, self.channels):
            raise MalformedWav(
                f"WAV file {self.files} of the body is {channels} channel(s) at {rate} Hz; "
                f"the first was {self.channels} at {self.sample_rate} Hz"
            )
        if self._pcm is None:
            self.sample_rate, self.channels = rate, channels
            self._pcm = PcmDecoder(rate, channels)
        self._data_left = None if size in UNKNOWN_SIZES else size

    def finish(self) -> None:
        if self._pcm is None:
            raise MalformedWav(f"body ended inside the WAV header after {self.bytes_in} bytes")
        if self._in_header:
            raise MalformedWav(
                f"body ended inside the header of WAV file {self.files + 1} after "
                f"{self.bytes_in} bytes"
            )
        self._pcm.finish()


@dataclass
class SseState:
    """What an SSE stream said besides audio."""

    done: bool = False
    done_event: dict[str, Any] = field(default_factory=dict)
    events: int = 0
    comments: int = 0
    ignored_types: list[str] = field(default_factory=list)


class SseDecoder:
    """``text/event-stream`` of speech.audio.delta events, ended by speech.audio.done."""

    def __init__(self, sample_rate: int = DEFAULT_SAMPLE_RATE) -> None:
        self.sample_rate = sample_rate
        self._pcm = PcmDecoder(sample_rate)
        self._line = b""
        self._data: list[bytes] = []
        self._event_bytes = 0
        self.state = SseState()
        self.bytes_in = 0

    def feed(self, data: bytes) -> FloatArray:
        self.bytes_in += len(data)
        out: list[FloatArray] = []
        buf = self._line + data
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            line = buf[start:end]
            start = end + 1
            chunk = self._line_done(line[:-1] if line.endswith(b"\r") else line)
            if chunk is not None and chunk.size:
                out.append(chunk)
        self._line = buf[start:]
        if len(self._line) + self._event_bytes > MAX_EVENT_BYTES:
            raise MalformedEvent(f"an SSE event longer than {MAX_EVENT_BYTES} bytes")
        if not out:
            return _empty()
        return out[0] if len(out) == 1 else np.concatenate(out)

    def _line_done(self, line: bytes) -> FloatArray | None:
        if not line:
            return self._dispatch()
        if line.startswith(b":"):
            self.state.comments += 1
            return None
        name, sep, value = line.partition(b":")
        if sep and value.startswith(b" "):
            value = value[1:]
        if name == b"data":
            self._data.append(value)
            self._event_bytes += len(value)
        # event, id, retry and unknown fields carry nothing this protocol reads
        return None

    def _dispatch(self) -> FloatArray | None:
        if not self._data:
            return None
        raw = b"\n".join(self._data)
        self._data, self._event_bytes = [], 0
        self.state.events += 1
        if raw.strip() == b"[DONE]":
            self.state.done = True
            return None
        try:
            event = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedEvent(f"event {self.state.events} is not JSON: {raw[:80]!r}") from exc
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise MalformedEvent(f"event {self.state.events} has no type: {raw[:80]!r}")
        kind = event["type"]
        if kind == DELTA:
            audio = event.get("audio")
            if not isinstance(audio, str):
                raise MalformedEvent(f"event {self.state.events} ({DELTA}) has no audio string")
            try:
                pcm = base64.b64decode(audio, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise MalformedEvent(
                    f"event {self.state.events} ({DELTA}): audio is not base64"
                ) from exc
            return self._pcm.feed(pcm)
        if kind == DONE:
            self.state.done = True
            self.state.done_event = event
            return None
        if kind == "error" or kind.endswith(".error"):
            detail = event.get("error", event.get("message", event))
            raise ServerErrorEvent(f"the server sent an error event: {detail}")
        self.state.ignored_types.append(kind)
        return None

    def finish(self) -> None:
        if self._line:
            self._line_done(self._line.removesuffix(b"\r"))
            self._line = b""
        self._dispatch()  # a last event without its blank line still counts
        if not self.state.done:
            raise IncompleteStream(
                f"SSE stream ended before {DONE} ({self.state.events} events, "
                f"{self.bytes_in} bytes)"
            )
        self._pcm.finish()


Decoder = PcmDecoder | WavDecoder | SseDecoder


def make_decoder(
    response_format: str, stream_format: str, sample_rate: int = DEFAULT_SAMPLE_RATE
) -> Decoder:
    """The decoder of a response body; SSE deltas are PCM whatever response_format says."""
    if stream_format not in STREAM_FORMATS:
        raise FramingError(f"stream_format {stream_format!r}: one of {', '.join(STREAM_FORMATS)}")
    if response_format not in RESPONSE_FORMATS:
        raise FramingError(
            f"response_format {response_format!r}: one of {', '.join(RESPONSE_FORMATS)}"
        )
    if stream_format == "sse":
        return SseDecoder(sample_rate)
    if response_format == "wav":
        return WavDecoder()
    return PcmDecoder(sample_rate)


# ---- encoders: what the serving app writes ----------------------------------------------
def float_to_s16le(samples: Any) -> bytes:
    """float32 samples (full scale 1.0; NaN as 0) as s16le bytes, clipped."""
    x = np.nan_to_num(np.asarray(samples, dtype=np.float32).reshape(-1))
    ints = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2")
    return ints.tobytes()


def wav_header(sample_rate: int, data_size: int = 0xFFFFFFFF, channels: int = 1) -> bytes:
    """A 44-byte RIFF/WAVE 16-bit PCM header; the default data size says 'streaming'."""
    riff_size = 0xFFFFFFFF if data_size in UNKNOWN_SIZES else 36 + data_size
    block = 2 * channels
    fmt = struct.pack("<HHIIHH", 1, channels, sample_rate, sample_rate * block, block, 16)
    return (
        b"RIFF"
        + struct.pack("<I", riff_size)
        + b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", data_size)
    )


def sse_event(payload: dict[str, Any]) -> bytes:
    """One ``data:`` event, terminated by its blank line."""
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def sse_delta(pcm: bytes) -> bytes:
    return sse_event({"type": DELTA, "audio": base64.b64encode(pcm).decode("ascii")})
