"""Tiny random-init Kokoro weights, built by the upstreams' own classes and saved in the
layouts their loaders read.

* kokoro-pt (kokoro 0.9.4): ``config.json``, ``kokoro-v1_0.pth`` (one state dict per
  ``KModel`` part) and ``voices/<name>.pt`` (a ``(510, 1, 256)`` pack), read by
  ``KModel(config=..., model=...)`` and ``KPipeline`` with voices as ``.pt`` paths.
* kokoro-mlx (mlx-audio 0.6.2): ``config.json`` (``model_type: kokoro``),
  ``kokoro-v1_0.safetensors`` in the PyTorch-named layout that
  ``mlx_audio.tts.utils.load_model`` turns into MLX parameters with ``Model.sanitize``,
  and ``voices/<name>.safetensors`` (key ``voice``).

What the config may shrink is shrunk: ALBERT (width, heads, layers, embedding), the
prosody and text encoders' depth (``n_layer``), the decoder's residual kernels, and
``max_dur`` (random weights predict about ``max_dur / 2`` frames
per phoneme, so it sets the speaking rate). Not shrinkable: the decoder's inner widths
(hard-coded 1024/512/64 upstream, so ``upsample_initial_channel`` and ``hidden_dim``
stay 512),
``style_dim`` (the model slices the 256-wide voice vector at 128), the 512 positions
(a chunk holds up to 510 phonemes) and the iSTFT rates (24 kHz, 600 samples a frame).
The phoneme vocabulary is every symbol misaki's English G2P emits (its US and GB phoneme
sets, its punctuation and the space), numbered from 1 (0 is the pad/boundary id).
"""

from __future__ import annotations

import importlib
import json
import math
import warnings
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.engines.base import mark_random_weights

if TYPE_CHECKING:
    from pathlib import Path

PT_MODEL_FILE = "kokoro-v1_0.pth"  # the name kokoro_pt.py looks for
MLX_MODEL_FILE = "kokoro-v1_0.safetensors"
REPO = "hexgrad/Kokoro-82M"
VOICES = ("af_heart", "bf_emma")
PACK_ROWS = 510  # one style row per phoneme count, as the pipeline indexes it
STYLE_DIM = 128  # fixed: the model splits the 256-wide voice vector at 128
MAX_DUR = 4  # about 2 frames (50 ms) per phoneme with random weights
PT_PARTS = ("bert", "bert_encoder", "predictor", "text_encoder", "decoder")
SEED = 0


def phoneme_vocab() -> dict[str, int]:
    """Every symbol misaki's English G2P can emit, numbered from 1."""
    en = importlib.import_module("misaki.en")
    symbols = set(en.US_VOCAB) | set(en.GB_VOCAB) | set(en.PUNCTS) | set("()“” ")
    return {symbol: i for i, symbol in enumerate(sorted(symbols), start=1)}


def tiny_config() -> dict[str, Any]:
    """Kokoro's config.json, shrunk; the same file serves kokoro and mlx-audio."""
    vocab = phoneme_vocab()
    return {
        "model_type": "kokoro",  # mlx-audio picks its model class by this
        "istftnet": {
            # 2 * 6 * 25 = 300 samples per F0 frame, as upstream's 10 * 6 * 5: the same
            # 24 kHz out of a generator running at a fifth of the rate
            "upsample_kernel_sizes": [4, 12],
            "upsample_rates": [2, 6],
            "gen_istft_hop_size": 25,
            "gen_istft_n_fft": 100,
            "resblock_dilation_sizes": [[1, 3, 5]],
            "resblock_kernel_sizes": [3],
            "upsample_initial_channel": 512,
        },
        "dim_in": 64,
        "dropout": 0.2,
        "hidden_dim": 512,  # fixed: the decoder's asr_res conv takes 512 channels
        "max_conv_dim": 512,
        "max_dur": MAX_DUR,
        "multispeaker": True,
        "n_layer": 1,
        "n_mels": 80,
        "n_token": max(vocab.values()) + 1,
        "style_dim": STYLE_DIM,
        "text_encoder_kernel_size": 5,
        "plbert": {
            "hidden_size": 64,
            "num_attention_heads": 2,
            "intermediate_size": 128,
            "max_position_embeddings": 512,
            "num_hidden_layers": 1,
            "embedding_size": 32,
            "dropout": 0.1,
        },
        "vocab": vocab,
    }


def config_summary(config: dict[str, Any]) -> dict[str, Any]:
    """The config for the random-weights marker: all but the vocabulary, which is
    summarized by its size."""
    return {
        **{k: v for k, v in config.items() if k != "vocab"},
        "vocab_size": len(config["vocab"]),
    }


