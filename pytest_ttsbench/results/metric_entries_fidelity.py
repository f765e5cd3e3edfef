"""The fidelity metrics of the registry: one model's prompt set through a reference
configuration and the configuration under test (measure/comparison.py), read from the
result's typed ``fidelity`` detail and spliced at the end of
:data:`~pytest_ttsbench.results.metric_entries.ENTRIES`.

The metrics with an interval are judged from it: ``cer_delta <= 0.02`` passes only when
the whole 95% interval is at or under 0.02 (gates/judging.py). Pure data.
"""

from __future__ import annotations

from pytest_ttsbench.results.metric_types import Better, DocColumn, Metric, TerminalColumn

SOURCE = "fidelity"  # BenchResult's typed detail
SECTION = ("fidelity",)


def _entry(
    name: str,
    label: str,
    unit: str,
    better: Better,
    column: DocColumn,
    *,
    interval: bool = False,
    checked: bool = False,
    terminal: str = "",
) -> Metric:
    return Metric(
        name,
        label,
        unit,
        better,
        "detail",
        source=(SOURCE, name),
        interval=(f"{name}_low", f"{name}_high") if interval else None,
        columns=(column,),
        terminal=(TerminalColumn("", terminal, column.fmt, optional=True),) if terminal else (),
        junit=("",),
        extra_info=("",),
        checked_by=SOURCE if checked else "",
    )


FIDELITY: tuple[Metric, ...] = (
    _entry(
        "reference_cer",
        "the reference configuration's mean CER over the prompt set",
        "",
        "lower",
        DocColumn("reference_cer", "Reference CER", fmt="3", sections=SECTION),
        checked=True,
    ),
    _entry(
        "candidate_cer",
        "the configuration under test's mean CER over the prompt set",
        "",
        "lower",
        DocColumn("candidate_cer", "Candidate CER", fmt="3", sections=SECTION),
        checked=True,
    ),
    _entry(
        "cer_delta",
        "mean paired CER difference, configuration under test minus reference",
        "",
        "lower",
        DocColumn("cer_delta", "CER delta [95% CI]", fmt="3", sections=SECTION),
        interval=True,
        checked=True,
        terminal="CER delta",
    ),
    _entry(
        "quality_loss_pct",
        "share of the reference's intelligibility (1 - CER) lost: 100 x CER delta / "
        "(1 - reference CER)",
        "%",
        "lower",
        DocColumn("quality_loss", "Quality loss % [95% CI]", fmt="1", sections=SECTION),
        interval=True,
        checked=True,
    ),
    _entry(
        "duration_ratio",
        "geometric mean of the audio durations, under test over reference",
        "",
        "none",
        DocColumn("duration_ratio", "Duration ratio [95% CI]", fmt="3", sections=SECTION),
        interval=True,
    ),
    _entry(
        "log_mel_l1",
        "log-mel L1 distance to the reference audio, frame by frame (deterministic pairs)",
        "",
        "lower",
        DocColumn("log_mel_l1", "Log-mel L1", fmt="3", sections=SECTION),
    ),
    _entry(
        "mcd_db",
        "mel-cepstral distortion to the reference audio after DTW (deterministic pairs)",
        "dB",
        "lower",
        DocColumn("mcd_db", "MCD (dB)", fmt="2", sections=SECTION),
    ),
    _entry(
        "dtw_penalty",
        "how far DTW had to stretch to align with the reference (0: no stretching)",
        "",
        "lower",
        DocColumn("dtw_penalty", "DTW penalty", fmt="3", sections=SECTION),
    ),
)
