"""Chatterbox, Chatterbox-Turbo, Kokoro and Marvis on MLX, through mlx-audio 0.6.2.

All four load with ``mlx_audio.tts.utils.load_model(folder)`` and synthesize with
``model.generate(...)``, a generator of ``GenerationResult`` whose ``audio`` is an
``mx.array``. Never imported here: ``mlx_audio.tts.generate`` (it needs PortAudio) and
the models' own ``from_pretrained`` helpers (they fetch PyTorch repos). The files the
upstream fetches by itself from other repos (S3TokenizerV2, Mimi, the Llama tokenizer,
voice prompts, spaCy's English model) are checked offline before anything loads.
"""

from __future__ import annotations

import gc
import importlib
import time
from typing import TYPE_CHECKING, Any, ClassVar

from pytest_ttsbench.engines.base import (
    Engine,
    EngineContext,
    EngineError,
    SynthesisOptions,
    WeightsLookup,
    WeightsNotFound,
    WeightsQuery,
)
from pytest_ttsbench.engines.device_memory import mlx_clear_cache, mlx_peak_bytes, mlx_reset_peak
from pytest_ttsbench.engines.hub import hub_offline, weights_folder
from pytest_ttsbench.engines.installed import dist_versions
from pytest_ttsbench.engines.knobs import Knobs
from pytest_ttsbench.engines.lazy import lazy_module
from pytest_ttsbench.engines.weights import find

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    import numpy as np

    from pytest_ttsbench.engines.base import AudioArray
    from pytest_ttsbench.results.target import Target
else:
    np = lazy_module("numpy")

S3_TOKENIZER = ("mlx-community/S3TokenizerV2", "model.safetensors")
_QUANT = ("fp16", "8bit", "6bit", "4bit")


class MlxEngine(Engine):
    """What the mlx-audio adapters share: loading, results to host arrays, MLX memory."""

    repos: ClassVar[Mapping[str, tuple[str, ...]]] = {}  # variant -> repo ids (first: download)
    env_var: ClassVar[str] = ""
    required: ClassVar[tuple[str | tuple[str, ...], ...]] = ()
    model: Any = None

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self._mx: Any = None
        self._stages: dict[str, float] = {}
        self._tokens = 0

    # -- weights ---------------------------------------------------------------------

    @classmethod
    def locate_weights(cls, target: Target, query: WeightsQuery) -> WeightsLookup:
        lookup = find(
            target,
            query,
            env_var=cls.env_var,
            required=cls.required,
            hf_repos=cls.repos.get(target.variant, ()),
            downloadable=True,
        )
        return cls.companions(lookup, target, query.env)

    @classmethod
    def companions(
        cls, lookup: WeightsLookup, target: Target, env: Mapping[str, str]
    ) -> WeightsLookup:
        """Turn a found lookup into not-found when the upstream would fetch more."""
        return lookup

    # -- loading ---------------------------------------------------------------------

    def load(self) -> None:
        path = self.folder
        if path is None and not self.ctx.allow_download:
            raise WeightsNotFound(
                f"{self.target.id}: no weights and downloads are off; {self.ctx.weights.hint}"
            )
        source: Path | str = path if path is not None else self.repos[self.target.variant][0]
        self.before_load()
        with hub_offline(not self.ctx.allow_download):
            self._mx = importlib.import_module("mlx.core")
            self._use_device()
            load_model = importlib.import_module("mlx_audio.tts.utils").load_model
            start = time.perf_counter()
            try:
                self.model = load_model(source)
            except Exception as exc:
                allow = (
                    ""
                    if self.ctx.allow_download
                    else (
                        " (downloads are off: a file mlx-audio fetches itself may be missing from "
                        "the HF cache; --tts-allow-download lets it)"
                    )
                )
                raise EngineError(
                    f"{self.target.id}: mlx_audio load_model({source}) failed: "
                    f"{type(exc).__name__}: {exc}{allow}"
                ) from exc
            self._stages = {"load_model": time.perf_counter() - start}
        self.sample_rate = int(getattr(self.model, "sample_rate", 24000))

    @property
    def folder(self) -> Path | None:
        return weights_folder(self.ctx.weights)

    def before_load(self) -> None:
        """Checks that must fail before any weight is read."""

    def _use_device(self) -> None:
        mx = self._mx
        mx.set_default_device(mx.cpu if self.target.device == "cpu" else mx.gpu)

    # -- synthesis -------------------------------------------------------------------

    def knobs(self, opts: SynthesisOptions) -> Knobs:
        return Knobs(self.target.id, self.ctx.options, opts.extra)

    def generate_kwargs(self, opts: SynthesisOptions, knobs: Knobs, stream: bool) -> dict[str, Any]:
        raise NotImplementedError

    def host(self, audio: Any) -> AudioArray:
        """An mx.array as a 1-D float32 host array (np.asarray waits for the device)."""
        mx = self._mx
        if getattr(audio, "dtype", None) != mx.float32:
            audio = audio.astype(mx.float32)
        return np.ascontiguousarray(np.asarray(audio, dtype=np.float32).reshape(-1))

    def _results(self, text: str, opts: SynthesisOptions, stream: bool) -> Iterator[Any]:
        knobs = self.knobs(opts)
        self._stages = {}
        self._tokens = 0
        kwargs = self.generate_kwargs(opts, knobs, stream)  # may time prepare_voice
        with hub_offline(not self.ctx.allow_download):
            self._use_device()
            for result in self.model.generate(text, **kwargs):
                self._tokens += int(getattr(result, "token_count", 0) or 0)
                yield result

    def _chunks(self, text: str, opts: SynthesisOptions, stream: bool) -> Iterator[AudioArray]:
        for result in self._results(text, opts, stream):
            chunk = self.host(result.audio)
            if chunk.size:  # sesame's final streamed result may hold no audio
                yield chunk

    def synthesize(self, text: str, opts: SynthesisOptions) -> AudioArray:
        chunks = list(self._chunks(text, opts, stream=False))
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        return np.ascontiguousarray(np.concatenate(chunks), dtype=np.float32)

    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[AudioArray]:
        if not self.capabilities.stream:
            raise EngineError(f"{self.target.id}: mlx-audio has no streaming for this model")
        yield from self._chunks(text, opts, stream=True)

    # -- facts -----------------------------------------------------------------------

    def reset_peak_memory(self) -> None:
        mlx_reset_peak(self._mx)

    def peak_memory_bytes(self) -> int | None:
        return mlx_peak_bytes(self._mx)

    def stage_seconds(self) -> dict[str, float]:
        out = dict(self._stages)
        if self._tokens:
            out["tokens"] = float(self._tokens)
        return out

    def details(self) -> dict[str, object]:
        mx = self._mx
        device = str(mx.default_device()) if mx is not None else self.target.device
        return {
            "upstream": "mlx-audio",
            "mlx_device": device,
            "variant": self.target.variant,
            "weights": str(self.folder or self.repos[self.target.variant][0]),
        }

    def versions(self) -> dict[str, str]:
        return dist_versions(
            "mlx-audio",
            "mlx",
            "mlx-metal",
            "mlx-cpu",
            "mlx-cuda-12",
            "mlx-cuda-13",
            "misaki",
            "transformers",
        )

    def close(self) -> None:
        self.model = None
        gc.collect()
        mlx_clear_cache(self._mx)


def quant_repos(*patterns: str) -> dict[str, tuple[str, ...]]:
    return {q: tuple(p.format(q=q) for p in patterns) for q in _QUANT}


MODEL_FILE = ("model.safetensors", "model.safetensors.index.json")
