"""Tiny random-init Marvis (CSM) checkpoints, built with the upstreams' own classes.

``build_marvis_pt`` writes what ``AutoProcessor`` and ``CsmForConditionalGeneration``
``from_pretrained`` read (transformers' CSM with a shrunk Mimi codec inside).
``build_marvis_mlx`` writes what ``mlx_audio.tts.utils.load_model(folder)`` reads for
mlx-audio's sesame model, and fills an HF cache with the companions sesame fetches by
itself: the Mimi codec (mlx-audio's own ``Mimi`` class at its fixed 32-codebook config,
random init, saved under the PyTorch names its loader renames), the Llama text
tokenizer repo and the default voice prompt.

Every upstream import happens inside the builders (the caller importorskips first).
"""

from __future__ import annotations

import importlib
import json
import math
import wave
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.engines.base import mark_random_weights
from tests.upstream.support import hf_cache_snapshot, mlx_parameters

if TYPE_CHECKING:
    from pathlib import Path

SAMPLE_RATE = 24_000
MIMI_REPO = "kyutai/moshiko-pytorch-bf16"
MIMI_FILE = "tokenizer-e351c8d8-checkpoint125.safetensors"
LLAMA_TOKENIZER_REPO = "unsloth/Llama-3.2-1B"
PROMPT_REPO = "sesame/csm-1b"
VOICE = "conversational_a"
BOS, EOS = "<|begin_of_text|>", "<|end_of_text|>"
AUDIO, AUDIO_EOS = "<|AUDIO|>", "<|audio_eos|>"
TARGET_RMS, TARGET_PEAK = 0.1, 0.5
ROPE_LLAMA3 = {
    "rope_type": "llama3",
    "factor": 32.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192,
}


# -- shared pieces ---------------------------------------------------------------------


def byte_tokenizer() -> Any:
    """A byte-level BPE tokenizer (no merges: one token per byte) with Llama-3-style
    BOS/EOS around every text, plus CSM's audio tokens; built with ``tokenizers``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([BOS, EOS, AUDIO, AUDIO_EOS])
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A {EOS}",
        pair=f"{BOS} $A {EOS} {BOS} $B {EOS}",
        special_tokens=[(BOS, tok.token_to_id(BOS)), (EOS, tok.token_to_id(EOS))],
    )
    return tok


def scalar(array: Any) -> float:
    """A one-element array as a float (mx.array.item() is typed int | float | complex)."""
    return float(array.item())


def fast_tokenizer() -> Any:
    """The byte tokenizer as transformers' PreTrainedTokenizerFast."""
    transformers: Any = importlib.import_module("transformers")  # loosely typed: see support

    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=byte_tokenizer(), bos_token=BOS, eos_token=EOS, pad_token=AUDIO
    )


