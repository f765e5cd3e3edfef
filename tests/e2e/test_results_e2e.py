"""The results JSON and the results doc through real pytest sessions."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path

SYNTH = [
    "--tts-model=synthetic",
    "-p",
    "no:benchmark",
    "--tts-trials=3",
    "--tts-opt=first_ms=5",
    "--tts-opt=gap_ms=2",
    "--tts-opt=chunks=2",
    "--no-tts-gates",
]

FOUR_TESTS = textwrap.dedent(
    """
    import pytest

    @pytest.mark.parametrize("speed", [1.0, 1.25])
    @pytest.mark.parametrize("prompt", ["short", "medium"])
    def test_latency(tts_bench, prompt, speed):
        tts_bench(prompt, speed=speed, params={"speed": speed})
    """
)

# A Markdown table as users keep it: its lines are as long as they are.
OTHER_MACHINES = """\
# Our TTS numbers

Hand-written notes that must survive every update.

<!-- ttsbench:results:begin -->
| Model | Backend | Hardware | Mode | Prompt | TTFA p50 (ms) | TTFA p95 (ms) | Latency p50 (ms) | RTF p50 (lower is better) | Peak RSS (MB) | Accel peak (MB) | Load (s) | n | Gates | Date | Versions | Plugin |
|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---|---|
| chatterbox-turbo | pt | NVIDIA H100 80GB HBM3 | sentence | medium | 180 | 240 | 900 | 0.110 | 3100 | 4200 | 12.0 | 20 | pass (2/2) | 2026-11-01 | chatterbox-tts 0.1.7 | 0.1.0 |
| kokoro | mlx | Apple M3 Max | native | medium | 95 | 120 | 300 | 0.050 | 900 | 700 | 2.1 | 20 | none | 2026-11-02 | mlx-audio 0.6.2 | 0.1.0 |
<!-- ttsbench:results:end -->