def _write_config(folder: Path, config: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(
        json.dumps(config, indent=1, ensure_ascii=False), encoding="utf-8"
    )


def build_kokoro_pt(folder: Path, voices: tuple[str, ...] = VOICES) -> Path:
    """Random-init ``kokoro.KModel`` saved where ``KModel(config=..., model=...)`` reads it."""
    import torch
    from kokoro import KModel

    config = tiny_config()
    _write_config(folder, config)
    torch.manual_seed(SEED)
    # KModel loads whatever state dicts the checkpoint holds: an empty one leaves the
    # freshly initialized parameters, which are then saved part by part.
    empty = folder / "empty.pth"
    torch.save({}, empty)
    with warnings.catch_warnings():  # the upstream's own (LSTM dropout, weight_norm)
        warnings.simplefilter("ignore")
        model = KModel(repo_id=REPO, config=str(folder / "config.json"), model=str(empty))
    model.eval()
    empty.unlink()
    torch.save(
        {part: getattr(model, part).state_dict() for part in PT_PARTS}, folder / PT_MODEL_FILE
    )
    (folder / "voices").mkdir(exist_ok=True)
    for name in voices:
        pack = torch.randn(PACK_ROWS, 1, 2 * STYLE_DIM) * 0.1
        torch.save(pack, folder / "voices" / f"{name}.pt")
    parameters = sum(p.numel() for p in model.parameters())
    mark_random_weights(
        folder,
        builder="tests/upstream/builders/kokoro.py (kokoro.KModel, random init)",
        config=config_summary(config),
        parameters=parameters,
        dtype="float32",
    )
    return folder


_LSTM_NAMES = {
    "Wx_forward": "weight_ih_l0",
    "Wh_forward": "weight_hh_l0",
    "bias_ih_forward": "bias_ih_l0",
    "bias_hh_forward": "bias_hh_l0",
    "Wx_backward": "weight_ih_l0_reverse",
    "Wh_backward": "weight_hh_l0_reverse",
    "bias_ih_backward": "bias_ih_l0_reverse",
    "bias_hh_backward": "bias_hh_l0_reverse",
}


def _checkpoint_entry(model: Any, mx: Any, key: str, value: Any) -> tuple[str, Any]:
    """The (name, array) a PyTorch-layout checkpoint holds for the MLX parameter
    ``key``: the one that ``model.sanitize`` maps back to exactly ``(key, value)``."""
    base, _, leaf = key.rpartition(".")
    names = [key] + ([f"{base}.{_LSTM_NAMES[leaf]}"] if leaf in _LSTM_NAMES else [])
    arrays = [value] + ([value.transpose(0, 2, 1)] if value.ndim == 3 else [])
    for name in names:
        for array in arrays:
            back = model.sanitize({name: array})
            same = list(back) == [key] and back[key].shape == value.shape
            if same and mx.array_equal(back[key], value).item():
                return name, array
    raise AssertionError(f"no checkpoint entry sanitizes back to {key} {value.shape}")


def _randomize(model: Any, mx: Any) -> None:
    """mlx-audio's Kokoro classes are made to be loaded into: their convolutions start
    as all-ones directions (every channel alike, audio that overflows to NaN). Draw
    those, and every other constant matrix, as PyTorch's default init would (uniform
    within 1/sqrt(fan in)), and set each weight-norm magnitude to its direction's norm (as torch's
    weight_norm does), so the saved weights are an ordinary random init."""
    from mlx.utils import tree_flatten, tree_unflatten

    params: dict[str, Any] = dict(tree_flatten(model.parameters()))
    drawn: dict[str, Any] = {}
    for key, value in params.items():
        leaf = key.rpartition(".")[2]
        constant = value.size > 1 and bool(mx.all(value == value.reshape(-1)[0]).item())
        if leaf == "weight_v" or (constant and value.ndim >= 2 and leaf != "weight_g"):
            bound = 1 / math.sqrt(math.prod(value.shape[1:]))
            drawn[key] = mx.random.uniform(-bound, bound, value.shape)
    for key in params:
        if key.endswith(".weight_g"):
            v = drawn.get(key[:-1] + "v", params[key[:-1] + "v"])
            axes = tuple(range(1, v.ndim))
            drawn[key] = mx.sqrt(mx.sum(v * v, axis=axes, keepdims=True))
    model.update(tree_unflatten(list(drawn.items())))
    mx.eval(model.parameters())


def build_kokoro_mlx(folder: Path, voices: tuple[str, ...] = VOICES) -> Path:
    """Random-init mlx-audio Kokoro ``Model`` saved where ``load_model(folder)`` reads it."""
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_audio.tts.models.kokoro import Model, ModelConfig

    config = tiny_config()
    _write_config(folder, config)
    mx.random.seed(SEED)
    model = Model(ModelConfig.from_dict(config))
    _randomize(model, mx)
    params = dict(tree_flatten(model.parameters()))
    checkpoint = dict(_checkpoint_entry(model, mx, k, v) for k, v in params.items())
    mx.save_safetensors(str(folder / MLX_MODEL_FILE), checkpoint)
    (folder / "voices").mkdir(exist_ok=True)
    for name in voices:
        pack = mx.random.normal((PACK_ROWS, 1, 2 * STYLE_DIM)) * 0.1
        mx.save_safetensors(str(folder / "voices" / f"{name}.safetensors"), {"voice": pack})
    mark_random_weights(
        folder,
        builder="tests/upstream/builders/kokoro.py (mlx_audio kokoro Model, random init)",
        config=config_summary(config),
        parameters=sum(v.size for v in params.values()),
        dtype="float32",
    )
    return folder
