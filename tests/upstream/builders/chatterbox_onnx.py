"""Tiny random-init Chatterbox / Chatterbox-Turbo ONNX exports, built with the onnx package.

Four graphs with the real exports' IO contract (names, dtypes, dynamic axes of
onnx-community/chatterbox-onnx and ResembleAI/chatterbox-turbo-ONNX as transformers.js
and the reference loops read them, ENGINES.md section 12), each a small numpy-initialised
network saved with an ``.onnx_data`` sidecar as the exports are:

- ``speech_encoder``: ``audio_values`` float32 [batch_size, num_samples] (24 kHz) ->
  ``audio_features`` (the LM's conditioning prefix), ``audio_tokens`` int64 (25 a second),
  ``speaker_embeddings`` [batch_size, 192], ``speaker_features`` [batch_size, feature_dim,
  80] (two frames a token);
- ``embed_tokens``: ``input_ids`` int64 (the original also ``position_ids`` int64 and
  ``exaggeration`` float32 [batch_size]) -> ``inputs_embeds``;
- ``language_model``: a pre-norm transformer with a real KV cache: ``inputs_embeds``,
  ``attention_mask`` int64 [batch_size, total_sequence_length] (Turbo also
  ``position_ids``), ``past_key_values.{i}.key|value`` [batch_size, heads,
  past_sequence_length, head_dim] -> ``logits`` and ``present.{i}.key|value``;
- ``conditional_decoder``: ``speech_tokens`` (reference prompt + generated),
  ``speaker_embeddings``, ``speaker_features`` -> ``waveform`` [batch_size, num_samples],
  960 samples a generated token, the prompt's share cropped as S3Gen does. Its token
  table has S3Gen's 6561 rows and no clamp: an id past the codebook fails as it would in
  the real decoder.

Plus ``tokenizer.json`` (tokenizers library: character-level with the original's
[START]/[STOP]/START_SPEECH template; byte-level BPE with Turbo's two trailing
``<|endoftext|>``), a ``default_voice.wav`` (the adapter's built-in voice), and the
random-weights marker. Only the fp32 files of the pairs' default variant are built.
"""

from __future__ import annotations

import importlib
import json
import math
import wave
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_ttsbench.engines.base import mark_random_weights

if TYPE_CHECKING:
    from pathlib import Path

    import numpy.typing as npt

GRAPHS = ("speech_encoder", "embed_tokens", "language_model", "conditional_decoder")
OPSET = 17
IR_VERSION = 9  # onnxruntime reads it; opset 17 needs IR 8 or later
SPEECH_VOCAB = 6561  # S3Gen codebook
START_SPEECH = 6561
SAMPLES_PER_TOKEN = 960  # 24 kHz / 25 tokens a second
X_VECTOR, MELS = 192, 80
INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class TinyConfig:
    """The dimensions of one tiny export."""

    turbo: bool
    hidden: int = 32
    layers: int = 2
    heads: int = 2  # key/value heads too (the exports have no GQA: 16 x 64)
    head_dim: int = 16
    logits: int = 8194  # the original's speech_tokens_dict_size; Turbo's is 6563
    embed_rows: int = 8194  # ids past the table are clamped to its last row
    positions: int = 256  # learned position table; larger positions are clamped
    cond_len: int = 8  # audio_features length (the real: 34 original, 376 Turbo)
    prompt_tokens_max: int = 150  # 6 s of reference at 25 tokens a second
    decoder_dim: int = 16
    seed: int = 0

    @property
    def pair(self) -> str:
        return "chatterbox-turbo-onnx" if self.turbo else "chatterbox-onnx"


ORIGINAL = TinyConfig(turbo=False)
TURBO = TinyConfig(turbo=True, logits=6563, embed_rows=6563, seed=1)
CONFIGS = {ORIGINAL.pair: ORIGINAL, TURBO.pair: TURBO}


@dataclass(frozen=True)
class BuiltExport:
    folder: Path
    config: TinyConfig
    parameters: int
    files: tuple[str, ...]

    def summary(self) -> dict[str, object]:
        return {**asdict(self.config), "parameters": self.parameters}


def _onnx() -> Any:
    return importlib.import_module("onnx")


