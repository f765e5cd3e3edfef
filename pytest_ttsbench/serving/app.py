"""A Starlette app that serves one of the project's engines over the OpenAI-compatible
speech protocol, so the suites can benchmark the same engine in-process and served.

- ``POST /v1/audio/speech``: JSON ``{"model", "input", "voice", "speed",
  "response_format": "pcm"|"wav", "stream_format": "audio"|"sse", ...}``; other keys
  are engine knobs (``opts.extra``). Headers go out at once, then each chunk of the
  engine's ``stream()`` is written as soon as it is handed over: raw s16le (pcm), a
  streaming WAV header then s16le (wav), or ``speech.audio.delta`` events ending with
  ``speech.audio.done`` (sse). An engine error after the headers ends an SSE stream
  with an ``error`` event and cuts a raw stream (the client sees a truncated body).
- ``GET /health``: ``{"status": "ok", ...}``.
- ``GET /debug/stamps?id=N``: the server's own stamps of request N (the
  ``X-Request-Id`` response header): ``time.perf_counter_ns()`` when the request was
  read, when the headers were sent, and for each write the engine's hand-over
  (``ready_ns``), the ASGI ``send`` called (``send_ns``) and returned (``sent_ns``),
  with the bytes written so far. On one machine perf_counter_ns is one clock for every process, so a
  client there compares its own read stamps with these directly.

The engine runs on a thread of its own per request; calls to an engine that is not
``thread_safe`` take one lock.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_ttsbench.engines.base import SynthesisOptions
from pytest_ttsbench.serving.framing import (
    DONE,
    RESPONSE_FORMATS,
    STREAM_FORMATS,
    float_to_s16le,
    sse_delta,
    sse_event,
    wav_header,
)

if TYPE_CHECKING:
    from starlette.requests import Request
    from starlette.types import Receive, Scope, Send

    from pytest_ttsbench.engines.base import Engine

SPEECH_PATH = "/v1/audio/speech"
KEEP_STAMPS = 1000
_FIELDS = ("model", "input", "voice", "speed", "response_format", "stream_format")
CONTENT_TYPES = {"pcm": "audio/pcm", "wav": "audio/wav", "sse": "text/event-stream"}


class BadRequest(ValueError):
    """A request this server cannot serve; answered with 400 and the message."""


@dataclass
class Write:
    ready_ns: int  # the engine handed the chunk over (0: not audio, the WAV header)
    send_ns: int  # just before the ASGI send of its bytes
    sent_ns: int  # the ASGI send returned (a loopback client may read the bytes sooner)
    bytes: int
    total_bytes: int
    samples: int


@dataclass
class Stamps:
    id: int
    received_ns: int
    headers_ns: int = 0
    done_ns: int = 0
    error: str | None = None
    writes: list[Write] = field(default_factory=list)


@dataclass(frozen=True)
class SpeechRequest:
    text: str
    opts: SynthesisOptions
    response_format: str
    stream_format: str
    model: str


def parse_request(body: object) -> SpeechRequest:
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    text = body.get("input")
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("'input' must be a non-empty string")
    response_format = str(body.get("response_format", "pcm")).lower()
    if response_format not in RESPONSE_FORMATS:
        raise BadRequest(f"response_format {response_format!r}: this server writes pcm or wav")
    stream_format = str(body.get("stream_format", "audio")).lower()
    if stream_format not in STREAM_FORMATS:
        raise BadRequest(f"stream_format {stream_format!r}: one of audio, sse")
    try:
        speed = float(body.get("speed", 1.0))
    except (TypeError, ValueError):
        raise BadRequest(f"speed {body.get('speed')!r} is not a number") from None
    if not 0.25 <= speed <= 4.0:
        raise BadRequest(f"speed {speed:g} is outside 0.25..4.0")
    voice = body.get("voice")
    if voice is not None and not isinstance(voice, str):
        raise BadRequest("'voice' must be a string")
    extra = {
        k: v
        for k, v in body.items()
        if k not in _FIELDS and isinstance(v, str | int | float | bool)
    }
    opts = SynthesisOptions(
        voice=None if voice in (None, "default") else voice, speed=speed, extra=extra
    )
    return SpeechRequest(text, opts, response_format, stream_format, str(body.get("model", "")))


class EngineServer:
    """The engine, its lock and the stamps of the last requests."""

    def __init__(self, engine: Engine, name: str) -> None:
        self.engine = engine
        self.name = name
        self.lock = None if engine.capabilities.thread_safe else threading.Lock()
        self.stamps: deque[Stamps] = deque(maxlen=KEEP_STAMPS)
        self._ids = itertools.count(1)

    def new_stamps(self) -> Stamps:
        stamps = Stamps(next(self._ids), time.perf_counter_ns())
        self.stamps.append(stamps)
        return stamps

    def find(self, request_id: int) -> Stamps | None:
        return next((s for s in reversed(self.stamps) if s.id == request_id), None)

    def produce(self, req: SpeechRequest, put: Any, cancelled: threading.Event) -> None:
        """On the request's own thread: every chunk to ``put`` as (chunk, ready_ns)."""
        try:
            if self.lock is not None:
                self.lock.acquire()
            try:
                for chunk in self.engine.stream(req.text, req.opts):
                    put(("chunk", chunk, time.perf_counter_ns()))
                    if cancelled.is_set():
                        break
            finally:
                if self.lock is not None:
                    self.lock.release()
        except Exception as exc:
            put(("error", f"{type(exc).__name__}: {exc}", 0))
        else:
            put(("end", None, 0))


