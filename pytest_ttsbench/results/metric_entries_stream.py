"""The streaming-quality metrics of the registry: what a player hears where a streamed
trial's chunks meet (measure/seams.py), spliced into
:data:`~pytest_ttsbench.results.metric_entries.ENTRIES` after the playback metrics.

Pure data: no pytest, no numpy, nothing from the rest of the package.
"""

from __future__ import annotations

from pytest_ttsbench.results.metric_types import DocColumn, Metric

STREAM_QUALITY: tuple[Metric, ...] = (
    Metric(
        "seams",
        "audible discontinuities at chunk boundaries (0 for one chunk)",
        "",
        "lower",
        "series",
        columns=(
            DocColumn(
                "seams_max", "Seams max", "max", "0", aliases=("seams",), sections=("streaming",)
            ),
        ),
        junit=("max",),
        extra_info=("max",),
        default_stat="max",
    ),
)
