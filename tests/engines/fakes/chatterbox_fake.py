"""Stand-ins for chatterbox-tts 0.1.7 (``chatterbox.tts``, ``chatterbox.tts_turbo``), the
chatterbox-streaming 0.1.2 fork and resemble-perth, with the upstream signatures of
ENGINES.md sections 1-3 and the same sub-steps inside ``generate()``: ``self.t3``
inference, ``self.s3gen.inference`` and ``self.watermarker.apply_watermark``.
"""

from __future__ import annotations

import os
import types
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .torch_fake import FakeTensor

if TYPE_CHECKING:
    from collections.abc import Generator

WAV_SAMPLES = 2400  # 0.1 s per S3Gen call
WAV_LEVEL = 0.2
WATERMARK_GAIN = 0.5  # the fake watermark halves the audio, so tests can see it ran


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def add(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def last(self, name: str) -> dict[str, Any]:
        return [kw for n, kw in self.calls if n == name][-1]


class _T3:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    def inference(
        self,
        *,
        t3_cond: Any,
        text_tokens: Any,
        max_new_tokens: int = 1000,
        temperature: float = 0.8,
        cfg_weight: float = 0.5,
        repetition_penalty: float = 1.2,
        min_p: float = 0.05,
        top_p: float = 1.0,
    ) -> FakeTensor:
        self.rec.add("t3.inference", cfg_weight=cfg_weight, max_new_tokens=max_new_tokens)
        return FakeTensor(np.zeros((2, 7), dtype=np.int64))

    def inference_turbo(
        self,
        t3_cond: Any,
        text_tokens: Any,
        temperature: float = 0.8,
        top_k: int = 1000,
        top_p: float = 0.95,
        repetition_penalty: float = 1.2,
        max_gen_len: int = 1000,
    ) -> FakeTensor:
        self.rec.add("t3.inference_turbo", max_gen_len=max_gen_len)
        return FakeTensor(np.zeros((1, 5), dtype=np.int64))


class _S3Gen:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec

    def inference(
        self, speech_tokens: Any, ref_dict: Any = None, n_cfm_timesteps: int | None = None
    ) -> tuple[FakeTensor, None]:
        self.rec.add("s3gen.inference", n_cfm_timesteps=n_cfm_timesteps)
        return FakeTensor(np.full((1, WAV_SAMPLES), WAV_LEVEL, dtype=np.float32), "cuda"), None


def make_perth(rec: Recorder, broken: bool = False) -> types.ModuleType:
    perth = types.ModuleType("perth")

    class PerthImplicitWatermarker:
        def apply_watermark(self, wav: Any, sample_rate: int) -> Any:
            rec.add("watermark", sample_rate=sample_rate)
            return np.asarray(wav) * WATERMARK_GAIN

    # resemble-perth 1.0.1 sets the class to None when pkg_resources is missing
    perth.PerthImplicitWatermarker = None if broken else PerthImplicitWatermarker  # type: ignore[attr-defined]
    return perth


class _Base:
    rec: Recorder
    torch: Any
    perth: Any

    def __init__(
        self, t3: Any, s3gen: Any, ve: Any, tokenizer: Any, device: str, conds: Any = None
    ) -> None:
        self.sr = 24000
        self.t3 = t3
        self.s3gen = s3gen
        self.device = device
        self.conds = conds
        self.watermarker = self.perth.PerthImplicitWatermarker()

    # chatterbox-tts (both models) and the streaming fork share these two signatures
    @classmethod
    def from_local(cls, ckpt_dir: Any, device: Any) -> Any:
        cls.rec.add("from_local", ckpt_dir=ckpt_dir, device=device)
        return cls._make(ckpt_dir, device)

    @classmethod
    def from_pretrained(cls, device: Any) -> Any:
        cls.rec.add("from_pretrained", device=device)
        return cls._make("/nonexistent", device)

    @classmethod
    def _make(cls, ckpt_dir: Any, device: str) -> Any:
        builtin = (Path(ckpt_dir) / "conds.pt").exists()
        cls.rec.add("loaded", offline=os.environ.get("HF_HUB_OFFLINE"))
        return cls(
            _T3(cls.rec), _S3Gen(cls.rec), None, None, device, conds="builtin" if builtin else None
        )

    def _finish(self, wav: FakeTensor) -> FakeTensor:
        host = wav.squeeze(0).detach().cpu().numpy()
        marked = self.watermarker.apply_watermark(host, sample_rate=self.sr)
        return FakeTensor(marked).unsqueeze(0)


def _tts_module(rec: Recorder, torch: Any, perth: Any) -> types.ModuleType:
    class ChatterboxTTS(_Base):
        def prepare_conditionals(self, wav_fpath: Any, exaggeration: Any = 0.5) -> None:
            rec.add("prepare_conditionals", wav_fpath=wav_fpath, exaggeration=exaggeration)
            self.conds = ("voice", wav_fpath)

        def generate(
            self,
            text: Any,
            repetition_penalty: Any = 1.2,
            min_p: Any = 0.05,
            top_p: Any = 1.0,
            audio_prompt_path: Any = None,
            exaggeration: Any = 0.5,
            cfg_weight: Any = 0.5,
            temperature: Any = 0.8,
        ) -> FakeTensor:
            rec.add(
                "generate",
                text=text,
                repetition_penalty=repetition_penalty,
                min_p=min_p,
                top_p=top_p,
                audio_prompt_path=audio_prompt_path,
                exaggeration=exaggeration,
                cfg_weight=cfg_weight,
                temperature=temperature,
            )
            if audio_prompt_path:
                self.prepare_conditionals(audio_prompt_path, exaggeration=exaggeration)
            assert self.conds is not None, "Please `prepare_conditionals` first"
            tokens = self.t3.inference(
                t3_cond=self.conds,
                text_tokens=text,
                max_new_tokens=1000,
                temperature=temperature,
                cfg_weight=cfg_weight,
                repetition_penalty=repetition_penalty,
                min_p=min_p,
                top_p=top_p,
            )
            wav, _ = self.s3gen.inference(speech_tokens=tokens[0], ref_dict=self.conds)
            return self._finish(wav)

    module = types.ModuleType("chatterbox.tts")
    ChatterboxTTS.rec, ChatterboxTTS.torch, ChatterboxTTS.perth = rec, torch, perth
    module.ChatterboxTTS = ChatterboxTTS  # type: ignore[attr-defined]
    return module


def _turbo_module(rec: Recorder, torch: Any, perth: Any) -> types.ModuleType:
    class ChatterboxTurboTTS(_Base):
        def prepare_conditionals(
            self, wav_fpath: Any, exaggeration: Any = 0.5, norm_loudness: Any = True
        ) -> None:
            rec.add("prepare_conditionals", wav_fpath=wav_fpath, norm_loudness=norm_loudness)
            assert "short" not in str(wav_fpath), "Audio prompt must be longer than 5 seconds!"
            self.conds = ("voice", wav_fpath)

        def generate(
            self,
            text: Any,
            repetition_penalty: Any = 1.2,
            min_p: Any = 0.00,
            top_p: Any = 0.95,
            audio_prompt_path: Any = None,
            exaggeration: Any = 0.0,
            cfg_weight: Any = 0.0,
            temperature: Any = 0.8,
            top_k: Any = 1000,
            norm_loudness: Any = True,
        ) -> FakeTensor:
            rec.add(
                "generate",
                text=text,
                repetition_penalty=repetition_penalty,
                min_p=min_p,
                top_p=top_p,
                exaggeration=exaggeration,
                cfg_weight=cfg_weight,
                temperature=temperature,
                top_k=top_k,
                norm_loudness=norm_loudness,
                audio_prompt_path=audio_prompt_path,
            )
            assert self.conds is not None
            tokens = self.t3.inference_turbo(
                t3_cond=self.conds,
                text_tokens=text,
                temperature=temperature,
                top_k=top_k,
                top_p=top_p,
                repetition_penalty=repetition_penalty,
            )
            wav, _ = self.s3gen.inference(
                speech_tokens=tokens, ref_dict=self.conds, n_cfm_timesteps=2
            )
            return self._finish(wav)

    module = types.ModuleType("chatterbox.tts_turbo")
    ChatterboxTurboTTS.rec, ChatterboxTurboTTS.torch = rec, torch
    ChatterboxTurboTTS.perth = perth
    module.ChatterboxTurboTTS = ChatterboxTurboTTS  # type: ignore[attr-defined]
    return module


@dataclass
class StreamingMetrics:
    latency_to_first_chunk: float | None = None
    rtf: float | None = None
    total_generation_time: float | None = None
    total_audio_duration: float | None = None
    chunk_count: int = 0


def _fork_module(rec: Recorder, torch: Any, perth: Any) -> types.ModuleType:
    class ChatterboxTTS(_Base):
        def prepare_conditionals(self, wav_fpath: Any, exaggeration: Any = 0.5) -> None:
            rec.add("prepare_conditionals", wav_fpath=wav_fpath)
            self.conds = ("voice", wav_fpath)

        def generate(
            self,
            text: Any,
            audio_prompt_path: Any = None,
            exaggeration: Any = 0.5,
            cfg_weight: Any = 0.5,
            temperature: Any = 0.8,
        ) -> FakeTensor:
            rec.add(
                "generate",
                text=text,
                exaggeration=exaggeration,
                cfg_weight=cfg_weight,
                temperature=temperature,
            )
            wav, _ = self.s3gen.inference(speech_tokens=None, ref_dict=self.conds)
            return self._finish(wav)

        def inference_stream(
            self,
            *,
            t3_cond: Any,
            text_tokens: Any,
            max_new_tokens: Any = 1000,
            temperature: Any = 0.8,
            cfg_weight: Any = 0.5,
            chunk_size: Any = 25,
        ) -> Generator[FakeTensor, None, None]:
            for _ in range(3):
                yield FakeTensor(np.zeros((1, chunk_size), dtype=np.int64))

        def generate_stream(
            self,
            text: str,
            audio_prompt_path: str | None = None,
            exaggeration: float = 0.5,
            cfg_weight: float = 0.5,
            temperature: float = 0.8,
            chunk_size: int = 25,
            context_window: Any = 50,
            fade_duration: Any = 0.02,
            print_metrics: bool = True,
        ) -> Generator[tuple[FakeTensor, StreamingMetrics], None, None]:
            rec.add(
                "generate_stream",
                text=text,
                exaggeration=exaggeration,
                cfg_weight=cfg_weight,
                temperature=temperature,
                chunk_size=chunk_size,
                context_window=context_window,
                print_metrics=print_metrics,
            )
            metrics = StreamingMetrics()
            for tokens in self.inference_stream(
                t3_cond=self.conds, text_tokens=text, chunk_size=chunk_size
            ):
                audio = self._process_token_buffer(tokens)
                metrics.chunk_count += 1
                if metrics.latency_to_first_chunk is None:
                    metrics.latency_to_first_chunk = 0.25
                yield audio, metrics  # the same mutable object every time
            metrics.total_generation_time = 0.75

        def _process_token_buffer(self, tokens: Any) -> FakeTensor:
            wav, _ = self.s3gen.inference(speech_tokens=tokens, ref_dict=self.conds)
            return self._finish(wav)

    module = types.ModuleType("chatterbox.tts")
    ChatterboxTTS.rec, ChatterboxTTS.torch, ChatterboxTTS.perth = rec, torch, perth
    module.ChatterboxTTS = ChatterboxTTS  # type: ignore[attr-defined]
    module.StreamingMetrics = StreamingMetrics  # type: ignore[attr-defined]
    return module


def make_chatterbox(
    torch: Any, *, fork: bool = False, perth_broken: bool = False
) -> tuple[dict[str, types.ModuleType], Recorder]:
    """Fresh modules for sys.modules: chatterbox, chatterbox.tts[, .tts_turbo], perth."""
    rec = Recorder()
    perth = make_perth(rec, perth_broken)
    package = types.ModuleType("chatterbox")
    package.__path__ = []  # a package, so submodule imports resolve through sys.modules
    modules = {"chatterbox": package, "perth": perth}
    if fork:
        modules["chatterbox.tts"] = _fork_module(rec, torch, perth)
    else:
        modules["chatterbox.tts"] = _tts_module(rec, torch, perth)
        modules["chatterbox.tts_turbo"] = _turbo_module(rec, torch, perth)
    return modules, rec
