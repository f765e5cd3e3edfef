"""Offline-first weight lookup shared by every adapter.

Order: ``--tts-weights`` (explicit), then the adapter's environment variable, then the
Hugging Face cache (read as files, without importing huggingface_hub), then whatever
the adapter adds (packages that ship weights). Each place searched is recorded so a
skip can list them all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ttsbench.engines.base import WeightsLookup, WeightsQuery

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from pytest_ttsbench.results.target import Target


def hf_cache_dir(env: Mapping[str, str]) -> Path:
    """Where huggingface_hub keeps its cache, by its own rules of precedence."""
    if env.get("HF_HUB_CACHE"):
        return Path(env["HF_HUB_CACHE"]).expanduser()
    if env.get("HUGGINGFACE_HUB_CACHE"):
        return Path(env["HUGGINGFACE_HUB_CACHE"]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    xdg = env.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def hf_snapshots(repo_id: str, env: Mapping[str, str]) -> list[Path]:
    """Snapshot folders of ``repo_id`` in the HF cache, the one ``refs/main`` names first."""
    root = hf_cache_dir(env) / f"models--{repo_id.replace('/', '--')}"
    snaps = root / "snapshots"
    if not snaps.is_dir():
        return []
    ordered = sorted((p for p in snaps.iterdir() if p.is_dir()), key=lambda p: p.name)
    ref = root / "refs" / "main"
    try:
        main = ref.read_text(encoding="utf-8").strip()
    except OSError:
        main = ""
    ordered.sort(key=lambda p: p.name != main)
    return ordered


def _has_file(folder: Path, name: str) -> bool:
    if any(c in name for c in "*?["):
        return any(p.is_file() for p in folder.glob(name))
    return (folder / name).is_file()


@dataclass
class Search:
    """Collects candidate folders and checks each for the files a model needs.

    ``required`` lists file names (or alternatives as tuples: any one of them will do)
    relative to a candidate folder; a name may be a glob (``voices/*.pt``).
    """

    target: Target
    required: Sequence[str | tuple[str, ...]]
    searched: list[str] = field(default_factory=list)
    missing_by_place: dict[str, list[str]] = field(default_factory=dict)

    def missing_in(self, folder: Path) -> list[str]:
        missing = []
        for need in self.required:
            options = (need,) if isinstance(need, str) else need
            if not any(_has_file(folder, name) for name in options):
                missing.append(" or ".join(options))
        return missing

    def try_folder(self, folder: Path, label: str) -> Path | None:
        place = f"{label} {folder}"
        self.searched.append(place)
        if not folder.is_dir():
            self.missing_by_place[place] = []  # no such folder
            return None
        missing = self.missing_in(folder)
        if missing:
            self.missing_by_place[place] = missing
            return None
        return folder

    def first(self, candidates: Iterable[tuple[Path, str]]) -> Path | None:
        for folder, label in candidates:
            found = self.try_folder(folder, label)
            if found is not None:
                return found
        return None

    def lookup(
        self,
        found: Path | None,
        hint: str,
        downloadable: bool = False,
        details: Mapping[str, str] | None = None,
    ) -> WeightsLookup:
        def shown(place: str) -> str:
            if place not in self.missing_by_place:
                return place
            missing = self.missing_by_place[place]
            return (
                f"{place} (missing {', '.join(missing)})"
                if missing
                else f"{place} (no such folder)"
            )

        searched = tuple(shown(place) for place in self.searched)
        return WeightsLookup(
            path=found,
            searched=searched,
            hint=hint,
            downloadable=downloadable,
            details=dict(details or {}),
        )


def standard_candidates(
    target: Target,
    query: WeightsQuery,
    env_var: str,
    hf_repos: Sequence[str] = (),
) -> list[tuple[Path, str]]:
    """--tts-weights, then ``env_var``, then each HF repo's cached snapshots."""
    out: list[tuple[Path, str]] = []
    explicit = query.explicit_for(target)
    if explicit is not None:
        out.append((explicit, "--tts-weights"))
    if query.env.get(env_var):
        out.append((Path(query.env[env_var]).expanduser(), f"${env_var}"))
    for repo in hf_repos:
        snaps = hf_snapshots(repo, query.env)
        if snaps:
            out.extend((snap, f"HF cache {repo}") for snap in snaps)
        else:
            out.append(
                (hf_cache_dir(query.env) / f"models--{repo.replace('/', '--')}", f"HF cache {repo}")
            )
    return out


def find(
    target: Target,
    query: WeightsQuery,
    *,
    env_var: str,
    required: Sequence[str | tuple[str, ...]],
    hf_repos: Sequence[str] = (),
    extra: Callable[[Search], Path | None] | None = None,
    downloadable: bool = False,
) -> WeightsLookup:
    """The usual lookup: explicit, env, HF cache, then ``extra`` (package data)."""
    search = Search(target, required)
    found = search.first(standard_candidates(target, query, env_var, hf_repos))
    if found is None and extra is not None:
        found = extra(search)
    needs = ", ".join(r if isinstance(r, str) else " or ".join(r) for r in required)
    hint = (
        f"Put {needs} in one folder and pass --tts-weights {target.pair}=FOLDER (or set {env_var})."
    )
    return search.lookup(found, hint, downloadable=downloadable)


def environ() -> dict[str, str]:
    return dict(os.environ)
