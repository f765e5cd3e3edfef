"""upsert() on real files: side files, odd bytes, crashes, locks, concurrency, symlinked
docs and the temp files of interrupted writes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.report import doc as rd
from pytest_ttsbench.report import doc_parse as dp
from pytest_ttsbench.report.atomic import atomic_write_bytes, lock_path, locked
from pytest_ttsbench.version import __version__
from tests.unit.report_support import LATER, NOW, make_result, sample_results

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

KOKORO = ("results", ("kokoro", "onnx", "AMD EPYC 7763 (16 cores)"))


def files(folder: Path) -> list[str]:
    """What is in ``folder``, less the lock file (filelock may leave it on POSIX)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.endswith(".lock"))


def test_upsert_creates_the_doc_and_says_what_changed(tmp_path: Path) -> None:
    doc = tmp_path / "docs" / "BENCHMARK_RESULTS.md"
    out = rd.upsert(doc, sample_results(), now=NOW, plugin_version="0.1.0")
    assert out.ok
    assert out.written
    assert out.created
    assert len(out.added) == 5  # 3 headline rows, 1 latency on "short", 1 streaming
    assert out.updated == []
    assert doc.read_text(encoding="utf-8").startswith("# TTS benchmark results")
    assert out.describe()[0] == f"{doc}: created"
    again = rd.upsert(doc, sample_results(), now=NOW, plugin_version="0.1.0")
    assert not again.written
    assert len(again.unchanged) == 5
    assert "unchanged" in again.describe()[0]
    assert files(doc.parent) == ["BENCHMARK_RESULTS.md"]  # no temp file left


def test_no_results_never_create_a_doc(tmp_path: Path) -> None:
    out = rd.upsert(tmp_path / "R.md", [], now=NOW)
    assert not out.written
    assert out.describe() == [f"{tmp_path / 'R.md'}: no results to write; left as it was"]
    assert files(tmp_path) == []


def test_unsafe_doc_is_left_untouched_and_rows_go_to_a_side_file(tmp_path: Path) -> None:
    doc = tmp_path / "BENCHMARK_RESULTS.md"
    rd.upsert(doc, [make_result()], now=NOW)
    broken = doc.read_bytes().replace(b"<!-- ttsbench:results:end -->", b"")
    doc.write_bytes(broken)
    out = rd.upsert(doc, [make_result(latencies_ms=[1.0])], now=LATER)
    assert not out.ok
    assert not out.written
    assert doc.read_bytes() == broken
    assert out.side_file == tmp_path / "BENCHMARK_RESULTS.ttsbench-pending.md"
    assert out.reason is not None
    assert "has no <!-- ttsbench:results:end -->" in out.reason
    side = out.side_file.read_text(encoding="utf-8")
    assert "could not update `BENCHMARK_RESULTS.md` safely" in side
    assert "\\<!-- ttsbench&#58;results:begin --> at line" in side  # renders, not hidden
    assert "| kokoro | onnx |" in side
    assert "NOT updated" in out.describe()[0]
    # a second failed run adds to the same side file instead of replacing it
    second = rd.upsert(doc, [make_result("marvis", "mlx", "Apple M3 Max")], now=LATER)
    assert second.side_file == out.side_file
    side = out.side_file.read_text(encoding="utf-8")
    assert "| kokoro | onnx |" in side
    assert "| marvis | mlx |" in side


