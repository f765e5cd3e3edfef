"""The optional chart: an SVG with matplotlib, nothing (and no error) without it."""

from __future__ import annotations

import builtins
import sys
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ttsbench.report import plot
from tests.unit.report_support import make_result, sample_results

if TYPE_CHECKING:
    from pathlib import Path


def test_without_matplotlib_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    assert plot.write_plot(sample_results(), tmp_path / "c.svg") is None
    assert not (tmp_path / "c.svg").exists()


def test_points_follow_the_headline_rows() -> None:
    points = plot.points_from_results(sample_results())
    assert [p.label for p in points] == [  # marvis ran the streaming suite: no headline
        "chatterbox · pt · NVIDIA H100 80GB HBM3",
        "kokoro · onnx · AMD EPYC 7763 (16 cores)",
        "kokoro (fp32) · onnx · AMD EPYC 7763 (16 cores)",
    ]
    assert points[1].ttfa_p50_ms == 105.0
    assert points[1].rtf_p50 == pytest.approx(0.21)


def test_svg_with_matplotlib(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = plot.write_plot(sample_results(), tmp_path / "c.svg")
    assert path == tmp_path / "c.svg"
    svg = path.read_text(encoding="utf-8")
    assert "<svg" in svg
    assert "chatterbox · pt · NVIDIA H100 80GB HBM3" in svg
    assert "lower is better" in svg


def test_nothing_to_plot_writes_nothing(tmp_path: Path) -> None:
    assert plot.write_plot([make_result(latencies_ms=[])], tmp_path / "c.svg") is None
    assert plot.write_plot([], tmp_path / "c.svg") is None
