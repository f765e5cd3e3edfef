"""The engine protocol every adapter implements, and the spec that registers it.

Adapter modules import their upstream package inside ``load()`` only, so that the
registry can import an adapter module (to ask where its weights are) without pulling
in torch, mlx or onnxruntime.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from pytest_ttsbench.results.target import Target

    AudioArray = npt.NDArray[np.float32]

BACKENDS = ("pt", "mlx", "onnx")
DEVICES = ("cuda", "mps", "cpu")


class EngineError(RuntimeError):
    """An engine failed in a way the user should read (bad weights, bad input)."""


class WeightsNotFound(EngineError):
    """Raised by ``load()`` when the weights vanished between collection and load."""


@dataclass(frozen=True)
class Capabilities:
    """What an engine can do; the matrix skips what it cannot, with the reason."""

    stream: bool = False  # yields audio before synthesis ends
    speed: bool = False
    voices: bool = False  # a choice of built-in voices
    voice_clone: bool = False  # a reference clip sets the voice
    languages: frozenset[str] = frozenset({"en"})
    tags: bool = False  # paralinguistic tags such as [laugh]
    chunk_knob: str | None = None  # the engine's streaming chunk-size knob, if any
    chunk_sweep: tuple[float, ...] = ()  # small, default, large values of that knob
    deterministic: bool = False  # same text, same options -> same samples
    thread_safe: bool = False  # one loaded model may serve calls from several threads
    # autoregressive: stops on a token it generates, so it honours a length cap
    # (SynthesisOptions.max_audio_s); random weights never emit that token
    length_cap: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "stream": self.stream,
            "speed": self.speed,
            "voices": self.voices,
            "voice_clone": self.voice_clone,
            "languages": sorted(self.languages),
            "tags": self.tags,
            "chunk_knob": self.chunk_knob,
            "chunk_sweep": list(self.chunk_sweep),
            "deterministic": self.deterministic,
            "thread_safe": self.thread_safe,
            "length_cap": self.length_cap,
        }


@dataclass(frozen=True)
class SynthesisOptions:
    """Per-call knobs. ``extra`` carries engine-specific ones (exaggeration, chunk_size)."""

    voice: str | None = None
    speed: float = 1.0
    language: str = "en"
    reference_audio: Path | None = None
    extra: Mapping[str, object] = field(default_factory=dict)
    # stop generating after this much audio (engines with Capabilities.length_cap)
    max_audio_s: float | None = None

    def max_steps(self, steps_per_s: float) -> int | None:
        """The cap as a count of the engine's own steps (tokens, frames), at least 1."""
        if self.max_audio_s is None:
            return None
        return max(1, round(self.max_audio_s * steps_per_s))

    def as_dict(self) -> dict[str, object]:
        return {
            "voice": self.voice,
            "speed": self.speed,
            "language": self.language,
            "reference_audio": str(self.reference_audio) if self.reference_audio else None,
            "max_audio_s": self.max_audio_s,
            "extra": {
                k: v if isinstance(v, int | float | str | bool) else repr(v)
                for k, v in sorted(self.extra.items())
            },
        }


RANDOM_MARKER = "ttsbench-random-weights.json"


def read_random_marker(folder: Path) -> dict[str, object] | None:
    """The marker a builder of random-init weights leaves in their folder; every result
    from such weights is labelled so (an unreadable marker still counts as one)."""
    marker = Path(folder) / RANDOM_MARKER
    if not marker.is_file():
        return None
    try:
        about = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"marker": str(marker), "error": str(exc)}
    return about if isinstance(about, dict) else {"marker": str(marker)}


def mark_random_weights(folder: Path, **about: object) -> Path:
    """Label ``folder`` as random-init weights (what built them, which config)."""
    marker = Path(folder) / RANDOM_MARKER
    marker.write_text(json.dumps({"random_weights": True, **about}, indent=1), encoding="utf-8")
    return marker


@dataclass(frozen=True)
class WeightsLookup:
    """Where an engine's weights are, or every place that was searched for them."""

    path: Path | None
    searched: tuple[str, ...] = ()
    hint: str = ""  # which option or variable points to them, what files are needed
    downloadable: bool = False  # the engine could fetch them with --tts-allow-download
    details: Mapping[str, str] = field(default_factory=dict)
    # what the engine needs besides the weights and lacks (a tokenizer repo, a voice,
    # a package): set only when the weights themselves were found
    missing: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return self.path is not None

    @property
    def random_weights(self) -> dict[str, object] | None:
        """What the folder's random-weights marker says, or None: real weights."""
        if self.path is None or self.path == Path():
            return None
        return read_random_marker(self.path)

    @classmethod
    def not_needed(cls) -> WeightsLookup:
        return cls(path=Path(), details={"weights": "none needed"})


