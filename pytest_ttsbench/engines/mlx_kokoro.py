"""Kokoro-82M on MLX, through mlx-audio 0.6.2 (see mlx_audio.py).

One-time setup happens in ``load()``, as in kokoro_pt.py: spaCy's en_core_web_sm is
there (or downloaded now, when allowed) and the model's KokoroPipeline, with misaki's
G2P, is built for the default language (the ``lang_code`` knob, else American
English); mlx-audio would build it inside the first ``generate``. A pipeline for another
language is built on its first call. mlx-audio reloads the voice pack on every call.
"""

from __future__ import annotations

import contextlib
import io
import time
from typing import TYPE_CHECKING, Any, ClassVar

from pytest_ttsbench.engines.base import (
    Capabilities,
    EngineContext,
    EngineError,
    SynthesisOptions,
    WeightsLookup,
)
from pytest_ttsbench.engines.hub import also_needs, hub_offline, weights_folder
from pytest_ttsbench.engines.installed import has_module
from pytest_ttsbench.engines.knobs import Knobs
from pytest_ttsbench.engines.mlx_audio import MlxEngine
from pytest_ttsbench.engines.spacy_model import SPACY_HINT, prepare_spacy_model, spacy_model_missing

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from pytest_ttsbench.results.target import Target


class KokoroMlxEngine(MlxEngine):
    """Kokoro-82M on MLX: one result per pipeline segment (its only incremental output)."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        stream=True,
        speed=True,
        voices=True,
        deterministic=True,
        languages=frozenset({"en", "en-gb"}),
    )
    repos: ClassVar[Mapping[str, tuple[str, ...]]] = {
        q: (f"mlx-community/Kokoro-82M-{q}",) for q in ("bf16", "8bit", "6bit", "4bit")
    }
    env_var: ClassVar[str] = "TTSBENCH_KOKORO_MLX_WEIGHTS"
    required: ClassVar[tuple[str | tuple[str, ...], ...]] = (
        "config.json",
        "*.safetensors",
        "voices/*.safetensors",
    )

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self._g2p_load_s: float | None = None

    @classmethod
    def companions(
        cls, lookup: WeightsLookup, target: Target, env: Mapping[str, str]
    ) -> WeightsLookup:
        missing = (
            [] if has_module("misaki") else ["python package misaki (pip install 'misaki[en]')"]
        )
        return also_needs(lookup, missing + spacy_model_missing("a"), SPACY_HINT)

    @property
    def folder(self) -> Path | None:
        return weights_folder(self.ctx.weights)

    def before_load(self) -> None:
        if not has_module("misaki"):
            raise EngineError(
                f"{self.target.id}: Kokoro on mlx-audio needs misaki: pip install 'misaki[en]'"
            )
        prepare_spacy_model(self.target.id, self._default_lang(), self.ctx.allow_download)

    def _default_lang(self) -> str:
        return Knobs(self.target.id, self.ctx.options).text("lang_code") or "a"

    def load(self) -> None:
        super().load()
        # mlx-audio builds a language's pipeline (misaki, spaCy) in the first generate()
        lang = self._default_lang()
        start = time.perf_counter()
        try:
            with (
                hub_offline(not self.ctx.allow_download),
                contextlib.redirect_stdout(io.StringIO()),
            ):  # it prints "Creating new KokoroPipeline ..."
                self.model._get_pipeline(lang)
        except (Exception, SystemExit) as exc:  # spaCy's CLI exits on a failed pip
            raise EngineError(
                f"{self.target.id}: building the {lang!r} G2P pipeline (misaki) failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self._g2p_load_s = time.perf_counter() - start

    def generate_kwargs(self, opts: SynthesisOptions, knobs: Knobs, stream: bool) -> dict[str, Any]:
        voice = opts.voice or knobs.text("voice", "af_heart") or "af_heart"
        if not voice.endswith(".safetensors") and self.folder is not None:
            file = self.folder / "voices" / f"{voice}.safetensors"
            if not file.is_file():
                have = sorted(p.stem for p in file.parent.glob("*.safetensors"))
                raise EngineError(
                    f"{self.target.id}: no voice {voice!r} in {file.parent}; "
                    f"have {', '.join(have) or 'none'}"
                )
            voice = str(file)
        lang = knobs.text("lang_code") or ("b" if opts.language == "en-gb" else "a")
        if spacy_model_missing(lang) and not self.ctx.allow_download:
            raise EngineError(f"{self.target.id}: {SPACY_HINT}")
        # Kokoro's result.samples is wrong upstream (1); only result.audio is read here.
        return {"voice": voice, "speed": opts.speed, "lang_code": lang}

    def details(self) -> dict[str, object]:
        out = super().details()
        if self._g2p_load_s is not None:
            out["g2p_at_load"] = f"{self._default_lang()} ({self._g2p_load_s:.2f} s)"
        return out
