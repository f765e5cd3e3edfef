"""write_all, what a session leaves behind: the record the pytest edge acts on."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from pytest_ttsbench.report import atomic, outputs
from tests.unit.report_support import NOW, make_result

if TYPE_CHECKING:
    from pathlib import Path


def write(tmp_path: Path, doc: Path | None, lock_timeout: float = 5.0) -> outputs.Written:
    return outputs.write_all(
        [make_result()],
        machine={},
        artifacts=tmp_path / ".ttsbench",
        results_doc=doc,
        history=5,
        now=NOW,
        env={},
        lock_timeout=lock_timeout,
    )


def test_an_updated_doc_is_no_failure(tmp_path: Path) -> None:
    written = write(tmp_path, tmp_path / "R.md")
    assert not written.doc_failed
    assert written.doc_side_file is None
    assert written.doc_failure is None
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
    assert written.doc_failed
    assert written.doc_side_file == tmp_path / "R.ttsbench-pending.md"
    assert written.doc_side_file.is_file()
    assert written.doc_failure is not None
    assert "lock" in written.doc_failure
    assert str(written.doc_side_file) in written.doc_failure
    assert written.doc_failure in written.warnings
    assert not doc.exists()
    lines = outputs.summary_lines([make_result()], written, tmp_path)
    assert any(line.warning and "not updated" in line.text for line in lines)


def test_a_damaged_doc_is_a_failure_too(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    doc.write_text("<!-- ttsbench:results:begin -->\n", encoding="utf-8")
    written = write(tmp_path, doc)
    assert written.doc_failed
    assert written.doc_side_file == tmp_path / "R.ttsbench-pending.md"


def test_no_doc_asked_no_failure(tmp_path: Path) -> None:
    written = write(tmp_path, None)
    assert not written.doc_failed
    assert [label for label, _ in written.files] == ["results JSON", "chunk trace"]
