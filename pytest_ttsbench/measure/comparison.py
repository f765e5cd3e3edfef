"""A fidelity comparison from the renderings of a prompt set by two configurations of
one model. Pure: no pytest (numpy and scipy through measure/paired.py and spectral.py).

Definitions (docs/METRICS.md repeats them):

- A prompt counts when both sides rendered it with at least one usable trial: valid,
  or invalid only because the ASR found it does not say its prompt (its CER is the
  signal compared). Per side and prompt, CER and duration are the means over them.
- ``cer_delta``: the paired mean of candidate minus reference CER over the prompts,
  with its t-interval (measure/paired.py). Scored only where both sides were scored.
- ``quality_loss_pct``: ``100 * cer_delta / (1 - reference mean CER)``, the share of
  the reference's intelligibility (1 - CER) the candidate lost, interval scaled alike;
  None when the reference says nothing (mean CER >= 1).
- ``duration_ratio``: the geometric mean of candidate / reference durations with its
  interval (measure/paired.py).
- Spectral distances (measure/spectral.py) only for a deterministic pair: both engines
  deterministic, so one rendering stands for each side. ``log_mel_l1``, ``mcd_db`` and
  ``dtw_penalty`` are means over the prompts of the first valid clips' distances.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from pytest_ttsbench.measure import paired, spectral
from pytest_ttsbench.results.details import UNCHECKED
from pytest_ttsbench.results.fidelity import Fidelity, PromptPair


@dataclass
class Rendering:
    """One side's valid renderings of one prompt: clips, CER per clip where scored."""

    clips: list[Any] = field(default_factory=list)  # float32 mono arrays
    sample_rate: int = 0
    durations_s: list[float] = field(default_factory=list)
    cers: list[float] = field(default_factory=list)
    heard: str | None = None

    @property
    def valid(self) -> bool:
        return bool(self.durations_s)

    @property
    def cer(self) -> float | None:
        return statistics.fmean(self.cers) if self.cers else None


@dataclass(frozen=True)
class Sides:
    """What the comparison is between, and how its CER was checked."""

    reference: str
    candidate: str
    state: str = UNCHECKED  # the ASR's state over both sides
    reason: str | None = None
    deterministic: bool = False
    spectral_reason: str | None = None


def _spectral(ref: Rendering, cand: Rendering) -> tuple[float, float, float] | None:
    if not ref.clips or not cand.clips or ref.sample_rate != cand.sample_rate:
        return None
    a, b = ref.clips[0], cand.clips[0]
    l1 = spectral.log_mel_l1(a, b, ref.sample_rate)
    m = spectral.mcd(a, b, ref.sample_rate)
    return l1.distance, m.mcd_db, m.dtw_penalty


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def compare(
    texts: list[str], reference: list[Rendering], candidate: list[Rendering], sides: Sides
) -> Fidelity:
    """The comparison over the prompts both sides rendered; see the module docs."""
    if not len(texts) == len(reference) == len(candidate):
        raise ValueError("one rendering per prompt and side")
    pairs: list[PromptPair] = []
    ref_cer: list[float] = []
    cand_cer: list[float] = []
    ref_s: list[float] = []
    cand_s: list[float] = []
    distances: list[tuple[float, float, float]] = []
    for text, ref, cand in zip(texts, reference, candidate, strict=True):
        if not (ref.valid and cand.valid):
            continue
        dist = _spectral(ref, cand) if sides.deterministic else None
        if dist is not None:
            distances.append(dist)
        ref_s.append(statistics.fmean(ref.durations_s))
        cand_s.append(statistics.fmean(cand.durations_s))
        if ref.cer is not None and cand.cer is not None:
            ref_cer.append(ref.cer)
            cand_cer.append(cand.cer)
        pairs.append(
            PromptPair(
                text,
                reference_cer=ref.cer,
                cer=cand.cer,
                reference_audio_s=ref_s[-1],
                audio_s=cand_s[-1],
                log_mel_l1=None if dist is None else dist[0],
                mcd_db=None if dist is None else dist[1],
                dtw_penalty=None if dist is None else dist[2],
                reference_heard=ref.heard,
                heard=cand.heard,
            )
        )
    out: dict[str, Any] = {}
    if ref_cer and len(ref_cer) == len(pairs):  # every counted prompt scored on both sides
        diff = paired.paired_difference(ref_cer, cand_cer)
        out |= {
            "reference_cer": diff.mean_a,
            "candidate_cer": diff.mean_b,
            "cer_delta": diff.mean_diff,
            "cer_delta_low": diff.ci_low,
            "cer_delta_high": diff.ci_high,
        }
        kept = 1.0 - diff.mean_a
        if kept > 0:
            scale = 100.0 / kept
            out |= {
                "quality_loss_pct": diff.mean_diff * scale,
                "quality_loss_pct_low": None if diff.ci_low is None else diff.ci_low * scale,
                "quality_loss_pct_high": None if diff.ci_high is None else diff.ci_high * scale,
            }
    if pairs:
        ratio = paired.duration_ratio(ref_s, cand_s)
        out |= {
            "duration_ratio": ratio.ratio,
            "duration_ratio_low": ratio.ci_low,
            "duration_ratio_high": ratio.ci_high,
        }
    if distances:
        out |= {
            "log_mel_l1": _mean([d[0] for d in distances]),
            "mcd_db": _mean([d[1] for d in distances]),
            "dtw_penalty": _mean([d[2] for d in distances]),
        }
    return Fidelity(
        reference=sides.reference,
        candidate=sides.candidate,
        prompts=len(pairs),
        state=sides.state,
        reason=sides.reason,
        deterministic=sides.deterministic,
        spectral_reason=sides.spectral_reason,
        pairs=pairs,
        **out,
    )
