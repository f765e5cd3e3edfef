"""Hugging Face Hub helpers: the offline guard, and companion files an upstream fetches
by itself, looked for in the HF cache."""

from __future__ import annotations

import os
import sys
import types
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.engines.base import WeightsLookup
from pytest_ttsbench.engines.hub import also_needs, hub_offline, missing_companions, weights_folder
from pytest_ttsbench.engines.weights import find
from pytest_ttsbench.results.target import Target

from .conftest import Install, cache_snapshot, make_files, query

if TYPE_CHECKING:
    from pathlib import Path


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


@pytest.mark.parametrize(("env", "after"), [("YES", True), ("0", False), (None, False)])
def test_hub_imported_inside_the_block_is_left_as_the_environment_says(
    install: Install, monkeypatch: pytest.MonkeyPatch, env: str | None, after: bool
) -> None:
    monkeypatch.delitem(sys.modules, "huggingface_hub.constants", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    if env is None:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    else:
        monkeypatch.setenv("HF_HUB_OFFLINE", env)
    constants = types.ModuleType("huggingface_hub.constants")
    with hub_offline():
        constants.HF_HUB_OFFLINE = True  # type: ignore[attr-defined]
        install({"huggingface_hub.constants": constants})
    assert constants.HF_HUB_OFFLINE is after
    assert os.environ.get("HF_HUB_OFFLINE") == env


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
