"""write_all, what a session leaves behind: the record the pytest edge acts on. An
output that was asked for and cannot be written is never lost silently: it is a Lost
in the record (the run fails), told in one line, its data beside it or in the temp
folder."""

from __future__ import annotations

import json
import socket
import threading
from typing import TYPE_CHECKING

from pytest_ttsbench.report import atomic, outputs
from pytest_ttsbench.report.results_json import results_json_name
from tests.unit.report_support import NOW, make_result

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def write(
    tmp_path: Path,
    doc: Path | None,
    lock_timeout: float = 5.0,
    *,
    artifacts: Path | None = None,
    env: dict[str, str] | None = None,
) -> outputs.Written:
    return outputs.write_all(
        [make_result()],
        machine={},
        artifacts=artifacts or tmp_path / ".ttsbench",
        results_doc=doc,
        history=5,
        now=NOW,
        env=env or {},
        lock_timeout=lock_timeout,
    )


def lost_line(written: outputs.Written, tmp_path: Path) -> str:
    """The one summary line of the one lost output; no other line says it."""
    (lost,) = written.lost
    lines = outputs.summary_lines([make_result()], written, tmp_path)
    errors = [line for line in lines if line.error]
    assert [line.text for line in errors] == [f"error: {lost.line}"]
    assert not any("not updated" in line.text for line in lines if not line.error)
    return lost.line


def test_an_updated_doc_is_no_failure(tmp_path: Path) -> None:
    written = write(tmp_path, tmp_path / "R.md")
    assert not written.failed
    assert written.lost == ()
    assert written.doc_lines[0] == f"{tmp_path / 'R.md'}: created"


