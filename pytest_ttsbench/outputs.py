"""Session-end outputs (placeholder until report/ lands)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pytest_ttsbench.session import BenchSession


def write_all(session: BenchSession) -> None:
    return None


def terminal_summary(session: BenchSession, reporter: pytest.TerminalReporter) -> None:
    for r in session.results:
        reporter.write_line(f"{r.target['id']} {r.prompt} n={r.n} "
                            f"lat p50={r.metric('latency_ms.p50')} ttfa={r.metric('ttfa_ms.p50')}")
