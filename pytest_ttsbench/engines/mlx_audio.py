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
import json
import os
import time
from typing import TYPE_CHECKING, Any, ClassVar

from pytest_ttsbench.engines.base import (
    Capabilities,
    Engine,
    EngineContext,
    EngineError,
    SynthesisOptions,
    WeightsLookup,
    WeightsNotFound,
    WeightsQuery,
)
from pytest_ttsbench.engines.lazy import lazy_module
from pytest_ttsbench.engines.text import (
    SPACY_HINT,
    Knobs,
    also_needs,
    dist_versions,
    has_module,
    hf_cached_file,
    hub_offline,
    missing_companions,
    spacy_model_missing,
    weights_folder,
)
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

    def _memory_fn(self, name: str) -> Any:
        mx = self._mx
        if mx is None:
            return None
        fn = getattr(mx, name, None)
        metal = getattr(mx, "metal", None)
        if fn is None and metal is not None:  # mlx < 0.24 kept these under mx.metal
            fn = getattr(metal, name, None)
        return fn

    def reset_peak_memory(self) -> None:
        fn = self._memory_fn("reset_peak_memory")
        if fn is not None:
            fn()

    def peak_memory_bytes(self) -> int | None:
        fn = self._memory_fn("get_peak_memory")
        return None if fn is None else int(fn())

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
        fn = self._memory_fn("clear_cache")
        if fn is not None:
            fn()


def _quant_repos(*patterns: str) -> dict[str, tuple[str, ...]]:
    return {q: tuple(p.format(q=q) for p in patterns) for q in _QUANT}


_MODEL_FILE = ("model.safetensors", "model.safetensors.index.json")


