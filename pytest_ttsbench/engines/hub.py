"""Hugging Face Hub helpers the adapters share: the guard that keeps downloads off unless
allowed, and the files an upstream fetches by itself from another repo, looked for in the
HF cache, with the weights lookup that lists what is missing.

Imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ttsbench.engines.weights import hf_cache_dir, hf_snapshots
from pytest_ttsbench.flag_words import parse_flag

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from pytest_ttsbench.engines.base import WeightsLookup


@contextlib.contextmanager
def hub_offline(active: bool = True) -> Iterator[None]:
    """Forbid Hugging Face Hub network access inside the block (when ``active``).

    Sets ``HF_HUB_OFFLINE``/``TRANSFORMERS_OFFLINE`` for modules imported inside, and
    the already-imported ``huggingface_hub.constants.HF_HUB_OFFLINE`` flag, which
    huggingface_hub and transformers read on every call. A hidden fetch then fails at
    once with an offline error instead of downloading (or hanging) without consent.
    """
    if not active:
        yield
        return
    names = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    saved = {name: os.environ.get(name) for name in names}
    constants = sys.modules.get("huggingface_hub.constants")
    old_flag = getattr(constants, "HF_HUB_OFFLINE", None)
    for name in names:
        os.environ[name] = "1"
    if constants is not None:
        constants.HF_HUB_OFFLINE = True  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        after = sys.modules.get("huggingface_hub.constants")
        if after is not None:
            if constants is None:  # imported inside the block: what the environment says
                given = saved["HF_HUB_OFFLINE"] or saved["TRANSFORMERS_OFFLINE"] or ""
                old_flag = parse_flag(given) is True
            after.HF_HUB_OFFLINE = old_flag  # type: ignore[attr-defined]


def hf_cached_file(repo: str, filename: str, env: Mapping[str, str]) -> Path | None:
    """``filename`` of ``repo`` in the HF cache, as hf_hub_download would find it offline."""
    for snap in hf_snapshots(repo, env):
        if (snap / filename).is_file():
            return snap / filename
    return None


def cache_place(repo: str, env: Mapping[str, str]) -> str:
    snaps = hf_snapshots(repo, env)
    folder = snaps[0] if snaps else hf_cache_dir(env) / f"models--{repo.replace('/', '--')}"
    return f"HF cache {repo} {folder}"


def missing_companions(files: Iterable[tuple[str, str]], env: Mapping[str, str]) -> list[str]:
    """Each (repo, file) that an upstream fetches on its own and the HF cache lacks."""
    return [
        f"{cache_place(repo, env)} (missing {name})"
        for repo, name in files
        if hf_cached_file(repo, name, env) is None
    ]


def also_needs(lookup: WeightsLookup, missing: list[str], hint: str) -> WeightsLookup:
    """The lookup, turned into not-found when something besides the weights is missing."""
    if not missing or lookup.path is None:
        return lookup
    return dataclasses.replace(
        lookup,
        path=None,
        missing=(*lookup.missing, *missing),
        hint=hint.strip(),
        details={**lookup.details, "weights_found_at": str(lookup.path)},
    )


def weights_folder(weights: WeightsLookup) -> Path | None:
    """The weights folder, also when ``also_needs`` turned the lookup into not-found
    (the run goes on only with --tts-allow-download, and then the upstream fetches the
    rest; the weights found locally are still the ones to load)."""
    if weights.path is not None:
        return weights.path
    found = weights.details.get("weights_found_at")
    return Path(found) if found else None
