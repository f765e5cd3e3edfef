"""The helpers the adapters share: typed knobs, the offline guard, companion files."""

from __future__ import annotations

import os
import types
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.engines.base import EngineError, WeightsLookup
from pytest_ttsbench.engines.text import (
    Knobs,
    also_needs,
    hub_offline,
    missing_companions,
    weights_folder,
)
from pytest_ttsbench.engines.weights import find
from pytest_ttsbench.results.target import Target

from .conftest import Install, cache_snapshot, make_files, query

if TYPE_CHECKING:
    from pathlib import Path


def test_knobs_call_values_win_and_convert() -> None:
    knobs = Knobs("x", {"a": "1.5", "n": "3", "flag": "off", "s": "hi"}, {"a": 2})
    assert knobs.number("a", 0.0) == 2.0
    assert knobs.integer("n", 0, low=1) == 3
    assert knobs.flag("flag", True) is False
    assert knobs.text("s") == "hi"
    assert knobs.text("missing", "d") == "d"
    assert knobs.numbers({"a": {"low": 0.0}, "b": {}}) == {"a": 2.0}
    assert knobs.integers({"n": 0, "m": 0}) == {"n": 3}


@pytest.mark.parametrize(
    ("value", "call"),
    [
        ("nan", lambda k: k.number("v", 0.0)),
        (True, lambda k: k.number("v", 0.0)),
        ("2.5", lambda k: k.integer("v", 0)),
        ("0", lambda k: k.integer("v", 0, low=1)),
        ("/no/such/file", lambda k: k.path("v")),
    ],
)
def test_knobs_reject_bad_values(value: object, call: object) -> None:
    knobs = Knobs("kokoro-pt-cpu", {}, {"v": value})
    with pytest.raises(EngineError, match="kokoro-pt-cpu: knob v="):
        call(knobs)  # type: ignore[operator]


def test_hub_offline_sets_and_restores(install: Install, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    constants = types.ModuleType("huggingface_hub.constants")
    constants.HF_HUB_OFFLINE = False  # type: ignore[attr-defined]
    install({"huggingface_hub.constants": constants})
    with hub_offline(False):
        assert "HF_HUB_OFFLINE" not in os.environ
    with hub_offline():
        assert os.environ["HF_HUB_OFFLINE"] == "1"
        assert os.environ["TRANSFORMERS_OFFLINE"] == "1"
        assert constants.HF_HUB_OFFLINE is True
    assert "HF_HUB_OFFLINE" not in os.environ
    assert os.environ["TRANSFORMERS_OFFLINE"] == "0"
    assert constants.HF_HUB_OFFLINE is False


def test_globs_companions_and_the_kept_folder(tmp_path: Path, hf_env: dict[str, str]) -> None:
    target = Target("kokoro", "pt", "cpu", "default")
    folder = make_files(tmp_path / "w", ["voices/af_heart.pt"])
    lookup = find(target, query(hf_env, {"kokoro": folder}), env_var="X", required=("voices/*.pt",))
    assert lookup.path == folder
    missing = missing_companions([("org/side", "file.bin")], hf_env)
    assert missing == [
        f"HF cache org/side {tmp_path}/hf-cache/models--org--side (missing file.bin)"
    ]
    blocked = also_needs(lookup, missing, "also needs org/side")
    assert not blocked.found
    assert blocked.missing[-1] == missing[0]
    assert weights_folder(blocked) == folder  # still loaded from here once allowed
    cache_snapshot(hf_env, "org/side", ["file.bin"])
    assert missing_companions([("org/side", "file.bin")], hf_env) == []
    assert also_needs(lookup, [], "x") is lookup
    assert weights_folder(WeightsLookup(None)) is None
