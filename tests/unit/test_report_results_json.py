"""The results JSON: round trip, refusals with reasons, file names, session info."""

from __future__ import annotations

import json
import math
import multiprocessing
import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pytest_ttsbench import __version__
from pytest_ttsbench.report import results_json as rjw
from pytest_ttsbench.results import files as rj
from tests.unit.report_support import NOW, make_result, sample_results


def test_round_trip_keeps_every_result_and_trial(tmp_path: Path) -> None:
    session = {"created": "2025-01-31T12:00:00+00:00", "args": ["-m", "cuda"], "path": tmp_path}
    path = rjw.write_results_json(tmp_path / "out" / "r.json", session, sample_results())
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "pytest-ttsbench-results"
    assert data["schema"] == 1
    assert data["plugin_version"] == __version__
    assert data["session"]["path"] == str(tmp_path)  # anything JSON cannot hold becomes text
    got_session, results = rj.read_results_json(path)
    assert got_session["args"] == ["-m", "cuda"]
    assert [r.as_dict() for r in results] == [r.as_dict() for r in sample_results()]
    assert results[2].metric("ttfa_ms.p50") == sample_results()[2].metric("ttfa_ms.p50")


def test_non_finite_numbers_become_null_so_any_json_reader_copes(tmp_path: Path) -> None:
    result = make_result()
    result.trials[0].metrics["lufs"] = -math.inf
    path = rjw.write_results_json(tmp_path / "r.json", {"x": math.nan}, [result])
    text = path.read_text(encoding="utf-8")
    assert "Infinity" not in text
    assert "NaN" not in text
    _, [back] = rj.read_results_json(path)
    assert back.trials[0].metrics["lufs"] is None


def test_without_trials_the_summaries_still_carry_the_numbers(tmp_path: Path) -> None:
    path = rjw.write_results_json(tmp_path / "r.json", {}, [make_result()], with_trials=False)
    _, [back] = rj.read_results_json(path)
    assert back.trials == []
    assert back.n == 5
    assert back.metric("latency_ms.p50") == 420.0


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "in.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def good(**changes: object) -> dict[str, object]:
    doc = rj.results_document({}, [make_result()])
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([1, 2], "the top level is not an object"),
        ({"results": []}, 'no "format": "pytest-ttsbench-results"'),
        ({"machine_info": {}, "benchmarks": []}, "this is a pytest-benchmark JSON"),
        (good(schema=2), "results schema 2 (written by pytest-ttsbench"),
        (good(schema=2), "upgrade pytest-ttsbench"),
        (good(schema=0), "re-run the benchmark"),
        (good(results={}), '"results" a list'),
        (good(results=[5]), "result 0 is not an object"),
        (good(results=[{"schema": 1, "test": "t::x"}]), "result 0 (t::x): missing field"),
        (good(results=[{**make_result().as_dict(), "schema": 7}]), "result schema 7"),
    ],
)
def test_foreign_or_other_schema_files_are_refused_naming_the_file(
    tmp_path: Path, data: object, message: str
) -> None:
    path = write(tmp_path, data)
    with pytest.raises(rj.ResultsFileError) as info:
        rj.read_results_json(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_not_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(b"\xff{not json")
    with pytest.raises(rj.ResultsFileError, match="not JSON"):
        rj.read_results_json(path)


def test_file_names_sort_by_time_and_name_the_host(tmp_path: Path) -> None:
    local = NOW.astimezone(timezone(timedelta(hours=2)))
    assert rjw.results_json_name(local, "gpu-01.lab") == "results-20250131T120000Z-gpu-01.lab.json"
    assert rjw.results_json_name(NOW, "my box/../x") == "results-20250131T120000Z-my-box-..-x.json"
    assert rjw.results_json_name(NOW, "..") == "results-20250131T120000Z-host.json"
    first = rjw.unique_results_path(tmp_path, NOW, "h")
    assert first.name == "results-20250131T120000Z-h.json"
    assert first.exists()  # claimed: nobody else gets this name
    assert rjw.unique_results_path(tmp_path, NOW, "h").name == "results-20250131T120000Z-h-2.json"


def test_build_session_says_when_where_and_what(tmp_path: Path) -> None:
    session = rj.build_session(
        machine={"cpu_model": "EPYC"}, args=["-m", "cpu"], now=NOW, cwd=tmp_path, extra={"k": 1}
    )
    assert session["created"] == "2025-01-31T12:00:00+00:00"
    assert session["machine"] == {"cpu_model": "EPYC"}
    assert session["args"] == ["-m", "cpu"]
    assert session["plugin_version"] == __version__
    assert session["k"] == 1
    assert "git" in session
    assert "hostname" in session
    assert datetime.fromisoformat(session["created"]).tzinfo == UTC


def test_session_time_from_created_or_started(tmp_path: Path) -> None:
    path = rjw.write_results_json(tmp_path / "a.json", {"started": 1738324800.5}, [])
    assert rj.load_results_file(path).created == "2025-01-31T12:00:00+00:00"
    path = rjw.write_results_json(tmp_path / "b.json", {"created": "2025-02-01T00:00:00Z"}, [])
    assert rj.load_results_file(path).created == "2025-02-01T00:00:00Z"
    assert rj.load_results_file(rjw.write_results_json(tmp_path / "c.json", {}, [])).created == ""


def _claim_in_child(folder: str, n: int) -> list[str]:
    """Runs in a worker process: claim ``n`` names with one time and host."""
    return [rjw.unique_results_path(Path(folder), NOW, "h").name for _ in range(n)]


def test_concurrent_sessions_never_get_the_same_results_file(tmp_path: Path) -> None:
    # many threads and processes on one artifacts folder, one timestamp, one host
    threads, per_thread, procs, per_proc = 16, 4, 4, 8
    barrier = threading.Barrier(threads)
    names: list[str] = []
    lock = threading.Lock()

    def session(i: int) -> None:
        barrier.wait()
        for _ in range(per_thread):
            path = rjw.unique_results_path(tmp_path, NOW, "h")
            rjw.write_results_json(path, {"thread": i}, [make_result()])
            with lock:
                names.append(path.name)

    workers = [threading.Thread(target=session, args=(i,)) for i in range(threads)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(procs) as pool:
        children = pool.starmap_async(_claim_in_child, [(str(tmp_path), per_proc)] * procs)
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        claimed = [n for batch in children.get(timeout=120) for n in batch]
    everything = names + claimed
    assert len(everything) == threads * per_thread + procs * per_proc
    assert len(set(everything)) == len(everything)  # nobody overwrote anybody
    assert len(list(tmp_path.glob("results-*.json"))) == len(everything)
    for name in names:  # every session's file is its own, whole
        assert rj.read_results_json(tmp_path / name)[1][0].n == 5
