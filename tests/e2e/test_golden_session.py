"""A live session against a golden one (tests/golden/run/session_*): every packaged
suite on the synthetic engine writes results JSON of the same shape (every key path of
every result) and a results doc with the same tables, columns and row keys. The numbers
are the machine's; the shape is the code's, and a refactor of the model or the outputs
must leave it unchanged. TTSBENCH_UPDATE_GOLDEN=1 rewrites both goldens from the run."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest

RUN = Path(__file__).resolve().parents[1] / "golden" / "run"
# keys whose presence depends on the machine, not on the code: notes (contention, a
# serialized load), warnings, a failure reason, and the intelligibility check (whether
# its extra is installed; the golden run predates it)
VOLATILE = (
    "details/notes",
    "details/warnings",
    "details/failure",
    "trials[]/problems[]",
    "details/intelligibility",
)


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path in ``value``; list items collapse to ``[]``."""
    if isinstance(value, dict):
        found = set()
        for key, item in value.items():
            path = f"{prefix}/{key}" if prefix else key
            found |= {path} | key_paths(item, path)
        return found
    if isinstance(value, list):
        return set().union(*(key_paths(item, prefix + "[]") for item in value))
    return set()


def shape(results: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Key paths per test, the volatile ones left out."""
    out = {}
    for result in results:
        paths = key_paths(result)
        out[result["test"].rsplit("::", 1)[-1]] = {
            p for p in paths if not any(p.startswith(v) for v in VOLATILE)
        }
    return out


def table_shape(doc: str) -> list[str]:
    """Headers, separators and each row's key cells of every managed table, in order."""
    lines = []
    keys = 6
    for line in doc.splitlines():
        if line.startswith("<!-- ttsbench:"):
            lines.append(line)
        elif line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            is_header = not re.search(r"\d{4}-\d\d-\d\d", line)
            if is_header and cells and cells[0] == "Model":
                # the headline's key is model, backend, hardware, mode, prompt; a
                # section's adds params: never a measured (timing) cell
                keys = 6 if "Params" in cells else 5
            lines.append(" | ".join(cells if is_header else cells[:keys]))
    return lines


def test_a_live_session_writes_the_golden_shape(ttsb: pytest.Pytester) -> None:
    out = ttsb.runpytest_subprocess(
        "--pyargs",
        "pytest_ttsbench.suites",
        "--tts-model=synthetic",
        "--tts-trials=4",
        "--tts-intelligibility=off",  # the synthetic engine's audio is not speech
        "--tts-gates-mode=warn",
        "--tts-artifacts=art",
        "--update-results-doc",
        "--tts-results-doc=docs/BENCHMARK_RESULTS.md",
        "-q",
    )
    assert out.ret == 0, out.stdout.str()[-3000:]
    (written,) = (ttsb.path / "art").glob("results-*.json")
    live = json.loads(written.read_text(encoding="utf-8"))
    hardware = live["results"][0]["hardware"]
    doc = (ttsb.path / "docs" / "BENCHMARK_RESULTS.md").read_text(encoding="utf-8")
    doc = doc.replace(hardware, "HARDWARE")
    got = {test: sorted(paths) for test, paths in shape(live["results"]).items()}
    if os.environ.get("TTSBENCH_UPDATE_GOLDEN") == "1":
        (RUN / "session_shape.json").write_text(json.dumps(got, indent=1) + "\n", "utf-8")
        (RUN / "session_doc.md").write_text(doc, "utf-8")
    assert got == json.loads((RUN / "session_shape.json").read_text(encoding="utf-8"))
    expected = (RUN / "session_doc.md").read_text(encoding="utf-8")
    assert table_shape(doc) == table_shape(expected)