class Graph:
    """Nodes, initializers and value infos of one graph, with unique names."""

    def __init__(self, name: str, rng: np.random.Generator) -> None:
        self.onnx = _onnx()
        self.name = name
        self.rng = rng
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.inputs: list[Any] = []
        self.outputs: list[Any] = []
        self.count = 0
        self.parameters = 0

    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def input(self, name: str, elem: int, shape: list[int | str]) -> str:
        self.inputs.append(self.onnx.helper.make_tensor_value_info(name, elem, shape))
        return name

    def output(self, name: str, elem: int, shape: list[int | str]) -> None:
        self.outputs.append(self.onnx.helper.make_tensor_value_info(name, elem, shape))

    def const(self, value: npt.ArrayLike, hint: str = "c", dtype: Any = None) -> str:
        name = self.fresh(hint)
        array = np.asarray(value, dtype=dtype)
        self.inits.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def weight(self, shape: tuple[int, ...], hint: str, scale: float | None = None) -> str:
        std = scale if scale is not None else 1.0 / math.sqrt(shape[0])
        self.parameters += int(np.prod(shape))
        return self.const(self.rng.normal(0.0, std, shape).astype(np.float32), hint)

    def ones(self, size: int, hint: str) -> str:
        self.parameters += size
        return self.const(np.ones(size, np.float32), hint)

    def zeros(self, size: int, hint: str) -> str:
        self.parameters += size
        return self.const(np.zeros(size, np.float32), hint)

    def op(self, op_type: str, *inputs: str, out: str | None = None, **attrs: Any) -> str:
        name = out or self.fresh(op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [name], **attrs))
        return name

    def i64(self, *values: int) -> str:
        return self.const(np.array(values, np.int64), "i64")

    def scalar_i64(self, value: int) -> str:
        return self.const(np.array(value, np.int64), "s64")

    def f32(self, value: float) -> str:
        return self.const(np.array(value, np.float32), "f32")

    def dim(self, tensor: str, axis: int) -> str:
        """One dimension of ``tensor`` as a 1-D int64 of length 1."""
        return self.op("Shape", tensor, start=axis, end=axis + 1)

    def layer_norm(self, x: str, width: int) -> str:
        return self.op(
            "LayerNormalization",
            x,
            self.ones(width, "ln_g"),
            self.zeros(width, "ln_b"),
            axis=-1,
            epsilon=1e-5,
        )

    def linear(self, x: str, fan_in: int, fan_out: int, hint: str) -> str:
        return self.op("MatMul", x, self.weight((fan_in, fan_out), hint))

    def model(self) -> Any:
        helper = self.onnx.helper
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.inits)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", OPSET)],
            producer_name="pytest-ttsbench tiny builder",
        )
        model.ir_version = IR_VERSION
        return model