def write_wav(path: Path, seconds: float, rate: int = SAMPLE_RATE) -> Path:
    """A quiet 220 Hz tone as 16-bit mono PCM."""
    n = round(seconds * rate)
    frames = b"".join(
        int(3000 * math.sin(2 * math.pi * 220 * i / rate)).to_bytes(2, "little", signed=True)
        for i in range(n)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return path


# -- marvis-pt: transformers CSM -------------------------------------------------------


def tiny_csm_config(text_vocab: int, ids: dict[str, int]) -> Any:
    """transformers' CsmConfig shrunk: 2 backbone and 1 depth layers of width 64/32,
    4 codebooks of 64 codes, and a Mimi codec of width 32 with 4 quantizers (its
    8*6*5*4 hop and x2 downsampling keep the real 12.5 Hz frame rate)."""
    transformers: Any = importlib.import_module("transformers")

    codebooks, codes = 4, 64
    codec = transformers.MimiConfig(
        hidden_size=32,
        num_filters=8,
        codebook_size=codes,
        codebook_dim=32,
        vector_quantization_hidden_dimension=32,
        num_quantizers=codebooks,
        upsample_groups=32,
        num_hidden_layers=1,
        intermediate_size=64,
        num_attention_heads=2,
        num_key_value_heads=2,
    )
    return transformers.CsmConfig(
        num_codebooks=codebooks,
        vocab_size=codes,
        text_vocab_size=text_vocab,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        pad_token_id=ids["pad"],
        bos_token_id=ids["bos"],
        audio_token_id=ids["audio"],
        audio_eos_token_id=ids["audio_eos"],
        codebook_pad_token_id=codes - 1,
        codebook_eos_token_id=0,
        rope_parameters={"rope_theta": 500000.0, **ROPE_LLAMA3},
        depth_decoder_config={
            "num_codebooks": codebooks,
            "backbone_hidden_size": 64,
            "vocab_size": codes,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 1,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "max_position_embeddings": codebooks + 1,
            "rope_parameters": {"rope_theta": 500000.0, **ROPE_LLAMA3},
        },
        codec_config=codec.to_dict(),
    )


def output_gain(rms: float, peak: float) -> float:
    """The gain that brings a random codec's output to speech-like levels (RMS 0.1, peak
    at most 0.5): as initialized it clips (transformers) or is inaudible (mlx-audio),
    and the harness rightly rejects both."""
    if not (rms > 0 and peak > 0 and math.isfinite(rms) and math.isfinite(peak)):
        raise RuntimeError(f"random Mimi decodes to rms={rms}, peak={peak}")
    return min(TARGET_RMS / rms, TARGET_PEAK / peak)


def level_pt_codec(model: Any, frames: int = 12) -> float:
    """Scale the codec decoder's last convolution (linear, nothing after it) so that
    random codes decode at a sane level; returns the gain applied."""
    import torch

    codec = model.codec_model
    codes = torch.randint(0, model.config.vocab_size, (1, model.config.num_codebooks, frames))
    with torch.no_grad():
        audio = codec.decode(codes).audio_values.float()
        gain = output_gain(float(audio.pow(2).mean().sqrt()), float(audio.abs().max()))
        last = [m for m in codec.decoder.modules() if isinstance(m, torch.nn.Conv1d)][-1]
        last.weight.mul_(gain)
        if last.bias is not None:
            last.bias.mul_(gain)
    return gain


def build_marvis_pt(folder: Path, seed: int = 0) -> Path:
    """config.json, model.safetensors, tokenizer and feature-extractor files: what
    ``AutoProcessor`` / ``CsmForConditionalGeneration.from_pretrained(folder)`` read."""
    import torch

    transformers: Any = importlib.import_module("transformers")

    torch.manual_seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = fast_tokenizer()
    ids = {
        "bos": tokenizer.convert_tokens_to_ids(BOS),
        "pad": tokenizer.convert_tokens_to_ids(AUDIO),
        "audio": tokenizer.convert_tokens_to_ids(AUDIO),
        "audio_eos": tokenizer.convert_tokens_to_ids(AUDIO_EOS),
    }
    config = tiny_csm_config(len(tokenizer), ids)
    model = transformers.CsmForConditionalGeneration(config).eval()
    gain = level_pt_codec(model)
    model.save_pretrained(folder)
    extractor = transformers.EncodecFeatureExtractor(feature_size=1, sampling_rate=SAMPLE_RATE)
    processor = transformers.CsmProcessor(feature_extractor=extractor, tokenizer=tokenizer)
    processor.save_pretrained(folder)
    params = sum(p.numel() for p in model.parameters())
    codec = config.codec_config
    mark_random_weights(
        folder,
        builder="tests/upstream/builders/marvis.py:build_marvis_pt",
        config={
            "backbone": {"layers": 2, "hidden": 64, "heads": 4, "kv_heads": 2},
            "depth_decoder": {"layers": 1, "hidden": 32, "heads": 2},
            "codebooks": config.num_codebooks,
            "codes": config.vocab_size,
            "text_vocab": config.text_vocab_size,
            "mimi": {
                "output_gain": gain,
                "hidden": codec.hidden_size,
                "filters": codec.num_filters,
                "layers": codec.num_hidden_layers,
                "quantizers": codec.num_quantizers,
            },
        },
        parameters=params,
    )
    return folder


# -- marvis-mlx: mlx-audio sesame ------------------------------------------------------


def tiny_sesame_config() -> dict[str, Any]:
    """config.json of a tiny sesame model. The codebook count stays 32 and the codes
    2048: sesame's Mimi is always ``mimi_202407(32)`` and its voice prompt is encoded
    by it; backbone and depth decoder shrink (2 layers of 64, 1 layer of 32)."""
    text_vocab = len(byte_tokenizer().get_vocab())
    depth = {
        "attention_bias": False,
        "attention_dropout": 0.0,
        "backbone_hidden_size": 64,
        "head_dim": 16,
        "hidden_act": "silu",
        "hidden_size": 32,
        "initializer_range": 0.02,
        "intermediate_size": 64,
        "max_position_embeddings": 33,
        "mlp_bias": False,
        "model_type": "csm_depth_decoder_model",
        "num_attention_heads": 2,
        "num_codebooks": 32,
        "num_hidden_layers": 1,
        "num_key_value_heads": 1,
        "rms_norm_eps": 1e-5,
        "rope_scaling": dict(ROPE_LLAMA3),
        "rope_theta": 500000,
        "use_cache": True,
        "vocab_size": 2048,
    }
    return {
        "model_type": "marvis",
        "backbone_flavor": "llama-100M",
        "decoder_flavor": "llama-100M",
        "text_vocab_size": text_vocab,
        "audio_vocab_size": 2048,
        "audio_num_codebooks": 32,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "head_dim": 16,
        "hidden_act": "silu",
        "hidden_size": 64,
        "initializer_range": 0.02,
        "intermediate_size": 128,
        "max_position_embeddings": 2048,
        "mlp_bias": False,
        "num_attention_heads": 4,
        "num_codebooks": 32,
        "num_hidden_layers": 2,
        "num_key_value_heads": 2,
        "rms_norm_eps": 1e-5,
        "rope_scaling": dict(ROPE_LLAMA3),
        "rope_theta": 500000,
        "tie_codebooks_embeddings": True,
        "tie_word_embeddings": False,
        "use_cache": True,
        "vocab_size": 2048,
        "depth_decoder_config": depth,
    }


def _torch_name(name: str) -> str:
    """The PyTorch (moshi) name of one of mlx-audio Mimi's parameters: the inverse of
    the renaming ``Mimi.load_pytorch_weights`` applies."""
    name = name.replace(".gating.linear", ".linear").replace(".in_proj.weight", ".in_proj_weight")
    # residual block convs: mlx block.0 / block.1 are torch block.1 / block.3
    name = name.replace(".block.1.", ".block.3.").replace(".block.0.", ".block.1.")
    for side in ("encoder", "decoder"):
        name = name.replace(f"{side}.init_conv1d.", f"{side}.0.")
        name = name.replace(f"{side}.final_conv1d.", f"{side}.14.")
    for idx, torch_idx in enumerate((2, 5, 8, 11)):
        name = name.replace(f"decoder.layers.{idx}.upsample.", f"decoder.{torch_idx}.")
        name = name.replace(f"decoder.layers.{idx}.residuals.0.", f"decoder.{torch_idx + 1}.")
    for idx, torch_idx in enumerate((1, 4, 7, 10)):
        name = name.replace(f"encoder.layers.{idx}.residuals.0.", f"encoder.{torch_idx}.")
        name = name.replace(f"encoder.layers.{idx}.downsample.", f"encoder.{torch_idx + 2}.")
    return name


def build_mimi(path: Path, seed: int = 0) -> tuple[int, float]:
    """mlx-audio's Mimi at the config sesame loads (``mimi_202407(32)``), random init,
    written in the PyTorch layout ``Mimi.load_pytorch_weights`` reads (names and conv
    axes, bf16 like the real file) and read back with that loader, strictly. The class
    starts its codebooks empty (every code decodes alike), so they are filled with
    random vectors; the decoder's last convolution gets the gain that makes random
    codes audible. Returns the parameter count and that gain."""
    import mlx.core as mx
    from mlx_audio.codec.models.mimi.mimi import Mimi, mimi_202407

    mx.random.seed(seed)
    arrays: dict[str, Any] = {}
    for name, value in mlx_parameters(Mimi(mimi_202407(32))):
        key = _torch_name(name)
        if name.endswith(".embedding_sum"):
            value = mx.random.normal(value.shape)
        elif name.endswith((".cluster_usage", ".initialized")):
            value = mx.ones(value.shape)
        if key.endswith((".conv.weight", ".output_proj.weight", ".input_proj.weight")):
            value = value.swapaxes(-1, -2)
        elif key.endswith(".convtr.weight"):
            # mlx (out, k, in/groups) -> torch (in, out/groups, k); depthwise (out, k, 1)
            depthwise = value.ndim == 3 and value.shape[-1] == 1
            value = value.transpose(0, 2, 1) if depthwise else value.transpose(2, 0, 1)
        arrays[key] = value.astype(mx.bfloat16)
    path.parent.mkdir(parents=True, exist_ok=True)
    mx.save_safetensors(str(path), arrays)

    def decoded() -> Any:
        mimi = Mimi(mimi_202407(32))
        mimi.load_pytorch_weights(str(path), strict=True)
        codes = mx.random.randint(0, 2048, (1, 32, 6))
        return mimi.decode(codes).astype(mx.float32)

    audio = decoded()
    gain = output_gain(scalar(mx.sqrt(mx.mean(audio * audio))), scalar(mx.max(mx.abs(audio))))
    for key in ("decoder.14.conv.conv.weight", "decoder.14.conv.conv.bias"):
        arrays[key] = (arrays[key].astype(mx.float32) * gain).astype(mx.bfloat16)
    mx.save_safetensors(str(path), arrays)
    peak = scalar(mx.max(mx.abs(decoded())))
    if not 0 < peak < 1:
        raise RuntimeError(f"random Mimi still decodes to peak {peak} after gain {gain}")
    return sum(v.size for v in arrays.values()), gain


def build_llama_tokenizer_repo(snap: Path) -> None:
    """tokenizer.json, tokenizer_config.json and config.json: what AutoTokenizer reads."""
    from transformers import LlamaConfig

    fast_tokenizer().save_pretrained(snap)
    tiny = LlamaConfig(
        vocab_size=len(byte_tokenizer().get_vocab()),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=1,
    )
    tiny.save_pretrained(snap)


def build_marvis_mlx(folder: Path, hf_home: Path, seed: int = 0) -> Path:
    """The sesame checkpoint in ``folder`` and its companions in ``hf_home``'s hub cache."""
    import mlx.core as mx
    from mlx_audio.tts.models.sesame.sesame import SesameModel

    mimi_params, gain = build_mimi(hf_cache_snapshot(hf_home, MIMI_REPO) / MIMI_FILE, seed)
    build_llama_tokenizer_repo(hf_cache_snapshot(hf_home, LLAMA_TOKENIZER_REPO))
    prompts = hf_cache_snapshot(hf_home, PROMPT_REPO) / "prompts"
    write_wav(prompts / f"{VOICE}.wav", 0.4)
    (prompts / f"{VOICE}.txt").write_text("Hi there.", encoding="utf-8")

    config = tiny_sesame_config()
    mx.random.seed(seed)
    model = SesameModel(config)
    # the class starts its depth heads at zero; random weights want them random too
    model.audio_head = mx.random.normal(model.audio_head.shape) * 0.02
    weights = {f"model.{k}": v for k, v in mlx_parameters(model)}
    folder.mkdir(parents=True, exist_ok=True)
    mx.save_safetensors(str(folder / "model.safetensors"), weights)
    (folder / "config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    params = sum(v.size for v in weights.values())
    mark_random_weights(
        folder,
        builder="tests/upstream/builders/marvis.py:build_marvis_mlx",
        config={
            "backbone": {"layers": 2, "hidden": 64, "heads": 4, "kv_heads": 2},
            "depth_decoder": {"layers": 1, "hidden": 32, "heads": 2},
            "codebooks": 32,
            "codes": 2048,
            "text_vocab": config["text_vocab_size"],
            "mimi": {"config": "mimi_202407(32), full size", "output_gain": gain},
        },
        parameters=params,
        mimi_parameters=mimi_params,
    )
    return folder
