"""Does each measured trial's audio say its prompt? The ASR round trip of a run, after
its trials. Pure: no pytest; the ASR itself is :mod:`~pytest_ttsbench.measure.intelligibility`.

The fixture calls this after the runner returns and before the result is built, so
transcription never runs beside a timed trial. For each valid measured trial whose audio
the runner kept (``Measurement.clips``) it sets the trial metrics ``cer`` and ``wer``;
a trial whose CER is above :data:`~pytest_ttsbench.measure.intelligibility.MAX_CER`
gets a problem, which makes it an invalid trial (left out of the statistics, a failed
test), as silence or NaN are. Results of random weights are scored, never judged: their
output is noise by construction. What was done, and why not, is the result's
:class:`~pytest_ttsbench.results.details.Intelligibility`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from pytest_ttsbench.measure.intelligibility import MAX_CER, skip_reason
from pytest_ttsbench.results.details import (
    NOT_JUDGED,
    SCORED,
    SKIPPED,
    UNCHECKED,
    Heard,
    Intelligibility,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_ttsbench.measure.intelligibility import Score
    from pytest_ttsbench.results.measurement import Measurement
    from pytest_ttsbench.results.trial import Trial

# how much of a transcript a problem line quotes
HEARD_CHARS = 60
OFF = "--tts-intelligibility=off"
RANDOM_WEIGHTS_REASON = "random weights: scored, never judged (their output is noise)"
SUMMARY_PREFIX = "intelligibility"


class ScorerLike(Protocol):
    """What scoring needs of :class:`~pytest_ttsbench.measure.intelligibility.Scorer`."""

    info: dict[str, str]
    asr_seconds: float
    asr_cpu_seconds: float
    clips: int
    cache_hits: int

    def score(self, audio: Any, sample_rate: int, text: str) -> Score: ...


def unscored(mode: str, missing: str | None, language: str) -> Intelligibility | None:
    """Why a result is not scored, or None when it is: ``mode`` is
    --tts-intelligibility (auto, off, require), ``missing`` what
    :func:`~pytest_ttsbench.measure.intelligibility.missing` said."""
    if mode == "off":
        return Intelligibility(UNCHECKED, reason=OFF)
    if missing is not None:
        return Intelligibility(UNCHECKED, reason=missing)
    reason = skip_reason(language)
    if reason is not None:
        return Intelligibility(SKIPPED, reason=reason)
    return None


def _quoted(transcript: str) -> str:
    text = " ".join(transcript.split())
    if len(text) > HEARD_CHARS:
        text = text[: HEARD_CHARS - 3].rstrip() + "..."
    return f"'{text}'"


UNHEARD = "the audio does not say its prompt"


def heard_wrong_only(trial: Trial) -> bool:
    """A trial whose only problem is that its audio does not say its prompt: its CER is
    still the quality signal a comparison needs (fidelity), though the trial is invalid."""
    return trial.error is None and all(p.startswith(UNHEARD) for p in trial.problems)


def does_not_say(score: Score) -> str:
    """The problem of a trial whose audio does not say its prompt."""
    return f"{UNHEARD}: CER {score.cer:.2f} > {MAX_CER:g} (heard: {_quoted(score.transcript)})"


def score_run(
    run: Measurement,
    text: str,
    language: str,
    scorer: ScorerLike,
    *,
    random_weights: bool = False,
) -> Intelligibility:
    """Score every valid measured trial of ``run`` whose audio it kept against ``text``:
    sets the trials' ``cer`` and ``wer`` and, unless ``random_weights``, a problem on
    each that does not say its prompt. A language the ASR cannot score is skipped."""
    reason = skip_reason(language)
    if reason is not None:
        return Intelligibility(SKIPPED, reason=reason)
    before = (scorer.asr_seconds, scorer.asr_cpu_seconds, scorer.clips, scorer.cache_hits)
    heard: list[Heard] = []
    for trial in run.trials:
        clip = run.clips.get(trial.index)
        if trial.kind != "measured" or not trial.valid or clip is None:
            continue
        score = scorer.score(clip, trial.sample_rate, text)
        trial.metrics["cer"] = score.cer
        trial.metrics["wer"] = score.wer
        heard.append(Heard(trial.index, score.transcript))
        if not random_weights and not score.says_prompt():
            trial.problems.append(does_not_say(score))
    return Intelligibility(
        NOT_JUDGED if random_weights else SCORED,
        reason=RANDOM_WEIGHTS_REASON if random_weights else None,
        text=text,
        heard=heard,
        asr=dict(scorer.info),
        asr_s=scorer.asr_seconds - before[0],
        asr_cpu_s=scorer.asr_cpu_seconds - before[1],
        clips=scorer.clips - before[2],
        reused=scorer.cache_hits - before[3],
    )


def note(result: Intelligibility) -> str | None:
    """What a result tells of its own check: a skipped language (the session tells an
    unchecked run once, :func:`session_lines`)."""
    if result.state == SKIPPED:
        return f"{SUMMARY_PREFIX} not checked: {result.reason}"
    return None


def session_lines(checks: list[Intelligibility]) -> list[tuple[str, bool]]:
    """The session's lines on intelligibility, from its results' checks (they reach the
    xdist controller with the results), each with whether it warns: once, that it was
    not checked and how to enable it; the ASR's own cost over the session."""
    from pytest_ttsbench.measure.intelligibility import INSTALL_HINT, Scorer

    lines: list[tuple[str, bool]] = []
    unchecked = [c for c in checks if c.state == UNCHECKED]
    if unchecked:
        reason = unchecked[0].reason or f"not installed ({INSTALL_HINT})"
        hint = " (--tts-intelligibility=auto checks it)" if reason == OFF else ""
        text = (
            f"{SUMMARY_PREFIX} not checked for {len(unchecked)} result(s): {reason}{hint}; "
            "no trial was judged on whether its audio says its prompt"
        )
        lines.append((text, True))
    scored = [c for c in checks if c.checked]
    if scored:
        cost = cost_of(scored)
        total = Scorer(model=None)
        total.asr_seconds, total.asr_cpu_seconds = cost["asr_s"], cost["asr_cpu_s"]
        total.clips, total.cache_hits = cost["clips"], cost["reused"]
        lines.append((f"{SUMMARY_PREFIX}: {total.summary()}, after the trials", False))
    return lines


def cost_of(checks: Sequence[Intelligibility]) -> dict[str, Any]:
    """What the ASR cost over several checks, as Intelligibility's fields: the model it
    used, its wall and CPU seconds, clips transcribed and reused."""
    return {
        "asr": next((dict(c.asr) for c in checks if c.asr), {}),
        "asr_s": sum(c.asr_s for c in checks),
        "asr_cpu_s": sum(c.asr_cpu_s for c in checks),
        "clips": sum(c.clips for c in checks),
        "reused": sum(c.reused for c in checks),
    }