class _ChatterboxVoice(MlxEngine):
    """Reference voices are prepared once per clip and reused (timed as prepare_voice)."""

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self._voice: Path | None = None
        self._conds: Any = None

    def builtin_voice(self) -> bool:
        path = self.folder
        return path is None or (path / "conds.safetensors").is_file()

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

    capabilities: ClassVar[Capabilities] = Capabilities(voice_clone=True)
    repos: ClassVar[Mapping[str, tuple[str, ...]]] = _quant_repos(
        "mlx-community/chatterbox-{q}", "mlx-community/Chatterbox-TTS-{q}"
    )
    env_var: ClassVar[str] = "TTSBENCH_CHATTERBOX_MLX_WEIGHTS"
    required: ClassVar[tuple[str | tuple[str, ...], ...]] = (
        "config.json",
        _MODEL_FILE,
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
        kwargs.update(lang_code=opts.language.split("-")[0] or "en", verbose=False)
        ref = self.reference(opts, knobs)
        if ref is not None:
            if ref != self._voice:
                start = time.perf_counter()
                self._conds = self.model.prepare_conditionals(
                    str(ref), self.sample_rate, kwargs.get("exaggeration", 0.1)
                )
                self._voice = ref
                self._stages["prepare_voice"] = time.perf_counter() - start
            kwargs["conds"] = self._conds
        return kwargs

    def details(self) -> dict[str, object]:
        return {**super().details(), "watermark": "none", "streaming": "none upstream"}


class ChatterboxTurboMlxEngine(_ChatterboxVoice):
    """Chatterbox-Turbo on MLX: native streaming via ``stream=True, streaming_interval``."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        stream=True, voice_clone=True, tags=True, chunk_knob="streaming_interval"
    )
    repos: ClassVar[Mapping[str, tuple[str, ...]]] = _quant_repos(
        "mlx-community/chatterbox-turbo-{q}", "mlx-community/Chatterbox-Turbo-{q}"
    )
    env_var: ClassVar[str] = "TTSBENCH_CHATTERBOX_TURBO_MLX_WEIGHTS"
    # post_load_hook raises FileNotFoundError without conds.safetensors.
    required: ClassVar[tuple[str | tuple[str, ...], ...]] = (
        "config.json",
        _MODEL_FILE,
        "conds.safetensors",
        ("tokenizer.json", "vocab.json"),
    )

    def load(self) -> None:
        super().load()
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
        if knobs.given("norm_loudness"):
            kwargs["norm_loudness"] = knobs.flag("norm_loudness", True)
        if stream:
            kwargs.update(
                stream=True, streaming_interval=knobs.number("streaming_interval", 2.0, above=0.0)
            )
        self._use_voice(self.reference(opts, knobs), knobs)
        return kwargs

    def _use_voice(self, ref: Path | None, knobs: Knobs) -> None:
        if ref is None:
            if self._voice is not None:  # back to the built-in voice
                self.model._conds = self._builtin
                self._voice = None
            return
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
        if spacy_model_missing("a") and not self.ctx.allow_download:
            raise EngineError(f"{self.target.id}: {SPACY_HINT}")

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
        if lang in ("a", "b") and spacy_model_missing(lang) and not self.ctx.allow_download:
            raise EngineError(f"{self.target.id}: {SPACY_HINT}")
        # Kokoro's result.samples is wrong upstream (1); only result.audio is read here.
        return {"voice": voice, "speed": opts.speed, "lang_code": lang}


class MarvisMlxEngine(MlxEngine):
    """Marvis TTS (sesame/CSM) on MLX: native streaming every ``streaming_interval`` s."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        stream=True, voices=True, voice_clone=True, chunk_knob="streaming_interval"
    )
    repos: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "8bit": ("Marvis-AI/marvis-tts-250m-v0.2-MLX-8bit",),
        "6bit": ("Marvis-AI/marvis-tts-250m-v0.2-MLX-6bit",),
        "4bit": ("Marvis-AI/marvis-tts-250m-v0.2-MLX-4bit",),
        "bf16": ("Marvis-AI/marvis-tts-250m-v0.2",),
    }
    env_var: ClassVar[str] = "TTSBENCH_MARVIS_MLX_WEIGHTS"
    required: ClassVar[tuple[str | tuple[str, ...], ...]] = ("config.json", _MODEL_FILE)
    MIMI = ("kyutai/moshiko-pytorch-bf16", "tokenizer-e351c8d8-checkpoint125.safetensors")
    LLAMA_TOKENIZER = "unsloth/Llama-3.2-1B"

    @classmethod
    def side_files(cls, folder: Path, voice: str = "conversational_a") -> list[tuple[str, str]]:
        """What sesame's Model() and generate() fetch with hf_hub_download, by config."""
        try:
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            config = {}
        tokenizer_repo = config.get("text_tokenizer") or cls.LLAMA_TOKENIZER
        files = [cls.MIMI, (tokenizer_repo, "tokenizer.json")]
        if config.get("use_default_voice_prompt", True):
            prompt_repo = config.get("text_tokenizer") or "sesame/csm-1b"
            files.append((prompt_repo, f"prompts/{voice}.wav"))
        return files

    @classmethod
    def companions(
        cls, lookup: WeightsLookup, target: Target, env: Mapping[str, str]
    ) -> WeightsLookup:
        if lookup.path is None:
            return lookup
        return also_needs(
            lookup,
            missing_companions(cls.side_files(lookup.path), env),
            "mlx-audio's sesame model fetches the Mimi codec, a text tokenizer "
            "and the default voice prompt into the HF cache.",
        )

    def generate_kwargs(self, opts: SynthesisOptions, knobs: Knobs, stream: bool) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"speaker": knobs.integer("speaker", 0, low=0)}
        if opts.voice:
            kwargs["voice"] = opts.voice
        kwargs.update(knobs.numbers({"max_audio_length_ms": {"above": 0.0}}))
        sampling = knobs.numbers(
            {
                "temperature": {"low": 0.0},
                "top_p": {"low": 0.0, "high": 1.0},
                "min_p": {"low": 0.0, "high": 1.0},
            }
        )
        top_k = knobs.integers({"top_k": 0})
        if sampling or top_k:  # upstream ignores temperature=...; it takes a sampler
            make_sampler = importlib.import_module("mlx_audio.lm.sample_utils").make_sampler
            sampling.setdefault("temperature", 0.9)
            kwargs["sampler"] = make_sampler(
                temp=sampling.pop("temperature"), top_k=top_k.get("top_k", 50), **sampling
            )
        ref = opts.reference_audio or knobs.path("reference_audio")
        if ref is not None:
            ref_text = knobs.text("reference_text")
            if not ref_text:
                raise EngineError(
                    f"{self.target.id}: voice cloning needs the clip's transcript "
                    "too: --tts-opt reference_text='...'"
                )
            kwargs.update(ref_audio=str(ref), ref_text=ref_text)
        if stream:
            kwargs.update(
                stream=True, streaming_interval=knobs.number("streaming_interval", 0.5, above=0.0)
            )
        return kwargs

    def details(self) -> dict[str, object]:
        return {
            **super().details(),
            "watermark": "silentcipher if installed, else none",
            "streaming": "native: a chunk every streaming_interval*12.5 Mimi frames",
        }
