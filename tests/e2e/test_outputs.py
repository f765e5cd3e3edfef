"""What a run leaves behind besides the results JSON: WAV files, JUnit properties, and
our statistics under xdist where pytest-benchmark turns itself off."""

from __future__ import annotations

import json
import wave
import xml.etree.ElementTree as ET

import pytest

SYNTH = [
    "--tts-model=synthetic",
    "--no-tts-gates",
    "--tts-trials=2",
    "--tts-opt=first_ms=5",
    "--tts-opt=gap_ms=2",
    "--tts-opt=chunks=2",
]

TEST = """
def test_latency(tts_bench):
    tts_bench("short")
"""


def test_save_audio_writes_one_wav_per_trial(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TEST)
    ttsb.runpytest(*SYNTH, "-p", "no:xdist", "--tts-save-audio").assert_outcomes(passed=1)
    wavs = sorted((ttsb.path / ".ttsbench" / "audio").glob("*.wav"))
    assert len(wavs) == 2
    with wave.open(str(wavs[0])) as clip:
        assert clip.getframerate() == 24000
        assert clip.getnchannels() == 1
        assert clip.getnframes() > 0


def test_key_metrics_are_junit_properties(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TEST)
    xml = ttsb.path / "junit.xml"
    ttsb.runpytest(*SYNTH, "-p", "no:xdist", f"--junitxml={xml}").assert_outcomes(passed=1)
    props = {str(p.get("name")): str(p.get("value")) for p in ET.parse(xml).iter("property")}
    assert float(props["tts.latency_ms.p50"]) > 5
    assert "tts.ttfa_ms.p50" in props
    assert not any(name.startswith("ttsbench.result") for name in props)  # no JSON blob


def test_a_junit_xml_that_cannot_be_written_fails_the_run_but_loses_no_result(
    ttsb: pytest.Pytester,
) -> None:
    """pytest writes the XML (the plugin only adds its properties): when it cannot, its
    error ends the run non-zero, and the results JSON is written all the same."""
    ttsb.makepyfile(TEST)
    (ttsb.path / "reports").write_text("a file where a folder should be\n")
    result = ttsb.runpytest_subprocess(
        *SYNTH, "-p", "no:xdist", "-p", "no:cacheprovider", "--junitxml=reports/junit.xml"
    )
    assert result.ret != 0
    assert "reports" in result.stderr.str()  # pytest's own error names the path
    (path,) = (ttsb.path / ".ttsbench").glob("results-*.json")
    (row,) = json.loads(path.read_text())["results"]
    assert row["summaries"]["latency_ms"]["n"] == 2


def test_xdist_turns_pytest_benchmark_off_but_not_us(ttsb: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytest.importorskip("pytest_benchmark")
    ttsb.makepyfile(TEST)
    out = ttsb.path / "bench.json"
    result = ttsb.runpytest(*SYNTH, "-n", "2", f"--benchmark-json={out}")
    result.assert_outcomes(passed=1)
    (path,) = (ttsb.path / ".ttsbench").glob("results-*.json")
    (row,) = json.loads(path.read_text())["results"]
    assert row["summaries"]["latency_ms"]["n"] == 2
    assert not out.exists()  # pytest-benchmark disabled itself under xdist


BRIDGE_PROBE = """
def test_probe(request, tts_target):
    bridge = request.config.pluginmanager.get_plugin("ttsbench-benchmark-bridge")
    print("BRIDGE", bridge is not None)
"""


@pytest.mark.parametrize(("args", "registered"), [((), True), (("-p", "no:benchmark"), False)])
def test_benchmark_bridge_only_with_pytest_benchmark(
    ttsb: pytest.Pytester, args: tuple[str, ...], registered: bool
) -> None:
    pytest.importorskip("pytest_benchmark")
    ttsb.makepyfile(BRIDGE_PROBE)
    result = ttsb.runpytest(*SYNTH, "-p", "no:xdist", "-s", *args)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*BRIDGE {registered}*"])


def test_without_pytest_benchmark_a_benchmark_still_runs(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TEST)
    result = ttsb.runpytest(*SYNTH, "-p", "no:xdist", "-p", "no:benchmark")
    result.assert_outcomes(passed=1)


def test_terminal_summary_lists_what_was_written(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TEST)
    result = ttsb.runpytest(*SYNTH, "-p", "no:xdist", "--update-results-doc")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*= ttsbench results (RTF: lower is better) =*",
            "results JSON: .ttsbench*results-*.json",
            "chunk trace: .ttsbench*chunks-*.csv",
        ]
    )
    assert (ttsb.path / "docs" / "BENCHMARK_RESULTS.md").is_file()


def test_no_benchmark_no_summary(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile("def test_plain(tts_target):\n    pass\n")
    result = ttsb.runpytest(*SYNTH, "-p", "no:xdist", "-k", "synthetic")
    assert "ttsbench results" not in result.stdout.str()
    assert not (ttsb.path / ".ttsbench").exists()