def test_a_doc_lock_that_cannot_be_had_is_a_failure_with_a_side_file(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with atomic.locked(doc):
            held.set()
            done.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    try:
        held.wait(10)
        written = write(tmp_path, doc, lock_timeout=0.2)
    finally:
        done.set()
        t.join()
    assert written.failed
    (lost,) = written.lost
    assert lost.what == "results doc"
    assert lost.instead == tmp_path / "R.ttsbench-pending.md"
    assert lost.instead.is_file()
    line = lost_line(written, tmp_path)
    assert "lock" in line
    assert line.endswith(f"its rows are in {lost.instead}")
    assert not doc.exists()


def test_a_damaged_doc_is_a_failure_too(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    doc.write_text("<!-- ttsbench:results:begin -->\n", encoding="utf-8")
    written = write(tmp_path, doc)
    (lost,) = written.lost
    assert lost.instead == tmp_path / "R.ttsbench-pending.md"


def test_no_doc_asked_no_failure(tmp_path: Path) -> None:
    written = write(tmp_path, None)
    assert not written.failed
    assert [label for label, _ in written.files] == ["results JSON", "chunk trace"]


# ---- nothing lost silently ---------------------------------------------------------------------
def test_an_artifacts_path_that_is_a_file_keeps_the_results_in_the_temp_folder(
    tmp_path: Path,
) -> None:
    artifacts = tmp_path / "artifacts"
    artifacts.write_text("a file, not a folder\n", encoding="utf-8")
    written = write(tmp_path, None, artifacts=artifacts)
    assert written.failed
    assert written.files == ()
    results, trace = written.lost
    assert (results.what, trace.what) == ("results JSON", "chunk trace")
    for lost in written.lost:
        assert lost.intended.parent == artifacts
        assert f"{artifacts} is a file, not a folder" in lost.why
        assert lost.instead is not None
        assert lost.instead.parent != artifacts.parent  # a folder of its own, in the temp
    assert results.instead is not None
    assert trace.instead is not None
    data = json.loads(results.instead.read_text(encoding="utf-8"))
    assert len(data["results"]) == 1
    assert trace.instead.read_text(encoding="utf-8").startswith("test,target,prompt")
    assert artifacts.read_text(encoding="utf-8") == "a file, not a folder\n"
    lines = outputs.summary_lines([make_result()], written, tmp_path)
    assert [line.text for line in lines if line.error] == [f"error: {x.line}" for x in written.lost]
    assert results.line.startswith(f"results JSON {artifacts / results.intended.name} not written")
    assert results.line.endswith(f"its data is in {results.instead}")


def test_a_chunk_trace_that_cannot_be_written_is_kept_in_the_temp_folder(tmp_path: Path) -> None:
    artifacts = tmp_path / ".ttsbench"
    name = results_json_name(NOW, socket.gethostname()).replace("results-", "chunks-")
    (artifacts / name.replace(".json", ".csv")).mkdir(parents=True)  # a folder in its way
    written = write(tmp_path, None, artifacts=artifacts)
    assert [label for label, _ in written.files] == ["results JSON"]
    (lost,) = written.lost
    assert lost.what == "chunk trace"
    assert lost.instead is not None
    assert lost.instead.read_text(encoding="utf-8").startswith("test,target,prompt")
    assert "IsADirectoryError" in lost_line(written, tmp_path)


def test_a_results_json_write_that_fails_leaves_no_empty_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = atomic.atomic_write_text

    def no_json(path: Path, text: str, *args: str) -> Path:
        if path.suffix == ".json":
            raise OSError(28, "No space left on device (simulated)")
        return real(path, text, *args)

    monkeypatch.setattr(outputs, "atomic_write_text", no_json)
    written = write(tmp_path, None)
    (lost,) = written.lost
    assert lost.what == "results JSON"
    assert "No space left on device" in lost.why
    assert lost.instead is not None
    assert json.loads(lost.instead.read_text(encoding="utf-8"))["results"]
    assert list((tmp_path / ".ttsbench").glob("results-*.json")) == []  # no empty claim


def test_a_step_summary_that_cannot_be_written_is_kept_in_the_temp_folder(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    target = blocker / "summary.md"
    written = write(tmp_path, None, env={"GITHUB_STEP_SUMMARY": str(target)})
    (lost,) = written.lost
    assert lost.what == "GitHub step summary"
    assert lost.intended == target
    assert lost.instead is not None
    assert "| test | prompt |" in lost.instead.read_text(encoding="utf-8")
    assert "not written" in lost_line(written, tmp_path)


def test_a_read_only_doc_is_left_alone_and_its_rows_go_to_the_side_file(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    doc.write_text("# Our numbers, do not touch\n", encoding="utf-8")
    doc.chmod(0o444)  # the user's intent; root could still replace it
    written = write(tmp_path, doc)
    assert doc.read_text(encoding="utf-8") == "# Our numbers, do not touch\n"
    assert doc.stat().st_mode & 0o777 == 0o444
    (lost,) = written.lost
    assert lost.instead == tmp_path / "R.ttsbench-pending.md"
    assert "| kokoro | onnx |" in lost.instead.read_text(encoding="utf-8")
    line = lost_line(written, tmp_path)
    assert "read-only (mode 0444)" in line


def test_a_doc_and_side_file_that_cannot_be_written_keep_the_rows_in_the_temp_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(path: Path, data: bytes) -> Path:
        raise OSError(28, "No space left on device (simulated)")

    monkeypatch.setattr("pytest_ttsbench.report.doc.atomic_write_bytes", refused)
    doc = tmp_path / "R.md"
    doc.write_text("# Numbers\n", encoding="utf-8")
    written = write(tmp_path, doc)
    assert doc.read_text(encoding="utf-8") == "# Numbers\n"
    (lost,) = written.lost
    assert lost.what == "results doc"
    assert lost.instead is not None
    assert lost.instead.parent != tmp_path
    kept = lost.instead.read_text(encoding="utf-8")
    assert "| kokoro | onnx |" in kept
    assert "No space left on device" in kept  # the side file says why it exists
    assert "No space left on device" in lost_line(written, tmp_path)