def speech_encoder(cfg: TinyConfig, rng: np.random.Generator) -> Graph:
    g = Graph("speech_encoder", rng)
    tp = g.onnx.TensorProto
    audio = g.input("audio_values", tp.FLOAT, ["batch_size", "num_samples"])
    # at most prompt_tokens_max tokens of reference, cut to whole tokens
    capped = g.op(
        "Slice", audio, g.i64(0), g.i64(cfg.prompt_tokens_max * SAMPLES_PER_TOKEN), g.i64(1)
    )
    whole = g.op(
        "Mul",
        g.op("Div", g.dim(capped, 1), g.i64(SAMPLES_PER_TOKEN)),
        g.i64(SAMPLES_PER_TOKEN),
    )
    trimmed = g.op("Slice", capped, g.i64(0), whole, g.i64(1))
    frames = g.op("Reshape", trimmed, g.i64(0, -1, SAMPLES_PER_TOKEN // 2))
    half = SAMPLES_PER_TOKEN // 2
    features = g.op("Tanh", g.linear(frames, half, MELS, "w_mel"), out="speaker_features")
    pooled = g.op("ReduceMean", features, axes=[1], keepdims=0)
    speaker = g.linear(pooled, MELS, X_VECTOR, "w_xvec")
    g.op("Identity", speaker, out="speaker_embeddings")
    per_token = g.op("Reshape", features, g.i64(0, -1, 2 * MELS))
    score = g.op("Squeeze", g.linear(per_token, 2 * MELS, 1, "w_tok"), g.i64(2))
    scaled = g.op("Cast", g.op("Mul", g.op("Abs", score), g.f32(1000.0)), to=tp.INT64)
    g.op("Mod", scaled, g.scalar_i64(SPEECH_VOCAB), out="audio_tokens")
    cond = g.linear(speaker, X_VECTOR, cfg.cond_len * cfg.hidden, "w_cond")
    g.op("Reshape", cond, g.i64(0, -1, cfg.hidden), out="audio_features")
    g.output("audio_features", tp.FLOAT, ["batch_size", "sequence_length", cfg.hidden])
    g.output("audio_tokens", tp.INT64, ["batch_size", "audio_sequence_length"])
    g.output("speaker_embeddings", tp.FLOAT, ["batch_size", X_VECTOR])
    g.output("speaker_features", tp.FLOAT, ["batch_size", "feature_dim", MELS])
    return g


def embed_tokens(cfg: TinyConfig, rng: np.random.Generator) -> Graph:
    g = Graph("embed_tokens", rng)
    tp = g.onnx.TensorProto
    ids = g.input("input_ids", tp.INT64, ["batch_size", "sequence_length"])
    rows = g.op("Clip", ids, g.scalar_i64(0), g.scalar_i64(cfg.embed_rows - 1))
    table = g.weight((cfg.embed_rows, cfg.hidden), "tok_emb", scale=0.5)
    if cfg.turbo:  # GPT-2: positions are the language model's business
        g.op("Gather", table, rows, axis=0, out="inputs_embeds")
    else:
        pos = g.input("position_ids", tp.INT64, ["batch_size", "sequence_length"])
        exag = g.input("exaggeration", tp.FLOAT, ["batch_size"])
        where = g.op("Clip", pos, g.scalar_i64(0), g.scalar_i64(cfg.positions - 1))
        positions = g.weight((cfg.positions, cfg.hidden), "pos_emb", scale=0.1)
        emb = g.op("Add", g.op("Gather", table, rows, axis=0), g.op("Gather", positions, where))
        emotion = g.op(
            "Mul", g.op("Unsqueeze", exag, g.i64(1, 2)), g.weight((cfg.hidden,), "w_exag", 0.1)
        )
        g.op("Add", emb, emotion, out="inputs_embeds")
    g.output("inputs_embeds", tp.FLOAT, ["batch_size", "sequence_length", cfg.hidden])
    return g


def language_model(cfg: TinyConfig, rng: np.random.Generator) -> Graph:
    g = Graph("language_model", rng)
    tp = g.onnx.TensorProto
    h, heads, d = cfg.hidden, cfg.heads, cfg.head_dim
    x = g.input("inputs_embeds", tp.FLOAT, ["batch_size", "sequence_length", h])
    mask = g.input("attention_mask", tp.INT64, ["batch_size", "total_sequence_length"])
    seq = g.dim(x, 1)
    total = g.dim(mask, 1)
    past_len = g.op("Sub", total, seq)
    if cfg.turbo:
        pos = g.input("position_ids", tp.INT64, ["batch_size", "sequence_length"])
    else:  # Llama: positions come from the mask, as the export derives them
        counted = g.op("Sub", g.op("CumSum", mask, g.scalar_i64(1)), g.scalar_i64(1))
        pos = g.op("Slice", counted, g.op("Neg", seq), g.i64(INT64_MAX), g.i64(1))
    past: list[tuple[str, str]] = []
    for layer in range(cfg.layers):
        kv_shape: list[int | str] = ["batch_size", heads, "past_sequence_length", d]
        past.append(
            (
                g.input(f"past_key_values.{layer}.key", tp.FLOAT, kv_shape),
                g.input(f"past_key_values.{layer}.value", tp.FLOAT, kv_shape),
            )
        )
    where = g.op("Clip", pos, g.scalar_i64(0), g.scalar_i64(cfg.positions - 1))
    positions = g.weight((cfg.positions, h), "wpe", scale=0.1)
    x = g.op("Add", x, g.op("Gather", positions, where))
    # causal mask over past + new keys, and the padding mask: (batch, 1, seq, total)
    keys = g.op("Range", g.scalar_i64(0), g.op("Squeeze", total), g.scalar_i64(1))
    queries = g.op("Range", g.op("Squeeze", past_len), g.op("Squeeze", total), g.scalar_i64(1))
    causal = g.op(
        "LessOrEqual", g.op("Unsqueeze", keys, g.i64(0)), g.op("Unsqueeze", queries, g.i64(1))
    )
    padded = g.op("Unsqueeze", g.op("Cast", mask, to=tp.BOOL), g.i64(1, 2))
    bias = g.op("Where", g.op("And", causal, padded), g.f32(0.0), g.f32(-1e9))
    split = g.i64(0, 0, heads, d)
    for layer, (past_k, past_v) in enumerate(past):
        normed = g.layer_norm(x, h)

        def heads_of(t: str) -> str:
            return g.op("Transpose", g.op("Reshape", t, split), perm=[0, 2, 1, 3])

        q = heads_of(g.linear(normed, h, heads * d, "wq"))
        k = g.op(
            "Concat",
            past_k,
            heads_of(g.linear(normed, h, heads * d, "wk")),
            axis=2,
            out=f"present.{layer}.key",
        )
        v = g.op(
            "Concat",
            past_v,
            heads_of(g.linear(normed, h, heads * d, "wv")),
            axis=2,
            out=f"present.{layer}.value",
        )
        scores = g.op(
            "Mul", g.op("MatMul", q, g.op("Transpose", k, perm=[0, 1, 3, 2])), g.f32(d**-0.5)
        )
        attn = g.op("Softmax", g.op("Add", scores, bias), axis=-1)
        mixed = g.op("Transpose", g.op("MatMul", attn, v), perm=[0, 2, 1, 3])
        merged = g.op("Reshape", mixed, g.i64(0, 0, heads * d))
        x = g.op("Add", x, g.linear(merged, heads * d, h, "wo"))
        up = g.op("Relu", g.linear(g.layer_norm(x, h), h, 4 * h, "w_up"))
        x = g.op("Add", x, g.linear(up, 4 * h, h, "w_down"))
    g.op("MatMul", g.layer_norm(x, h), g.weight((h, cfg.logits), "w_head"), out="logits")
    g.output("logits", tp.FLOAT, ["batch_size", "sequence_length", cfg.logits])
    for layer in range(cfg.layers):
        for kv in ("key", "value"):
            g.output(
                f"present.{layer}.{kv}", tp.FLOAT, ["batch_size", heads, "total_sequence_length", d]
            )
    return g


def conditional_decoder(cfg: TinyConfig, rng: np.random.Generator) -> Graph:
    g = Graph("conditional_decoder", rng)
    tp = g.onnx.TensorProto
    e = cfg.decoder_dim
    tokens = g.input("speech_tokens", tp.INT64, ["batch_size", "num_speech_tokens"])
    speaker = g.input("speaker_embeddings", tp.FLOAT, ["batch_size", X_VECTOR])
    features = g.input("speaker_features", tp.FLOAT, ["batch_size", "feature_dim", MELS])
    table = g.weight((SPEECH_VOCAB, e), "speech_emb", scale=1.0)
    hidden = g.op("Gather", table, tokens, axis=0)  # no clamp: S3Gen's codebook only
    voice = g.op("Unsqueeze", g.linear(speaker, X_VECTOR, e, "w_spk"), g.i64(1))
    timbre = g.linear(g.op("ReduceMean", features, axes=[1], keepdims=1), MELS, e, "w_feat")
    hidden = g.op("Add", g.op("Add", hidden, voice), timbre)
    # the reference prompt's tokens (two feature frames each) are cropped, as S3Gen does
    start = g.op("Div", g.dim(features, 1), g.i64(2))
    generated = g.op("Slice", hidden, start, g.i64(INT64_MAX), g.i64(1))
    samples = g.op("Tanh", g.linear(generated, e, SAMPLES_PER_TOKEN, "w_wave"))
    wave_out = g.op("Mul", samples, g.f32(0.3))
    g.op("Reshape", wave_out, g.i64(0, -1), out="waveform")
    g.output("waveform", tp.FLOAT, ["batch_size", "num_samples"])
    return g


BUILDERS = {
    "speech_encoder": speech_encoder,
    "embed_tokens": embed_tokens,
    "language_model": language_model,
    "conditional_decoder": conditional_decoder,
}


def tokenizer_json(cfg: TinyConfig, path: Path) -> None:
    tk = importlib.import_module("tokenizers")
    if cfg.turbo:  # GPT-2 style byte-level BPE (no merges), two trailing <|endoftext|>
        vocab = {c: i for i, c in enumerate(sorted(tk.pre_tokenizers.ByteLevel.alphabet()))}
        vocab["<|endoftext|>"] = 50256
        tok = tk.Tokenizer(tk.models.BPE(vocab=vocab, merges=[]))
        tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = tk.decoders.ByteLevel()
        tok.add_special_tokens(["<|endoftext|>"])
        tok.post_processor = tk.processors.TemplateProcessing(
            single="$A <|endoftext|> <|endoftext|>",
            special_tokens=[("<|endoftext|>", 50256)],
        )
    else:  # the original's character tokenizer: [START] text [STOP], then START_SPEECH
        chars = [chr(c) for c in range(32, 127)]
        vocab = {"[STOP]": 0, "[UNK]": 1, **{c: i + 2 for i, c in enumerate(chars)}}
        vocab |= {"[START]": 255, "[START_SPEECH]": START_SPEECH}
        tok = tk.Tokenizer(tk.models.WordLevel(vocab=vocab, unk_token="[UNK]"))
        tok.pre_tokenizer = tk.pre_tokenizers.Split(tk.Regex("."), behavior="isolated")
        tok.add_special_tokens(["[START]", "[STOP]", "[START_SPEECH]"])
        tok.post_processor = tk.processors.TemplateProcessing(
            single="[START] $A [STOP] [START_SPEECH]",
            special_tokens=[("[START]", 255), ("[STOP]", 0), ("[START_SPEECH]", START_SPEECH)],
        )
    tok.save(str(path))


def voice_wav(path: Path, seconds: float = 3.0, rate: int = 24000, seed: int = 0) -> None:
    """A reference clip: a few partials and a little noise, 16-bit mono."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    sig = sum(0.15 / k * np.sin(2 * np.pi * 140 * k * t) for k in range(1, 5))
    sig = sig + 0.01 * rng.standard_normal(t.size)
    pcm = (np.clip(sig, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def build(folder: Path, pair: str, variant: str = "fp32") -> BuiltExport:
    """The tiny export of ``pair`` (chatterbox-onnx, chatterbox-turbo-onnx) in ``folder``:
    onnx/<graph>.onnx with .onnx_data sidecars, tokenizer.json, default_voice.wav and the
    random-weights marker."""
    if variant != "fp32":
        raise ValueError(f"only the default fp32 variant is built, not {variant}")
    cfg = CONFIGS[pair]
    onnx = _onnx()
    (folder / "onnx").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(cfg.seed)
    parameters = 0
    files = []
    for name in GRAPHS:
        graph = BUILDERS[name](cfg, rng)
        parameters += graph.parameters
        path = folder / "onnx" / f"{name}.onnx"
        onnx.save_model(
            graph.model(),
            str(path),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=f"{name}.onnx_data",
            size_threshold=1024,  # weights in the sidecar, shape constants inline
        )
        files += [f"onnx/{name}.onnx", f"onnx/{name}.onnx_data"]
    tokenizer_json(cfg, folder / "tokenizer.json")
    voice_wav(folder / "default_voice.wav", seed=cfg.seed)
    (folder / "config.json").write_text(
        json.dumps({"model_type": "chatterbox", "tiny_random": asdict(cfg)}, indent=1),
        encoding="utf-8",
    )
    files += ["tokenizer.json", "default_voice.wav", "config.json"]
    built = BuiltExport(folder, cfg, parameters, tuple(files))
    mark_random_weights(
        folder,
        builder=f"{__name__}.build",
        config={k: v for k, v in asdict(cfg).items() if k != "seed"},
        parameters=parameters,
    )
    return built
