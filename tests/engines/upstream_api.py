"""The upstream API the adapters call, as ENGINES.md gives it, and tools to read it back.

``EXPECTED`` is checked twice: against the stand-ins (so the fakes mirror the upstream)
and against the real packages wherever they are installed (so an upstream change fails
a test). A real module that imports is read with ``inspect.signature``; one that cannot
import here (chatterbox needs torchaudio 2.6, kokoro needs misaki) is read from its
installed source file with ``ast``, which sees the same parameter names and defaults.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Api:
    dist: str  # the distribution that ships it
    file: str  # the source file inside the distribution
    module: str  # the import name
    qualname: str  # Class.method or function
    params: str  # as "a, b=1, *, c=2, **kwargs", self/cls left out

    @property
    def id(self) -> str:
        return f"{self.dist}:{self.module}:{self.qualname}"


CB_GENERATE = (
    "text, repetition_penalty=1.2, min_p=0.05, top_p=1.0, audio_prompt_path=None, "
    "exaggeration=0.5, cfg_weight=0.5, temperature=0.8"
)
TURBO_GENERATE = (
    "text, repetition_penalty=1.2, min_p=0.0, top_p=0.95, audio_prompt_path=None,"
    " exaggeration=0.0, cfg_weight=0.0, temperature=0.8, top_k=1000, "
    "norm_loudness=True"
)
FORK_GENERATE = "text, audio_prompt_path=None, exaggeration=0.5, cfg_weight=0.5, temperature=0.8"
MLX_CB_GENERATE = (
    "text, audio_prompt=None, audio_prompt_sr=None, conds=None, exaggeration=0.1, "
    "cfg_weight=0.5, temperature=0.8, repetition_penalty=1.2, min_p=0.05, top_p=1.0, "
    "max_new_tokens=1000, ref_audio=None, voice=None, speed=1.0, lang_code='en', "
    "max_tokens=None, verbose=True, stream=False, streaming_interval=2.0, **kwargs"
)
MLX_TURBO_GENERATE = (
    "text, repetition_penalty=1.2, min_p=0.0, top_p=0.95, ref_audio=None, sample_rate=None, "
    "exaggeration=0.0, cfg_weight=0.0, temperature=0.8, top_k=1000, norm_loudness=True, "
    "stream=False, streaming_interval=2.0, split_pattern='(?<=[.!?])\\\\s+', max_tokens=800, "
    "**kwargs"
)
SESAME_GENERATE = (
    "text, voice=None, speaker=0, context=[], split_pattern='\\\\n+', sampler=None, "
    "max_audio_length_ms=90000, ref_audio=None, ref_text=None, stream=False, "
    "streaming_interval=0.5, voice_match=None, **kwargs"
)
CB, FORK, MLX = "chatterbox-tts", "chatterbox-streaming", "mlx-audio"
MODELS = "mlx_audio/tts/models"

EXPECTED: tuple[Api, ...] = (
    Api(CB, "chatterbox/tts.py", "chatterbox.tts", "ChatterboxTTS.from_local", "ckpt_dir, device"),
    Api(CB, "chatterbox/tts.py", "chatterbox.tts", "ChatterboxTTS.from_pretrained", "device"),
    Api(CB, "chatterbox/tts.py", "chatterbox.tts", "ChatterboxTTS.generate", CB_GENERATE),
    Api(
        CB,
        "chatterbox/tts.py",
        "chatterbox.tts",
        "ChatterboxTTS.prepare_conditionals",
        "wav_fpath, exaggeration=0.5",
    ),
    Api(
        CB,
        "chatterbox/tts_turbo.py",
        "chatterbox.tts_turbo",
        "ChatterboxTurboTTS.from_local",
        "ckpt_dir, device",
    ),
    Api(
        CB,
        "chatterbox/tts_turbo.py",
        "chatterbox.tts_turbo",
        "ChatterboxTurboTTS.from_pretrained",
        "device",
    ),
    Api(
        CB,
        "chatterbox/tts_turbo.py",
        "chatterbox.tts_turbo",
        "ChatterboxTurboTTS.generate",
        TURBO_GENERATE,
    ),
    Api(
        CB,
        "chatterbox/tts_turbo.py",
        "chatterbox.tts_turbo",
        "ChatterboxTurboTTS.prepare_conditionals",
        "wav_fpath, exaggeration=0.5, norm_loudness=True",
    ),
    Api(
        FORK, "chatterbox/tts.py", "chatterbox.tts", "ChatterboxTTS.from_local", "ckpt_dir, device"
    ),
    Api(FORK, "chatterbox/tts.py", "chatterbox.tts", "ChatterboxTTS.from_pretrained", "device"),
    Api(FORK, "chatterbox/tts.py", "chatterbox.tts", "ChatterboxTTS.generate", FORK_GENERATE),
    Api(
        FORK,
        "chatterbox/tts.py",
        "chatterbox.tts",
        "ChatterboxTTS.prepare_conditionals",
        "wav_fpath, exaggeration=0.5",
    ),
    Api(
        FORK,
        "chatterbox/tts.py",
        "chatterbox.tts",
        "ChatterboxTTS.generate_stream",
        FORK_GENERATE + ", chunk_size=25, context_window=50, fade_duration=0.02, "
        "print_metrics=True",
    ),
    Api(
        MLX,
        "mlx_audio/tts/utils.py",
        "mlx_audio.tts.utils",
        "load_model",
        "model_path, lazy=False, strict=True, **kwargs",
    ),
    Api(
        MLX,
        f"{MODELS}/chatterbox/chatterbox.py",
        "mlx_audio.tts.models.chatterbox.chatterbox",
        "Model.generate",
        MLX_CB_GENERATE,
    ),
    Api(
        MLX,
        f"{MODELS}/chatterbox/chatterbox.py",
        "mlx_audio.tts.models.chatterbox.chatterbox",
        "Model.prepare_conditionals",
        "ref_wav, ref_sr, exaggeration=0.5",
    ),
    Api(
        MLX,
        f"{MODELS}/chatterbox_turbo/chatterbox_turbo.py",
        "mlx_audio.tts.models.chatterbox_turbo.chatterbox_turbo",
        "ChatterboxTurboTTS.generate",
        MLX_TURBO_GENERATE,
    ),
    Api(
        MLX,
        f"{MODELS}/chatterbox_turbo/chatterbox_turbo.py",
        "mlx_audio.tts.models.chatterbox_turbo.chatterbox_turbo",
        "ChatterboxTurboTTS.prepare_conditionals",
        "ref_audio, sample_rate=None, exaggeration=0.5, norm_loudness=True",
    ),
    Api(
        MLX,
        f"{MODELS}/kokoro/kokoro.py",
        "mlx_audio.tts.models.kokoro.kokoro",
        "Model.generate",
        "text, voice=None, speed=1.0, lang_code='a', split_pattern='\\\\n+', **kwargs",
    ),
    Api(
        MLX,
        f"{MODELS}/sesame/sesame.py",
        "mlx_audio.tts.models.sesame.sesame",
        "Model.generate",
        SESAME_GENERATE,
    ),
    Api(
        MLX,
        "mlx_audio/lm/sample_utils.py",
        "mlx_audio.lm.sample_utils",
        "make_sampler",
        "temp=0.0, top_p=0.0, min_p=0.0, min_tokens_to_keep=1, top_k=0, xtc_probability=0.0, "
        "xtc_threshold=0.0, xtc_special_tokens=[]",
    ),
    Api(
        "kokoro",
        "kokoro/model.py",
        "kokoro.model",
        "KModel.__init__",
        "repo_id=None, config=None, model=None, disable_complex=False",
    ),
    Api(
        "kokoro",
        "kokoro/pipeline.py",
        "kokoro.pipeline",
        "KPipeline.__init__",
        "lang_code, repo_id=None, model=True, trf=False, en_callable=None, device=None",
    ),
    Api(
        "kokoro",
        "kokoro/pipeline.py",
        "kokoro.pipeline",
        "KPipeline.__call__",
        "text, voice=None, speed=1, split_pattern='\\\\n+', model=None",
    ),
    Api(
        "transformers",
        "transformers/models/csm/generation_csm.py",
        "transformers.models.csm.generation_csm",
        "CsmGenerationMixin.generate",
        "input_ids=None, input_values=None, input_values_cutoffs=None, generation_config=None,"
        " logits_processor=None, stopping_criteria=None, synced_gpus=None, streamer=None, "
        "output_audio=False, **kwargs",
    ),
    Api(
        "onnxruntime",
        "onnxruntime/capi/onnxruntime_inference_collection.py",
        "onnxruntime",
        "InferenceSession.__init__",
        "path_or_bytes, sess_options=None, providers=None, provider_options=None, **kwargs",
    ),
)

# Sub-steps generate() must call for the stage timers (wrapped on the instance).
CALLS: tuple[tuple[str, str, str, frozenset[str]], ...] = (
    (
        CB,
        "chatterbox/tts.py",
        "ChatterboxTTS.generate",
        frozenset(
            {
                "self.t3.inference",
                "self.s3gen.inference",
                "self.watermarker.apply_watermark",
                "self.prepare_conditionals",
            }
        ),
    ),
    (
        CB,
        "chatterbox/tts_turbo.py",
        "ChatterboxTurboTTS.generate",
        frozenset(
            {
                "self.t3.inference_turbo",
                "self.s3gen.inference",
                "self.watermarker.apply_watermark",
                "self.prepare_conditionals",
            }
        ),
    ),
    (
        FORK,
        "chatterbox/tts.py",
        "ChatterboxTTS.generate",
        frozenset(
            {"self.t3.inference", "self.s3gen.inference", "self.watermarker.apply_watermark"}
        ),
    ),
    # the fork decodes and watermarks each chunk in a helper, through the same attributes
    (
        FORK,
        "chatterbox/tts.py",
        "ChatterboxTTS.generate_stream",
        frozenset({"self.inference_stream", "self._process_token_buffer"}),
    ),
    (
        FORK,
        "chatterbox/tts.py",
        "ChatterboxTTS._process_token_buffer",
        frozenset({"self.s3gen.inference", "self.watermarker.apply_watermark"}),
    ),
)

FIELDS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    (
        MLX,
        "mlx_audio/tts/models/base.py",
        "mlx_audio.tts.models.base",
        "GenerationResult",
        (
            "audio",
            "samples",
            "sample_rate",
            "segment_idx",
            "token_count",
            "audio_duration",
            "real_time_factor",
            "prompt",
            "audio_samples",
            "processing_time_seconds",
            "peak_memory_usage",
            "is_streaming_chunk",
            "is_final_chunk",
        ),
    ),
    (
        FORK,
        "chatterbox/tts.py",
        "chatterbox.tts",
        "StreamingMetrics",
        (
            "latency_to_first_chunk",
            "rtf",
            "total_generation_time",
            "total_audio_duration",
            "chunk_count",
        ),
    ),
)


def params_of(fn: Any) -> str:
    """``inspect.signature`` rendered like ``Api.params`` (self/cls and annotations dropped)."""
    if isinstance(fn, classmethod | staticmethod):
        fn = fn.__func__
    out: list[str] = []
    kinds = inspect.Parameter
    star_done = False
    items = list(inspect.signature(fn).parameters.values())
    if items and items[0].name in ("self", "cls"):
        items = items[1:]
    for p in items:
        if p.kind is kinds.VAR_POSITIONAL:
            out.append(f"*{p.name}")
            star_done = True
        elif p.kind is kinds.VAR_KEYWORD:
            out.append(f"**{p.name}")
        else:
            if p.kind is kinds.KEYWORD_ONLY and not star_done:
                out.append("*")
                star_done = True
            out.append(p.name if p.default is p.empty else f"{p.name}={p.default!r}")
    return ", ".join(out)


def _find_def(tree: ast.Module, qualname: str) -> ast.AST:
    node: ast.AST = tree
    for part in qualname.split("."):
        body = getattr(node, "body", [])
        node = next(
            n for n in body if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name == part
        )
    return node


def ast_params(source: str, qualname: str) -> str:
    """The same rendering as ``params_of``, read from source without importing it."""
    fn = _find_def(ast.parse(source), qualname)
    assert isinstance(fn, ast.FunctionDef)
    a = fn.args
    positional = [*a.posonlyargs, *a.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults))
    defaults += a.defaults
    pairs = list(zip(positional, defaults, strict=True))
    if pairs and pairs[0][0].arg in ("self", "cls"):
        pairs = pairs[1:]
    out = [arg.arg if d is None else f"{arg.arg}={_literal(d)}" for arg, d in pairs]
    if a.vararg:
        out.append(f"*{a.vararg.arg}")
    elif a.kwonlyargs:
        out.append("*")
    out += [
        arg.arg if d is None else f"{arg.arg}={_literal(d)}"
        for arg, d in zip(a.kwonlyargs, a.kw_defaults, strict=True)
    ]
    if a.kwarg:
        out.append(f"**{a.kwarg.arg}")
    return ", ".join(out)


def _literal(node: ast.expr) -> str:
    try:
        return repr(ast.literal_eval(node))
    except ValueError:
        return ast.unparse(node)


def calls_in(source: str, qualname: str) -> set[str]:
    """Dotted names of everything ``qualname`` calls (``self.t3.inference``...)."""
    out = set()
    for node in ast.walk(_find_def(ast.parse(source), qualname)):
        if isinstance(node, ast.Call):
            out.add(ast.unparse(node.func))
    return out


def fields_in(source: str, qualname: str) -> tuple[str, ...]:
    cls = _find_def(ast.parse(source), qualname)
    assert isinstance(cls, ast.ClassDef)
    return tuple(
        n.target.id
        for n in cls.body
        if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    )


def installed_source(dist: str, file: str) -> str | None:
    """The text of ``file`` as installed by ``dist``; None when ``dist`` is absent."""
    try:
        path = Path(str(importlib.metadata.distribution(dist).locate_file(file)))
    except importlib.metadata.PackageNotFoundError:
        return None
    return path.read_text(encoding="utf-8") if path.is_file() else None


def real_params(api: Api) -> tuple[str, str]:
    """(params, how): inspect.signature when the module imports, else ast of the source."""
    source = installed_source(api.dist, api.file)
    if source is None:
        raise LookupError(f"{api.dist} is not installed (or lacks {api.file})")
    try:
        obj: Any = importlib.import_module(api.module)
        for part in api.qualname.split("."):
            obj = inspect.getattr_static(obj, part)
        return params_of(obj), "inspect"
    except Exception as exc:  # a missing heavy dependency: read the source instead
        return ast_params(source, api.qualname), f"ast ({type(exc).__name__} on import)"
