"""Chatterbox and Chatterbox-Turbo ONNX exports, run by our own loop on onnxruntime.

Four sessions, as in the exports' reference code: ``speech_encoder`` turns a reference
clip into conditioning, ``embed_tokens`` embeds text and speech tokens, the
``language_model`` generates speech tokens greedily with a KV cache and a repetition
penalty over every generated token, and ``conditional_decoder`` (S3Gen) turns them into
24 kHz audio. The execution provider is chosen from the target's device and checked
after the sessions start, so a silent fallback to the CPU is an error, not a mislabelled
number. No native streaming: the decoder is not incremental, and re-decoding growing
token prefixes would charge the cost of every prefix to a "stream".

Everything done once (tokenizer, graph IO checks, the built-in or --tts-opt voice through
the speech encoder) happens in load(): the first timed call pays for none of it. A length
cap (SynthesisOptions.max_audio_s, 2 s for random weights) becomes the loop's token limit
at 25 speech tokens a second; --tts-opt max_new_tokens still wins.
"""

from __future__ import annotations

import gc
import importlib
import time
from dataclasses import dataclass
from pathlib import Path
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
from pytest_ttsbench.engines.chatterbox_onnx_graphs import (
    GRAPHS,
    VOICE_OUTPUTS,
    KvLayout,
    check_graph,
    graph_candidates,
    graph_io,
    kv_layout,
    open_graphs,
    provider_list,
)
from pytest_ttsbench.engines.hub import hub_offline
from pytest_ttsbench.engines.installed import dist_versions
from pytest_ttsbench.engines.knobs import S3_TOKENS_PER_S, Knobs
from pytest_ttsbench.engines.lazy import lazy_module
from pytest_ttsbench.engines.reference_clip import read_clip
from pytest_ttsbench.engines.weights import find

if TYPE_CHECKING:
    import numpy as np

    from pytest_ttsbench.engines.base import AudioArray
    from pytest_ttsbench.results.target import Target
else:
    np = lazy_module("numpy")

SAMPLE_RATE = 24000
START_SPEECH, STOP_SPEECH, SILENCE = 6561, 6562, 4299
SPEECH_VOCAB = 6561  # S3Gen's codebook: the decoder embeds ids below this only
TOKENIZER = "tokenizer.json"
DEFAULT_VOICE = "default_voice.wav"


@dataclass
class Voice:
    cond_emb: Any
    prompt_token: Any
    speaker_embeddings: Any
    speaker_features: Any


