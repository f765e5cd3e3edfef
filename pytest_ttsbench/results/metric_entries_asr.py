"""The intelligibility metrics of the registry: an ASR transcript of each measured
trial against its prompt (measure/scoring.py, measure/intelligibility.py), spliced into
:data:`~pytest_ttsbench.results.metric_entries.ENTRIES` after the audio metrics.

Pure data: no pytest, no numpy, nothing from the rest of the package.
"""

from __future__ import annotations

from pytest_ttsbench.results.metric_types import DocColumn, Metric, TerminalColumn

# the typed detail that says whether the check ran (BenchResult.intelligibility)
CHECKED_BY = "intelligibility"

INTELLIGIBILITY: tuple[Metric, ...] = (
    Metric(
        "cer",
        "character error rate of the ASR transcript against the prompt, both normalized",
        "",
        "lower",
        "series",
        columns=(
            DocColumn(
                "cer_p50",
                "CER p50",
                "p50",
                "3",
                aliases=("cer",),
                sections=("headline", "latency", "streaming", "sweeps", "quality"),
            ),
        ),
        terminal=(TerminalColumn("p50", "CER p50", "3"),),
        junit=("p50",),
        extra_info=("p50",),
        default_stat="p50",
        checked_by=CHECKED_BY,
    ),
    Metric(
        "wer",
        "word error rate of the ASR transcript against the prompt, both normalized",
        "",
        "lower",
        "series",
        columns=(
            DocColumn("wer_p50", "WER p50", "p50", "3", aliases=("wer",), sections=("quality",)),
        ),
        junit=("p50",),
        extra_info=("p50",),
        default_stat="p50",
        checked_by=CHECKED_BY,
    ),
)
