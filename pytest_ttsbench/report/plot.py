"""An SVG chart of TTFA p50 and RTF p50 per model, backend and hardware.

matplotlib is optional (extra ``plot``) and imported only when a chart is drawn. The
chart is drawn on a bare ``Figure`` (no pyplot), so no GUI backend is touched and a
user's own matplotlib state is left alone; the SVG is made reproducible (fixed hash
salt, no date) so an unchanged table gives an unchanged file in git.
"""

from __future__ import annotations

import importlib.util
import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ttsbench.report.atomic import atomic_write_bytes

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_ttsbench.results.model import BenchResult


@dataclass(frozen=True)
class PlotPoint:
    label: str  # "model · backend · hardware"
    ttfa_p50_ms: float | None
    rtf_p50: float | None


def plot_available() -> bool:
    return importlib.util.find_spec("matplotlib") is not None


def points_from_results(results: Sequence[BenchResult]) -> list[PlotPoint]:
    """One point per headline row, chosen as the results doc chooses them."""
    from pytest_ttsbench.report.sections import HEADLINE, entry_key, select
    from pytest_ttsbench.report.table import Entry
    from pytest_ttsbench.results.metrics import TTFA_MS

    chosen = select(Entry(r, "", "") for r in results).get(HEADLINE, [])
    return [
        PlotPoint(
            " · ".join(entry_key(HEADLINE, e)),
            e.result.metric(f"{TTFA_MS}.p50"),
            e.result.metric("rtf.p50"),
        )
        for e in chosen
    ]


def render_svg(points: Sequence[PlotPoint]) -> bytes | None:
    """The chart as SVG bytes; None without matplotlib or without any number to draw."""
    points = [p for p in points if p.ttfa_p50_ms is not None or p.rtf_p50 is not None]
    if not points:
        return None
    try:
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        return None

    def values(xs: Sequence[float | None]) -> list[float]:
        return [math.nan if x is None else x for x in xs]

    labels = [p.label for p in points]
    ys = list(range(len(points)))
    with matplotlib.rc_context({"svg.hashsalt": "pytest-ttsbench", "svg.fonttype": "none"}):
        fig = Figure(figsize=(11, 1.4 + 0.32 * len(points)), layout="constrained")
        ax_ttfa, ax_rtf = fig.subplots(1, 2, sharey=True)
        ax_ttfa.barh(ys, values([p.ttfa_p50_ms for p in points]), color="#4C72B0")
        ax_ttfa.set_xlabel("TTFA p50 (ms), lower is better")
        ax_rtf.barh(ys, values([p.rtf_p50 for p in points]), color="#DD8452")
        ax_rtf.axvline(1.0, color="#555555", linestyle="--", linewidth=1)  # real time
        ax_rtf.set_xlabel("RTF p50, lower is better (dashed: real time)")
        ax_ttfa.set_yticks(ys, labels)
        ax_ttfa.invert_yaxis()  # first key on top, as in the table
        for ax in (ax_ttfa, ax_rtf):
            ax.grid(axis="x", alpha=0.3)
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def write_plot_points(points: Sequence[PlotPoint], svg_path: Path) -> Path | None:
    data = render_svg(points)
    if data is None:
        return None
    return atomic_write_bytes(Path(svg_path), data)


def write_plot(results: Sequence[BenchResult], svg_path: Path) -> Path | None:
    """Write the chart of ``results``; None (and nothing written) without matplotlib."""
    return write_plot_points(points_from_results(results), svg_path)
