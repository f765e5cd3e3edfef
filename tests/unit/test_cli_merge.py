"""``python -m pytest_ttsbench merge``: run as CI runs it, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pytest_ttsbench.report.results_json import write_results_json
from pytest_ttsbench.results.files import build_session
from tests.unit.report_support import GOLDEN, make_result

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_ttsbench.results.model import BenchResult


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_ttsbench", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def results_file(
    folder: Path, name: str, results: list[BenchResult], created: str = "2025-01-31T12:00:00"
) -> Path:
    when = datetime.fromisoformat(created).replace(tzinfo=UTC)
    return write_results_json(folder / name, build_session(now=when), results)


def test_merge_many_runners_into_one_doc(tmp_path: Path) -> None:
    out = tmp_path / "out"
    results_file(out / "cpu", "results-1-cpu.json", [make_result()])
    results_file(
        out / "gpu",
        "results-2-gpu.json",
        [make_result("chatterbox", "pt", "NVIDIA H100", device="cuda", accel_peak_mb=3000.0)],
        created="2025-02-01T08:00:00",
    )
    doc = tmp_path / "docs" / "BENCHMARK_RESULTS.md"
    done = run("merge", out, "--doc", doc, cwd=tmp_path)  # a folder: every results-*.json in it
    assert done.returncode == 0, done.stderr
    assert "merged 2 results files" in done.stdout
    assert f"{doc}: created" in done.stdout
    assert "added 2: chatterbox | pt | NVIDIA H100; kokoro | onnx |" in done.stdout
    text = doc.read_text(encoding="utf-8")
    assert "| 3000 | 1.23 | 5 | none | 2025-02-01 |" in text  # dated by its own session
    assert "| n/a | 1.23 | 5 | none | 2025-01-31 |" in text

    # the same files again: nothing changes, and it says so
    again = run("merge", *sorted(out.rglob("*.json")), "--doc", doc, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "unchanged (2 rows already up to date)" in again.stdout
    assert doc.read_text(encoding="utf-8") == text


def test_newer_result_updates_and_moves_the_old_row_to_history(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    old = results_file(tmp_path, "a.json", [make_result()], created="2025-01-01T00:00:00")
    new = results_file(
        tmp_path, "b.json", [make_result(latencies_ms=[100.0])], created="2025-01-02T00:00:00"
    )
    assert run("merge", old, "--doc", doc, cwd=tmp_path).returncode == 0
    done = run("merge", new, "--doc", doc, "--history", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "updated 1: kokoro | onnx | AMD EPYC 7763 (16 cores)" in done.stdout
    assert "1 previous rows moved to the history" in done.stdout
    text = doc.read_text(encoding="utf-8")
    assert "at most 2 per model" in text


def test_glob_the_shell_did_not_expand(tmp_path: Path) -> None:
    results_file(tmp_path / "out", "results-x.json", [make_result()])
    done = run("merge", "out/*.json", "--doc", "R.md", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "R.md").exists()


def test_other_schema_is_refused_naming_the_file_and_nothing_is_written(tmp_path: Path) -> None:
    good = results_file(tmp_path, "good.json", [make_result()])
    future = tmp_path / "future.json"
    data = json.loads(good.read_text(encoding="utf-8"))
    data["schema"] = 2
    future.write_text(json.dumps(data), encoding="utf-8")
    done = run("merge", good, future, "--doc", "R.md", cwd=tmp_path)
    assert done.returncode == 2
    assert f"{future}: results schema 2" in done.stderr
    assert "nothing was written" in done.stderr
    assert not (tmp_path / "R.md").exists()


def test_bad_input_exits_2(tmp_path: Path) -> None:
    (tmp_path / "bench.json").write_text('{"machine_info": {}, "benchmarks": []}', "utf-8")
    assert "pytest-benchmark JSON" in run("merge", "bench.json", cwd=tmp_path).stderr
    missing = run("merge", "nope.json", cwd=tmp_path)
    assert missing.returncode == 2
    assert "nope.json: no such file" in missing.stderr
    assert run("merge", "none/*.json", cwd=tmp_path).returncode == 2
    assert run("merge", cwd=tmp_path).returncode == 2  # argparse: no files
    assert run("merge", "x.json", "--history", "-1", cwd=tmp_path).returncode == 2


def test_unsafe_doc_exits_1_and_writes_the_side_file(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    doc.write_text("# mine\n<!-- ttsbench:results:begin -->\n", encoding="utf-8")
    f = results_file(tmp_path, "a.json", [make_result()])
    done = run("merge", f, "--doc", doc, cwd=tmp_path)
    assert done.returncode == 1
    assert "NOT updated" in done.stdout
    assert "R.ttsbench-pending.md" in done.stdout
    assert doc.read_text(encoding="utf-8") == "# mine\n<!-- ttsbench:results:begin -->\n"
    assert "| kokoro | onnx |" in (tmp_path / "R.ttsbench-pending.md").read_text("utf-8")


def test_concurrent_merges_from_separate_processes_all_land(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    files = [
        results_file(tmp_path, f"r{i}.json", [make_result(f"m{i}", "pt", "x")]) for i in range(4)
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "pytest_ttsbench", "merge", str(f), "--doc", str(doc)],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    text = doc.read_text(encoding="utf-8")
    assert all(f"| m{i} | pt | x |" in text for i in range(4))


def test_show_prints_the_terminal_table(tmp_path: Path) -> None:
    f = results_file(tmp_path, "a.json", [make_result(xdist_workers=2)])
    done = run("show", f, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "(lower is better)" in done.stdout
    assert "* contended" in done.stdout
    md = run("show", f, "--markdown", cwd=tmp_path)
    assert md.stdout.startswith("### pytest-ttsbench: 1 result")


def test_version_and_help(tmp_path: Path) -> None:
    assert run("--version", cwd=tmp_path).stdout.startswith("pytest-ttsbench ")
    helptext = run("merge", "--help", cwd=tmp_path).stdout
    assert "--doc" in helptext
    assert "--history" in helptext
    assert "--plot" in helptext


def test_merge_upgrades_an_old_doc_and_only_latency_writes_the_headline(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    old = (GOLDEN / "legacy_benchmark_results.md").read_text(encoding="utf-8")
    doc.write_text(old, encoding="utf-8")
    hw = "Intel(R) Xeon(R) Processor @ 2.10GHz (2 cores)"
    quality = make_result(hardware=hw, suite="quality", latencies_ms=[9000.0])
    failed = make_result(hardware=hw, latencies_ms=[], outcome="failed")
    f = results_file(tmp_path, "a.json", [quality, failed], created="2026-11-23T00:00:00")
    done = run("merge", f, "--doc", doc, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "warning: " in done.stdout
    assert "moved 14 rows of other suites" in done.stdout
    assert "kept the last good row of 1 whose run failed" in done.stdout
    text = doc.read_text(encoding="utf-8")
    headline = text.split("<!-- ttsbench:results:begin -->")[1].split("<!-- ttsbench:results:end")[
        0
    ]
    assert "| 4911 | 4981 | 4911 | 0.418 |" in headline  # the old latency row stands
    assert "9000" not in headline
    assert "2026-11-23: FAILED: no valid measured trial (n=0)" in headline
    assert "| kokoro | onnx |" in text.split("<!-- ttsbench:suite.quality:begin -->")[1]
