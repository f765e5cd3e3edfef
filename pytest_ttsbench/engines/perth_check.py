"""resemble-perth's watermarker, checked before Chatterbox on PyTorch loads: perth 1.0.1
sets ``PerthImplicitWatermarker`` to None on any ImportError below it, and the model's
constructor then fails obscurely. Imports nothing heavy; perth only when checked."""

from __future__ import annotations

import importlib

from pytest_ttsbench.engines.base import EngineError

PERTH_WATERMARKER = "perth.perth_net.perth_net_implicit.perth_watermarker"


def perth_import_error(target_id: str, exc: ImportError) -> str:
    """Why perth's watermarker did not import, with the fix for that cause."""
    missing = exc.name or ""
    if missing == "pkg_resources":
        fix = (
            "it imports pkg_resources, gone in setuptools >= 81 (resemble-ai/chatterbox#198): "
            "pip install 'setuptools<81'"
        )
    elif missing:
        fix = f"it needs the module {missing}: install it (pip install {missing.split('.')[0]})"
    else:
        fix = "see the error above"
    return (
        f"{target_id}: resemble-perth could not load its watermarker "
        f"({type(exc).__name__}: {exc}); {fix}"
    )


def check_perth(target_id: str) -> None:
    """resemble-perth 1.0.1 sets PerthImplicitWatermarker to None on any ImportError
    below it; the model constructor then fails obscurely. Re-import that module to
    name the real cause (pkg_resources gone in setuptools >= 81, torchaudio, ...)."""
    try:
        perth = importlib.import_module("perth")
    except ImportError:
        return  # chatterbox's own import will say what is missing
    if getattr(perth, "PerthImplicitWatermarker", None) is not None:
        return
    try:
        importlib.import_module(PERTH_WATERMARKER)
    except ImportError as exc:
        raise EngineError(perth_import_error(target_id, exc)) from exc
    raise EngineError(
        f"{target_id}: resemble-perth has no PerthImplicitWatermarker, though "
        f"{PERTH_WATERMARKER} imports; check the installed resemble-perth"
    )
