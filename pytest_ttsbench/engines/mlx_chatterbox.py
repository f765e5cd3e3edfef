"""Chatterbox and Chatterbox-Turbo on MLX, through mlx-audio 0.6.2 (see mlx_audio.py)."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, ClassVar

from pytest_ttsbench.engines.base import (
    Capabilities,
    EngineContext,
    EngineError,
    SynthesisOptions,
    WeightsLookup,
)
from pytest_ttsbench.engines.hub import also_needs, hf_cached_file, missing_companions
from pytest_ttsbench.engines.knobs import S3_TOKENS_PER_S, Knobs, cap_kwarg
from pytest_ttsbench.engines.mlx_audio import MODEL_FILE, S3_TOKENIZER, MlxEngine, quant_repos

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
    from pathlib import Path

    from pytest_ttsbench.engines.base import AudioArray
    from pytest_ttsbench.results.target import Target


class _ChatterboxVoice(MlxEngine):
    """Reference voices are prepared once per clip and reused (timed as prepare_voice)."""

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self._voice: Path | None = None
        self._conds: Any = None

    def builtin_voice(self) -> bool:
        path = self.folder
        return path is None or (path / "conds.safetensors").is_file()

    def load(self) -> None:
        super().load()
        self._voice, self._conds = None, None  # a fresh model holds no cloned voice
        self.after_load()
        # A voice given as a --tts-opt is the same for every call: prepare it here (a
        # load stage), not inside the first timed call.
        knobs = self.knobs(SynthesisOptions())
        ref = knobs.path("reference_audio")
        if ref is not None:
            self.use_voice(ref, knobs)

    def after_load(self) -> None:
        """What a subclass reads from the loaded model before any voice is prepared."""

    def use_voice(self, ref: Path, knobs: Knobs) -> None:
        """Prepare ``ref`` unless it is the voice already prepared (timed: prepare_voice)."""
        raise NotImplementedError

    def reference(self, opts: SynthesisOptions, knobs: Knobs) -> Path | None:
        ref = opts.reference_audio or knobs.path("reference_audio")
        if ref is None and not self.builtin_voice():
            raise EngineError(
                f"{self.target.id}: the weights have no conds.safetensors (built-"
                "in voice); pass a reference clip: --tts-opt reference_audio=FILE"
            )
        return ref


class ChatterboxMlxEngine(_ChatterboxVoice):
    """Chatterbox on MLX (no watermark, no streaming: ``stream`` is ignored upstream)."""

    capabilities: ClassVar[Capabilities] = Capabilities(voice_clone=True, length_cap=True)
    repos: ClassVar[Mapping[str, tuple[str, ...]]] = quant_repos(
        "mlx-community/chatterbox-{q}", "mlx-community/Chatterbox-TTS-{q}"
    )
    env_var: ClassVar[str] = "TTSBENCH_CHATTERBOX_MLX_WEIGHTS"
    required: ClassVar[tuple[str | tuple[str, ...], ...]] = (
        "config.json",
        MODEL_FILE,
        "tokenizer.json",
    )

    @classmethod
    def companions(
        cls, lookup: WeightsLookup, target: Target, env: Mapping[str, str]
    ) -> WeightsLookup:
        # post_load_hook snapshot_downloads S3TokenizerV2 on every load, unconditionally.
        return also_needs(
            lookup,
            missing_companions([S3_TOKENIZER], env),
            "mlx-audio also loads mlx-community/S3TokenizerV2 "
            "(model.safetensors) from the HF cache.",
        )

    def generate_kwargs(self, opts: SynthesisOptions, knobs: Knobs, stream: bool) -> dict[str, Any]:
        kwargs: dict[str, Any] = knobs.numbers(
            {
                "exaggeration": {"low": 0.0},
                "cfg_weight": {"low": 0.0},
                "temperature": {"above": 0.0},
                "repetition_penalty": {"above": 0.0},
                "min_p": {"low": 0.0, "high": 1.0},
                "top_p": {"above": 0.0, "high": 1.0},
            }
        )
        kwargs.update(knobs.integers({"max_new_tokens": 1}))
        cap_kwarg(kwargs, "max_new_tokens", opts, S3_TOKENS_PER_S)
        kwargs.update(lang_code=opts.language.split("-")[0] or "en", verbose=False)
        ref = self.reference(opts, knobs)
        if ref is not None:
            self.use_voice(ref, knobs)
            kwargs["conds"] = self._conds
        return kwargs

    def use_voice(self, ref: Path, knobs: Knobs) -> None:
        if ref == self._voice:
            return
        exaggeration = knobs.numbers({"exaggeration": {"low": 0.0}}).get("exaggeration", 0.1)
        start = time.perf_counter()
        self._conds = self.model.prepare_conditionals(str(ref), self.sample_rate, exaggeration)
        self._voice = ref
        self._stages["prepare_voice"] = time.perf_counter() - start

    def details(self) -> dict[str, object]:
        return {**super().details(), "watermark": "none", "streaming": "none upstream"}


class ChatterboxTurboMlxEngine(_ChatterboxVoice):
    """Chatterbox-Turbo on MLX: native streaming via ``stream=True, streaming_interval``."""

    # streaming_interval s -> chunks of max(10, interval*25) tokens: 0.5 s is 12 tokens,
    # near the 10-token floor; 4 s is 100 tokens.
    capabilities: ClassVar[Capabilities] = Capabilities(
        stream=True,
        voice_clone=True,
        tags=True,
        chunk_knob="streaming_interval",
        chunk_sweep=(0.5, 2.0, 4.0),
        length_cap=True,
    )
    repos: ClassVar[Mapping[str, tuple[str, ...]]] = quant_repos(
        "mlx-community/chatterbox-turbo-{q}", "mlx-community/Chatterbox-Turbo-{q}"
    )
    env_var: ClassVar[str] = "TTSBENCH_CHATTERBOX_TURBO_MLX_WEIGHTS"
    # post_load_hook raises FileNotFoundError without conds.safetensors.
    required: ClassVar[tuple[str | tuple[str, ...], ...]] = (
        "config.json",
        MODEL_FILE,
        "conds.safetensors",
        ("tokenizer.json", "vocab.json"),
    )

    def after_load(self) -> None:
        # Upstream only warns when S3TokenizerV2 is missing; cloning then fails later.
        self._s3_tokenizer = (
            self.ctx.allow_download or hf_cached_file(*S3_TOKENIZER, dict(os.environ)) is not None
        )
        self._builtin = getattr(self.model, "_conds", None)  # the built-in voice

    def generate_kwargs(self, opts: SynthesisOptions, knobs: Knobs, stream: bool) -> dict[str, Any]:
        kwargs: dict[str, Any] = knobs.numbers(
            {
                "temperature": {"above": 0.0},
                "repetition_penalty": {"above": 0.0},
                "top_p": {"above": 0.0, "high": 1.0},
            }
        )
        kwargs.update(knobs.integers({"top_k": 1, "max_tokens": 1}))
        cap_kwarg(kwargs, "max_tokens", opts, S3_TOKENS_PER_S)
        if knobs.given("norm_loudness"):
            kwargs["norm_loudness"] = knobs.flag("norm_loudness", True)
        if stream:
            kwargs.update(
                stream=True, streaming_interval=knobs.number("streaming_interval", 2.0, above=0.0)
            )
        ref = self.reference(opts, knobs)
        if ref is not None:
            self.use_voice(ref, knobs)
        elif self._voice is not None:  # back to the built-in voice
            self.model._conds = self._builtin
            self._voice = None
        return kwargs

    def _chunks(self, text: str, opts: SynthesisOptions, stream: bool) -> Iterator[AudioArray]:
        # max_tokens caps each sentence group, and stream_generate resets it to 2000:
        # the length cap is also kept here, as audio, by no longer asking for chunks.
        limit = None
        if opts.max_audio_s is not None and not self.knobs(opts).given("max_tokens"):
            limit = opts.max_audio_s * self.sample_rate
        done = 0
        chunks = super()._chunks(text, opts, stream)
        try:
            for chunk in chunks:
                yield chunk
                done += chunk.size
                if limit is not None and done >= limit:
                    return
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # stops the upstream generator, and with it the generation

    def use_voice(self, ref: Path, knobs: Knobs) -> None:
        if ref == self._voice:
            return
        if not self._s3_tokenizer:
            raise EngineError(
                f"{self.target.id}: cloning a voice needs mlx-community/S3TokenizerV2 "
                "(model.safetensors) in the HF cache, or --tts-allow-download"
            )
        start = time.perf_counter()
        try:
            self.model.prepare_conditionals(
                str(ref), norm_loudness=knobs.flag("norm_loudness", True)
            )
        except AssertionError as exc:
            raise EngineError(
                f"{self.target.id}: reference clip {ref} rejected: {exc} "
                "(Chatterbox-Turbo needs more than 5 s)"
            ) from exc
        self._voice = ref
        self._stages["prepare_voice"] = time.perf_counter() - start

    def details(self) -> dict[str, object]:
        return {
            **super().details(),
            "watermark": "none",
            "streaming": "native: stream_generate, chunk = max(10, interval*25) tokens",
        }
