"""A TTS server as an engine: an HTTP client of the OpenAI-compatible speech protocol.

``POST {url}/v1/audio/speech`` with JSON ``{"model", "input", "voice", "speed",
"response_format", "stream_format", ...}``; the body (raw pcm, wav or SSE) is decoded
as its bytes arrive (serving/framing.py) and each non-empty piece of audio is yielded
at once, so the harness's stamps are what a client of the server sees.

Knobs (``--tts-opt`` or ``opts.extra``): ``response_format`` (pcm), ``stream_format``
(audio), ``voice``, ``speed``, and any other knob, all sent in the request. Read by the
client only, never sent: ``connect_timeout`` (10 s), ``read_timeout`` (60 s: no byte
for that long fails the call), ``rtt_probes`` (5), ``trust_env`` (false: proxy
variables of the environment are ignored unless true), ``sample_rate`` (24000: raw
pcm's rate unless the server sends an ``X-Sample-Rate`` header or a JSON ``/health``
with ``sample_rate``; a WAV header wins). A ``/health`` whose ``capabilities`` say
``deterministic`` makes the target deterministic; otherwise it is not.

Per call, :meth:`stage_seconds` takes the time to first audio apart: ``connect`` (TCP
and TLS set-up; 0 on a reused connection), ``headers`` (response headers received),
``first_byte``, ``first_audio`` (first decoded sample), ``first_audible`` (first chunk
above the harness's silence floor), each from the start of the call, plus ``rtt`` (the
network round trip measured at load) and each of them ``_net_adj`` (less one round
trip, at least 0), and ``server_<name>`` for what ``Server-Timing`` and
``X-Engine-Time`` headers and an SSE done event's ``timing`` say.

Failures are data: an HTTP status of 400 or more, a timeout, a connection closed
mid-stream, a malformed frame and a 200 with no audio each raise :class:`EngineError`
naming what happened; the harness records a failed trial.

httpx is imported at load, numpy and the decoders at the first call: collection
imports this module without either.
"""

from __future__ import annotations

import contextlib
import dataclasses
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pytest_ttsbench.engines.base import (
    Capabilities,
    Engine,
    EngineContext,
    EngineError,
    SynthesisOptions,
)
from pytest_ttsbench.flag_words import parse_flag

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    import httpx
    import numpy as np

    from pytest_ttsbench.serving.framing import Decoder

SPEECH_PATH = "/v1/audio/speech"
CLIENT_KNOBS = ("connect_timeout", "read_timeout", "rtt_probes", "sample_rate", "trust_env")
_DEFAULTS: dict[str, object] = {
    "response_format": "pcm",
    "stream_format": "audio",
    "connect_timeout": 10.0,
    "read_timeout": 60.0,
    "rtt_probes": 5,
    "sample_rate": 24000,
    "trust_env": "false",
}
STAGES = ("connect", "headers", "first_byte", "first_audio", "first_audible")
MAX_ERROR_BODY = 300


@dataclass
class CallRecord:
    """One call as the client saw it: the stage stamps and every read of the body."""

    start_ns: int
    request: dict[str, Any]
    connect_ns: int = 0  # TCP (+TLS) set-up time; 0 when the connection was reused
    headers_ns: int | None = None
    first_byte_ns: int | None = None
    first_audio_ns: int | None = None
    first_audible_ns: int | None = None
    reads: list[tuple[int, int]] = field(default_factory=list)  # (ns, total bytes so far)
    chunks: list[tuple[int, int]] = field(default_factory=list)  # (ns, samples) yielded
    headers: dict[str, str] = field(default_factory=dict)
    server_times: dict[str, float] = field(default_factory=dict)
    status: int | None = None

    @property
    def bytes_in(self) -> int:
        return self.reads[-1][1] if self.reads else 0


