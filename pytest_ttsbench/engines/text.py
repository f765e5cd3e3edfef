"""Helpers the adapters share: knobs typed from the text of ``--tts-opt``, the guard that
keeps Hugging Face downloads off unless allowed, and checks for files an upstream
fetches by itself from another repo.

Imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.metadata
import importlib.util
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.engines.base import EngineError, SynthesisOptions, WeightsLookup
from pytest_ttsbench.engines.weights import hf_cache_dir, hf_snapshots

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class Knobs:
    """Engine knobs: the call's ``opts.extra`` over the session's ``--tts-opt`` strings.

    Every getter converts and checks the value and raises EngineError naming the knob,
    the value and what was expected. Keys the engine does not ask for are ignored: a
    ``--tts-opt`` applies to every target that has the knob.
    """

    def __init__(
        self, engine: str, options: Mapping[str, str], extra: Mapping[str, object] | None = None
    ) -> None:
        self.engine = engine
        self.values: dict[str, object] = {**options, **(extra or {})}

    def _bad(self, key: str, value: object, expected: str) -> EngineError:
        return EngineError(f"{self.engine}: knob {key}={value!r}: expected {expected}")

    def given(self, key: str) -> bool:
        return self.values.get(key) not in (None, "")

    def number(
        self,
        key: str,
        default: float,
        *,
        low: float | None = None,
        high: float | None = None,
        above: float | None = None,
    ) -> float:
        value = self.values.get(key)
        if value in (None, ""):
            return default
        try:
            if isinstance(value, bool):
                raise TypeError
            out = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise self._bad(key, value, "a number") from None
        if out != out or out in (float("inf"), float("-inf")):
            raise self._bad(key, value, "a finite number")
        if low is not None and out < low:
            raise self._bad(key, value, f"a number >= {low}")
        if high is not None and out > high:
            raise self._bad(key, value, f"a number <= {high}")
        if above is not None and out <= above:
            raise self._bad(key, value, f"a number > {above}")
        return out

    def integer(self, key: str, default: int, *, low: int | None = None) -> int:
        value = self.values.get(key)
        if value in (None, ""):
            return default
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise self._bad(key, value, "a whole number")
        try:
            out = int(value) if isinstance(value, int | float) else int(str(value).strip())
        except ValueError:
            raise self._bad(key, value, "a whole number") from None
        if low is not None and out < low:
            raise self._bad(key, value, f"a whole number >= {low}")
        return out

    def flag(self, key: str, default: bool) -> bool:
        value = self.values.get(key)
        if value in (None, ""):
            return default
        if isinstance(value, bool):
            return value
        word = str(value).strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise self._bad(key, value, "on/off, true/false, yes/no or 1/0")

    def numbers(self, table: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
        """The knobs of ``table`` (name -> bounds for ``number``) that were given."""
        return {
            name: self.number(name, 0.0, **bounds)
            for name, bounds in table.items()
            if self.given(name)
        }

    def integers(self, table: Mapping[str, int | None]) -> dict[str, int]:
        """The knobs of ``table`` (name -> lowest allowed value) that were given."""
        return {
            name: self.integer(name, 0, low=low) for name, low in table.items() if self.given(name)
        }

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.values.get(key)
        return default if value in (None, "") else str(value)

    def path(self, key: str) -> Path | None:
        value = self.values.get(key)
        if value in (None, ""):
            return None
        path = Path(str(value)).expanduser()
        if not path.is_file():
            raise self._bad(key, value, "an existing file")
        return path


def _is_true(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


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
            after.HF_HUB_OFFLINE = (  # type: ignore[attr-defined]
                old_flag
                if constants is not None
                else _is_true(saved["HF_HUB_OFFLINE"] or saved["TRANSFORMERS_OFFLINE"])
            )


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


def has_module(name: str) -> bool:
    """Whether ``name`` is importable, without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


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


S3_TOKENS_PER_S = 25  # Chatterbox's S3 speech tokens per second of audio, every backend


def cap_kwarg(
    kwargs: dict[str, Any], name: str, opts: SynthesisOptions, steps_per_s: float
) -> None:
    """Set the upstream's length limit ``name`` from the call's length cap, in the
    upstream's steps, unless the user gave that knob (it is in ``kwargs`` then)."""
    cap = opts.max_steps(steps_per_s)
    if cap is not None and name not in kwargs:
        kwargs[name] = cap


SPACY_MODEL = "en_core_web_sm"


def spacy_model_missing(lang_code: str) -> list[str]:
    """misaki's English G2P downloads spaCy ``en_core_web_sm`` (with pip) when it is absent."""
    if lang_code in ("a", "b") and not has_module("en_core_web_sm"):
        return ["python package en_core_web_sm (spaCy English model used by misaki's G2P)"]
    return []


def prepare_spacy_model(target_id: str, lang_code: str, allow_download: bool) -> None:
    """Have spaCy's en_core_web_sm for misaki's English G2P (lang a/b) before any timed
    call: refuse without it unless downloads are allowed, else download it now.

    misaki would run ``spacy.cli.download`` itself, inside the first synthesis, and
    spaCy's CLI ends a failed pip run with ``sys.exit``; here either outcome is an
    EngineError of ``load()``.
    """
    if not spacy_model_missing(lang_code):
        return
    if not allow_download:
        raise EngineError(f"{target_id}: {SPACY_HINT}")
    try:
        importlib.import_module("spacy.cli").download(SPACY_MODEL)
    except (Exception, SystemExit) as exc:
        raise EngineError(
            f"{target_id}: downloading the spaCy model {SPACY_MODEL} for misaki failed: "
            f"{type(exc).__name__}: {exc}. Install it (python -m spacy download "
            f"{SPACY_MODEL}) and run again."
        ) from exc
    importlib.invalidate_caches()
    if spacy_model_missing(lang_code):
        raise EngineError(
            f"{target_id}: spaCy downloaded {SPACY_MODEL} but this process cannot import "
            "it; run again (it is installed now)."
        )


SPACY_HINT = (
    "misaki needs the spaCy model en_core_web_sm installed (python -m spacy "
    "download en_core_web_sm) or --tts-allow-download to let it fetch it."
)


def dist_versions(*names: str) -> dict[str, str]:
    """Installed versions of the named distributions (those that are installed)."""
    out = {}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def dist_installed(name: str) -> bool:
    return bool(dist_versions(name))


def weights_folder(weights: WeightsLookup) -> Path | None:
    """The weights folder, also when ``also_needs`` turned the lookup into not-found
    (the run goes on only with --tts-allow-download, and then the upstream fetches the
    rest; the weights found locally are still the ones to load)."""
    if weights.path is not None:
        return weights.path
    found = weights.details.get("weights_found_at")
    return Path(found) if found else None
