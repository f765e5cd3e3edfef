"""Stand-ins for mlx.core and mlx-audio 0.6.2 (``load_model`` + each model's ``generate``),
with the signatures and result fields of ENGINES.md sections 4-8."""

from __future__ import annotations

import json
import os
import types
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from collections.abc import Generator


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.peak = 0

    def add(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def last(self, name: str) -> dict[str, Any]:
        return [kw for n, kw in self.calls if n == name][-1]


class Dtype:
    def __init__(self, name: str) -> None:
        self.name = name


FLOAT32, BFLOAT16 = Dtype("float32"), Dtype("bfloat16")


class FakeArray:
    """An mx.array stand-in: numpy conversion through __array__, dtype, astype."""

    def __init__(self, data: Any, dtype: Dtype = FLOAT32) -> None:
        self.data = np.asarray(data, dtype=np.float32)
        self.dtype = dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    def astype(self, dtype: Dtype) -> FakeArray:
        return FakeArray(self.data, dtype)

    def __array__(self, dtype: Any = None, copy: Any = None) -> npt.NDArray[Any]:
        if self.dtype is not FLOAT32:
            raise TypeError("numpy cannot hold bfloat16: call astype(mx.float32) first")
        return self.data if dtype is None else self.data.astype(dtype)


@dataclass
class GenerationResult:
    audio: Any
    samples: int
    sample_rate: int
    segment_idx: int
    token_count: int
    audio_duration: str
    real_time_factor: float
    prompt: dict[str, Any]
    audio_samples: dict[str, Any]
    processing_time_seconds: float
    peak_memory_usage: float
    is_streaming_chunk: bool = False
    is_final_chunk: bool = False


def result(samples: int, idx: int = 0, dtype: Dtype = FLOAT32, **flags: bool) -> GenerationResult:
    return GenerationResult(
        FakeArray(np.full(samples, 0.1), dtype),
        samples,
        24000,
        idx,
        10,
        "00:00:00.100",
        0.5,
        {},
        {},
        0.05,
        0.0,
        **flags,
    )


def make_mlx(rec: Recorder) -> dict[str, types.ModuleType]:
    mlx = types.ModuleType("mlx")
    mlx.__path__ = []
    core = types.ModuleType("mlx.core")
    core.cpu, core.gpu = "Device(cpu, 0)", "Device(gpu, 0)"  # type: ignore[attr-defined]
    core.float32, core.bfloat16 = FLOAT32, BFLOAT16  # type: ignore[attr-defined]
    state: dict[str, Any] = {"device": "Device(cpu, 0)"}

    def set_default_device(device: Any) -> None:
        state["device"] = device
        rec.add("set_default_device", device=device)

    core.set_default_device = set_default_device  # type: ignore[attr-defined]
    core.default_device = lambda: state["device"]  # type: ignore[attr-defined]
    core.get_peak_memory = lambda: rec.peak  # type: ignore[attr-defined]
    core.reset_peak_memory = lambda: rec.add("reset_peak_memory")  # type: ignore[attr-defined]
    core.clear_cache = lambda: rec.add("clear_cache")  # type: ignore[attr-defined]
    mlx.core = core  # type: ignore[attr-defined]
    return {"mlx": mlx, "mlx.core": core}


class _Model:
    def __init__(self, rec: Recorder, path: Path) -> None:
        self.rec = rec
        self.path = path
        self.sample_rate = 24000

    def parameters(self) -> dict[str, Any]:
        return {}


class ChatterboxModel(_Model):
    def prepare_conditionals(self, ref_wav: Any, ref_sr: Any, exaggeration: Any = 0.5) -> Any:
        self.rec.add(
            "prepare_conditionals", ref_wav=ref_wav, ref_sr=ref_sr, exaggeration=exaggeration
        )
        return ("conds", ref_wav)

    def generate(
        self,
        text: str,
        audio_prompt: Any = None,
        audio_prompt_sr: Any = None,
        conds: Any = None,
        exaggeration: Any = 0.1,
        cfg_weight: Any = 0.5,
        temperature: Any = 0.8,
        repetition_penalty: Any = 1.2,
        min_p: Any = 0.05,
        top_p: Any = 1.0,
        max_new_tokens: Any = 1000,
        ref_audio: Any = None,
        voice: Any = None,
        speed: Any = 1.0,
        lang_code: Any = "en",
        max_tokens: Any = None,
        verbose: Any = True,
        stream: Any = False,
        streaming_interval: Any = 2.0,
        **kwargs: Any,
    ) -> Generator[GenerationResult, None, None]:
        self.rec.add(
            "generate",
            text=text,
            conds=conds,
            exaggeration=exaggeration,
            cfg_weight=cfg_weight,
            temperature=temperature,
            top_p=top_p,
            max_new_tokens=max_new_tokens,
            ref_audio=ref_audio,
            lang_code=lang_code,
            verbose=verbose,
            stream=stream,
            kwargs=kwargs,
        )
        yield result(2400, dtype=BFLOAT16)  # one result, whatever `stream` says


class ChatterboxTurboModel(_Model):
    def __init__(self, rec: Recorder, path: Path) -> None:
        super().__init__(rec, path)
        self._conds: Any = "builtin"

    def prepare_conditionals(
        self,
        ref_audio: Any,
        sample_rate: Any = None,
        exaggeration: Any = 0.5,
        norm_loudness: Any = True,
    ) -> None:
        self.rec.add("prepare_conditionals", ref_audio=ref_audio, norm_loudness=norm_loudness)
        self._conds = ("voice", ref_audio)

    def generate(
        self,
        text: str,
        repetition_penalty: Any = 1.2,
        min_p: Any = 0.0,
        top_p: Any = 0.95,
        ref_audio: Any = None,
        sample_rate: Any = None,
        exaggeration: Any = 0.0,
        cfg_weight: Any = 0.0,
        temperature: Any = 0.8,
        top_k: Any = 1000,
        norm_loudness: Any = True,
        stream: Any = False,
        streaming_interval: Any = 2.0,
        split_pattern: Any = r"(?<=[.!?])\s+",
        max_tokens: Any = 800,
        **kwargs: Any,
    ) -> Generator[GenerationResult, None, None]:
        self.rec.add(
            "generate",
            text=text,
            temperature=temperature,
            top_k=top_k,
            ref_audio=ref_audio,
            stream=stream,
            streaming_interval=streaming_interval,
            conds=self._conds,
            kwargs=kwargs,
        )
        if stream:  # is_streaming_chunk / is_final_chunk stay False upstream
            for idx in range(3):
                yield result(960, idx)
        else:
            yield result(2400)


class KokoroModel(_Model):
    """mlx-audio's Kokoro Model: generate() builds the language's pipeline when absent."""

    def _get_pipeline(self, lang_code: str) -> object:
        pipelines: dict[str, object] = self.__dict__.setdefault("_pipelines", {})
        if lang_code not in pipelines:
            print(f"Creating new KokoroPipeline for language: {lang_code}")
            self.rec.add("pipeline", lang_code=lang_code)
            pipelines[lang_code] = object()
        return pipelines[lang_code]

    def generate(
        self,
        text: str,
        voice: Any = None,
        speed: Any = 1.0,
        lang_code: Any = "a",
        split_pattern: Any = r"\n+",
        **kwargs: Any,
    ) -> Generator[GenerationResult, None, None]:
        self._get_pipeline(lang_code)
        self.rec.add(
            "generate", text=text, voice=voice, speed=speed, lang_code=lang_code, kwargs=kwargs
        )
        for idx, _ in enumerate(text.split("\n")):
            res = result(1200, idx)
            res.samples = 1  # upstream bug: audio.shape[0] of a (1, T) array
            yield res


class SesameModel(_Model):
    def generate(
        self,
        text: Any,
        voice: Any = None,
        speaker: int = 0,
        context: Any = [],  # noqa: B006 (mirrors upstream)
        split_pattern: Any = r"\n+",
        sampler: Any = None,
        max_audio_length_ms: float = 90_000,
        ref_audio: Any = None,
        ref_text: Any = None,
        stream: bool = False,
        streaming_interval: float = 0.5,
        voice_match: Any = None,
        **kwargs: Any,
    ) -> Generator[GenerationResult, None, None]:
        self.rec.add(
            "generate",
            text=text,
            voice=voice,
            speaker=speaker,
            sampler=sampler,
            ref_audio=ref_audio,
            ref_text=ref_text,
            stream=stream,
            streaming_interval=streaming_interval,
            kwargs=kwargs,
        )
        if not stream:
            yield result(4800)
            return
        yield result(960, 0, is_streaming_chunk=True)
        yield result(960, 1, is_streaming_chunk=True)
        yield result(0, 2, is_streaming_chunk=True, is_final_chunk=True)  # may be empty


MODELS = {
    "chatterbox": ChatterboxModel,
    "chatterbox_turbo": ChatterboxTurboModel,
    "kokoro": KokoroModel,
    "sesame": SesameModel,
    "marvis": SesameModel,
}


def make_mlx_audio(rec: Recorder) -> dict[str, types.ModuleType]:
    root = types.ModuleType("mlx_audio")
    root.__path__ = []
    tts = types.ModuleType("mlx_audio.tts")
    tts.__path__ = []
    utils = types.ModuleType("mlx_audio.tts.utils")

    def load_model(model_path: Any, lazy: bool = False, strict: bool = True, **kwargs: Any) -> Any:
        rec.add("load_model", model_path=model_path, offline=os.environ.get("HF_HUB_OFFLINE"))
        path = Path(model_path)
        if not path.exists():
            raise FileNotFoundError(f"would snapshot_download {model_path}")
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        return MODELS[config["model_type"]](rec, path)

    utils.load_model = load_model  # type: ignore[attr-defined]
    lm = types.ModuleType("mlx_audio.lm")
    lm.__path__ = []
    sample_utils = types.ModuleType("mlx_audio.lm.sample_utils")

    def make_sampler(
        temp: float = 0.0,
        top_p: float = 0.0,
        min_p: float = 0.0,
        min_tokens_to_keep: int = 1,
        top_k: int = 0,
        xtc_probability: float = 0.0,
        xtc_threshold: float = 0.0,
        xtc_special_tokens: Any = [],  # noqa: B006 (mirrors upstream)
    ) -> Any:
        return ("sampler", {"temp": temp, "top_p": top_p, "min_p": min_p, "top_k": top_k})

    sample_utils.make_sampler = make_sampler  # type: ignore[attr-defined]
    return {
        "mlx_audio": root,
        "mlx_audio.tts": tts,
        "mlx_audio.tts.utils": utils,
        "mlx_audio.lm": lm,
        "mlx_audio.lm.sample_utils": sample_utils,
    }
