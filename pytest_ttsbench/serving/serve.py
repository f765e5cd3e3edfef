"""``python -m pytest_ttsbench serve``: one of the project's engines behind the speech
protocol (app.py), run by uvicorn; and :class:`ServerThread`, the same server on a
background thread (tests, notebooks).

    python -m pytest_ttsbench serve --model kokoro --backend onnx --port 8000
    pytest suites/test_latency.py --tts-server http://127.0.0.1:8000

Loopback only unless ``--allow-remote``: the server has no authentication.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

    from pytest_ttsbench.engines.base import Engine

EXIT_OK = 0
EXIT_CANNOT_SERVE = 1
EXIT_BAD_INPUT = 2


def cache_dir(env: Mapping[str, str]) -> Path:
    """Where assembled weights live: the rule of session.cache_dir (pytest-free here)."""
    if env.get("TTSBENCH_CACHE"):
        return Path(env["TTSBENCH_CACHE"]).expanduser()
    xdg = env.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "pytest-ttsbench"


class ServeError(RuntimeError):
    """The engine cannot be served here: unknown, not installed, no weights, no device."""


def load_engine(
    model: str,
    backend: str,
    device: str = "cpu",
    variant: str | None = None,
    options: Mapping[str, str] | None = None,
    allow_download: bool = False,
) -> Engine:
    """Find, check and load an engine as the matrix would (same skip reasons)."""
    from pytest_ttsbench.engines.base import EngineContext, WeightsQuery
    from pytest_ttsbench.engines.registry import EngineRegistry
    from pytest_ttsbench.engines.synthetic import SYNTHETIC_SPEC
    from pytest_ttsbench.matrix.hardware import detect
    from pytest_ttsbench.matrix.targets import availability
    from pytest_ttsbench.results.target import Target

    registry = EngineRegistry.with_builtins()
    registry.register(SYNTHETIC_SPEC)  # the deterministic test engine: CI recipes, tests
    registry.load_entry_points()
    spec = registry.get(model, backend)
    if spec is None:
        pairs = ", ".join(s.pair for s in registry.specs())
        raise ServeError(f"no engine {model}-{backend} (known: {pairs})")
    chosen = variant or spec.default_variant
    if chosen not in spec.variants or device not in spec.devices:
        raise ServeError(
            f"{spec.pair}: variant {chosen!r} on {device!r} is not one of its targets "
            f"(variants: {', '.join(spec.variants)}; devices: {', '.join(spec.devices)})"
        )
    target = Target(model, backend, device, chosen, default_variant=chosen == spec.default_variant)
    env = dict(os.environ)
    query = WeightsQuery(explicit={}, env=env, cache_dir=cache_dir(env))
    entry = availability(target, spec, detect(), query, allow_download)
    if entry.skip or entry.error or entry.weights is None:
        raise ServeError(str(entry.skip or entry.error or f"{target.id}: no weights"))
    ctx = EngineContext(
        target=target,
        weights=entry.weights,
        options=dict(options or {}),
        allow_download=allow_download,
        cache_dir=cache_dir(env),
    )
    engine = spec.engine_class()(ctx)
    engine.load()
    return engine


class ServerThread:
    """A uvicorn server on a background thread, on an ephemeral port unless given one.

    ``with ServerThread(app) as server: server.url``: started (listening) on entry,
    stopped and joined on exit.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        import uvicorn

        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # proto given: asyncio sets TCP_NODELAY only on IPPROTO_TCP sockets, and without
        # it Nagle and delayed ACKs add ~40 ms to each small response
        self.sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.bind((host, port))
        self.host, self.port = host, int(self.sock.getsockname()[1])
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_graceful_shutdown=2,  # a stalled stream must not hold stop() up
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout_s: float = 30.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise ServeError(f"uvicorn did not start on {self.url} in {timeout_s:g} s")
            time.sleep(0.01)
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout_s)
        self.sock.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def add_parser(sub: Any) -> None:
    """The ``serve`` subcommand on __main__'s subparsers."""
    p = sub.add_parser(
        "serve",
        help="serve an engine over the OpenAI speech protocol (docs/SERVING.md)",
        description="Serve one engine (model, backend, device, variant) at "
        "POST /v1/audio/speech (pcm, wav or SSE, streamed), GET /health and "
        "GET /debug/stamps. Needs the serving extra: pip install 'pytest-ttsbench[serving]'.",
    )
    p.add_argument("--model", required=True, help="kokoro, chatterbox, synthetic, ...")
    p.add_argument("--backend", required=True, help="pt, mlx, onnx, sim (synthetic)")
    p.add_argument("--device", default="cpu", help="cuda, mps, cpu (default: %(default)s)")
    p.add_argument("--variant", default=None, help="fp16, int8, ... (default: the pair's own)")
    p.add_argument("--host", default="127.0.0.1", help="(default: %(default)s, loopback)")
    p.add_argument("--port", type=int, default=8000, help="(default: %(default)s; 0: any)")
    p.add_argument(
        "--opt",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="engine knob, as --tts-opt (repeatable)",
    )
    p.add_argument("--allow-download", action="store_true", help="as --tts-allow-download")
    p.add_argument(
        "--allow-remote",
        action="store_true",
        help="listen on a non-loopback address (the server has no authentication)",
    )


def run(args: argparse.Namespace) -> int:
    options: dict[str, str] = {}
    for item in args.opt:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            print(f"error: --opt {item!r} is not KEY=VALUE", file=sys.stderr)
            return EXIT_BAD_INPUT
        options[key.strip().lower()] = value.strip()
    if not is_loopback(args.host) and not args.allow_remote:
        print(
            f"error: --host {args.host} is not a loopback address; the server has no "
            "authentication: add --allow-remote to listen there",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    try:
        import uvicorn

        from pytest_ttsbench.serving.app import create_app
    except ImportError as exc:
        print(f"error: {exc}; pip install 'pytest-ttsbench[serving]'", file=sys.stderr)
        return EXIT_CANNOT_SERVE
    try:
        engine = load_engine(
            args.model.lower(),
            args.backend.lower(),
            args.device.lower(),
            args.variant,
            options,
            args.allow_download,
        )
    except Exception as exc:  # ServeError, EngineError, an adapter's own
        print(f"error: cannot serve {args.model}-{args.backend}: {exc}", file=sys.stderr)
        return EXIT_CANNOT_SERVE
    app = create_app(engine, name=engine.target.id)
    print(f"serving {engine.target.id} on http://{args.host}:{args.port}", flush=True)
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", lifespan="off")
    finally:
        engine.close()
    return EXIT_OK
