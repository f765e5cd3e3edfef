"""Marvis TTS (sesame/CSM) on MLX, through mlx-audio 0.6.2 (see mlx_audio.py)."""

from __future__ import annotations

import importlib
import json
from typing import TYPE_CHECKING, Any, ClassVar

from pytest_ttsbench.engines.base import Capabilities, EngineError, SynthesisOptions, WeightsLookup
from pytest_ttsbench.engines.hub import also_needs, missing_companions
from pytest_ttsbench.engines.knobs import Knobs, cap_kwarg
from pytest_ttsbench.engines.mlx_audio import MODEL_FILE, MlxEngine

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from pytest_ttsbench.results.target import Target

DEFAULT_INTERVAL_S = 0.5  # sesame's generate(streaming_interval=0.5)


class MarvisMlxEngine(MlxEngine):
    """Marvis TTS (sesame/CSM) on MLX: native streaming every ``streaming_interval`` s."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        stream=True,
        voices=True,
        voice_clone=True,
        chunk_knob="streaming_interval",
        # seconds of audio per chunk: 3, 6 (upstream's default) and 12 Mimi frames
        chunk_sweep=(0.25, DEFAULT_INTERVAL_S, 1.0),
        length_cap=True,  # stops on an all-zero frame; capped by max_audio_length_ms
    )
    repos: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "8bit": ("Marvis-AI/marvis-tts-250m-v0.2-MLX-8bit",),
        "6bit": ("Marvis-AI/marvis-tts-250m-v0.2-MLX-6bit",),
        "4bit": ("Marvis-AI/marvis-tts-250m-v0.2-MLX-4bit",),
        "bf16": ("Marvis-AI/marvis-tts-250m-v0.2",),
    }
    env_var: ClassVar[str] = "TTSBENCH_MARVIS_MLX_WEIGHTS"
    required: ClassVar[tuple[str | tuple[str, ...], ...]] = ("config.json", MODEL_FILE)
    MIMI = ("kyutai/moshiko-pytorch-bf16", "tokenizer-e351c8d8-checkpoint125.safetensors")
    LLAMA_TOKENIZER = "unsloth/Llama-3.2-1B"
    # AutoTokenizer.from_pretrained(repo) reads all three (config.json for the model type)
    TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "config.json")

    @classmethod
    def side_files(cls, folder: Path, voice: str = "conversational_a") -> list[tuple[str, str]]:
        """What sesame's Model() and generate() fetch with hf_hub_download, by config."""
        try:
            config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            config = {}
        tokenizer_repo = config.get("text_tokenizer") or cls.LLAMA_TOKENIZER
        files = [cls.MIMI, *((tokenizer_repo, name) for name in cls.TOKENIZER_FILES)]
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
        cap_kwarg(kwargs, "max_audio_length_ms", opts, 1000.0)  # milliseconds
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
                stream=True,
                streaming_interval=knobs.number(
                    "streaming_interval", DEFAULT_INTERVAL_S, above=0.0
                ),
            )
        return kwargs

    def details(self) -> dict[str, object]:
        return {
            **super().details(),
            "watermark": "silentcipher if installed, else none",
            "streaming": "native: a chunk every streaming_interval*12.5 Mimi frames",
        }
