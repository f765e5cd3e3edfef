"""Random-init weights: labelled in every output, never mistaken for a model's numbers,
and capped in length for engines that would otherwise never stop."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from pytest_ttsbench.engines.base import (
    RANDOM_MARKER,
    Capabilities,
    WeightsLookup,
    mark_random_weights,
)
from pytest_ttsbench.matrix.targets import not_found_reason
from pytest_ttsbench.measure.request import (
    RANDOM_WEIGHTS_MAX_AUDIO_S,
    Ask,
    length_cap,
    prepare,
)
from pytest_ttsbench.report import doc as rd
from pytest_ttsbench.report.summary import github_step_summary, terminal_table
from pytest_ttsbench.results.keys import result_key
from pytest_ttsbench.results.model import BenchResult
from pytest_ttsbench.settings import SettingsError, resolve
from tests.unit.report_support import NOW, make_result

ABOUT = {"builder": "tests/upstream/builders/marvis.py", "parameters": 1234}


def random_result(**kwargs: object) -> BenchResult:
    result = make_result(**kwargs)  # type: ignore[arg-type]
    return replace(result, random_weights={"random_weights": True, **ABOUT})


def test_the_marker_is_read_back_and_a_broken_one_still_counts(tmp_path: Path) -> None:
    assert WeightsLookup(path=tmp_path).random_weights is None
    marker = mark_random_weights(tmp_path, **ABOUT)
    assert marker.name == RANDOM_MARKER
    about = WeightsLookup(path=tmp_path).random_weights
    assert about == {"random_weights": True, **ABOUT}
    marker.write_text("{not json", encoding="utf-8")
    broken = WeightsLookup(path=tmp_path).random_weights
    assert broken is not None
    assert "error" in broken
    assert WeightsLookup.not_needed().random_weights is None
    assert WeightsLookup(path=None).random_weights is None


def test_random_weights_get_a_length_cap_unless_the_user_set_one() -> None:
    assert length_cap(None, random_weights=False) is None
    assert length_cap(None, random_weights=True) == RANDOM_WEIGHTS_MAX_AUDIO_S
    assert length_cap(5.0, random_weights=True) == 5.0
    assert length_cap(3.0, random_weights=False) == 3.0


def test_only_engines_that_honour_a_cap_are_given_one() -> None:
    ask = Ask(prompt="short")
    capped = prepare(ask, Capabilities(length_cap=True), "m-pt-cpu", "none", 2.0)
    assert capped.opts.max_audio_s == 2.0
    assert capped.opts.max_steps(25) == 50
    assert capped.opts.max_steps(12.5) == 25
    assert capped.opts.as_dict()["max_audio_s"] == 2.0
    plain = prepare(ask, Capabilities(), "k-pt-cpu", "none", 2.0)
    assert plain.opts.max_audio_s is None
    assert plain.opts.max_steps(25) is None


def test_the_option_is_declared_and_checked() -> None:
    def settle(cli: dict[str, object]) -> float | None:
        root = Path("/project")
        return resolve(cli, {}, {}, invocation_dir=root, rootdir=root).max_audio_s

    assert settle({}) is None
    assert settle({"tts_max_audio": "1.5"}) == 1.5
    with pytest.raises(SettingsError, match="--tts-max-audio: must be above 0"):
        settle({"tts_max_audio": "0"})


def test_every_output_says_random_weights(tmp_path: Path) -> None:
    result = random_result()
    data = result.as_dict()
    assert data["random_weights"]["builder"] == ABOUT["builder"]
    again = BenchResult.from_dict(json.loads(json.dumps(data)))
    assert again.random_weights == result.random_weights
    assert BenchResult.from_dict(make_result().as_dict()).random_weights is None
    assert "(random weights)" in terminal_table([result])
    assert "(random weights)" in github_step_summary([result])
    assert "(random weights)" not in terminal_table([make_result()])
    doc = tmp_path / "R.md"
    rd.upsert(doc, [result], now=NOW)
    assert "| kokoro (random weights) | onnx |" in doc.read_text(encoding="utf-8")


def test_a_random_row_never_replaces_a_real_one(tmp_path: Path) -> None:
    doc = tmp_path / "R.md"
    rd.upsert(doc, [make_result(latencies_ms=[400.0])], now=NOW)
    rd.upsert(doc, [random_result(latencies_ms=[9.0])], now=NOW)
    text = doc.read_text(encoding="utf-8")
    assert "| kokoro | onnx |" in text
    assert "| kokoro (random weights) | onnx |" in text
    assert result_key(make_result()) != result_key(random_result())
    assert make_result().key != random_result().key


def test_missing_side_files_are_named_as_what_they_are() -> None:
    weights = WeightsLookup(
        path=None,
        searched=("--tts-weights /w",),
        hint="misaki needs en_core_web_sm, or --tts-allow-download to let it fetch it.",
        downloadable=True,
        details={"weights_found_at": "/w"},
        missing=("python package en_core_web_sm",),
    )
    reason = not_found_reason(weights)
    assert reason.startswith("weights found at /w, but missing python package en_core_web_sm.")
    assert "weights not found" not in reason
    assert reason.count("--tts-allow-download") == 1
    absent = WeightsLookup(
        path=None, searched=("HF cache a/b /c (no such folder)",), hint="Put x.", downloadable=True
    )
    assert not_found_reason(absent) == (
        "weights not found (searched: HF cache a/b /c (no such folder)). "
        "Put x, or allow a download with --tts-allow-download."
    )
