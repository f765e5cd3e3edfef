"""--tts-server entries into targets, the option's parsing, the serving pieces that
need no server: request bodies, server timing headers, the app's request checks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_ttsbench.engines.base import EngineContext, SynthesisOptions, WeightsLookup
from pytest_ttsbench.engines.http_server import HttpServerEngine, parse_server_timing
from pytest_ttsbench.engines.registry import EngineRegistry
from pytest_ttsbench.matrix.hardware import Hardware
from pytest_ttsbench.results.target import Target
from pytest_ttsbench.serving.app import BadRequest, parse_request
from pytest_ttsbench.serving.serve import cache_dir, is_loopback
from pytest_ttsbench.serving.targets import ServerSpecError, parse_server, register_servers
from pytest_ttsbench.settings import resolve


@pytest.mark.parametrize(
    ("entry", "name", "url", "model"),
    [
        ("http://127.0.0.1:8000", "server", "http://127.0.0.1:8000", "tts-1"),
        ("http://127.0.0.1:8000/", "server", "http://127.0.0.1:8000", "tts-1"),
        ("Kokoro=http://gpu1:8880/api#kokoro", "kokoro", "http://gpu1:8880/api", "kokoro"),
        ("a.b-c=https://x.example#m=1", "a.b-c", "https://x.example", "m=1"),
    ],
)
def test_parse_server(entry: str, name: str, url: str, model: str) -> None:
    server = parse_server(entry)
    assert (server.name, server.url, server.model) == (name, url, model)


@pytest.mark.parametrize(
    "entry", ["127.0.0.1:8000", "x=ftp://h", "bad name=http://h", "s=http://h#"]
)
def test_parse_server_rejects(entry: str) -> None:
    with pytest.raises(ServerSpecError, match="--tts-server"):
        parse_server(entry)


def test_register_servers_makes_remote_http_targets() -> None:
    registry = EngineRegistry()
    register_servers(registry, ["http://h:1", "b=http://h:2#voice-model"])
    spec = registry.get("server", "http")
    assert spec is not None
    assert spec.devices == ("remote",)
    assert spec.packages == ("httpx",)
    cls = spec.engine_class()
    assert issubclass(cls, HttpServerEngine)
    b = registry.get("b", "http")
    assert b is not None
    assert b.engine_class().request_model == "voice-model"  # type: ignore[attr-defined]
    with pytest.raises(ServerSpecError, match="both named"):
        register_servers(EngineRegistry(), ["http://h:1", "http://h:2"])


def test_the_remote_device_is_never_missing() -> None:
    hw = Hardware(system="Linux", machine="x86_64", cpu_model="cpu", cores=2)
    assert hw.device_missing("remote") is None
    assert hw.label("remote") == "remote server"


def test_option_from_cli_env_and_ini(tmp_path: Path) -> None:
    def servers(cli: object = None, env: str = "", ini: object = None) -> object:
        return resolve(
            cli={"tts_server": cli},
            env={"TTSBENCH_SERVER": env} if env else {},
            ini={"tts_server": ini},
            invocation_dir=tmp_path,
            rootdir=tmp_path,
        ).servers

    assert servers() is None
    assert servers(["http://A:1/Path", "b=http://h:2"]) == ("http://A:1/Path", "b=http://h:2")
    assert servers(env="http://h:1, x=http://h:2") == ("http://h:1", "x=http://h:2")
    assert servers(ini=["http://h:1", "y=http://h:3#m"]) == ("http://h:1", "y=http://h:3#m")


def _engine(**options: str) -> HttpServerEngine:
    ctx = EngineContext(
        Target("server", "http", "remote", "default"),
        WeightsLookup.not_needed(),
        options,
        False,
        Path(),
    )
    return HttpServerEngine(ctx)


def test_request_body_sends_every_knob_explicitly() -> None:
    engine = _engine(stream_format="sse", read_timeout="3", exaggeration="0.7")
    body = engine.request_body("hi", SynthesisOptions(voice="af_heart", speed=1.2, extra={"k": 1}))
    assert body == {
        "model": "tts-1",
        "input": "hi",
        "voice": "af_heart",
        "speed": 1.2,
        "response_format": "pcm",
        "stream_format": "sse",
        "exaggeration": "0.7",
        "k": 1,
    }
    details = engine.details()
    assert details["request"] == {
        "model": "tts-1",
        "speed": 1.0,
        "response_format": "pcm",
        "stream_format": "sse",
        "exaggeration": "0.7",
    }
    assert details["voice"] == "server default"
    assert engine.capabilities.thread_safe
    assert not engine.capabilities.deterministic


def test_server_timing_headers() -> None:
    found = parse_server_timing(
        {
            "server-timing": 'engine;dur=12.5, queue;desc="q";dur=0.5, bad;dur=x',
            "x-engine-time": "40ms",
        }
    )
    assert found == pytest.approx(
        {"server_engine": 0.0125, "server_queue": 0.0005, "server_engine_time": 0.04}
    )
    assert parse_server_timing({"x-engine-time": "0.25"}) == {"server_engine_time": 0.25}
    assert parse_server_timing({}) == {}


def test_the_app_checks_requests() -> None:
    req = parse_request({"input": "hi", "voice": "default", "speed": 1.5, "chunks": 3, "x": [1]})
    assert (req.response_format, req.stream_format) == ("pcm", "audio")
    assert req.opts.voice is None
    assert req.opts.speed == 1.5
    assert dict(req.opts.extra) == {"chunks": 3}
    for body, message in [
        ([], "JSON object"),
        ({"input": " "}, "non-empty"),
        ({"input": "a", "response_format": "mp3"}, "pcm or wav"),
        ({"input": "a", "stream_format": "ws"}, "audio, sse"),
        ({"input": "a", "speed": 9}, "outside"),
        ({"input": "a", "speed": "fast"}, "not a number"),
    ]:
        with pytest.raises(BadRequest, match=message):
            parse_request(body)


def test_serve_helpers() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert not is_loopback("0.0.0.0")
    from pytest_ttsbench.session import cache_dir as session_cache_dir

    for env in ({}, {"TTSBENCH_CACHE": "/c"}, {"XDG_CACHE_HOME": "/x"}):
        env = {**env, "HOME": os.environ.get("HOME", "/root")}
        assert cache_dir(env) == session_cache_dir(env)
