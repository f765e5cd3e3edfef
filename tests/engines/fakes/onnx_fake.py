"""Stand-ins for onnxruntime and tokenizers that play the four Chatterbox ONNX graphs with
the IO contract of ENGINES.md section 12: a language model with a growing KV cache that
emits a scripted token sequence, so the adapter's loop can be checked step by step."""

from __future__ import annotations

import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

SCRIPT = [101, 102, 103, 6562]  # speech tokens the fake LM emits, then STOP
HEADS, HEAD_DIM, LAYERS, WIDTH = 2, 4, 2, 4


@dataclass
class NodeArg:
    name: str
    shape: list[Any]
    type: str


class Recorder:
    def __init__(self) -> None:
        self.feeds: dict[str, list[dict[str, Any]]] = {}
        self.sessions: list[dict[str, Any]] = []


def _graph_io(graph: str, original: bool, half: bool) -> tuple[list[NodeArg], list[NodeArg]]:
    flt = "tensor(float16)" if half else "tensor(float)"
    if graph == "speech_encoder":
        return (
            [NodeArg("audio_values", ["batch", "samples"], "tensor(float)")],
            [
                NodeArg(n, [], t)
                for n, t in (
                    ("cond_emb", flt),
                    ("prompt_token", "tensor(int64)"),
                    ("speaker_embeddings", flt),
                    ("speaker_features", flt),
                )
            ],
        )
    if graph == "embed_tokens":
        inputs = [NodeArg("input_ids", ["batch", "seq"], "tensor(int64)")]
        if original:
            inputs += [
                NodeArg("position_ids", ["batch", "seq"], "tensor(int64)"),
                NodeArg("exaggeration", [1], "tensor(float)"),
            ]
        return inputs, [NodeArg("inputs_embeds", ["batch", "seq", WIDTH], flt)]
    if graph == "language_model":
        inputs = [
            NodeArg("inputs_embeds", ["batch", "seq", WIDTH], flt),
            NodeArg("attention_mask", ["batch", "total"], "tensor(int64)"),
        ]
        if not original:
            inputs.append(NodeArg("position_ids", ["batch", "seq"], "tensor(int64)"))
        outputs = [NodeArg("logits", ["batch", "seq", 6563], flt)]
        for layer in range(LAYERS):
            for kv in ("key", "value"):
                inputs.append(
                    NodeArg(
                        f"past_key_values.{layer}.{kv}",
                        ["batch_size", HEADS, "past_sequence_length", HEAD_DIM],
                        flt,
                    )
                )
                outputs.append(NodeArg(f"present.{layer}.{kv}", [], flt))
        return inputs, outputs
    return (
        [
            NodeArg("speech_tokens", ["batch", "seq"], "tensor(int64)"),
            NodeArg("speaker_embeddings", [], flt),
            NodeArg("speaker_features", [], flt),
        ],
        [NodeArg("waveform", ["batch", "samples"], "tensor(float)")],
    )


def make_onnxruntime(
    rec: Recorder,
    *,
    original: bool,
    providers: tuple[str, ...] = ("CPUExecutionProvider",),
    drops_to_cpu: bool = False,
) -> types.ModuleType:
    ort = types.ModuleType("onnxruntime")

    class SessionOptions:
        intra_op_num_threads = 0

    class InferenceSession:
        def __init__(
            self,
            path_or_bytes: Any,
            sess_options: Any = None,
            providers: Any = None,
            provider_options: Any = None,
            **kwargs: Any,
        ) -> None:
            name = Path(str(path_or_bytes)).name
            self.graph = next(
                g
                for g in ("speech_encoder", "embed_tokens", "language_model", "conditional_decoder")
                if name.startswith(g)
            )
            self.half = name.endswith(("_fp16.onnx", "_q4f16.onnx"))
            self.inputs, self.outputs = _graph_io(self.graph, original, self.half)
            chosen = list(providers or ["CPUExecutionProvider"])
            self.providers = ["CPUExecutionProvider"] if drops_to_cpu else chosen
            rec.sessions.append(
                {
                    "file": name,
                    "providers": chosen,
                    "threads": getattr(sess_options, "intra_op_num_threads", None),
                }
            )
            self.step = 0

        def get_inputs(self) -> list[NodeArg]:
            return self.inputs

        def get_outputs(self) -> list[NodeArg]:
            return self.outputs

        def get_providers(self) -> list[str]:
            return self.providers

        def run(self, output_names: Any, feeds: dict[str, Any]) -> list[Any]:
            expected = {i.name for i in self.inputs}
            if set(feeds) != expected:
                raise ValueError(f"{self.graph}: feeds {sorted(feeds)} != {sorted(expected)}")
            rec.feeds.setdefault(self.graph, []).append({k: np.array(v) for k, v in feeds.items()})
            flt = np.float16 if self.half else np.float32
            if self.graph == "speech_encoder":
                return [
                    np.ones((1, 3, WIDTH), flt),
                    np.array([[7, 8]], np.int64),
                    np.ones((1, 8), flt),
                    np.ones((1, 5, 8), flt),
                ]
            if self.graph == "embed_tokens":
                ids = feeds["input_ids"]
                return [np.ones((1, ids.shape[1], WIDTH), flt)]
            if self.graph == "language_model":
                return self._lm(feeds, flt)
            tokens = feeds["speech_tokens"]
            return [np.full((1, tokens.shape[1] * 10), 0.25, np.float32)]

        def _lm(self, feeds: dict[str, Any], flt: Any) -> list[Any]:
            new = feeds["inputs_embeds"].shape[1]
            past = feeds["past_key_values.0.key"].shape[2]
            if feeds["attention_mask"].shape[1] != past + new:
                raise ValueError("attention_mask does not cover past + new tokens")
            logits = np.zeros((1, new, 6563), flt)
            logits[0, -1, SCRIPT[min(self.step, len(SCRIPT) - 1)]] = 5.0
            self.step += 1
            presents = [
                np.concatenate(
                    [
                        feeds[f"past_key_values.{layer}.{kv}"],
                        np.zeros((1, HEADS, new, HEAD_DIM), flt),
                    ],
                    axis=2,
                )
                for layer in range(LAYERS)
                for kv in ("key", "value")
            ]
            return [logits, *presents]

    ort.SessionOptions = SessionOptions  # type: ignore[attr-defined]
    ort.InferenceSession = InferenceSession  # type: ignore[attr-defined]
    ort.get_available_providers = lambda: list(providers)  # type: ignore[attr-defined]
    return ort


def make_tokenizers() -> types.ModuleType:
    module = types.ModuleType("tokenizers")

    class Encoding:
        def __init__(self, ids: list[int]) -> None:
            self.ids = ids

    class Tokenizer:
        def __init__(self, path: str) -> None:
            self.path = path

        @staticmethod
        def from_file(path: str) -> Tokenizer:
            if not Path(path).is_file():
                raise Exception(f"No such file: {path}")  # tokenizers raises a plain Exception
            return Tokenizer(path)

        def encode(self, sequence: str) -> Encoding:
            return Encoding([255, *(ord(c) % 200 for c in sequence), 6561])

    module.Tokenizer = Tokenizer  # type: ignore[attr-defined]
    return module