class ChatterboxOnnxEngine(Engine):
    """Original Chatterbox (onnx-community/chatterbox-onnx): 30-layer Llama, exaggeration."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        voice_clone=True, deterministic=True, length_cap=True
    )
    repo: ClassVar[str] = "onnx-community/chatterbox-onnx"
    env_var: ClassVar[str] = "TTSBENCH_CHATTERBOX_ONNX_WEIGHTS"
    silence_tokens: ClassVar[int] = 0  # the original decodes prompt + speech only
    default_max_new_tokens: ClassVar[int] = 1000  # as chatterbox-tts's hard-coded T3 limit
    speech_positions: ClassVar[bool] = True  # embed_tokens takes speech positions (from 1)
    cpu_refuses: ClassVar[dict[str, str]] = {}

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self.sessions: dict[str, Any] = {}
        self.files: dict[str, str] = {}
        self._tokenizer: Any = None
        self._kv: KvLayout = []
        self._voices: dict[Path, Voice] = {}
        self._io_cache: dict[str, tuple[dict[str, Any], list[str]]] = {}
        self._stages: dict[str, float] = {}
        self._providers: list[str] = []
        self._threads: int | None = None
        self.folder = Path()

    # -- weights ---------------------------------------------------------------------

    @classmethod
    def locate_weights(cls, target: Target, query: WeightsQuery) -> WeightsLookup:
        required: list[str | tuple[str, ...]] = [
            "tokenizer.json",
            *graph_candidates(target.variant).values(),
        ]
        return find(
            target,
            query,
            env_var=cls.env_var,
            required=required,
            hf_repos=(cls.repo,),
            downloadable=True,
        )

    def _download(self) -> Path:
        patterns = ["tokenizer.json", "*.wav"] + [
            f"{name}*" for names in graph_candidates(self.target.variant).values() for name in names
        ]
        hub = importlib.import_module("huggingface_hub")
        try:
            return Path(hub.snapshot_download(self.repo, allow_patterns=patterns))
        except Exception as exc:
            raise EngineError(
                f"{self.target.id}: downloading {self.repo} failed: {type(exc).__name__}: {exc}"
            ) from exc

    # -- loading ---------------------------------------------------------------------

    def load(self) -> None:
        folder = self.ctx.weights.path
        if folder is None:
            if not self.ctx.allow_download:
                raise WeightsNotFound(f"{self.target.id}: {self.ctx.weights.hint}")
            with hub_offline(False):
                folder = self._download()
        self.folder = folder
        knobs = Knobs(self.target.id, self.ctx.options)
        ort = importlib.import_module("onnxruntime")
        providers = provider_list(ort, self.target, self.cpu_refuses)
        options = ort.SessionOptions()
        if knobs.given("threads"):
            self._threads = options.intra_op_num_threads = knobs.integer("threads", 0, low=1)
        self.sessions, self.files, self._providers = open_graphs(
            ort, folder, self.target, options, providers
        )
        for graph in GRAPHS:
            check_graph(self.target.id, graph, self.files[graph], *self._io(graph))
        self._tokenizer = self._load_tokenizer(folder / TOKENIZER)
        self._kv = kv_layout(self.target.id, self.sessions["language_model"])
        # the voice a call without a reference clip uses, encoded now, not in the first call
        default = self._default_reference(knobs)
        if default is not None:
            self.voice(default)

    def _load_tokenizer(self, path: Path) -> Any:
        if not path.is_file():
            raise EngineError(
                f"{self.target.id}: missing {path.name} (the text tokenizer) in {path.parent}"
            )
        tokenizers = importlib.import_module("tokenizers")
        try:
            return tokenizers.Tokenizer.from_file(str(path))
        except Exception as exc:  # tokenizers raises plain Exceptions
            raise EngineError(
                f"{self.target.id}: cannot read the text tokenizer {path}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc

    # -- the four-session loop -------------------------------------------------------

    def _io(self, graph: str) -> tuple[dict[str, Any], list[str]]:
        """Input dtypes by name and output names, read once per session (not per step)."""
        if graph not in self._io_cache:
            self._io_cache[graph] = graph_io(self.sessions[graph])
        return self._io_cache[graph]

    def _inputs(self, graph: str) -> dict[str, Any]:
        return self._io(graph)[0]

    def _outputs(self, graph: str, feeds: dict[str, Any]) -> dict[str, Any]:
        dtypes, names = self._io(graph)
        cast = {k: np.ascontiguousarray(v, dtype=dtypes[k]) for k, v in feeds.items()}
        return dict(zip(names, self.sessions[graph].run(None, cast), strict=True))

    def voice(self, path: Path) -> Voice:
        """speech_encoder over a clip, once per clip (timed as prepare_voice)."""
        if path not in self._voices:
            start = time.perf_counter()
            out = self._outputs(
                "speech_encoder", {"audio_values": read_clip(path, SAMPLE_RATE)[None, :]}
            )
            values = list(out.values())
            named = [next((out[n] for n in names if n in out), None) for names in VOICE_OUTPUTS]
            self._voices[path] = Voice(
                *(v if v is not None else values[i] for i, v in enumerate(named))
            )
            self._stages["prepare_voice"] = time.perf_counter() - start
        return self._voices[path]

    def _embed(self, ids: Any, speech_pos: Any, seq_pos: Any, exaggeration: float) -> Any:
        names = self._inputs("embed_tokens")
        feeds: dict[str, Any] = {"input_ids": ids}
        if "position_ids" in names:
            feeds["position_ids"] = speech_pos if self.speech_positions else seq_pos
        if "exaggeration" in names:
            feeds["exaggeration"] = np.array([exaggeration], dtype=np.float32)
        return next(iter(self._outputs("embed_tokens", feeds).values()))

    def _step(
        self, embeds: Any, mask: Any, positions: Any, cache: dict[str, Any]
    ) -> tuple[Any, dict[str, Any]]:
        feeds = {"inputs_embeds": embeds, "attention_mask": mask, **cache}
        if "position_ids" in self._inputs("language_model"):
            feeds["position_ids"] = positions
        out = self._outputs("language_model", feeds)
        logits = out["logits"] if "logits" in out else next(iter(out.values()))
        return logits, {past: out[present] for past, present, _ in self._kv}

    def generate_tokens(
        self, text: str, voice: Voice, max_new: int, penalty: float, exaggeration: float
    ) -> list[int]:
        ids = np.array([self._tokenizer.encode(text).ids], dtype=np.int64)
        length = ids.shape[1]
        text_pos = np.where(ids >= START_SPEECH, 0, np.arange(length)[None, :] - 1)
        embeds = self._embed(ids, text_pos, np.arange(length)[None, :], exaggeration)
        embeds = np.concatenate([np.asarray(voice.cond_emb, dtype=embeds.dtype), embeds], axis=1)
        total = embeds.shape[1]
        mask = np.ones((1, total), dtype=np.int64)
        positions = np.arange(total, dtype=np.int64)[None, :]
        cache = {past: zeros for past, _, zeros in self._kv}
        generated = [START_SPEECH]
        for step in range(max_new):
            logits, cache = self._step(embeds, mask, positions, cache)
            scores = np.array(logits[0, -1], dtype=np.float32)
            seen = np.fromiter(set(generated), dtype=np.int64)
            scores[seen] = np.where(
                scores[seen] < 0, scores[seen] * penalty, scores[seen] / penalty
            )
            token = int(np.argmax(scores))
            generated.append(token)
            if token == STOP_SPEECH:
                break
            positions = np.array([[total + step]], dtype=np.int64)
            embeds = self._embed(
                np.array([[token]], dtype=np.int64),
                np.array([[step + 1]], dtype=np.int64),
                positions,
                exaggeration,
            )
            mask = np.concatenate([mask, np.ones((1, 1), dtype=np.int64)], axis=1)
        return generated

    def decode(self, generated: list[int], voice: Voice) -> AudioArray:
        # as chatterbox-tts's drop_invalid_tokens: START/STOP and ids past S3Gen's
        # codebook are not speech (the decoder's embedding would index out of range)
        speech = [t for t in generated[1:] if 0 <= t < SPEECH_VOCAB]
        prompt = np.asarray(voice.prompt_token, dtype=np.int64).reshape(1, -1)
        tokens = np.concatenate(
            [
                prompt,
                np.array([speech + [SILENCE] * self.silence_tokens], dtype=np.int64).reshape(1, -1),
            ],
            axis=1,
        )
        out = self._outputs(
            "conditional_decoder",
            {
                "speech_tokens": tokens,
                "speaker_embeddings": voice.speaker_embeddings,
                "speaker_features": voice.speaker_features,
            },
        )
        wav = next(iter(out.values()))
        return np.ascontiguousarray(np.asarray(wav, dtype=np.float32).reshape(-1))

    def synthesize(self, text: str, opts: SynthesisOptions) -> AudioArray:
        knobs = Knobs(self.target.id, self.ctx.options, opts.extra)
        cap = opts.max_steps(S3_TOKENS_PER_S)  # the length cap, as speech tokens
        max_new = knobs.integer(
            "max_new_tokens", self.default_max_new_tokens if cap is None else cap, low=1
        )
        penalty = knobs.number("repetition_penalty", 1.2, above=0.0)
        exaggeration = knobs.number("exaggeration", 0.5, low=0.0)
        self._stages = {}
        voice = self.voice(self._reference(opts, knobs))
        start = time.perf_counter()
        generated = self.generate_tokens(text, voice, max_new, penalty, exaggeration)
        t3 = time.perf_counter() - start
        wav = self.decode(generated, voice)
        tokens = len(generated) - 1
        self._stages.update(
            t3=t3,
            s3gen=time.perf_counter() - start - t3,
            t3_tokens=float(tokens),
            t3_tokens_per_s=tokens / t3 if t3 else 0.0,
        )
        return wav

    def _default_reference(self, knobs: Knobs) -> Path | None:
        """--tts-opt reference_audio, else the export's default_voice.wav, else None."""
        ref = knobs.path("reference_audio")  # a missing file is an error naming the knob
        if ref is not None:
            return ref
        default = self.folder / DEFAULT_VOICE
        return default if default.is_file() else None

    def _reference(self, opts: SynthesisOptions, knobs: Knobs) -> Path:
        ref = opts.reference_audio or self._default_reference(knobs)
        if ref is not None:
            return Path(ref)
        raise EngineError(
            f"{self.target.id}: missing {DEFAULT_VOICE} (the built-in voice) in "
            f"{self.folder}; pass a reference clip: --tts-opt reference_audio=FILE.wav"
        )

    # -- facts -----------------------------------------------------------------------

    def stage_seconds(self) -> dict[str, float]:
        return dict(self._stages)

    def details(self) -> dict[str, object]:
        return {
            "upstream": f"{self.repo} (our four-session loop)",
            "providers": list(self._providers),
            "variant": self.target.variant,
            "files": dict(self.files),
            "intra_op_num_threads": self._threads,
            "decoding": "greedy, repetition penalty over all generated tokens",
            "watermark": "none",
            "streaming": "none",
        }

    def versions(self) -> dict[str, str]:
        return dist_versions("onnxruntime", "onnxruntime-gpu", "tokenizers")

    def close(self) -> None:
        self.sessions.clear()
        self._io_cache.clear()
        self._voices.clear()
        self._kv = []
        gc.collect()


class ChatterboxTurboOnnxEngine(ChatterboxOnnxEngine):
    """Chatterbox-Turbo (ResembleAI/chatterbox-turbo-ONNX): GPT-2 LM, 3 silence tokens."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        voice_clone=True, tags=True, deterministic=True, length_cap=True
    )
    repo: ClassVar[str] = "ResembleAI/chatterbox-turbo-ONNX"
    env_var: ClassVar[str] = "TTSBENCH_CHATTERBOX_TURBO_ONNX_WEIGHTS"
    silence_tokens: ClassVar[int] = 3
    default_max_new_tokens: ClassVar[int] = 1024
    speech_positions: ClassVar[bool] = False
    cpu_refuses: ClassVar[dict[str, str]] = {
        "q4f16": (
            "Turbo q4f16 does not run on CPUExecutionProvider (AveragePool opset 19; "
            "chatterboxsynth refuses it too): use fp32, fp16, q4 or quantized on the CPU"
        )
    }
