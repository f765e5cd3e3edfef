"""Tiny random-init Chatterbox and Chatterbox-Turbo checkpoints for mlx-audio 0.6.2.

Built with mlx-audio's own classes (``chatterbox.Model`` and ``chatterbox_turbo.Model``)
and saved in the layout ``mlx_audio.tts.utils.load_model(folder)`` reads: config.json,
model.safetensors (float16), a text tokenizer made with ``tokenizers`` and a built-in
voice (conds.safetensors) that the upstream's own ``prepare_conditionals`` computes from
a noise clip. The companion both post_load_hooks fetch, mlx-community/S3TokenizerV2,
is the model's own random-init ``S3TokenizerV2``, saved into an HF hub cache.

What the configs allow: Chatterbox's T3 backbone is picked by name from
``LLAMA_CONFIGS`` (only ``Llama_520M`` exists) and Turbo ignores config.json altogether
(``T3Config.turbo()``, GPT-2 medium), so neither backbone can shrink; S3Gen and the
voice encoder have no config at all. Only Chatterbox's learned position tables shrink
(``max_text_tokens``, ``max_speech_tokens``). Both models stay at about 0.63-0.69 B
parameters; generation is capped by the adapters' length cap, not by the model size.

Every upstream import happens inside the builders (the caller importorskips first).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.engines.base import mark_random_weights
from tests.upstream.support import hf_cache_snapshot, mlx_parameters

if TYPE_CHECKING:
    from pathlib import Path

S3_TOKENIZER_REPO = "mlx-community/S3TokenizerV2"
BUILDER = "tests/upstream/builders/chatterbox_mlx.py"
# Chatterbox's English special tokens (EnTokenizer asserts [START] and [STOP]).
CB_SPECIAL = ["[STOP]", "[UNK]", "[SPACE]", "[PAD]", "[SEP]", "[CLS]", "[MASK]", "[START]"]
EOT = "<|endoftext|>"
# Learned position tables: 2048 text / 4096 speech tokens upstream, far past a capped clip.
CB_T3 = {"max_text_tokens": 256, "max_speech_tokens": 512}
PROMPT_TOKENS = 25  # Turbo's built-in voice: 1 s of speech tokens (25 a second)


def count(module: Any) -> int:

    return sum(int(v.size) for _, v in mlx_parameters(module))


def save_weights(module: Any, path: Path) -> None:
    """The module's parameters under their own names, floats as float16."""
    import mlx.core as mx

    weights = {
        k: v.astype(mx.float16) if mx.issubdtype(v.dtype, mx.floating) else v
        for k, v in mlx_parameters(module)
    }
    mx.save_safetensors(str(path), weights)


def save_s3_tokenizer(tokenizer: Any, hf_home: Path) -> Path:
    """The random-init S3TokenizerV2 where post_load_hook's snapshot_download finds it
    (once per HF home: both models load the same companion)."""
    snap = hf_cache_snapshot(hf_home, S3_TOKENIZER_REPO)
    if (snap / "model.safetensors").is_file():
        return snap / "model.safetensors"
    save_weights(tokenizer, snap / "model.safetensors")
    (snap / "config.json").write_text(json.dumps({"name": "speech_tokenizer_v2_25hz"}), "utf-8")
    return snap / "model.safetensors"


def noise(seconds: float, rate: int, seed: int) -> Any:
    import numpy as np

    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal(int(seconds * rate))).astype(np.float32)


def save_conds(path: Path, t3: Any, gen: dict[str, Any]) -> None:
    """conds.safetensors in the keys both post_load_hooks read (t3.*, gen.*)."""
    import mlx.core as mx

    arrays = {"t3.speaker_emb": t3.speaker_emb}
    if t3.cond_prompt_speech_tokens is not None:
        arrays["t3.cond_prompt_speech_tokens"] = t3.cond_prompt_speech_tokens
    if getattr(t3, "emotion_adv", None) is not None:
        arrays["t3.emotion_adv"] = t3.emotion_adv
    for key, value in gen.items():
        if isinstance(value, mx.array):
            arrays[f"gen.{key}"] = value
    mx.save_safetensors(str(path), arrays)


# -- Chatterbox ------------------------------------------------------------------------


def prompt_texts() -> list[str]:
    """The shipped prompt presets: the corpus the tiny tokenizers are trained on, so
    the benchmark prompts become few tokens (short prefills on a slow CPU)."""
    import tomllib
    from importlib import resources

    text = resources.files("pytest_ttsbench.measure").joinpath("prompts.toml").read_text("utf-8")
    return [" ".join(str(p["text"]).split()) for p in tomllib.loads(text).values()]


def en_tokenizer(vocab_size: int) -> Any:
    """Chatterbox's English tokenizer shape (BPE, spaces as [SPACE], [START]/[STOP]),
    trained with ``tokenizers`` on the prompt presets; ids stay under ``vocab_size``."""
    from tokenizers import Tokenizer, models, trainers

    chars = sorted(set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-"))
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.add_special_tokens(CB_SPECIAL)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=CB_SPECIAL, initial_alphabet=chars
    )
    tok.train_from_iterator([t.replace(" ", "[SPACE]") for t in prompt_texts()], trainer)
    assert tok.get_vocab_size() <= vocab_size
    return tok


