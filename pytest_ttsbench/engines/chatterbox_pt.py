"""Chatterbox and Chatterbox-Turbo on PyTorch: chatterbox-tts 0.1.7, or its streaming fork.

``chatterbox-streaming`` installs the same top-level module ``chatterbox``; when it is the
one installed, the original model streams natively through ``generate_stream`` (and
Chatterbox-Turbo is not available). Stage times come from wrapping, on the loaded
instance only, the sub-steps ``generate()`` calls: T3 token generation, S3Gen and the
Perth watermark. The watermark wrapper can also switch the watermark off.
"""

from __future__ import annotations

import importlib
import inspect
import time
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
from pytest_ttsbench.engines.installed import dist_installed, dist_versions
from pytest_ttsbench.engines.knobs import S3_TOKENS_PER_S, Knobs
from pytest_ttsbench.engines.perth_check import check_perth
from pytest_ttsbench.engines.torch_engine import TorchEngine
from pytest_ttsbench.engines.weights import find

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path

    from pytest_ttsbench.engines.base import AudioArray
    from pytest_ttsbench.results.target import Target

STREAMING_DIST = "chatterbox-streaming"


def streaming_fork_installed() -> bool:
    """chatterbox-streaming replaces chatterbox-tts's module (same name ``chatterbox``)."""
    return dist_installed(STREAMING_DIST)


def _numpy_shape_tail(value: Any) -> int:
    shape = getattr(value, "shape", None)
    return int(shape[-1]) if shape else 0


def chatterbox_capabilities(fork: bool) -> Capabilities:
    """Chatterbox on PyTorch: native streaming, with its chunk knob, only in the fork."""
    return Capabilities(
        voice_clone=True,
        stream=fork,
        chunk_knob="chunk_size" if fork else None,
        # speech tokens per chunk (25 a second): about 0.4, 1 and 2 s
        chunk_sweep=(10.0, 25.0, 50.0) if fork else (),
        length_cap=True,
    )


