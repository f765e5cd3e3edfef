"""Stand-ins for kokoro 0.9.4 (KModel, KPipeline) and transformers' CSM classes, with the
signatures of ENGINES.md sections 9 and 11."""

from __future__ import annotations

import os
import re
import types
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .torch_fake import FakeTensor

if TYPE_CHECKING:
    from collections.abc import Generator


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def add(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def last(self, name: str) -> dict[str, Any]:
        return [kw for n, kw in self.calls if n == name][-1]


def make_kokoro(rec: Recorder) -> types.ModuleType:
    kokoro = types.ModuleType("kokoro")

    class KModel:
        @dataclass
        class Output:
            audio: Any
            pred_dur: Any = None

        def __init__(
            self,
            repo_id: Any = None,
            config: Any = None,
            model: Any = None,
            disable_complex: bool = False,
        ) -> None:
            rec.add(
                "KModel",
                repo_id=repo_id,
                config=config,
                model=model,
                offline=os.environ.get("HF_HUB_OFFLINE"),
            )
            self.device = "cpu"

        def to(self, device: str) -> KModel:
            self.device = device
            return self

        def eval(self) -> KModel:
            return self

    class KPipeline:
        @dataclass
        class Result:
            graphemes: str
            phonemes: str
            tokens: Any = None
            output: Any = None
            text_index: Any = None

            @property
            def audio(self) -> Any:
                return None if self.output is None else self.output.audio

        def __init__(
            self,
            lang_code: str,
            repo_id: Any = None,
            model: Any = True,
            trf: bool = False,
            en_callable: Any = None,
            device: Any = None,
        ) -> None:
            rec.add("KPipeline", lang_code=lang_code, repo_id=repo_id, model=model)
            self.model = model

        def load_voice(self, voice: str, delimiter: str = ",") -> object:
            rec.add("load_voice", voice=voice)
            return voice

        def __call__(
            self,
            text: Any,
            voice: Any = None,
            speed: Any = 1,
            split_pattern: Any = r"\n+",
            model: Any = None,
        ) -> Generator[Any, None, None]:
            rec.add("call", text=text, voice=voice, speed=speed)
            for index, part in enumerate(re.split(split_pattern, text)):
                audio = FakeTensor(np.full(600 * len(part), 0.1, np.float32), self.model.device)
                yield KPipeline.Result(part, part, None, KModel.Output(audio), index)
            yield KPipeline.Result("", "", None, None, None)  # a chunk without audio

    kokoro.KModel = KModel  # type: ignore[attr-defined]
    kokoro.KPipeline = KPipeline  # type: ignore[attr-defined]
    return kokoro


class BatchFeature(dict[str, Any]):
    def to(self, device: str) -> BatchFeature:
        return self


def make_transformers(rec: Recorder) -> types.ModuleType:
    transformers = types.ModuleType("transformers")

    class Processor:
        feature_extractor = types.SimpleNamespace(sampling_rate=24000)

        @classmethod
        def from_pretrained(cls, path: Any, **kwargs: Any) -> Processor:
            rec.add("AutoProcessor", path=path, offline=os.environ.get("HF_HUB_OFFLINE"))
            if not Path(str(path)).exists():
                raise OSError(f"would download {path}")
            return cls()

        def __call__(
            self, text: Any, add_special_tokens: bool = True, return_tensors: Any = None
        ) -> BatchFeature:
            rec.add("processor", text=text, add_special_tokens=add_special_tokens)
            return BatchFeature(
                input_ids=np.array([[1, 2, 3]]),
                attention_mask=np.array([[1, 1, 1]]),
                token_type_ids=np.array([[0, 0, 0]]),
            )

    class CsmForConditionalGeneration:
        @classmethod
        def from_pretrained(cls, path: Any, **kwargs: Any) -> CsmForConditionalGeneration:
            rec.add("from_pretrained", path=path, **kwargs)
            return cls()

        def to(self, device: str) -> CsmForConditionalGeneration:
            self.device = device
            return self

        def eval(self) -> CsmForConditionalGeneration:
            return self

        def generate(
            self,
            input_ids: Any = None,
            input_values: Any = None,
            input_values_cutoffs: Any = None,
            generation_config: Any = None,
            logits_processor: Any = None,
            stopping_criteria: Any = None,
            synced_gpus: Any = None,
            streamer: Any = None,
            output_audio: Any = False,
            **kwargs: Any,
        ) -> Any:
            if "token_type_ids" in kwargs:  # the real model_kwargs validation rejects it
                raise ValueError("The following `model_kwargs` are not used: token_type_ids")
            rec.add("generate", input_ids=input_ids, output_audio=output_audio, **kwargs)
            return [FakeTensor(np.full(4800, 0.1, np.float32), self.device)]

    transformers.AutoProcessor = Processor  # type: ignore[attr-defined]
    transformers.CsmForConditionalGeneration = CsmForConditionalGeneration  # type: ignore[attr-defined]
    return transformers