def build_chatterbox_mlx(folder: Path, hf_home: Path, seed: int = 0) -> Path:
    """The chatterbox checkpoint in ``folder``, S3TokenizerV2 in ``hf_home``'s cache."""
    import mlx.core as mx
    from mlx_audio.tts.models.chatterbox import Model, ModelConfig
    from mlx_audio.tts.models.chatterbox.config import LLAMA_CONFIGS, T3Config

    mx.random.seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    t3_config = T3Config(**CB_T3)
    model = Model(ModelConfig(t3_config=t3_config))
    model.eval()  # as load_model leaves it (BatchNorm in inference mode)
    config = {"model_type": "chatterbox", "t3_config": vars(t3_config)}
    (folder / "config.json").write_text(json.dumps(config, indent=1), encoding="utf-8")
    save_weights(model, folder / "model.safetensors")
    en_tokenizer(t3_config.text_tokens_dict_size).save(str(folder / "tokenizer.json"))
    save_s3_tokenizer(model._s3_tokenizer, hf_home)
    # The built-in voice: the upstream's own conditionals of a 1 s noise clip (a short
    # prompt keeps T3's prefill and S3Gen's flow short).
    conds = model.prepare_conditionals(mx.array(noise(1.0, 24_000, seed)), 24_000, 0.1)
    save_conds(folder / "conds.safetensors", conds.t3, conds.gen)
    llama = LLAMA_CONFIGS[t3_config.llama_config_name]
    mark_random_weights(
        folder,
        builder=f"{BUILDER}:build_chatterbox_mlx",
        config={
            "t3": f"{t3_config.llama_config_name} (fixed by name): hidden "
            f"{llama['hidden_size']}, {llama['num_hidden_layers']} layers",
            **CB_T3,
            "s3gen": "fixed (no config)",
            "dtype": "float16",
        },
        parameters=count(model),
        s3_tokenizer_parameters=count(model._s3_tokenizer),
    )
    return folder


# -- Chatterbox-Turbo ------------------------------------------------------------------


def gpt2_tokenizer_files(folder: Path) -> None:
    """A GPT-2-style byte-level BPE trained with ``tokenizers`` on the prompt presets,
    written as vocab.json + merges.txt + tokenizer_config.json (what AutoTokenizer
    reads from a Turbo checkpoint)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1024,
        special_tokens=[EOT],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(prompt_texts(), trainer)
    tok.model.save(str(folder))  # vocab.json, merges.txt
    tokenizer_config = {
        "tokenizer_class": "GPT2Tokenizer",
        "bos_token": EOT,
        "eos_token": EOT,
        "unk_token": EOT,
        "model_max_length": 1024,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(tokenizer_config), "utf-8")


def build_chatterbox_turbo_mlx(folder: Path, hf_home: Path, seed: int = 0) -> Path:
    """The chatterbox_turbo checkpoint in ``folder``, S3TokenizerV2 in ``hf_home``."""
    import mlx.core as mx
    from mlx_audio.tts.models.chatterbox_turbo import Model
    from mlx_audio.tts.models.chatterbox_turbo.models.t3.t3_config import GPT2_MEDIUM_CONFIG

    mx.random.seed(seed)
    folder.mkdir(parents=True, exist_ok=True)
    model = Model({})
    model.eval()  # as load_model leaves it (BatchNorm in inference mode)
    (folder / "config.json").write_text(
        json.dumps({"model_type": "chatterbox_turbo"}), encoding="utf-8"
    )
    save_weights(model, folder / "model.safetensors")
    gpt2_tokenizer_files(folder)
    save_s3_tokenizer(model._s3tokenizer, hf_home)
    # The built-in voice: upstream conditionals of a noise clip (Turbo asserts > 5 s),
    # cut to its first second (T3's prompt tokens, S3Gen's prompt tokens and mel) to
    # keep prefills short.
    model.prepare_conditionals(noise(5.2, 24_000, seed), 24_000, norm_loudness=False)
    t3, gen = model._conds.t3, dict(model._conds.gen)
    t3.cond_prompt_speech_tokens = t3.cond_prompt_speech_tokens[:, :PROMPT_TOKENS]
    gen["prompt_token"] = gen["prompt_token"][:, :PROMPT_TOKENS]
    gen["prompt_token_len"] = mx.array([gen["prompt_token"].shape[1]])
    gen["prompt_feat"] = gen["prompt_feat"][:, : 2 * PROMPT_TOKENS]  # 2 mel frames a token
    gen["prompt_feat_len"] = mx.array([gen["prompt_feat"].shape[1]])
    save_conds(folder / "conds.safetensors", t3, gen)
    mark_random_weights(
        folder,
        builder=f"{BUILDER}:build_chatterbox_turbo_mlx",
        config={
            "t3": "GPT2_medium (fixed, config.json ignored): hidden "
            f"{GPT2_MEDIUM_CONFIG['n_embd']}, {GPT2_MEDIUM_CONFIG['n_layer']} layers",
            "s3gen": "fixed (meanflow)",
            "dtype": "float16",
        },
        parameters=count(model),
        s3_tokenizer_parameters=count(model._s3tokenizer),
    )
    return folder
