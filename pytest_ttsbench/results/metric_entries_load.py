"""The goodput metrics of the registry: requests of a load that met the SLO with valid
audio (the ``load`` detail), and the rate ladder's best rate and cliff (the
``rate_ladder`` detail); measure/goodput.py computes them. Spliced into
:data:`~pytest_ttsbench.results.metric_entries.ENTRIES` after the load metrics.

Pure data: no pytest, no numpy, nothing from the rest of the package.
"""

from __future__ import annotations

from pytest_ttsbench.results.metric_types import DocColumn, Metric

LOAD_EXTRA: tuple[Metric, ...] = (
    Metric(
        "goodput",
        "requests valid and within every --tts-slo bound, over all requests sent "
        "(errors and timeouts count as misses)",
        "",
        "higher",
        "detail",
        source=("load", "goodput"),
        columns=(
            DocColumn(
                "goodput", "Goodput", fmt="2", aliases=("goodput",), sections=("concurrency",)
            ),
        ),
        junit=("",),
        extra_info=("",),
        timing=True,
    ),
    Metric(
        "good_rate",
        "good requests per second of the load's wall time",
        "1/s",
        "higher",
        "detail",
        source=("load", "good_rate"),
        columns=(
            DocColumn(
                "good_rate",
                "Good req/s",
                fmt="2",
                aliases=("good rate",),
                sections=("concurrency",),
            ),
        ),
        junit=("",),
        timing=True,
    ),
    Metric(
        "max_good_rate",
        "rate ladder: the highest offered rate whose goodput reached the target",
        "1/s",
        "higher",
        "detail",
        source=("rate_ladder", "best_rate_hz"),
        columns=(
            DocColumn(
                "max_good_rate",
                "Max good rate (req/s)",
                fmt="2",
                aliases=("max good rate",),
                sections=("concurrency",),
            ),
        ),
        junit=("",),
        extra_info=("",),
        timing=True,
    ),
    Metric(
        "cliff",
        "rate ladder: 1 when goodput fell (or TTFA p95 jumped) between adjacent rungs",
        "",
        "lower",
        "detail",
        source=("rate_ladder", "cliff"),
        columns=(DocColumn("cliff", "Cliff", fmt="0", sections=("concurrency",)),),
        junit=("",),
    ),
)