@dataclass(frozen=True)
class WeightsQuery:
    """What a weight finder may look at: explicit paths from --tts-weights, env, caches."""

    explicit: Mapping[str, Path]
    env: Mapping[str, str]
    cache_dir: Path

    def explicit_for(self, target: Target) -> Path | None:
        """``--tts-weights kokoro-onnx=...`` wins over ``--tts-weights kokoro=...``."""
        for key in (f"{target.pair}-{target.variant}", target.pair, target.model):
            if key in self.explicit:
                return self.explicit[key]
        return None


@dataclass(frozen=True)
class EngineContext:
    """Everything an adapter is constructed with."""

    target: Target
    weights: WeightsLookup
    options: Mapping[str, str]  # --tts-opt KEY=VALUE, strings as the user typed them
    allow_download: bool
    cache_dir: Path


class Engine:
    """Base class of every adapter. Subclasses override what their upstream can do.

    ``stream`` and ``synthesize`` must hand over float32 mono arrays in host memory,
    already materialized (``.cpu().numpy()``, ``np.asarray(mx.array)``), so that the
    harness's timestamp means "audio a player could use now".
    """

    capabilities: ClassVar[Capabilities] = Capabilities()
    sample_rate: int = 24000
    # knobs whose change recasts or recompiles the model (TorchEngine: dtype, compile):
    # the first call of a new combination is a warm-up, never a measured trial
    tuning_knobs: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: EngineContext) -> None:
        self.ctx = ctx
        self.target = ctx.target

    @classmethod
    def locate_weights(cls, target: Target, query: WeightsQuery) -> WeightsLookup:
        """Find weights offline, importing nothing heavy. Default: none needed."""
        return WeightsLookup.not_needed()

    def load(self) -> None:
        """Import the upstream package and load the model onto ``self.target.device``."""

    def synthesize(self, text: str, opts: SynthesisOptions) -> AudioArray:
        """The whole utterance in one array."""
        raise NotImplementedError

    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[AudioArray]:
        """Native streaming; only called when ``capabilities.stream`` is true."""
        raise NotImplementedError(f"{type(self).__name__} has no native streaming")

    def versions(self) -> dict[str, str]:
        """Versions of the upstream packages that matter for the numbers."""
        return {}

    def details(self) -> dict[str, object]:
        """Runtime facts worth recording: execution provider, threads, dtype."""
        return {}

    def reset_peak_memory(self) -> None:
        """Reset the accelerator's peak-memory counter before a trial."""

    def peak_memory_bytes(self) -> int | None:
        """Accelerator peak memory since the last reset; None where not exposed."""
        return None

    def stage_seconds(self) -> dict[str, float]:
        """Per-stage wall times of the last call (T3, S3Gen, watermark), if observable."""
        return {}

    def close(self) -> None:
        """Release the model (and accelerator memory) before the next target loads."""


EngineFactory = Callable[[EngineContext], Engine]


@dataclass(frozen=True)
class EngineSpec:
    """How a (model, backend) pair joins the matrix.

    ``engine`` is a dotted path ``"package.module:Class"`` (imported lazily) or the
    class itself. ``packages`` are import names checked with ``importlib.util.find_spec``;
    ``extra`` and ``tox_env`` tell the user how to install them.
    """

    model: str
    backend: str
    engine: str | type[Engine] | None
    devices: tuple[str, ...] = ("cpu",)
    packages: tuple[str, ...] = ()
    extra: str | None = None
    tox_env: str | None = None
    install_note: str = ""  # what the extra cannot say: pins that clash, another recipe
    variants: tuple[str, ...] = ("default",)
    default_variant: str = "default"
    unavailable: str | None = None  # the pair has no upstream implementation: why, and what exists
    device_check: Callable[[str], str | None] | None = None  # extra per-device requirement
    description: str = ""
    builtin: bool = False

    @property
    def pair(self) -> str:
        return f"{self.model}-{self.backend}"

    def engine_class(self) -> type[Engine]:
        if self.engine is None:
            raise EngineError(f"{self.pair}: no adapter ({self.unavailable})")
        if isinstance(self.engine, str):
            module_name, _, attr = self.engine.partition(":")
            module = importlib.import_module(module_name)
            cls: Any = getattr(module, attr)
            return cls  # type: ignore[no-any-return]
        return self.engine

    def install_hint(self) -> str:
        parts = []
        if self.extra:
            parts.append(f"pip install 'pytest-ttsbench[{self.extra}]'")
        if self.tox_env:
            parts.append(f"tox -e {self.tox_env}")
        hint = " or ".join(parts) if parts else "install the engine's package"
        return f"{hint} ({self.install_note})" if self.install_note else hint
