"""The results JSON and the results doc of one real session, kept as goldens: a refactor
of the result model, the serializer or the doc writer must leave both byte-for-byte the
same for the same run.

``tests/golden/run/results.json`` is what a session of every packaged suite on the
synthetic engine wrote (``--tts-trials=3``); ``results.md`` is the doc those results
render to. TTSBENCH_UPDATE_GOLDEN=1 rewrites ``results.md`` (never the JSON: it is the
input, written by an earlier version).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from pytest_ttsbench.report import doc as rd
from pytest_ttsbench.report import doc_update as du
from pytest_ttsbench.results.files import load_results_file, results_document
from tests.unit.report_support import assert_golden

RUN = Path(__file__).resolve().parents[1] / "golden" / "run"
WHEN = datetime(2026, 12, 2, 9, 42, 33, tzinfo=UTC)


def test_results_json_reads_back_and_writes_unchanged() -> None:
    stored = json.loads((RUN / "results.json").read_text(encoding="utf-8"))
    loaded = load_results_file(RUN / "results.json")
    written = results_document(loaded.session, loaded.results)
    written["plugin_version"] = stored["plugin_version"]
    assert json.loads(json.dumps(written)) == stored


def test_results_doc_renders_unchanged() -> None:
    loaded = load_results_file(RUN / "results.json")
    entries = rd.entries_for(loaded.results, now=WHEN, plugin_version=loaded.plugin_version)
    out = du.update_doc_text(None, entries, history=5)
    assert out.text is not None, out.unsafe
    assert_golden("run/results.md", out.text)