def parse_server_timing(headers: Mapping[str, str]) -> dict[str, float]:
    """``Server-Timing: engine;dur=12.5, queue;dur=0.3`` (ms) and ``X-Engine-Time``
    (seconds, or with an ``ms`` suffix) as seconds, keyed ``server_<name>``."""
    out: dict[str, float] = {}
    for entry in headers.get("server-timing", "").split(","):
        name, *params = (p.strip() for p in entry.split(";"))
        for param in params:
            key, _, value = param.partition("=")
            if name and key.strip().lower() == "dur":
                with contextlib.suppress(ValueError):
                    out[f"server_{name.lower()}"] = float(value.strip('" ')) / 1000.0
    engine_time = headers.get("x-engine-time", "").strip().lower()
    if engine_time:
        try:
            if engine_time.endswith("ms"):
                out["server_engine_time"] = float(engine_time[:-2]) / 1000.0
            else:
                out["server_engine_time"] = float(engine_time.removesuffix("s"))
        except ValueError:
            pass
    return out


def done_timing(decoder: object) -> dict[str, float]:
    """The ``timing`` of an SSE ``speech.audio.done`` event (this project's serve app
    sends ``first_audio_ms`` and ``total_ms``), in seconds, keyed ``server_<name>``."""
    state = getattr(decoder, "state", None)
    timing = getattr(state, "done_event", {}).get("timing")
    if not isinstance(timing, dict):
        return {}
    out = {}
    for key, value in timing.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            name = str(key).removesuffix("_ms")
            out[f"server_{name}"] = value / 1000.0 if str(key).endswith("_ms") else float(value)
    return out


