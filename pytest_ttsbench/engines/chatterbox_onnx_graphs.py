"""The four graphs of a Chatterbox ONNX export on onnxruntime, opened and checked once.

Which file each graph runs for a variant, the execution provider for the target's
device (checked after each session starts: a silent fallback to the CPU is an error,
not a mislabelled number), the inputs the loop in chatterbox_onnx.py feeds each graph,
and the language model's KV cache layout with its empty first-step tensors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_ttsbench.engines.base import EngineError, WeightsNotFound
from pytest_ttsbench.engines.lazy import lazy_module

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    import numpy as np

    from pytest_ttsbench.results.target import Target
else:
    np = lazy_module("numpy")

GRAPHS = ("speech_encoder", "embed_tokens", "language_model", "conditional_decoder")
# Inputs the loop feeds, per graph (ENGINES.md section 12); checked once at load.
NEEDED_INPUTS = {
    "speech_encoder": ("audio_values",),
    "embed_tokens": ("input_ids",),
    "language_model": ("inputs_embeds", "attention_mask"),
    "conditional_decoder": ("speech_tokens", "speaker_embeddings", "speaker_features"),
}
# speech_encoder outputs: the exports' names (transformers.js), then onnxvoice's.
VOICE_OUTPUTS = (
    ("audio_features", "cond_emb"),
    ("audio_tokens", "prompt_token"),
    ("speaker_embeddings",),
    ("speaker_features",),
)
SUFFIX = {"fp32": "", "fp16": "_fp16", "q4": "_q4", "q4f16": "_q4f16", "quantized": "_quantized"}
PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "mps": "CoreMLExecutionProvider",
}
DTYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
}

KvLayout = list[tuple[str, str, Any]]  # (past input, present output, zeros)


def graph_candidates(variant: str) -> dict[str, tuple[str, ...]]:
    """Each graph's file for ``variant``; graphs other than the language model may
    fall back to fp32 when the export has no file of that precision (the engine's
    details() says which file each session runs)."""
    suffix = SUFFIX.get(variant, "")
    out = {}
    for graph in GRAPHS:
        names = [f"onnx/{graph}{suffix}.onnx"]
        if suffix and graph != "language_model":
            names.append(f"onnx/{graph}.onnx")
        out[graph] = tuple(names)
    return out


def provider_list(ort: Any, target: Target, cpu_refuses: Mapping[str, str]) -> list[str]:
    """The providers the sessions ask for: the device's, then the CPU as onnxruntime's
    fallback for operators the device lacks."""
    wanted = PROVIDERS[target.device]
    if target.device == "cpu" and target.variant in cpu_refuses:
        raise EngineError(f"{target.id}: {cpu_refuses[target.variant]}")
    available = list(ort.get_available_providers())
    if wanted not in available:
        raise EngineError(
            f"{target.id}: onnxruntime has no {wanted} (available: "
            f"{', '.join(available)}); install onnxruntime-gpu for CUDA, "
            "the macOS onnxruntime build for CoreML"
        )
    return [wanted] if wanted == PROVIDERS["cpu"] else [wanted, PROVIDERS["cpu"]]


def open_graphs(
    ort: Any, folder: Path, target: Target, options: Any, providers: Sequence[str]
) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """A session per graph: the sessions, each one's file (relative to ``folder``) and
    the providers they run on; refused when a session did not start on
    ``providers[0]``."""
    sessions: dict[str, Any] = {}
    files: dict[str, str] = {}
    used: list[str] = []
    for graph, names in graph_candidates(target.variant).items():
        file = next((folder / n for n in names if (folder / n).is_file()), None)
        if file is None:
            raise WeightsNotFound(f"{target.id}: none of {', '.join(names)} in {folder}")
        try:
            session = ort.InferenceSession(
                str(file), sess_options=options, providers=list(providers)
            )
        except Exception as exc:
            raise EngineError(
                f"{target.id}: onnxruntime could not open {file} with "
                f"{providers[0]}: {type(exc).__name__}: {exc}"
            ) from exc
        used = list(session.get_providers())
        if not used or used[0] != providers[0]:
            raise EngineError(
                f"{target.id}: {file.name} runs on {used}, not "
                f"{providers[0]}: the provider failed to start"
            )
        sessions[graph] = session
        files[graph] = str(file.relative_to(folder))
    return sessions, files, used


def graph_io(session: Any) -> tuple[dict[str, Any], list[str]]:
    """A session's input dtypes by name and its output names."""
    return (
        {i.name: DTYPES.get(i.type, "float32") for i in session.get_inputs()},
        [o.name for o in session.get_outputs()],
    )


def check_graph(
    target_id: str, graph: str, file: str, dtypes: Mapping[str, Any], outputs: Sequence[str]
) -> None:
    """The graph takes what the loop feeds, and the language model has a KV cache: said
    once at load, by file and name, not as a KeyError mid-call."""
    missing = [name for name in NEEDED_INPUTS[graph] if name not in dtypes]
    if graph == "language_model":
        if not any(n.startswith("past_key_values") for n in dtypes):
            missing.append("past_key_values.*")
        if not any("present" in n for n in outputs):
            missing.append("present.* (outputs)")
    if missing:
        raise EngineError(
            f"{target_id}: {file} lacks {', '.join(missing)} "
            f"(inputs: {', '.join(dtypes)}; outputs: {', '.join(outputs)}); "
            "not a Chatterbox ONNX export this loop can run"
        )


def kv_layout(target_id: str, lm: Any) -> KvLayout:
    """Each past_key_values input of the language model, the present output that
    feeds it next step, and its empty first-step tensor."""
    outputs = [o.name for o in lm.get_outputs()]
    presents = [name for name in outputs if "present" in name]
    layout = []
    past = [i for i in lm.get_inputs() if i.name.startswith("past_key_values")]
    for index, spec in enumerate(past):
        present = spec.name.replace("past_key_values", "present")
        if present not in outputs:  # fall back to the order of the outputs
            present = presents[index]
        layout.append((spec.name, present, empty_cache(target_id, spec)))
    return layout


def empty_cache(target_id: str, spec: Any) -> Any:
    """A KV input's tensor before the first step: batch 1, sequence 0."""
    shape: list[int] = []
    dims = list(spec.shape)
    seq = next(
        (
            i
            for i, d in enumerate(dims)
            if i
            and isinstance(d, str)
            and any(k in d.lower() for k in ("seq", "past", "len", "cache"))
        ),
        2,
    )
    for axis, dim in enumerate(dims):
        if axis == 0:
            shape.append(1)
        elif axis == seq:
            shape.append(0)
        elif isinstance(dim, int) and dim > 0:
            shape.append(dim)
        else:
            raise EngineError(
                f"{target_id}: KV input {spec.name} has an unknown dimension {dim!r} (shape {dims})"
            )
    return np.zeros(shape, dtype=DTYPES.get(spec.type, "float32"))
