"""Typed per-shape details of a result: what the cache check, cold start, load and
memory runs found besides the per-trial metrics, and the intelligibility check. Pure
data: no pytest, no engines.

JSON comes from the fields (:mod:`~pytest_ttsbench.results.serialize`); the result puts
them under ``details`` in the places schema 1 always had them, so files written before
these types existed read back unchanged. Defaults are what a file that lacks a key means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pytest_ttsbench.results.serialize import json_field

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence


@dataclass(frozen=True)
class CacheCheck:
    """Repeated versus unique prompts: RTF of each, and how much faster repeated ran."""

    unique_rtf: list[float] = field(default_factory=list)
    repeated_rtf: list[float] = field(default_factory=list)
    # median unique RTF / median repeated RTF; absent when either side had no valid trial
    speedup: float | None = json_field(default=None, omit="none")


@dataclass(frozen=True)
class ColdStartRuns:
    """Per fresh-process run, in run order: where the cold start's time went."""

    interpreter_s: list[float] = field(default_factory=list)  # spawn to first Python line
    import_s: list[float] = field(default_factory=list)  # importing the adapter module
    load_s: list[float] = field(default_factory=list)  # engine.load()
    # None: the run handed over no audio
    spawn_to_first_audio_ms: list[float | None] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)  # spawn to exit, seen from the parent


@dataclass(frozen=True)
class LoadSummary:
    """Concurrent requests against one engine: throughput and whether they overlapped."""

    requests: int = 0
    errors: int = 0
    wall_s: float = 0.0  # first scheduled start to last chunk
    audio_s: float = 0.0
    throughput: float = 0.0  # audio seconds produced per wall second
    speedup: float | None = None  # throughput / one request at a time's throughput
    serialized: bool = False  # concurrency bought (almost) no throughput
    issue_lag_p50_ms: float = 0.0
    issue_lag_max_ms: float = 0.0
    # goodput (measure/goodput.py): requests valid and within every SLO bound, over all
    # requests sent (errors included); None in files written before it was measured
    good: int | None = json_field(default=None, omit="none")
    goodput: float | None = json_field(default=None, omit="none")
    good_rate: float | None = json_field(default=None, omit="none")  # good per wall second
    slo: dict[str, float] = json_field(default_factory=dict, omit="empty")  # the bounds


@dataclass(frozen=True)
class RssSamplerStats:
    """What the RSS sampler saw while the measured trials ran (MiB, ms, s)."""

    peak_rss_mb: float = 0.0
    baseline_rss_mb: float = 0.0
    rss_samples: int = 0
    rss_interval_ms: float | None = None  # achieved mean interval between readings
    rss_max_interval_ms: float | None = None
    rss_sampler_cpu_s: float = 0.0  # the sampler thread's own CPU time


@dataclass(frozen=True)
class RssTrace:
    """Process memory over the measured trials: the sampler and one reading per trial."""

    sampler: RssSamplerStats = json_field(default_factory=RssSamplerStats, key="rss_sampler")
    # RSS after each measured trial, in order
    after_trials_mb: list[float] = json_field(default_factory=list, key="rss_after_trials_mb")


# Intelligibility states: what the ASR round trip did with a result's measured trials.
SCORED = "scored"  # transcribed and judged: a clip that does not say its prompt is invalid
NOT_JUDGED = "not judged"  # transcribed and scored, never judged (random weights)
UNCHECKED = "unchecked"  # not transcribed: the extra is not installed, or scoring is off
SKIPPED = "skipped"  # not transcribed: the ASR cannot score the prompt's language


@dataclass(frozen=True)
class Heard:
    """What the ASR heard in one measured trial (its index), as it wrote it."""

    trial: int
    text: str


@dataclass(frozen=True)
class Intelligibility:
    """The ASR round trip of a result (measure/scoring.py): whether its measured trials
    were transcribed and judged, why not, what was heard, and what the ASR cost.

    The per-trial ``cer`` and ``wer`` are trial metrics; this says the rest."""

    state: str = UNCHECKED  # SCORED, NOT_JUDGED, UNCHECKED or SKIPPED
    reason: str | None = json_field(default=None, omit="none")  # why not checked / judged
    text: str | None = json_field(default=None, omit="none")  # the prompt scored against
    heard: list[Heard] = json_field(default_factory=list, omit="empty")
    asr: dict[str, str] = json_field(default_factory=dict, omit="empty")  # model, package
    asr_s: float = 0.0  # wall seconds transcribing this result's clips
    asr_cpu_s: float = 0.0
    clips: int = 0  # clips transcribed (identical clips reused are not counted)
    reused: int = 0  # clips identical to one transcribed before: not transcribed again

    @property
    def checked(self) -> bool:
        """The trials were transcribed and scored (judged or not)."""
        return self.state in (SCORED, NOT_JUDGED)

    @property
    def unchecked(self) -> bool:
        """Not transcribed because the extra is missing or scoring is off: tables show
        "unchecked" where a score would be."""
        return self.state == UNCHECKED


# The order phases are told in; an engine warns in these, in this order.
WARNING_PHASES = ("load", "synthesis", "close")


@dataclass(frozen=True)
class EngineWarning:
    """Warnings an engine raised while it loaded or synthesized: counted, never raised.

    One per (phase, category, first line of the message, where it was raised)."""

    category: str = "Warning"  # the warning class's name: DeprecationWarning, ...
    message: str = ""  # its first line
    where: str = ""  # filename:lineno, as the warning names it
    count: int = 1
    phase: str = "synthesis"  # load (building and loading), synthesis or close

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.phase, self.category, self.message, self.where)


def merge_warnings(*groups: Sequence[EngineWarning]) -> list[EngineWarning]:
    """One entry per key with the counts summed, in phase order, then most frequent."""
    counts: dict[tuple[str, str, str, str], int] = {}
    for group in groups:
        for w in group:
            counts[w.key] = counts.get(w.key, 0) + w.count
    merged = [EngineWarning(c, m, where, n, phase) for (phase, c, m, where), n in counts.items()]
    rank = {phase: i for i, phase in enumerate(WARNING_PHASES)}
    return sorted(merged, key=lambda w: (rank.get(w.phase, len(rank)), -w.count))


# A warning's message in a summary line: long enough to recognise, short enough to read.
WARNING_MESSAGE_CHARS = 50


def warning_lines(by_target: Iterable[tuple[str, Sequence[EngineWarning]]]) -> list[str]:
    """One line per target that warned, counts summed over its results, e.g.
    ``warnings: kokoro-pt-cpu: 3 UserWarning 'dropout option adds ...' (load), ...``."""
    found: dict[str, list[EngineWarning]] = {}
    for target_id, warned in by_target:
        if warned:
            found.setdefault(target_id, []).extend(warned)
    lines = []
    for target_id, warned in found.items():
        told = [
            f"{w.count} {w.category} '{_shorten(w.message)}' ({w.phase})"
            for w in merge_warnings(warned)
        ]
        lines.append(f"warnings: {target_id}: " + ", ".join(told))
    return lines


def _shorten(message: str) -> str:
    if len(message) <= WARNING_MESSAGE_CHARS:
        return message
    return message[: WARNING_MESSAGE_CHARS - 3].rstrip() + "..."