class HttpServerEngine(Engine):
    """Subclassed per server by serving/targets.py, which sets the class attributes."""

    capabilities = Capabilities(stream=True, speed=True, voices=True, thread_safe=True)
    base_url: ClassVar[str] = "http://127.0.0.1:8000"
    request_model: ClassVar[str] = "tts-1"  # the "model" the requests send

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self._local = threading.local()
        self._clients: list[httpx.Client] = []
        self._lock = threading.Lock()
        self._httpx: Any = None
        self.rtt_s: float | None = None
        self.rtt_samples: list[float] = []
        self.connect_s: float | None = None  # the first connection's set-up, at load
        self.health: dict[str, Any] = {}  # a JSON /health answer, as the server sent it
        self.last_call: CallRecord | None = None
        self.sample_rate = int(self._knob("sample_rate"))

    # ---- knobs and the client ----------------------------------------------------------
    def _knob(self, name: str, opts: SynthesisOptions | None = None) -> Any:
        if opts is not None and name in opts.extra:
            return opts.extra[name]
        return self.ctx.options.get(name, _DEFAULTS.get(name))

    def _float_knob(self, name: str, opts: SynthesisOptions | None = None) -> float:
        raw = self._knob(name, opts)
        try:
            return float(raw)
        except (TypeError, ValueError):
            raise EngineError(f"{name}={raw!r} is not a number") from None

    def _client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            hx = self._httpx
            timeout = hx.Timeout(
                self._float_knob("read_timeout"), connect=self._float_knob("connect_timeout")
            )
            client = hx.Client(
                base_url=self.base_url,
                timeout=timeout,
                # uncompressed: a compressing server would buffer what it streams
                headers={"accept-encoding": "identity"},
                # no proxy from the environment unless asked: numbers through an
                # unintended proxy are not the server's
                trust_env=parse_flag(self._knob("trust_env")) is True,
            )
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client

    def load(self) -> None:
        try:
            import httpx
        except ImportError as exc:  # the matrix checks first; a race is still named
            raise EngineError(f"httpx is not installed: {exc}") from exc
        self._httpx = httpx
        self.rtt_samples = self._probe_rtt(max(1, int(self._float_knob("rtt_probes"))))
        self.rtt_s = statistics.median(self.rtt_samples)

    def _probe_rtt(self, n: int) -> list[float]:
        """Round trips of a small GET (/health, else /) on a warm connection: the
        first request opens the connection and is not counted."""
        client, times = self._client(), []
        path = "/health"
        opening = CallRecord(time.perf_counter_ns(), {})
        try:
            first = client.get(path, extensions={"trace": self._trace(opening)})
            self.connect_s = opening.connect_ns / 1e9
            if first.status_code == 404:
                path = "/"
                client.get(path)
            else:
                self._read_health(first)
            for _ in range(n):
                start = time.perf_counter()
                client.get(path)
                times.append(time.perf_counter() - start)
        except self._httpx.HTTPError as exc:
            raise EngineError(
                f"server {self.base_url} unreachable: {type(exc).__name__}: {exc}"
            ) from exc
        return times

    def _read_health(self, response: httpx.Response) -> None:
        """What a JSON /health says about the server (this project's serve app says
        ``sample_rate`` and ``capabilities``): a deterministic engine behind it makes
        this target deterministic; its rate is raw pcm's unless sample_rate is set."""
        try:
            about = response.json()
        except ValueError:
            return
        if not isinstance(about, dict):
            return
        self.health = about
        caps = about.get("capabilities")
        if isinstance(caps, dict) and caps.get("deterministic") is True:
            # this instance's own (the class's are every server's): the server said so
            deterministic = dataclasses.replace(self.capabilities, deterministic=True)
            object.__setattr__(self, "capabilities", deterministic)
        rate = about.get("sample_rate")
        if "sample_rate" not in self.ctx.options and isinstance(rate, int) and rate > 0:
            self.sample_rate = rate

    # ---- one call ------------------------------------------------------------------------
    def request_body(self, text: str, opts: SynthesisOptions) -> dict[str, Any]:
        """Every knob the request carries, explicitly: what details() reports too."""
        body: dict[str, Any] = {
            "model": self.request_model,
            "input": text,
            "voice": opts.voice or self._knob("voice"),
            "speed": opts.speed,
            "response_format": str(self._knob("response_format", opts)),
            "stream_format": str(self._knob("stream_format", opts)),
        }
        if body["voice"] is None:
            del body["voice"]  # the server's default voice
        skip = {*CLIENT_KNOBS, *body, "voice", "speed"}
        for source in (self.ctx.options, opts.extra):
            for key, value in source.items():
                if key not in skip:
                    body[key] = value
        return body

    def _trace(self, call: CallRecord) -> Any:
        started: dict[str, int] = {}

        def trace(event: str, info: Mapping[str, Any]) -> None:
            del info
            if event.startswith("connection.") and event.endswith(".started"):
                started[event.removesuffix(".started")] = time.perf_counter_ns()
            elif event.startswith("connection.") and event.endswith(".complete"):
                begun = started.pop(event.removesuffix(".complete"), None)
                if begun is not None:
                    call.connect_ns += time.perf_counter_ns() - begun

        return trace

    def _decoder(self, body: dict[str, Any], response: httpx.Response) -> Decoder:
        from pytest_ttsbench.serving.framing import FramingError, make_decoder

        rate = response.headers.get("x-sample-rate")
        try:
            sample_rate = int(rate) if rate else self.sample_rate
            decoder = make_decoder(body["response_format"], body["stream_format"], sample_rate)
        except (ValueError, FramingError) as exc:
            raise EngineError(f"cannot read this response: {exc}") from exc
        return decoder

    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[np.ndarray[Any, Any]]:
        from pytest_ttsbench.measure.audio import is_audible
        from pytest_ttsbench.serving.framing import FramingError

        hx = self._httpx
        if hx is None:
            raise EngineError("HttpServerEngine.stream before load()")
        body = self.request_body(text, opts)
        call = CallRecord(time.perf_counter_ns(), body)
        self._local.call = call
        self.last_call = call
        where = f"{self.base_url}{SPEECH_PATH}"
        samples = 0
        try:
            with self._client().stream(
                "POST", SPEECH_PATH, json=body, extensions={"trace": self._trace(call)}
            ) as response:
                call.headers_ns = time.perf_counter_ns()
                call.status = response.status_code
                call.headers = {k.lower(): v for k, v in response.headers.items()}
                call.server_times = parse_server_timing(call.headers)
                if response.status_code >= 400:
                    detail = response.read()[:MAX_ERROR_BODY].decode("utf-8", "replace")
                    raise EngineError(
                        f"HTTP {response.status_code} {response.reason_phrase} from {where}: "
                        f"{detail.strip() or '(empty body)'}"
                    )
                decoder = self._decoder(body, response)
                total = 0
                for data in response.iter_bytes():  # as it arrives, never batched
                    now = time.perf_counter_ns()
                    if not data:
                        continue
                    total += len(data)
                    call.reads.append((now, total))
                    if call.first_byte_ns is None:
                        call.first_byte_ns = now
                    chunk = decoder.feed(data)
                    if not chunk.size:
                        continue
                    rate = getattr(decoder, "sample_rate", None) or self.sample_rate
                    self.sample_rate = int(rate)
                    ready = time.perf_counter_ns()
                    if call.first_audio_ns is None:
                        call.first_audio_ns = ready
                    if call.first_audible_ns is None and is_audible(chunk, self.sample_rate):
                        call.first_audible_ns = ready
                    samples += chunk.size
                    call.chunks.append((ready, chunk.size))
                    yield chunk
                decoder.finish()
                call.server_times.update(done_timing(decoder))
        except FramingError as exc:
            raise EngineError(
                f"malformed {body['stream_format']}/{body['response_format']} stream from "
                f"{where} after {call.bytes_in} bytes: {exc}"
            ) from exc
        except hx.TimeoutException as exc:
            raise EngineError(
                f"timed out ({type(exc).__name__}) on {where} after {call.bytes_in} bytes and "
                f"{samples} samples (read_timeout {self._float_knob('read_timeout'):g} s)"
            ) from exc
        except hx.RemoteProtocolError as exc:
            raise EngineError(
                f"connection closed mid-stream by {where} after {call.bytes_in} bytes and "
                f"{samples} samples: {exc}"
            ) from exc
        except hx.TransportError as exc:
            raise EngineError(
                f"connection failed ({type(exc).__name__}) on {where} after {call.bytes_in} "
                f"bytes: {exc}"
            ) from exc
        if samples == 0:
            raise EngineError(
                f"HTTP {call.status} from {where} with no audio ({call.bytes_in} body bytes): "
                "an empty response is a failure, never a fast result"
            )

    def synthesize(self, text: str, opts: SynthesisOptions) -> np.ndarray[Any, Any]:
        import numpy as np

        return np.concatenate(list(self.stream(text, opts)))

    # ---- what the harness records --------------------------------------------------------
    def stage_seconds(self) -> dict[str, float]:
        call: CallRecord | None = getattr(self._local, "call", None) or self.last_call
        if call is None:
            return {}
        out: dict[str, float] = {"connect": call.connect_ns / 1e9}
        for name in STAGES[1:]:
            stamp = getattr(call, f"{name}_ns")
            if stamp is not None:
                out[name] = (stamp - call.start_ns) / 1e9
        if self.rtt_s is not None:
            out["rtt"] = self.rtt_s
            for name in STAGES[1:]:
                if name in out:
                    out[f"{name}_net_adj"] = max(0.0, out[name] - self.rtt_s)
        out.update(call.server_times)
        return out

    def details(self) -> dict[str, object]:
        opts = SynthesisOptions()
        request = self.request_body("", opts)
        del request["input"]
        return {
            "server": self.base_url,
            "endpoint": SPEECH_PATH,
            "request": request,
            "client": {k: self._knob(k) for k in CLIENT_KNOBS},
            "rtt_ms": None if self.rtt_s is None else round(self.rtt_s * 1000, 3),
            "rtt_samples_ms": [round(t * 1000, 3) for t in self.rtt_samples],
            "connect_ms": None if self.connect_s is None else round(self.connect_s * 1000, 3),
            "deterministic": self.capabilities.deterministic,  # only when the server says so
            "server_health": self.health,
            "voice": request.get("voice", "server default"),
        }

    def versions(self) -> dict[str, str]:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return {"httpx": version("httpx")}
        except PackageNotFoundError:
            return {}

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()
