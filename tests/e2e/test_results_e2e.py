"""The results JSON and the results doc through real pytest sessions."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

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

LATENCY_ONE = textwrap.dedent(
    """
    def test_latency(tts_bench):
        tts_bench("short")
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


def block(text: str, name: str) -> str:
    """The lines of a managed block of the results doc ("" when it has none)."""
    begin = f"<!-- ttsbench:{name}:begin -->"
    return (
        text.split(begin, 1)[1].split(f"<!-- ttsbench:{name}:end -->")[0] if begin in text else ""
    )


def results_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("results-*.json"))


def test_plain_run_writes_one_results_json_and_the_doc(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(test_latency=FOUR_TESTS)
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
    # knobs set: the latency suite's own section, never the headline
    section = block(text, "suite.latency")
    assert "| synthetic | sim |" in section
    assert "| short | native | speed=1 |" in section
    assert "| medium | native | speed=1.25 |" in section
    assert "| synthetic |" not in block(text, "results")
    out = result.stdout.str()
    assert "ttsbench results (RTF: lower is better)" in out
    assert "results JSON: .ttsbench/results-" in out


SUITES = {
    "test_latency": """
        def test_latency(tts_bench):
            tts_bench("medium")
        """,
    "test_quality": """
        def test_audio_quality(tts_bench):
            tts_bench("medium", trials=2)
        """,
}


def test_only_the_latency_suite_on_the_headline_prompt_writes_the_headline(
    ttsb: pytest.Pytester,
) -> None:
    ttsb.makepyfile(**{k: textwrap.dedent(v) for k, v in SUITES.items()})
    doc = ttsb.path / "docs" / "BENCHMARK_RESULTS.md"
    args = [*SYNTH, "-p", "no:xdist", "--update-results-doc"]
    ttsb.runpytest(*args, "test_latency.py").assert_outcomes(passed=1)
    first = doc.read_text()
    (row,) = [ln for ln in block(first, "results").splitlines() if ln.startswith("| synthetic")]
    # a later quality run on the same prompt has its own section and leaves the row
    ttsb.runpytest(*args, "test_quality.py", "--tts-opt=first_ms=9").assert_outcomes(passed=1)
    second = doc.read_text()
    assert [ln for ln in block(second, "results").splitlines() if ln.startswith("| synthetic")] == [
        row
    ]
    assert "| synthetic | sim |" in block(second, "suite.quality")
    assert "history" not in second.split("<!-- ttsbench:results:end -->")[1].split("suite.")[0]


def test_a_failed_test_keeps_the_good_row_and_never_reads_pass(ttsb: pytest.Pytester) -> None:
    doc = ttsb.path / "docs" / "BENCHMARK_RESULTS.md"
    args = [*SYNTH, "-p", "no:xdist", "--update-results-doc"]
    ttsb.makepyfile(test_latency="def test_latency(tts_bench):\n    tts_bench('medium')\n")
    ttsb.runpytest(*args).assert_outcomes(passed=1)
    good = block(doc.read_text(), "results")
    ttsb.makepyfile(
        test_latency=(
            "def test_latency(tts_bench):\n"
            "    tts_bench('medium')\n"
            "    assert False, 'the audio sounded wrong'\n"
        )
    )
    ttsb.runpytest(*args).assert_outcomes(failed=1)
    after = block(doc.read_text(), "results")
    rows = [ln for ln in after.splitlines() if ln.startswith("| synthetic")]
    assert rows == [ln for ln in good.splitlines() if ln.startswith("| synthetic")]
    (note,) = [ln for ln in after.splitlines() if "FAILED" in ln]
    assert note.startswith("- **synthetic · sim · ")
    assert "pass" not in note
    # in a fresh doc the failed run is a row of its own: FAILED, never "pass"
    fresh = ttsb.path / "fresh.md"
    ttsb.runpytest(*args, f"--tts-results-doc={fresh}").assert_outcomes(failed=1)
    (row,) = [ln for ln in block(fresh.read_text(), "results").splitlines() if "synthetic" in ln]
    assert "| FAILED: " in row
    assert "pass" not in row


def test_xdist_writes_once_with_every_row(ttsb: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    ttsb.makepyfile(test_latency=FOUR_TESTS)
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
    ttsb.makepyfile(test_latency=FOUR_TESTS)
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
    ours = [ln for ln in block(first, "suite.latency").splitlines() if "| speed=1 |" in ln]
    assert ours
    assert ours[0] in block(second, "history.latency")


def test_the_merge_command_does_the_same_upsert(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(test_latency=FOUR_TESTS)
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
    assert "| speed=1.25 |" in block(text, "suite.latency")
    assert "Hand-written notes that must survive every update." in text


def test_two_concurrent_sessions_both_land(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(test_latency=FOUR_TESTS)
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
    assert "| speed=1 |" in text
    assert "| speed=1.25 |" in text


def test_a_crash_mid_write_leaves_the_old_doc(
    ttsb: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    ttsb.makepyfile(test_latency=FOUR_TESTS)
    doc = ttsb.path / "docs" / "BENCHMARK_RESULTS.md"
    doc.parent.mkdir()
    doc.write_text(OTHER_MACHINES)

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full (simulated)")

    monkeypatch.setattr("pytest_ttsbench.report.atomic.os.replace", broken_replace)
    result = ttsb.runpytest(*SYNTH, "-p", "no:xdist", "--update-results-doc")
    result.assert_outcomes(passed=4)
    assert doc.read_text() == OTHER_MACHINES
    assert not [p for p in doc.parent.iterdir() if p.name.startswith(".")]  # no temp left
    # nothing written where asked: each output fails the run, in one line with its data
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    lost = [line for line in result.outlines if line.startswith("error: ")]
    assert [line.split(" ", 2)[1:2] for line in lost] == [["results"], ["chunk"], ["results"]]
    assert "disk full (simulated)" in lost[0]
    assert all("ttsbench-rescued-" in line for line in lost)
    rescued = Path(lost[0].rsplit(" is in ", 1)[1])
    assert len(json.loads(rescued.read_text())["results"]) == 4


def test_results_that_cannot_be_written_fail_the_run_and_say_where_they_are(
    ttsb: pytest.Pytester,
) -> None:
    ttsb.makepyfile(test_latency=LATENCY_ONE)
    (ttsb.path / ".ttsbench").write_text("a file where the artifacts folder should be\n")
    result = ttsb.runpytest(*SYNTH, "-p", "no:xdist")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    lost = [line for line in result.outlines if line.startswith("error: ")]
    assert len(lost) == 2  # the results JSON and the chunk trace, one line each
    assert lost[0].startswith(f"error: results JSON {ttsb.path / '.ttsbench'}/results-")
    assert ".ttsbench is a file, not a folder" in lost[0]
    rescued = Path(lost[0].rsplit("; its data is in ", 1)[1])
    assert json.loads(rescued.read_text())["results"][0]["prompt"] == "short"


def test_a_read_only_doc_is_left_alone_and_fails_the_run(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(test_latency=LATENCY_ONE)
    doc = ttsb.path / "docs" / "BENCHMARK_RESULTS.md"
    doc.parent.mkdir()
    doc.write_text(OTHER_MACHINES)
    doc.chmod(0o444)  # the user's intent: tests run as root, who could still replace it
    result = ttsb.runpytest(*SYNTH, "-p", "no:xdist", "--update-results-doc")
    result.assert_outcomes(passed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert doc.read_text() == OTHER_MACHINES
    assert doc.stat().st_mode & 0o777 == 0o444
    side = doc.with_name("BENCHMARK_RESULTS.ttsbench-pending.md")
    assert "| synthetic | sim |" in side.read_text()
    (line,) = [line for line in result.outlines if "read-only" in line]
    assert line == (
        f"error: results doc {doc} not updated (it is read-only (mode 0444): left as its "
        f"owner set it); its rows are in {side}"
    )


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
