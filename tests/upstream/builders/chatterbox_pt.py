"""Random-init Chatterbox and Chatterbox-Turbo weights for chatterbox-tts 0.1.7, built by
its own classes and saved in the layouts ``ChatterboxTTS.from_local`` and
``ChatterboxTurboTTS.from_local`` read.

Neither loader reads a config file (T3 picks a hard-coded Llama-520M or GPT-2 medium
config, S3Gen and the voice encoder have fixed sizes), so the models are full size:
about 800M parameters for the original and 750M for Turbo. They are saved in float16
(the loaders copy them into their float32 modules) to halve the disk.

* original: ``ve.safetensors``, ``t3_cfg.safetensors``, ``s3gen.safetensors``,
  ``tokenizer.json`` (a character tokenizer with the [START]/[STOP]/[SPACE] symbols
  ``EnTokenizer`` asserts), ``conds.pt``;
* Turbo: ``ve.safetensors``, ``t3_turbo_v1.safetensors`` (``T3`` with Turbo's config,
  ``tfmr.wte`` included: the loader deletes it after a strict load),
  ``s3gen_meanflow.safetensors`` (strict load: every buffer too), a byte-level
  tokenizer that ``AutoTokenizer`` reads, ``conds.pt``.

``conds.pt`` (the built-in voice) is made by the upstream's own
``prepare_conditionals`` from a 6 s synthetic clip, and saved with ``Conditionals.save``.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.engines.base import mark_random_weights
from tests.upstream.builders.chatterbox_onnx import voice_wav

if TYPE_CHECKING:
    from pathlib import Path

SEED = 0
VOICE_SECONDS = 6.0  # Turbo's prepare_conditionals asserts a clip longer than 5 s
SPECIALS = ("[START]", "[STOP]", "[UNK]", "[SPACE]", "[PAD]", "[SEP]", "[CLS]", "[MASK]")
ORIGINAL_FILES = ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors")
TURBO_FILES = ("ve.safetensors", "t3_turbo_v1.safetensors", "s3gen_meanflow.safetensors")


def _save(module: Any, path: Path) -> int:
    """The module's state dict in float16 (other dtypes as they are), each tensor its own
    copy (safetensors refuses shared storage); returns the parameter count."""
    import torch
    from safetensors.torch import save_file

    state = {
        k: (v.to(torch.float16) if v.is_floating_point() else v).contiguous().clone()
        for k, v in module.state_dict().items()
    }
    save_file(state, str(path))
    return sum(p.numel() for p in module.parameters())


def _char_tokenizer(path: Path) -> None:
    """What ``EnTokenizer`` reads: specials first ([START]/[STOP] asserted), then one id
    per printable character; spaces arrive as [SPACE]. T3's own start/stop text ids are
    fixed in its config, not read from here."""
    tk = importlib.import_module("tokenizers")
    chars = [chr(c) for c in range(33, 127)]
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    vocab |= {c: i + len(SPECIALS) for i, c in enumerate(chars)}
    tok = tk.Tokenizer(tk.models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = tk.pre_tokenizers.Split(tk.Regex("."), behavior="isolated")
    tok.add_special_tokens(list(SPECIALS))
    tok.save(str(path))


def _turbo_tokenizer(folder: Path) -> None:
    """A GPT-2 style byte-level tokenizer (no merges) saved by transformers, as
    ``AutoTokenizer.from_pretrained(folder)`` reads it; ids stay below Turbo's 50276."""
    tk = importlib.import_module("tokenizers")
    transformers = importlib.import_module("transformers")
    vocab = {c: i for i, c in enumerate(sorted(tk.pre_tokenizers.ByteLevel.alphabet()))}
    vocab["<|endoftext|>"] = len(vocab)  # contiguous ids: transformers warns of holes
    tok = tk.Tokenizer(tk.models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tk.decoders.ByteLevel()
    tok.add_special_tokens(["<|endoftext|>"])
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>"
    )
    fast.save_pretrained(str(folder))


def _turbo_t3_config() -> Any:
    """Turbo's T3 config, set as ``ChatterboxTurboTTS.from_local`` sets it."""
    from chatterbox.models.t3.modules.t3_config import T3Config

    hp = T3Config(text_tokens_dict_size=50276)
    hp.llama_config_name = "GPT2_medium"
    hp.speech_tokens_dict_size = 6563
    hp.input_pos_emb = None
    hp.speech_cond_prompt_len = 375
    hp.use_perceiver_resampler = False
    hp.emotion_adv = False
    return hp


def build_chatterbox_pt(folder: Path, turbo: bool = False) -> Path:
    """Random-init ChatterboxTTS (or ChatterboxTurboTTS) saved where ``from_local`` reads
    it, with a built-in voice; labelled random weights."""
    with warnings.catch_warnings():  # the upstream's own (diffusers' deprecations, ...)
        warnings.simplefilter("ignore")
        return _build(folder, turbo)


def _build(folder: Path, turbo: bool) -> Path:
    import torch
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.voice_encoder import VoiceEncoder

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(SEED)
    names = TURBO_FILES if turbo else ORIGINAL_FILES
    ve = VoiceEncoder().eval()
    t3 = (T3(_turbo_t3_config()) if turbo else T3()).eval()
    s3gen = S3Gen(meanflow=True).eval() if turbo else S3Gen().eval()
    parameters = sum(_save(m, folder / n) for m, n in zip((ve, t3, s3gen), names, strict=True))
    clip = folder / "voice.wav"
    voice_wav(clip, seconds=VOICE_SECONDS, rate=24000)
    if turbo:
        _turbo_tokenizer(folder)
        from chatterbox.tts_turbo import ChatterboxTurboTTS as Tts

        tokenizer: Any = None  # prepare_conditionals does not tokenize text
    else:
        _char_tokenizer(folder / "tokenizer.json")
        from chatterbox.models.tokenizers import EnTokenizer
        from chatterbox.tts import ChatterboxTTS as Tts

        tokenizer = EnTokenizer(str(folder / "tokenizer.json"))
    if turbo:
        del t3.tfmr.wte  # as the loader does: Turbo's T3 embeds text itself
    model = Tts(t3, s3gen, ve, tokenizer, "cpu")
    with torch.inference_mode():
        model.prepare_conditionals(str(clip))
    model.conds.save(folder / "conds.pt")
    clip.unlink()
    mark_random_weights(
        folder,
        builder="tests/upstream/builders/chatterbox_pt.py (chatterbox-tts classes, random init)",
        model="chatterbox-turbo" if turbo else "chatterbox",
        config="T3 GPT2_medium, S3Gen meanflow" if turbo else "T3 Llama_520M, S3Gen",
        parameters=parameters,
        dtype="float16 on disk (the loaders run float32)",
    )
    return folder
