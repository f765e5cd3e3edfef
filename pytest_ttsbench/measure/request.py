"""What one benchmark asks of an engine, resolved and checked before any trial runs.
Pure: no pytest. What the engine cannot do is an :class:`Unsupported` exception, which
the fixture turns into a skip with the same reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.engines.base import SynthesisOptions
from pytest_ttsbench.measure import prompts

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from pytest_ttsbench.engines.base import Capabilities


class Unsupported(Exception):
    """The engine cannot run this benchmark; the message says why (a skip, not a fail)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EngineBroken(RuntimeError):
    """An earlier or this benchmark's call hung; the engine is abandoned (a fail)."""


@dataclass(frozen=True)
class Ask:
    """A benchmark's inputs as the test wrote them."""

    prompt: str = "medium"  # a preset name, or the name of ``text``
    text: str | None = None
    language: str | None = None
    mode: str | None = None  # native, sentence, none, auto; None: the session's
    voice: str | None = None
    speed: float = 1.0
    reference_audio: Path | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)  # adapter knobs
    params: Mapping[str, Any] = field(default_factory=dict)  # what the results row keys on


@dataclass(frozen=True)
class BenchRequest:
    """One benchmark's inputs, resolved: prompt, streaming mode, synthesis options."""

    prompt: prompts.Prompt
    mode: str  # native, sentence or none
    opts: SynthesisOptions
    params: dict[str, Any] = field(default_factory=dict)


# Random weights never emit a stop token: without a cap an autoregressive engine runs
# to its own limit (minutes of noise per call on a CPU).
RANDOM_WEIGHTS_MAX_AUDIO_S = 2.0


def length_cap(user_cap_s: float | None, random_weights: bool) -> float | None:
    """--tts-max-audio when given, else 2 s for random weights, else no cap."""
    if user_cap_s is not None:
        return user_cap_s
    return RANDOM_WEIGHTS_MAX_AUDIO_S if random_weights else None


def prepare(
    ask: Ask,
    caps: Capabilities,
    target_id: str,
    default_mode: str,
    max_audio_s: float | None = None,
) -> BenchRequest:
    """Resolve the prompt and streaming mode; :class:`Unsupported` for what this engine
    cannot do. ``default_mode`` is the session's --tts-stream; ``max_audio_s`` reaches
    only engines that honour a length cap."""
    if ask.text is not None:
        chosen = prompts.Prompt(
            name=ask.prompt if ask.prompt != "medium" else "custom",
            text=ask.text,
            language=ask.language or "en",
        )
    else:
        chosen = prompts.get(ask.prompt)
    language = ask.language or chosen.language
    if "tags" in chosen.needs and not caps.tags:
        raise Unsupported(
            f"{target_id}: prompt {chosen.name!r} uses paralinguistic tags, "
            "which this engine does not support"
        )
    if language not in caps.languages:
        raise Unsupported(
            f"{target_id}: no language {language!r} (supports {', '.join(sorted(caps.languages))})"
        )
    if ask.speed != 1.0 and not caps.speed:
        raise Unsupported(f"{target_id}: no speed control")
    if ask.reference_audio is not None and not caps.voice_clone:
        raise Unsupported(f"{target_id}: no voice cloning from a reference clip")
    mode = ask.mode or default_mode
    if mode == "auto":
        mode = "native" if caps.stream else "none"
    if mode == "native" and not caps.stream:
        raise Unsupported(
            f"{target_id}: no native streaming upstream; measure it with "
            "--tts-stream=sentence (the harness streams sentence by sentence)"
        )
    opts = SynthesisOptions(
        voice=ask.voice,
        speed=ask.speed,
        language=language,
        reference_audio=ask.reference_audio,
        extra=dict(ask.extra),
        max_audio_s=max_audio_s if caps.length_cap else None,
    )
    return BenchRequest(chosen, mode, opts, dict(ask.params))


def require_thread_safe(caps: Capabilities, target_id: str) -> None:
    """Concurrent requests need an engine its adapter declares thread safe."""
    if not caps.thread_safe:
        raise Unsupported(
            f"{target_id}: the adapter does not declare the engine "
            "safe to call from several threads at once"
        )