class ChatterboxEngine(TorchEngine):
    """Resemble AI Chatterbox (0.5B Llama T3, 10-step S3Gen, Perth watermark)."""

    capabilities: ClassVar[Capabilities] = chatterbox_capabilities(streaming_fork_installed())
    # generate() hard-codes T3's token limit (1000); a length cap lowers it per call
    t3_limit_kwarg: ClassVar[str] = "max_new_tokens"
    t3_default_limit: ClassVar[int] = 1000
    # tokens S3Gen gets beyond T3's limit: none here (T3.inference samples at most the limit)
    t3_extra_tokens: ClassVar[int] = 0
    module_name: ClassVar[str] = "chatterbox.tts"
    class_name: ClassVar[str] = "ChatterboxTTS"
    repo: ClassVar[str] = "ResembleAI/chatterbox"
    env_var: ClassVar[str] = "TTSBENCH_CHATTERBOX_PT_WEIGHTS"
    t3_method: ClassVar[str] = "inference"
    s3gen_steps: ClassVar[int] = 10
    number_knobs: ClassVar[dict[str, dict[str, float]]] = {
        "exaggeration": {"low": 0.0},
        "cfg_weight": {"low": 0.0},
        "temperature": {"above": 0.0},
        "repetition_penalty": {"above": 0.0},
        "min_p": {"low": 0.0, "high": 1.0},
        "top_p": {"above": 0.0, "high": 1.0},
    }
    int_knobs: ClassVar[dict[str, int | None]] = {}
    flag_knobs: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def required_files(cls, fork: bool) -> tuple[str | tuple[str, ...], ...]:
        if fork:  # chatterbox-streaming's from_local torch.loads .pt files
            return ("ve.pt", "t3_cfg.pt", "s3gen.pt", "tokenizer.json")
        return ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json")

    @classmethod
    def locate_weights(cls, target: Target, query: WeightsQuery) -> WeightsLookup:
        fork = streaming_fork_installed()
        lookup = find(
            target,
            query,
            env_var=cls.env_var,
            required=cls.required_files(fork),
            hf_repos=(cls.repo,),
            downloadable=True,
        )
        note = (
            " conds.pt (the built-in voice) is optional; without it pass a reference "
            "clip (--tts-opt reference_audio=FILE)."
        )
        return WeightsLookup(
            lookup.path,
            lookup.searched,
            lookup.hint + note,
            lookup.downloadable,
            {"upstream": STREAMING_DIST if fork else "chatterbox-tts", **lookup.details},
        )

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        self._fork = False
        self._stages: dict[str, float] = {}
        self._tokens = 0
        self._watermark = True
        self._voice: Path | None = None
        self._builtin_conds: Any = None
        self._token_cap: int | None = None  # speech tokens, from opts.max_audio_s
        self._t3_limit: int = self.t3_default_limit  # the last call's T3 token limit

    # -- loading -------------------------------------------------------------------

    def load(self) -> None:
        knobs = Knobs(self.target.id, self.ctx.options)
        self._watermark = knobs.flag("watermark", True)
        with self._offline():
            self._import_torch()
            check_perth(self.target.id)
            try:
                module = importlib.import_module(self.module_name)
            except ImportError as exc:
                raise EngineError(self._import_error(exc)) from exc
            cls = getattr(module, self.class_name)
            self.model = self._construct(cls)
        self._fork = hasattr(self.model, "generate_stream")
        self._builtin_conds = getattr(self.model, "conds", None)
        self._instrument(self.model)

    def _import_error(self, exc: ImportError) -> str:
        return f"{self.target.id}: cannot import {self.module_name}: {exc}"

    def _construct(self, cls: Any) -> Any:
        device = self.target.device
        path = self.ctx.weights.path
        try:
            if path is not None:
                return cls.from_local(str(path), device)
            if self.ctx.allow_download:
                return cls.from_pretrained(device)
        except Exception as exc:
            where = f"from {path}" if path is not None else f"from {self.repo}"
            allow = (
                ""
                if self.ctx.allow_download
                else (
                    " (downloads are off: a file the upstream fetches itself may be missing; "
                    "--tts-allow-download lets it)"
                )
            )
            raise EngineError(
                f"{self.target.id}: loading {self.class_name} {where} failed: "
                f"{type(exc).__name__}: {exc}{allow}"
            ) from exc
        raise WeightsNotFound(
            f"{self.target.id}: no weights and downloads are off; {self.ctx.weights.hint}"
        )

    def _instrument(self, model: Any) -> None:
        """Time the sub-steps generate() calls, by wrapping them on this instance only."""
        t3 = getattr(model, "t3", None)
        if t3 is not None and hasattr(t3, self.t3_method):
            t3_call = self._capped(getattr(t3, self.t3_method), self.t3_limit_kwarg)
            t3_call = self._t3_dtype(t3_call)
            setattr(t3, self.t3_method, self._timed("t3", t3_call, tokens=True))
        if self._fork and hasattr(model, "inference_stream"):
            stream_call = self._capped(model.inference_stream, "max_new_tokens")
            model.inference_stream = self._timed("t3", stream_call, tokens=True)
        s3gen = getattr(model, "s3gen", None)
        if s3gen is not None and hasattr(s3gen, "inference"):
            s3gen.inference = self._timed("s3gen", s3gen.inference, sync=True)
        marker = getattr(model, "watermarker", None)
        if marker is not None and hasattr(marker, "apply_watermark"):
            marker.apply_watermark = self._watermark_step(marker.apply_watermark)

    def _capped(self, fn: Callable[..., Any], limit_kwarg: str) -> Callable[..., Any]:
        """``fn`` with its token limit lowered to this call's length cap, if any, less
        the tokens the upstream adds beyond the limit (so the audio stays within it)."""

        def capped(*args: Any, **kwargs: Any) -> Any:
            given = kwargs.get(limit_kwarg)
            if self._token_cap is not None:
                cap = max(1, self._token_cap - self.t3_extra_tokens)
                kwargs[limit_kwarg] = cap if given is None else min(int(given), cap)
            limit = kwargs.get(limit_kwarg)
            self._t3_limit = self.t3_default_limit if limit is None else int(limit)
            return fn(*args, **kwargs)

        return capped

    def _t3_dtype(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` with the speaker conditioning cast to T3's dtype: generate() rebuilds it
        in float32 when exaggeration changes, and a cast T3 would reject it."""

        def cast(*args: Any, **kwargs: Any) -> Any:
            cond = kwargs.get("t3_cond")
            if cond is not None and self.tuning.dtype != "float32":
                kwargs["t3_cond"] = cond.to(dtype=getattr(self._torch, self.tuning.dtype))
            return fn(*args, **kwargs)

        return cast

    # -- dtype and torch.compile (TorchEngine.tune) ---------------------------------

    def cast_model(self, dtype: Any) -> None:
        # T3 and S3Gen's CFM estimator (which casts its own inputs) follow the dtype; the
        # HiFT vocoder (STFT), the voice encoder and the S3 tokenizer stay float32.
        self.cast_module(self.model.t3, dtype)
        self.cast_module(self.model.s3gen.flow.decoder.estimator, dtype)

    def compile_targets(self) -> list[tuple[object, str]]:
        # the LM backbone T3 runs once a token, and the CFM estimator once a flow step
        return [(self.model.t3, "tfmr"), (self.model.s3gen.flow.decoder, "estimator")]

    def _timed(
        self, stage: str, fn: Callable[..., Any], *, tokens: bool = False, sync: bool = False
    ) -> Callable[..., Any]:
        def add(seconds: float, out: Any) -> None:
            self._stages[stage] = self._stages.get(stage, 0.0) + seconds
            if tokens:
                self._tokens += _numpy_shape_tail(out)

        def timed_generator(gen: Iterator[Any]) -> Iterator[Any]:
            while True:
                start = time.perf_counter()
                try:
                    item = next(gen)
                except StopIteration:
                    add(time.perf_counter() - start, None)
                    return
                add(time.perf_counter() - start, item)
                yield item

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            out = fn(*args, **kwargs)
            if inspect.isgenerator(out):
                return timed_generator(out)
            if sync:
                self._sync()
            add(time.perf_counter() - start, out)
            return out

        return wrapper

    def _watermark_step(self, apply: Callable[..., Any]) -> Callable[..., Any]:
        def watermark(wav: Any, *args: Any, **kwargs: Any) -> Any:
            if not self._watermark:
                return wav
            start = time.perf_counter()
            out = apply(wav, *args, **kwargs)
            self._stages["watermark"] = (
                self._stages.get("watermark", 0.0) + time.perf_counter() - start
            )
            return out

        return watermark

    # -- synthesis -----------------------------------------------------------------

    def _knobs(self, opts: SynthesisOptions) -> Knobs:
        return Knobs(self.target.id, self.ctx.options, opts.extra)

    def generate_kwargs(self, knobs: Knobs) -> dict[str, Any]:
        """The knobs that were given, named as the upstream generate() names them."""
        table = self.number_knobs
        if self._fork:  # the fork's generate() has no top_p, min_p, repetition_penalty
            table = {
                k: v for k, v in table.items() if k in ("exaggeration", "cfg_weight", "temperature")
            }
        kwargs: dict[str, Any] = {**knobs.numbers(table), **knobs.integers(self.int_knobs)}
        kwargs.update(
            {name: knobs.flag(name, True) for name in self.flag_knobs if knobs.given(name)}
        )
        self._check(kwargs)
        return kwargs

    def _check(self, kwargs: Mapping[str, Any]) -> None:
        if kwargs.get("cfg_weight", 0.5) == 0:
            raise EngineError(
                f"{self.target.id}: cfg_weight=0 is not supported by the original Chatterbox: "
                "T3.inference always doubles the BOS embedding for CFG, so a batch of one "
                "fails (chatterbox-tts 0.1.7 models/t3/t3.py). Use a value > 0, e.g. 0.3."
            )

    def _begin(self, knobs: Knobs, opts: SynthesisOptions) -> None:
        self._stages = {}
        self._tokens = 0
        self.tune(knobs)
        self._token_cap = opts.max_steps(S3_TOKENS_PER_S)
        self._watermark = knobs.flag("watermark", True)
        if knobs.given("seed"):
            self._torch.manual_seed(knobs.integer("seed", 0, low=0))
        self._use_voice(opts.reference_audio or knobs.path("reference_audio"), knobs)

    def _use_voice(self, ref: Path | None, knobs: Knobs) -> None:
        """Prepare a reference voice once (timed as ``prepare_voice``), not on every call."""
        if ref is None:
            if self._voice is not None:
                self.model.conds = self._builtin_conds
                self._voice = None
            if self.model.conds is None:
                raise EngineError(
                    f"{self.target.id}: the weights have no built-in voice (conds.pt) and no "
                    "reference clip was given: --tts-opt reference_audio=FILE.wav"
                )
            return
        if ref == self._voice:
            return
        start = time.perf_counter()
        try:
            self.model.prepare_conditionals(str(ref), **self._voice_kwargs(knobs))
        except AssertionError as exc:
            raise EngineError(
                f"{self.target.id}: reference clip {ref} rejected: {exc} ({self.voice_rule})"
            ) from exc
        self._stages["prepare_voice"] = time.perf_counter() - start
        self._voice = ref

    voice_rule: ClassVar[str] = "any length; T3 uses 6 s, S3Gen 10 s of it"

    def _voice_kwargs(self, knobs: Knobs) -> dict[str, Any]:
        return knobs.numbers({"exaggeration": {"low": 0.0}})

    def synthesize(self, text: str, opts: SynthesisOptions) -> AudioArray:
        knobs = self._knobs(opts)
        kwargs = self.generate_kwargs(knobs)
        with self._offline():
            self._begin(knobs, opts)
            wav = self.model.generate(text, **kwargs)
        return self.host(wav)

    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[AudioArray]:
        if not self._fork:
            raise EngineError(
                f"{self.target.id}: chatterbox-tts has no native streaming; "
                "install chatterbox-streaming (tox -e chatterbox-streaming)"
            )
        knobs = self._knobs(opts)
        kwargs = self.generate_kwargs(knobs)
        kwargs.update(knobs.integers({"chunk_size": 1, "context_window": 0}))
        kwargs.update(knobs.numbers({"fade_duration": {"low": 0.0}}))
        metrics = None  # the same mutable StreamingMetrics object comes with every chunk
        with self._offline():
            self._begin(knobs, opts)
            for chunk, metrics in self.model.generate_stream(  # noqa: B007
                text, print_metrics=False, **kwargs
            ):
                yield self.host(chunk)
        if metrics is not None:  # filled in only once the generator is exhausted
            for name in ("latency_to_first_chunk", "total_generation_time"):
                value = getattr(metrics, name, None)
                if value is not None:
                    self._stages[f"upstream_{name}"] = float(value)

    # -- facts -----------------------------------------------------------------------

    def stage_seconds(self) -> dict[str, float]:
        out = {**self._stages, **self.tuning_stages()}
        if self._tokens:
            out["t3_tokens"] = float(self._tokens)
            if out.get("t3"):
                out["t3_tokens_per_s"] = self._tokens / out["t3"]
        return out

    def details(self) -> dict[str, object]:
        return {
            "upstream": STREAMING_DIST if self._fork else "chatterbox-tts",
            "class": f"{self.module_name}.{self.class_name}",
            "device": self.target.device,
            **self.tuning_details(),
            "watermark": "perth (CPU)" if self._watermark else "off",
            "s3gen_cfm_steps": self.s3gen_steps,
            "t3_max_new_tokens": self._t3_limit,
            "weights": str(self.ctx.weights.path) if self.ctx.weights.path else self.repo,
        }

    def versions(self) -> dict[str, str]:
        return dist_versions(
            "chatterbox-tts", STREAMING_DIST, "torch", "resemble-perth", "transformers"
        )


class ChatterboxTurboEngine(ChatterboxEngine):
    """Chatterbox-Turbo (350M GPT-2 T3, 2-step meanflow S3Gen, Perth watermark)."""

    capabilities: ClassVar[Capabilities] = Capabilities(
        voice_clone=True, tags=True, length_cap=True
    )
    t3_limit_kwarg: ClassVar[str] = "max_gen_len"
    # inference_turbo samples one token before its loop of max_gen_len, and generate()
    # appends 3 silence tokens (chatterbox-tts 0.1.7 t3.py, tts_turbo.py)
    t3_extra_tokens: ClassVar[int] = 4
    module_name: ClassVar[str] = "chatterbox.tts_turbo"
    class_name: ClassVar[str] = "ChatterboxTurboTTS"
    repo: ClassVar[str] = "ResembleAI/chatterbox-turbo"
    env_var: ClassVar[str] = "TTSBENCH_CHATTERBOX_TURBO_PT_WEIGHTS"
    t3_method: ClassVar[str] = "inference_turbo"
    s3gen_steps: ClassVar[int] = 2
    # Turbo ignores exaggeration, cfg_weight and min_p (and warns): they are not passed.
    number_knobs: ClassVar[dict[str, dict[str, float]]] = {
        "temperature": {"above": 0.0},
        "repetition_penalty": {"above": 0.0},
        "top_p": {"above": 0.0, "high": 1.0},
    }
    int_knobs: ClassVar[dict[str, int | None]] = {"top_k": 1}
    flag_knobs: ClassVar[tuple[str, ...]] = ("norm_loudness",)
    voice_rule: ClassVar[str] = "Chatterbox-Turbo needs a clip longer than 5 s"

    @classmethod
    def required_files(cls, fork: bool) -> tuple[str | tuple[str, ...], ...]:
        return (
            "ve.safetensors",
            "t3_turbo_v1.safetensors",
            "s3gen_meanflow.safetensors",
            "tokenizer_config.json",
            ("vocab.json", "tokenizer.json"),
        )

    @classmethod
    def locate_weights(cls, target: Target, query: WeightsQuery) -> WeightsLookup:
        if streaming_fork_installed():
            return WeightsLookup(
                None,
                (
                    f"{STREAMING_DIST} is installed in place of chatterbox-tts and has no "
                    "chatterbox.tts_turbo",
                ),
                "Use an environment with chatterbox-tts (tox -e chatterbox).",
            )
        return super().locate_weights(target, query)

    def _import_error(self, exc: ImportError) -> str:
        fork = f"; {STREAMING_DIST} has no Turbo" if streaming_fork_installed() else ""
        return f"{self.target.id}: cannot import {self.module_name}: {exc}{fork}"

    def _check(self, kwargs: Mapping[str, Any]) -> None:
        return None

    def _voice_kwargs(self, knobs: Knobs) -> dict[str, Any]:
        return {"norm_loudness": knobs.flag("norm_loudness", True)}