More notes below the table.
"""


def results_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("results-*.json"))


def test_plain_run_writes_one_results_json_and_the_doc(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(FOUR_TESTS)
    doc = ttsb.path / "docs" / "BENCHMARK_RESULTS.md"
    result = ttsb.runpytest(*SYNTH, "-p", "no:xdist", "--update-results-doc")
    result.assert_outcomes(passed=4)
    (path,) = results_files(ttsb.path / ".ttsbench")
    data = json.loads(path.read_text())
    assert len(data["results"]) == 4
    assert data["session"]["hardware"]["cores"] >= 1
    trace = path.with_name(path.name.replace("results-", "chunks-")).with_suffix(".csv")
    assert trace.read_text().startswith("test,target,prompt,stream_mode,trial,kind,chunk,t_ms")
    text = doc.read_text()
    assert "| synthetic (speed=1.0) | sim |" in text
    assert "| synthetic (speed=1.25) | sim |" in text
    out = result.stdout.str()
    assert "ttsbench results (RTF: lower is better)" in out
    assert "results JSON: .ttsbench/results-" in out


def test_xdist_writes_once_with_every_row(ttsb: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    ttsb.makepyfile(FOUR_TESTS)
    result = ttsb.runpytest(*SYNTH, "-n", "2", "--update-results-doc")
    result.assert_outcomes(passed=4)
    (path,) = results_files(ttsb.path / ".ttsbench")
    data = json.loads(path.read_text())
    assert sorted(r["test"].rpartition("[")[2] for r in data["results"]) == sorted(
        f"{p}-{s}]"
        for p in ("synthetic-sim-cpu-short", "synthetic-sim-cpu-medium")
        for s in ("1.0", "1.25")
    )
    assert all(r["xdist_workers"] == 2 for r in data["results"])
    doc = (ttsb.path / "docs" / "BENCHMARK_RESULTS.md").read_text()
    assert "contended" in doc


def test_a_crashed_worker_loses_only_its_own_rows(ttsb: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    ttsb.makepyfile(
        """
        import os
        import pytest

        @pytest.mark.parametrize("i", range(4))
        def test_latency(tts_bench, i):
            tts_bench("short", params={"i": i})

        def test_zz_crash():
            os._exit(1)
        """
    )
    result = ttsb.runpytest(*SYNTH, "-n", "2", "--max-worker-restart=4")
    (path,) = results_files(ttsb.path / ".ttsbench")
    data = json.loads(path.read_text())
    assert len(data["results"]) == 4  # every benchmark reported before the crash
    assert "crashed" in result.stdout.str() or "node down" in result.stdout.str()


def test_update_keeps_other_machines_and_hand_written_text(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(FOUR_TESTS)
    doc = ttsb.path / "docs" / "BENCHMARK_RESULTS.md"
    doc.parent.mkdir()
    doc.write_text(OTHER_MACHINES)
    ttsb.runpytest(*SYNTH, "-p", "no:xdist", "--update-results-doc").assert_outcomes(passed=4)
    first = doc.read_text()
    ttsb.runpytest(
        *SYNTH, "-p", "no:xdist", "--update-results-doc", "--tts-opt=first_ms=9"
    ).assert_outcomes(passed=4)
    second = doc.read_text()
    for line in OTHER_MACHINES.splitlines():
        if line.strip() and "ttsbench:results" not in line:
            assert line in second, line
    assert second.index("Hand-written notes") < second.index("| chatterbox-turbo |")
    assert "<!-- ttsbench:history:begin -->" in second
    ours = [ln for ln in first.splitlines() if ln.startswith("| synthetic (speed=1.0)")]
    assert ours
    assert ours[0] in second.split("<!-- ttsbench:history:begin -->")[1]


def test_the_merge_command_does_the_same_upsert(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(FOUR_TESTS)
    ttsb.runpytest(*SYNTH, "-p", "no:xdist").assert_outcomes(passed=4)
    doc = ttsb.path / "BENCH.md"
    doc.write_text(OTHER_MACHINES)
    (path,) = results_files(ttsb.path / ".ttsbench")
    done = subprocess.run(
        [sys.executable, "-m", "pytest_ttsbench", "merge", str(path), "--doc", str(doc)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    text = doc.read_text()
    assert "| chatterbox-turbo | pt | NVIDIA H100 80GB HBM3 |" in text
    assert "| synthetic (speed=1.25) | sim |" in text
    assert "Hand-written notes that must survive every update." in text


def test_two_concurrent_sessions_both_land(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(FOUR_TESTS)
    doc = ttsb.path / "docs" / "BENCHMARK_RESULTS.md"
    cmd = [sys.executable, "-m", "pytest", *SYNTH, "-p", "no:xdist", "-q", "--update-results-doc"]
    procs = [
        subprocess.Popen(
            [*cmd, f"--tts-opt=chars_per_s={c}", "-k", k],
            cwd=ttsb.path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for c, k in ((15, "1.0"), (16, "1.25"))
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out.decode()
    text = doc.read_text()
    assert "| synthetic (speed=1.0) |" in text
    assert "| synthetic (speed=1.25) |" in text


def test_a_crash_mid_write_leaves_the_old_doc(
    ttsb: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    ttsb.makepyfile(FOUR_TESTS)
    doc = ttsb.path / "docs" / "BENCHMARK_RESULTS.md"
    doc.parent.mkdir()
    doc.write_text(OTHER_MACHINES)

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr("pytest_ttsbench.report.atomic.os.replace", broken_replace)
    result = ttsb.runpytest(*SYNTH, "-p", "no:xdist", "--update-results-doc")
    result.assert_outcomes(passed=4)
    assert doc.read_text() == OTHER_MACHINES
    assert "not updated" in result.stdout.str() or "warning" in result.stdout.str()
    assert not [p for p in doc.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_regression_against_a_baseline(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(
        """
        def test_latency(tts_bench):
            tts_bench("short")
        """
    )
    args = [
        "--tts-model=synthetic",
        "-p",
        "no:benchmark",
        "-p",
        "no:xdist",
        "--no-tts-gates",
        "--tts-trials=10",
        "--tts-opt=first_ms=40",
        "--tts-opt=gap_ms=10",
        "--tts-opt=chunks=3",
    ]
    ttsb.runpytest(*args, "--tts-artifacts=base").assert_outcomes(passed=1)
    (baseline,) = results_files(ttsb.path / "base")
    gates_on = [a for a in args if a != "--no-tts-gates"]
    gates_on.append("--tts-gates=none.toml")
    ttsb.makefile(".toml", none="gates = []\n")
    same = ttsb.runpytest(*gates_on, f"--tts-baseline={baseline}")
    same.assert_outcomes(passed=1)
    slower = ttsb.runpytest(*gates_on, f"--tts-baseline={baseline}", "--tts-opt=scale=1.2")
    slower.assert_outcomes(failed=1)
    out = slower.stdout.str()
    assert "latency_ms" in out
    assert "baseline" in out
