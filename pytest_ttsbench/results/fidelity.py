"""The typed detail of a fidelity comparison: one model's prompts rendered by a reference
configuration and by the configuration under test (measure/comparison.py computes it).
Pure data: no pytest, no numpy.

Differences are candidate minus reference; ratios candidate over reference. Each
interval is a paired 95% t-interval over the prompts (measure/paired.py); None with
fewer than two prompts. Fields that a side could not give (the ASR extra is missing, the
pair is not deterministic) are None and say so in ``reason`` / ``spectral_reason``.
"""

from __future__ import annotations

from dataclasses import dataclass

from pytest_ttsbench.results.details import UNCHECKED
from pytest_ttsbench.results.serialize import json_field


@dataclass(frozen=True)
class PromptPair:
    """One prompt of the set: what each side measured on it."""

    text: str
    reference_cer: float | None = json_field(default=None, omit="none")  # mean over trials
    cer: float | None = json_field(default=None, omit="none")
    reference_audio_s: float | None = json_field(default=None, omit="none")
    audio_s: float | None = json_field(default=None, omit="none")
    log_mel_l1: float | None = json_field(default=None, omit="none")
    mcd_db: float | None = json_field(default=None, omit="none")
    dtw_penalty: float | None = json_field(default=None, omit="none")
    reference_heard: str | None = json_field(default=None, omit="none")
    heard: str | None = json_field(default=None, omit="none")


@dataclass(frozen=True)
class Fidelity:
    """The comparison's verdict material: CER difference, duration ratio, and for
    deterministic pairs the spectral distances, each over the shipped prompt set."""

    reference: str  # how the reference differs: "mode=none", "variant=fp32", ...
    candidate: str  # the configuration under test, the same way: "mode=sentence"
    reference_target: str | None = json_field(default=None, omit="none")  # the id it ran on
    prompts: int = 0  # prompts with a valid rendering on both sides
    state: str = UNCHECKED  # the ASR's: scored, not judged, unchecked or skipped
    reason: str | None = json_field(default=None, omit="none")  # why CER is missing
    reference_cer: float | None = None  # mean over prompts
    candidate_cer: float | None = None
    cer_delta: float | None = None  # mean of per-prompt candidate - reference CER
    cer_delta_low: float | None = None
    cer_delta_high: float | None = None
    # the share of the reference's intelligibility (1 - CER) the candidate lost, in %
    quality_loss_pct: float | None = None
    quality_loss_pct_low: float | None = None
    quality_loss_pct_high: float | None = None
    duration_ratio: float | None = None  # geometric mean of candidate / reference
    duration_ratio_low: float | None = None
    duration_ratio_high: float | None = None
    deterministic: bool = False  # both sides repeat themselves exactly: spectral applies
    spectral_reason: str | None = json_field(default=None, omit="none")
    log_mel_l1: float | None = None  # means over the prompts
    mcd_db: float | None = None
    dtw_penalty: float | None = None
    pairs: list[PromptPair] = json_field(default_factory=list, omit="empty")

    @property
    def unchecked(self) -> bool:
        """No ASR ran (the extra is missing, or scoring is off): tables say so."""
        return self.state == UNCHECKED
