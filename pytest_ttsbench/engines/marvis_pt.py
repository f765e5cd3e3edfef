"""Marvis TTS on PyTorch through transformers' CSM classes.

Marvis has no PyTorch package of its own; it is a CSM model, so the transformers
checkpoints (``Marvis-AI/marvis-tts-250m-v0.2-transformers``) load with
``AutoProcessor`` + ``CsmForConditionalGeneration`` and synthesize with
``generate(**inputs, output_audio=True)``, which returns a list of 1-D waveforms at
24 kHz decoded by the bundled Mimi codec. Its ``streamer`` gets codebook ids, not audio,
so there is no native streaming. The processor adds ``token_type_ids``, which
``generate`` rejects: the key is popped from the inputs (the upstream README assigns the
popped tensor instead, a bug).

The ``dtype`` knob of ``--tts-opt`` is also the load dtype (``from_pretrained(dtype=)``);
a call whose ``dtype`` or ``compile`` differs (a sweep) switches the loaded model
(TorchEngine.tune) and back, from the weights as loaded.
"""

from __future__ import annotations

import importlib
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
from pytest_ttsbench.engines.installed import dist_versions
from pytest_ttsbench.engines.knobs import Knobs, cap_kwarg
from pytest_ttsbench.engines.torch_engine import TorchEngine
from pytest_ttsbench.engines.torch_tuning import Tuning, check_dtype, parse_tuning
from pytest_ttsbench.engines.weights import find

if TYPE_CHECKING:
    from pytest_ttsbench.engines.base import AudioArray
    from pytest_ttsbench.results.target import Target

REPOS = (
    "Marvis-AI/marvis-tts-250m-v0.2-transformers",
    "Marvis-AI/marvis-tts-250m-v0.1-transformers",
)
FRAMES_PER_S = 12.5  # Mimi frames; generate's max_new_tokens counts frames


class MarvisPtEngine(TorchEngine):
    """CsmForConditionalGeneration on cuda, mps or cpu; one chunk per call."""

    # autoregressive: stops when a frame's codebooks are all codebook_eos_token_id
    capabilities: ClassVar[Capabilities] = Capabilities(length_cap=True)
    env_var: ClassVar[str] = "TTSBENCH_MARVIS_PT_WEIGHTS"

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self._processor: Any = None

    @classmethod
    def locate_weights(cls, target: Target, query: WeightsQuery) -> WeightsLookup:
        return find(
            target,
            query,
            env_var=cls.env_var,
            required=(
                "config.json",
                ("model.safetensors", "model.safetensors.index.json"),
                "tokenizer.json",
            ),
            hf_repos=REPOS,
            downloadable=True,
        )

    def load(self) -> None:
        folder = self.ctx.weights.path
        if folder is None and not self.ctx.allow_download:
            raise WeightsNotFound(f"{self.target.id}: {self.ctx.weights.hint}")
        source = str(folder) if folder is not None else REPOS[0]
        dtype_name = parse_tuning(Knobs(self.target.id, self.ctx.options)).dtype
        with self._offline():
            torch = self._import_torch()
            check_dtype(torch, self.target.device, dtype_name, self.target.id)
            dtype = getattr(torch, dtype_name)
            transformers = importlib.import_module("transformers")
            try:
                self._processor = transformers.AutoProcessor.from_pretrained(source)
                model = transformers.CsmForConditionalGeneration.from_pretrained(
                    source, dtype=dtype
                )
            except Exception as exc:
                raise EngineError(
                    f"{self.target.id}: loading the CSM checkpoint {source} "
                    f"failed: {type(exc).__name__}: {exc}"
                ) from exc
            self.model = model.to(self.target.device).eval()
        self.tuning = Tuning(dtype=dtype_name)  # compile=... applies on the first call
        sr = getattr(getattr(self._processor, "feature_extractor", None), "sampling_rate", None)
        self.sample_rate = int(sr or 24000)

    def compile_targets(self) -> list[tuple[object, str]]:
        # The backbone runs once a frame, the depth decoder once a codebook; generate
        # reaches the depth decoder's layers through its ``model`` (its own generate).
        return [(self.model, "backbone_model"), (self.model.depth_decoder, "model")]

    def synthesize(self, text: str, opts: SynthesisOptions) -> AudioArray:
        knobs = Knobs(self.target.id, self.ctx.options, opts.extra)
        self.tune(knobs)
        speaker = knobs.integer("speaker", 0, low=0)
        kwargs: dict[str, Any] = knobs.numbers(
            {
                "temperature": {"above": 0.0},
                "top_p": {"above": 0.0, "high": 1.0},
                "depth_decoder_temperature": {"above": 0.0},
            }
        )
        kwargs.update(knobs.integers({"top_k": 1, "max_new_tokens": 1}))
        cap_kwarg(kwargs, "max_new_tokens", opts, FRAMES_PER_S)
        if knobs.given("do_sample"):
            kwargs["do_sample"] = knobs.flag("do_sample", True)
        if knobs.given("seed"):
            self._torch.manual_seed(knobs.integer("seed", 0, low=0))
        with self._offline():
            inputs = self._processor(
                f"[{speaker}]{text}", add_special_tokens=True, return_tensors="pt"
            ).to(self.target.device)
            inputs.pop("token_type_ids", None)  # pop the key, keep the inputs
            with self._torch.inference_mode():
                audio = self.model.generate(**inputs, output_audio=True, **kwargs)
        return self.host(audio[0])

    def details(self) -> dict[str, object]:
        return {
            "upstream": "transformers CsmForConditionalGeneration",
            "device": self.target.device,
            **self.tuning_details(),
            "weights": str(self.ctx.weights.path or REPOS[0]),
            "streaming": "none (the streamer yields codebook ids, not audio)",
        }

    def versions(self) -> dict[str, str]:
        return dist_versions("transformers", "torch", "accelerate")

    def close(self) -> None:
        self._processor = None
        super().close()