def test_damaged_side_file_is_not_overwritten_either(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    doc.write_text("<!-- ttsbench:results:begin -->\n", encoding="utf-8")
    side = rd.side_file_path(doc)
    side.write_text("<!-- ttsbench:results:end -->\nmine\n", encoding="utf-8")
    out = rd.upsert(doc, [make_result()], now=NOW)
    assert out.side_file is not None
    assert out.side_file != side
    assert out.side_file.name == "R.ttsbench-pending-20250131T120000Z.md"
    assert side.read_text(encoding="utf-8") == "<!-- ttsbench:results:end -->\nmine\n"


def test_non_utf8_bytes_come_back_unchanged(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    rd.upsert(doc, [make_result()], now=NOW)
    text = doc.read_bytes()
    latin1 = b"Caf\xe9 notes \xff\xfe in Latin-1\n"
    # odd bytes outside the block, and in a user column of the row that gets updated
    text = latin1 + text.replace(b"| Plugin |", b"| Plugin | Notes \xe9 |")
    plugin = f"| {__version__} |".encode()
    text = text.replace(plugin + b"\n", plugin + b" r\xe9sum\xe9 |\n")
    doc.write_bytes(text)
    out = rd.upsert(doc, [make_result(latencies_ms=[1.0])], now=LATER)
    assert out.ok
    assert out.updated == [KOKORO]
    new = doc.read_bytes()
    assert new.startswith(latin1)
    assert b"| Plugin | Notes \xe9 |" in new
    assert plugin + b" r\xe9sum\xe9 |\n" in new


def test_a_crash_mid_write_leaves_the_old_doc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = tmp_path / "R.md"
    rd.upsert(doc, [make_result()], now=NOW)
    before = doc.read_bytes()

    def crash(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space left"):
        rd.upsert(doc, [make_result(latencies_ms=[1.0])], now=LATER)
    monkeypatch.undo()
    assert doc.read_bytes() == before
    assert files(tmp_path) == ["R.md"]  # the temp file is gone


def test_a_write_that_fails_sends_the_rows_to_the_side_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = tmp_path / "R.md"
    rd.upsert(doc, [make_result()], now=NOW)
    before = doc.read_bytes()

    def full_disk_for_the_doc(path: Path, data: bytes) -> Path:
        if path == doc:
            raise OSError(28, "No space left on device")
        return atomic_write_bytes(path, data)

    monkeypatch.setattr(rd, "atomic_write_bytes", full_disk_for_the_doc)
    out = rd.upsert(doc, [make_result(latencies_ms=[1.0])], now=LATER)
    assert not out.ok
    assert doc.read_bytes() == before
    assert out.reason is not None
    assert "writing it failed" in out.reason
    assert out.side_file == tmp_path / "R.ttsbench-pending.md"
    assert "| 1.00 |" in out.side_file.read_text(encoding="utf-8")


# ---- a read-only doc: the user's intent, read from the mode bits (root may still write) --------
def test_a_read_only_doc_is_left_alone_and_the_rows_go_to_the_side_file(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    rd.upsert(doc, [make_result()], now=NOW)
    doc.chmod(0o444)
    before = doc.read_bytes()
    out = rd.upsert(doc, [make_result(latencies_ms=[1.0])], now=LATER)
    assert not out.ok
    assert not out.written
    assert doc.read_bytes() == before
    assert doc.stat().st_mode & 0o777 == 0o444
    assert out.reason == "it is read-only (mode 0444): left as its owner set it"
    assert out.side_file == tmp_path / "R.ttsbench-pending.md"
    side = out.side_file.read_text(encoding="utf-8")
    assert "| 1.00 |" in side
    assert "read-only" in side  # the side file says why it exists
    assert out.describe()[0] == f"{doc}: NOT updated: {out.reason}"
    # nothing to change: nothing to refuse
    assert rd.upsert(doc, [make_result()], now=NOW).ok


def test_a_read_only_doc_through_a_symlink_is_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "shared" / "R.md"
    rd.upsert(target, [make_result()], now=NOW)
    target.chmod(0o400)
    link = tmp_path / "R.md"
    link.symlink_to(target)
    out = rd.upsert(link, [make_result(latencies_ms=[1.0])], now=LATER)
    assert out.side_file == tmp_path / "R.ttsbench-pending.md"
    assert "| 1.00 |" not in target.read_text(encoding="utf-8")


def test_a_read_only_side_file_is_not_replaced_either(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    doc.write_text("<!-- ttsbench:results:begin -->\n", encoding="utf-8")  # damaged
    side = rd.side_file_path(doc)
    side.write_text("kept by hand\n", encoding="utf-8")
    side.chmod(0o444)
    out = rd.upsert(doc, [make_result()], now=NOW)
    assert side.read_text(encoding="utf-8") == "kept by hand\n"
    assert out.side_file is not None
    assert out.side_file.name == "R.ttsbench-pending-20250131T120000Z.md"


def test_atomic_write_refuses_a_read_only_file(tmp_path: Path) -> None:
    target = tmp_path / "f.md"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o444)
    with pytest.raises(PermissionError, match=r"read-only \(mode 0444\)"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert files(tmp_path) == ["f.md"]


def test_atomic_write_keeps_the_permissions_of_the_file_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "f.md"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640


def test_concurrent_upserts_all_land(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    n = 8
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            barrier.wait()
            rd.upsert(doc, [make_result(f"model{i}", "onnx", "cpu")], now=NOW)
        except BaseException as exc:  # reported below, a thread cannot raise into the test
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    text = doc.read_text(encoding="utf-8")
    assert all(f"| model{i} | onnx | cpu |" in text for i in range(n))


@contextlib.contextmanager
def lock_held_elsewhere(doc: Path) -> Iterator[None]:
    """Another session holds the doc's lock for as long as the block runs."""
    done = threading.Event()
    held = threading.Event()

    def hold() -> None:
        with locked(doc):
            held.set()
            done.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    try:
        held.wait(10)
        yield
    finally:
        done.set()
        t.join()


def test_lock_timeout_sends_the_rows_to_a_side_file_and_says_so(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    assert lock_path(doc) == tmp_path / "R.md.lock"
    rd.upsert(doc, [make_result()], now=NOW)
    before = doc.read_bytes()
    with lock_held_elsewhere(doc):
        out = rd.upsert(doc, [make_result(latencies_ms=[1.0])], now=LATER, lock_timeout=0.2)
    assert not out.ok
    assert not out.written
    assert doc.read_bytes() == before
    assert out.side_file == tmp_path / "R.ttsbench-pending.md"
    assert out.reason is not None
    assert "R.md.lock was held by another process for more than 0.2 s" in out.reason
    assert "| 1.00 |" in out.side_file.read_text(encoding="utf-8")  # the new row
    assert out.describe()[:2] == [
        f"{doc}: NOT updated: {out.reason}",
        f"  the new rows are in {out.side_file}",
    ]


def test_lock_timeout_on_a_new_doc_creates_nothing_but_the_side_file(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    with lock_held_elsewhere(doc):
        out = rd.upsert(doc, [make_result()], now=NOW, lock_timeout=0.2)
    assert not doc.exists()
    assert out.side_file is not None
    assert files(tmp_path) == ["R.ttsbench-pending.md"]


def test_a_symlinked_doc_updates_its_target_and_stays_a_link(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    target = shared / "BENCHMARK_RESULTS.md"
    rd.upsert(target, [make_result()], now=NOW)
    target.chmod(0o640)
    link = tmp_path / "docs" / "BENCHMARK_RESULTS.md"
    link.parent.mkdir()
    link.symlink_to(os.path.relpath(target, link.parent))
    out = rd.upsert(link, [make_result(latencies_ms=[1.0])], now=LATER)
    assert link.is_symlink()
    assert "| 1.00 |" in target.read_text(encoding="utf-8")
    assert out.ok
    assert out.updated == [KOKORO]
    assert link.read_bytes() == target.read_bytes()
    assert target.stat().st_mode & 0o777 == 0o640
    assert files(link.parent) == ["BENCHMARK_RESULTS.md"]  # no temp or copy beside the link
    assert files(shared) == ["BENCHMARK_RESULTS.md"]


def test_a_link_to_a_missing_file_creates_the_target(tmp_path: Path) -> None:
    link = tmp_path / "R.md"
    link.symlink_to(tmp_path / "real.md")
    rd.upsert(link, [make_result()], now=NOW)
    assert link.is_symlink()
    assert "| kokoro | onnx |" in (tmp_path / "real.md").read_text(encoding="utf-8")


def test_temp_files_of_an_interrupted_write_are_cleaned_on_the_next_write(
    tmp_path: Path,
) -> None:
    doc = tmp_path / "R.md"
    rd.upsert(doc, [make_result()], now=NOW)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    old = tmp_path / ".R.md.0123abcd.tmp"  # an older version's name, long abandoned
    host = hashlib.sha1(socket.gethostname().encode(), usedforsecurity=False).hexdigest()[:8]
    gone = tmp_path / f".R.md.{host}-{dead.pid}-00ff00ff.tmp"  # its writer died
    live = tmp_path / f".R.md.{host}-{os.getpid()}-11ff11ff.tmp"  # mid-write
    other_host = tmp_path / f".R.md.0badc0de-{dead.pid}-22ff22ff.tmp"  # can't tell: fresh
    mine = tmp_path / ".R.md.notours.tmp"
    for path in (old, gone, live, other_host, mine):
        path.write_bytes(b"x" * 1024)
    hour_ago = time.time() - 3600
    os.utime(old, (hour_ago, hour_ago))
    os.utime(mine, (hour_ago, hour_ago))
    rd.upsert(doc, [make_result(latencies_ms=[1.0])], now=LATER)
    left = files(tmp_path)
    assert old.name not in left
    assert gone.name not in left
    assert {live.name, other_host.name, mine.name} <= set(left)


def test_plot_is_written_and_linked(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    doc = tmp_path / "R.md"
    out = rd.upsert(doc, sample_results(), now=NOW, plot=True)
    assert out.plot == tmp_path / "R.svg"
    svg = out.plot.read_bytes()
    assert svg.startswith(b"<?xml")
    assert b"kokoro" in svg
    text = doc.read_text(encoding="utf-8")
    block = text.split(dp.marker(dp.RESULTS, "begin"))[1].split(dp.marker(dp.RESULTS, "end"))[0]
    assert "\n\n![TTFA p50 and RTF p50 per model, backend and hardware](R.svg)\n" in block
    # an unchanged table gives an unchanged chart (no dates or random ids in it)
    again = rd.upsert(doc, sample_results(), now=NOW, plot=True)
    assert again.plot is not None
    assert again.plot.read_bytes() == svg
    assert text.count("](R.svg)") == doc.read_text(encoding="utf-8").count("](R.svg)") == 1


def test_plot_without_matplotlib_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rd, "plot_available", lambda: False)
    out = rd.upsert(tmp_path / "R.md", [make_result()], now=NOW, plot=True)
    assert out.ok
    assert out.plot is None
    assert any("matplotlib is not installed" in w for w in out.warnings)
    assert ".svg" not in (tmp_path / "R.md").read_text(encoding="utf-8")


def test_warnings_name_the_doc(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    rd.upsert(doc, [make_result()], now=NOW)
    text = doc.read_text(encoding="utf-8").replace("| kokoro |", "junk line\n| kokoro |")
    doc.write_text(text, encoding="utf-8")
    out = rd.upsert(doc, [make_result(latencies_ms=[1.0])], now=LATER)
    assert out.warnings
    assert out.warnings[0].startswith(f"{doc}: line ")


def test_no_headline_row_means_no_chart_and_says_why(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    doc = tmp_path / "R.md"
    out = rd.upsert(doc, [make_result(prompt="short")], now=NOW, plot=True)
    assert out.plot is None
    assert not (tmp_path / "R.svg").exists()
    assert any("headline table has no row" in w and "'medium'" in w for w in out.warnings)
    assert "R.svg" not in doc.read_text(encoding="utf-8")
    assert "| kokoro | onnx |" in doc.read_text(encoding="utf-8")  # the row is kept
