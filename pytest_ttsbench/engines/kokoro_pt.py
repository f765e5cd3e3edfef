"""Kokoro-82M on PyTorch through the kokoro package (hexgrad, 0.9.4).

Everything is loaded from local files (``KModel(config=..., model=...)``, voices as
``.pt`` paths) so nothing goes to the Hub. misaki's English G2P would otherwise run
``spacy.cli.download("en_core_web_sm")`` (pip, from GitHub) when that model is absent:
that is a skip, or an EngineError at load, unless downloads are allowed; then the
download runs in ``load()``, never inside a timed call.

One-time setup happens in ``load()``: the G2P pipeline (misaki, spaCy) of the default
language (the ``lang_code`` knob, else American English) and its default voice pack.
A pipeline for another language is built on its first call.

``dtype`` and ``compile`` (TorchEngine.tune) switch per call. Cast weights meet float32
tensors upstream (the voice pack, the alignment matrix KModel builds with
``torch.zeros``): each submodule then gets its inputs in its weights' dtype, and the two
encoders whose outputs meet that matrix hand them on in float32, as do the modules that
feed the iSTFT (torch has no half-precision complex exp on the CPU).
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any, ClassVar

from pytest_ttsbench.engines.base import (
    Capabilities,
    EngineContext,
    EngineError,
    SynthesisOptions,
    WeightsLookup,
    WeightsNotFound,
    WeightsQuery,
)
from pytest_ttsbench.engines.hub import also_needs, weights_folder
from pytest_ttsbench.engines.installed import dist_versions
from pytest_ttsbench.engines.knobs import Knobs
from pytest_ttsbench.engines.lazy import lazy_module
from pytest_ttsbench.engines.spacy_model import SPACY_HINT, prepare_spacy_model, spacy_model_missing
from pytest_ttsbench.engines.torch_engine import TorchEngine
from pytest_ttsbench.engines.torch_tuning import inputs_follow_weights, outputs_in
from pytest_ttsbench.engines.weights import find

if TYPE_CHECKING:
    from collections.abc import Iterator

    import numpy as np

    from pytest_ttsbench.engines.base import AudioArray
    from pytest_ttsbench.results.target import Target
else:
    np = lazy_module("numpy")

REPO = "hexgrad/Kokoro-82M"
MODEL_FILE = "kokoro-v1_0.pth"
# Our language names -> kokoro lang codes (kokoro's own ALIASES also accept en-us, en-gb...)
LANG_CODES = {
    "en": "a",
    "en-us": "a",
    "en-gb": "b",
    "es": "e",
    "fr": "f",
    "hi": "h",
    "it": "i",
    "pt": "p",
    "pt-br": "p",
}


class KokoroPtEngine(TorchEngine):
    """KPipeline over a local KModel; one chunk per pipeline segment (<= 510 phonemes)."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        stream=True,
        speed=True,
        voices=True,
        deterministic=True,
        languages=frozenset(LANG_CODES) - {"en-us", "pt-br"},
    )
    env_var: ClassVar[str] = "TTSBENCH_KOKORO_PT_WEIGHTS"

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self._kmodel: Any = None
        self._pipelines: dict[str, Any] = {}
        self._kokoro: Any = None
        self._dtype_hooks: list[Any] = []  # while the weights are not float32

    @classmethod
    def locate_weights(cls, target: Target, query: WeightsQuery) -> WeightsLookup:
        lookup = find(
            target,
            query,
            env_var=cls.env_var,
            required=("config.json", MODEL_FILE, "voices/*.pt"),
            hf_repos=(REPO,),
            downloadable=True,
        )
        return also_needs(lookup, spacy_model_missing("a"), SPACY_HINT)

    def load(self) -> None:
        folder = weights_folder(self.ctx.weights)
        if folder is None and not self.ctx.allow_download:
            raise WeightsNotFound(f"{self.target.id}: {self.ctx.weights.hint}")
        files: dict[str, str] = (
            {}
            if folder is None
            else {"config": str(folder / "config.json"), "model": str(folder / MODEL_FILE)}
        )
        if self.target.device == "mps":  # kokoro's docs: some ops need the CPU fallback
            os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")
        with self._offline():
            self._import_torch()
            kokoro = self._kokoro = importlib.import_module("kokoro")
            try:
                self._kmodel = kokoro.KModel(repo_id=REPO, **files).to(self.target.device).eval()
            except Exception as exc:
                raise EngineError(
                    f"{self.target.id}: loading KModel from {folder} failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            self.model = self._kmodel
        # The G2P (misaki, spaCy) and the default voice load here, not in a timed call.
        knobs = Knobs(self.target.id, self.ctx.options)
        lang = knobs.text("lang_code") or "a"
        prepare_spacy_model(self.target.id, lang, self.ctx.allow_download)
        pipeline = self._pipeline(lang)
        voice = self._default_voice(knobs)
        if voice is not None:
            with self._offline():
                pipeline.load_voice(voice)

    def _default_voice(self, knobs: Knobs) -> str | None:
        """The default voice as a local file, or None where it is not one."""
        try:
            voice = self._voice(SynthesisOptions(), knobs)
        except EngineError:  # not among the weights: the calls that ask for it say so
            return None
        return voice if voice.endswith(".pt") else None

    def _pipeline(self, lang: str) -> Any:
        if lang not in self._pipelines:
            if spacy_model_missing(lang) and not self.ctx.allow_download:
                raise EngineError(f"{self.target.id}: {SPACY_HINT}")
            try:
                with self._offline():
                    pipeline = self._kokoro.KPipeline(
                        lang_code=lang, repo_id=REPO, model=self._kmodel
                    )
            except (Exception, SystemExit) as exc:  # spaCy's CLI exits on a failed pip
                raise EngineError(
                    f"{self.target.id}: building the {lang!r} G2P pipeline (misaki) failed: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            self._pipelines[lang] = pipeline
        return self._pipelines[lang]

    def _voice(self, opts: SynthesisOptions, knobs: Knobs) -> str:
        voice = opts.voice or knobs.text("voice", "af_heart") or "af_heart"
        weights = weights_folder(self.ctx.weights)
        if voice.endswith(".pt") or weights is None:  # a name without weights: downloaded
            return voice
        folder = weights / "voices"
        # A comma-separated mix of names is averaged upstream; each must be a local file.
        files = [folder / f"{name.strip()}.pt" for name in voice.split(",")]
        missing = [f.stem for f in files if not f.is_file()]
        if missing:
            have = sorted(p.stem for p in folder.glob("*.pt"))
            raise EngineError(
                f"{self.target.id}: no voice {', '.join(missing)} in {folder}; "
                f"have {', '.join(have) or 'none'}"
            )
        return ",".join(str(f) for f in files)

    def cast_model(self, dtype: Any) -> None:
        torch, kmodel = self._torch, self._kmodel
        for hook in self._dtype_hooks:
            hook.remove()
        self._dtype_hooks = []
        self.cast_module(kmodel, dtype)
        if dtype != torch.float32:  # no hooks (per-module Python calls) in float32
            generator = kmodel.decoder.generator
            self._dtype_hooks = inputs_follow_weights(kmodel) + [
                outputs_in(module, torch.float32)
                for module in (
                    kmodel.predictor.text_encoder,  # both meet KModel's float32 alignment
                    kmodel.text_encoder,
                    generator.m_source,  # both feed the iSTFT
                    generator.conv_post,
                )
            ]

    def compile_targets(self) -> list[tuple[object, str]]:
        # What KModel.forward_with_tokens calls as modules; the prosody predictor is
        # reached through its parts (predictor.F0Ntrain is a method, not a forward).
        kmodel = self._kmodel
        return [
            (kmodel, "bert"),
            (kmodel, "bert_encoder"),
            (kmodel.predictor, "text_encoder"),
            (kmodel, "text_encoder"),
            (kmodel, "decoder"),
        ]

    def _segments(self, text: str, opts: SynthesisOptions) -> Iterator[AudioArray]:
        knobs = Knobs(self.target.id, self.ctx.options, opts.extra)
        self.tune(knobs)
        lang = knobs.text("lang_code") or LANG_CODES.get(opts.language.lower())
        if lang is None:
            raise EngineError(
                f"{self.target.id}: language {opts.language!r} is not one of "
                f"{', '.join(sorted(LANG_CODES))}"
            )
        if not 0.5 <= opts.speed <= 2.0:
            raise EngineError(f"{self.target.id}: speed {opts.speed} outside 0.5..2.0")
        pipeline = self._pipeline(lang)
        voice = self._voice(opts, knobs)
        with self._offline():
            for result in pipeline(text, voice=voice, speed=opts.speed):
                audio = result.audio
                if audio is not None:
                    yield self.host(audio)

    def synthesize(self, text: str, opts: SynthesisOptions) -> AudioArray:
        chunks = list(self._segments(text, opts))
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.ascontiguousarray(np.concatenate(chunks), dtype=np.float32)

    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[AudioArray]:
        yield from self._segments(text, opts)

    def details(self) -> dict[str, object]:
        return {
            "upstream": "kokoro (KPipeline)",
            "device": self.target.device,
            **self.tuning_details(),
            "weights": str(weights_folder(self.ctx.weights) or REPO),
            "streaming": "per pipeline segment (<= 510 phonemes)",
        }

    def versions(self) -> dict[str, str]:
        return dist_versions("kokoro", "misaki", "torch", "spacy")

    def close(self) -> None:
        self._pipelines.clear()
        self._kmodel = None
        super().close()
