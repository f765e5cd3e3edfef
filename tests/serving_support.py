"""Servers for the serving tests: the project's own app serving the synthetic engine,
and small fault servers that misbehave in one named way each. All on loopback, on an
ephemeral port, on a background thread (pytest_ttsbench.serving.serve.ServerThread)."""

from __future__ import annotations

import asyncio
import itertools
import math
from typing import TYPE_CHECKING

import numpy as np
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from pytest_ttsbench.engines.synthetic import SyntheticEngine
from pytest_ttsbench.serving.framing import float_to_s16le, wav_header

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from starlette.requests import Request

RATE = 24000
SPEECH = "/v1/audio/speech"
# audio per answer: the harness's speaking-rate check wants about 15 characters per s
# (the "short" prompt is 45 characters)
AUDIO_S = 3.0


def synthetic_engine(**knobs: object) -> SyntheticEngine:
    engine = SyntheticEngine.standalone(**knobs)
    engine.load()
    return engine


def tone(seconds: float, level: float = 0.3) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return float_to_s16le(level * np.sin(2 * math.pi * 220.0 * t))


def silence(seconds: float) -> bytes:
    return bytes(2 * int(seconds * RATE))


async def _health(request: Request) -> Response:
    del request
    return PlainTextResponse("ok")


def _app(speech: Callable[[Request], Awaitable[Response]]) -> Starlette:
    return Starlette(routes=[Route(SPEECH, speech, methods=["POST"]), Route("/health", _health)])


def _pieces(*parts: tuple[float, bytes]) -> Callable[[], AsyncIterator[bytes]]:
    """A body written as (delay before it in s, bytes) pieces."""

    async def body() -> AsyncIterator[bytes]:
        for delay, data in parts:
            await asyncio.sleep(delay)
            yield data

    return body


def empty_200() -> Starlette:
    """200 OK, audio/pcm, no body at all."""

    async def speech(request: Request) -> Response:
        del request
        return Response(b"", media_type="audio/pcm")

    return _app(speech)


def every_third_500() -> Starlette:
    """Requests 3, 6, 9, ... (the RTT probes at load go to /health) fail with 500."""
    count = itertools.count(1)

    async def speech(request: Request) -> Response:
        del request
        if next(count) % 3 == 0:
            return PlainTextResponse("overloaded: try again", status_code=500)
        half = tone(AUDIO_S / 2)
        return StreamingResponse(_pieces((0.005, half), (0.005, half))(), 200)

    return _app(speech)


def stall_mid_stream(stall_s: float = 20.0) -> Starlette:
    """Some audio, then nothing for ``stall_s`` seconds (the connection stays open)."""

    async def speech(request: Request) -> Response:
        del request
        return StreamingResponse(_pieces((0.005, tone(0.1)), (stall_s, tone(0.1)))())

    return _app(speech)


def hold_headers(ready_s: float = 0.3) -> Starlette:
    """Synthesizes everything first (``ready_s``), then sends headers and all audio at
    once: time to first byte is the latency."""

    async def speech(request: Request) -> Response:
        del request
        await asyncio.sleep(ready_s)
        timing = {"server-timing": f"engine;dur={ready_s * 1000:g}", "x-engine-time": f"{ready_s}"}
        return Response(tone(AUDIO_S), media_type="audio/pcm", headers=timing)

    return _app(speech)


def wav_silence_first(silent_s: float = 0.3, gap_s: float = 0.15) -> Starlette:
    """A WAV header at once, then ``silent_s`` of digital silence, then (``gap_s``
    later) a tone: first audio comes well before first audible audio."""

    async def speech(request: Request) -> Response:
        del request
        parts = ((0.0, wav_header(RATE)), (0.005, silence(silent_s)), (gap_s, tone(AUDIO_S)))
        return StreamingResponse(_pieces(*parts)(), media_type="audio/wav")

    return _app(speech)


def reset_mid_stream() -> Starlette:
    """Some audio, then the handler fails: the chunked body is cut off."""

    async def speech(request: Request) -> Response:
        del request

        async def body() -> AsyncIterator[bytes]:
            yield tone(0.1)
            await asyncio.sleep(0.01)
            raise ConnectionResetError("simulated reset")

        return StreamingResponse(body(), media_type="audio/pcm")

    return _app(speech)


def not_wav() -> Starlette:
    """Asked for wav, answers with something else (an Ogg page header, then bytes)."""

    async def speech(request: Request) -> Response:
        del request
        return Response(b"OggS\x00\x02" + bytes(64), media_type="audio/wav")

    return _app(speech)


FAULTS: dict[str, Callable[[], Starlette]] = {
    "empty": empty_200,
    "flaky": every_third_500,
    "stall": stall_mid_stream,
    "held": hold_headers,
    "silent-start": wav_silence_first,
    "reset": reset_mid_stream,
    "not-wav": not_wav,
}
