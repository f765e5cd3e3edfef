"""Live progress of long benchmarks in the terminal: target, prompt, trial k of n and
the running p50, so a 100-second test is not a silent wait.

A benchmark prints nothing until it has run for ``QUIET_S``: short tests stay one dot.
Off under ``-q`` and on xdist workers (they have no terminal of their own).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pytest

    from pytest_ttsbench.measure.runners import Progress

QUIET_S = 5.0


class ProgressPrinter:
    def __init__(self, config: pytest.Config) -> None:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        worker = hasattr(config, "workerinput")
        self.reporter = None if worker or config.get_verbosity() < 0 else reporter
        self.started = time.monotonic()

    def __call__(self, progress: Progress) -> None:
        if self.reporter is None or time.monotonic() - self.started < QUIET_S:
            return
        self.reporter.ensure_newline()
        self.reporter.write_line(line(progress))


def line(p: Progress) -> str:
    latency = "failed" if p.latency_ms is None else f"{p.latency_ms:.0f} ms"
    p50 = "" if p.running_p50_ms is None else f", running p50 {p.running_p50_ms:.0f} ms"
    return f"  {p.target_id} [{p.prompt}]: {p.kind} trial {p.index + 1}/{p.planned}: {latency}{p50}"