class SpeechStream(Response):
    """A streamed answer that stamps each ASGI send."""

    def __init__(self, server: EngineServer, req: SpeechRequest, stamps: Stamps) -> None:
        super().__init__(status_code=200)
        self.server, self.req, self.stamps = server, req, stamps
        kind = "sse" if req.stream_format == "sse" else req.response_format
        self.raw_headers = [
            (b"content-type", CONTENT_TYPES[kind].encode()),
            (b"cache-control", b"no-store"),
            (b"x-request-id", str(stamps.id).encode()),
            (b"x-sample-rate", str(server.engine.sample_rate).encode()),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any, int]] = asyncio.Queue()
        cancelled = threading.Event()

        def put(item: tuple[str, Any, int]) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        thread = threading.Thread(
            target=self.server.produce, args=(self.req, put, cancelled), daemon=True
        )
        stamps, total = self.stamps, 0

        async def write(data: bytes, ready_ns: int, samples: int) -> None:
            nonlocal total
            send_ns = time.perf_counter_ns()
            await send({"type": "http.response.body", "body": data, "more_body": True})
            total += len(data)
            sent_ns = time.perf_counter_ns()
            stamps.writes.append(Write(ready_ns, send_ns, sent_ns, len(data), total, samples))

        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        stamps.headers_ns = time.perf_counter_ns()
        thread.start()
        sse = self.req.stream_format == "sse"
        rate = self.server.engine.sample_rate
        try:
            if self.req.response_format == "wav" and not sse:
                await write(wav_header(rate), 0, 0)
            while True:
                kind, payload, ready_ns = await queue.get()
                if kind == "chunk":
                    pcm = float_to_s16le(payload)
                    if pcm:
                        await write(sse_delta(pcm) if sse else pcm, ready_ns, len(pcm) // 2)
                    continue
                if kind == "error":
                    stamps.error = str(payload)
                    if not sse:
                        raise RuntimeError(f"engine failed mid-stream: {payload}")
                    await write(sse_event({"type": "error", "error": str(payload)}), 0, 0)
                else:
                    stamps.done_ns = time.perf_counter_ns()
                    if sse:
                        await write(self._done_event(), 0, 0)
                break
        except BaseException:
            cancelled.set()  # the client went away, or a raw stream is cut
            raise
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _done_event(self) -> bytes:
        s = self.stamps
        samples = sum(w.samples for w in s.writes)
        first = next((w.ready_ns for w in s.writes if w.samples), s.done_ns)
        return sse_event(
            {
                "type": DONE,
                "request_id": s.id,
                "usage": {"input_characters": len(self.req.text), "output_samples": samples},
                "timing": {
                    "first_audio_ms": (first - s.received_ns) / 1e6,
                    "total_ms": (s.done_ns - s.received_ns) / 1e6,
                },
            }
        )


def create_app(engine: Engine, name: str = "ttsbench") -> Starlette:
    """The app serving a loaded ``engine``; ``app.state.server`` holds its stamps."""
    server = EngineServer(engine, name)

    async def speech(request: Request) -> Response:
        stamps = server.new_stamps()
        try:
            req = parse_request(await request.json())
        except ValueError as exc:  # BadRequest, or a body that is not JSON
            stamps.error = str(exc)
            return JSONResponse(
                {"error": {"message": str(exc), "type": "invalid_request_error"}}, 400
            )
        return SpeechStream(server, req, stamps)

    async def health(request: Request) -> Response:
        del request
        target = engine.target
        return JSONResponse(
            {
                "status": "ok",
                "name": name,
                "target": target.id,
                "sample_rate": engine.sample_rate,
                "capabilities": engine.capabilities.as_dict(),
            }
        )

    async def debug_stamps(request: Request) -> Response:
        wanted = request.query_params.get("id")
        if wanted is None:
            return JSONResponse({"ids": [s.id for s in server.stamps]})
        found = server.find(int(wanted)) if wanted.isdigit() else None
        if found is None:
            return JSONResponse({"error": f"no stamps for request {wanted!r}"}, 404)
        return JSONResponse(asdict(found))

    app = Starlette(
        routes=[
            Route(SPEECH_PATH, speech, methods=["POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/debug/stamps", debug_stamps, methods=["GET"]),
        ]
    )
    app.state.server = server
    return app
