"""spaCy's English model ``en_core_web_sm``, which misaki's English G2P (Kokoro, languages
a and b) needs: found without importing it, or downloaded before any timed call.
"""

from __future__ import annotations

import importlib

from pytest_ttsbench.engines.base import EngineError
from pytest_ttsbench.engines.installed import has_module

SPACY_MODEL = "en_core_web_sm"
SPACY_HINT = (
    "misaki needs the spaCy model en_core_web_sm installed (python -m spacy "
    "download en_core_web_sm) or --tts-allow-download to let it fetch it."
)


def spacy_model_missing(lang_code: str) -> list[str]:
    """misaki's English G2P downloads spaCy ``en_core_web_sm`` (with pip) when it is absent."""
    if lang_code in ("a", "b") and not has_module(SPACY_MODEL):
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
