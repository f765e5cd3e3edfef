"""Gates as part of each test's verdict: the pytest side of gates.py.

A broken bound fails the test with a table (metric, statistic, observed, bound, n,
95% CI, rule); a gate that cannot be judged (too few trials, not measured) makes the
test an explicit skip-like "inconclusive", listed in the summary, never a silent
pass. ``--tts-gates-mode=warn`` reports both and fails nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.gates import engine as gates
from pytest_ttsbench.settings import Settings, SettingsError

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_ttsbench.matrix.hardware import Hardware
    from pytest_ttsbench.results.model import BenchResult
    from pytest_ttsbench.results.target import Target
    from pytest_ttsbench.results.verdict import Verdict

MARKER = "tts_gate"


class GateKeeper:
    def __init__(
        self, settings: Settings, gate_set: gates.GateSet, baseline: gates.Baseline | None
    ) -> None:
        self.settings = settings
        self.gates = gate_set
        self.baseline = baseline

    @classmethod
    def from_settings(cls, settings: Settings, rootdir: Path) -> GateKeeper:
        """Load the gate file and baseline once; a bad file is a usage error (exit 4)."""
        if not settings.gates_enabled:
            return cls(settings, gates.GateSet(), None)
        if settings.baseline is not None and settings.baseline.suffix.lower() == ".md":
            # The doc keeps medians, not trials: nothing to run a significance test on.
            raise SettingsError(
                f"--tts-baseline {settings.baseline}: a results doc holds medians only, "
                "which cannot be tested for a significant regression; pass the results "
                "JSON its rows came from (.ttsbench/results-*.json, or a CI artifact)"
            )
        try:
            gate_set = gates.load_gates(
                settings.gates_path, rootdir / "pyproject.toml", use_defaults=True
            )
            baseline = (
                gates.load_baseline(settings.baseline) if settings.baseline is not None else None
            )
        except gates.GateError as exc:
            raise SettingsError(str(exc)) from None
        return cls(settings, gate_set, baseline)

    def markers(self, node: pytest.Item) -> list[gates.Rule]:
        if not self.settings.gates_enabled:
            return []
        return [gates.marker_rule(m.args, m.kwargs, node.name) for m in node.iter_markers(MARKER)]

    def check_markers(self, items: list[pytest.Item]) -> None:
        """Every tts_gate marker is validated at collection, before any benchmark runs."""
        for item in items:
            try:
                self.markers(item)
            except gates.GateError as exc:
                raise pytest.UsageError(f"pytest-ttsbench: {item.nodeid}: {exc}") from None

    def trials_needed(
        self, node: pytest.Item, result: BenchResult, requested: int, cap: int
    ) -> int:
        context = gates.GateContext.from_result(result)
        return gates.required_trials(self.gates, context, requested, cap, self.markers(node))

    def verdicts(self, node: pytest.Item, result: BenchResult) -> list[Verdict]:
        found = gates.evaluate(self.gates, result, self.markers(node))
        if self.baseline is not None:
            found += gates.compare_baseline(result, self.baseline, self.settings.max_regression)
        return found

    def enforce(self, result: BenchResult, verdicts: list[Verdict]) -> None:
        """Fail or mark inconclusive, after the result has been recorded."""
        if not verdicts or self.settings.gates_mode == "warn":
            return
        where = f"{result.target.id} [{result.prompt}]"
        if gates.should_fail(verdicts, self.settings.gates_mode):
            broken = sum(v.outcome == "fail" for v in verdicts)
            pytest.fail(
                f"{where}: {broken} gate(s) broken\n{gates.format_table(verdicts)}", pytrace=False
            )
        undecided = [v for v in verdicts if v.outcome == "inconclusive" and not v.informational]
        if undecided:
            reasons = "; ".join(f"{v.name}: {v.reason}" for v in undecided)
            pytest.skip(f"gate inconclusive: {where}: {reasons}")

    def explain(self, targets: list[Target], hardware: Hardware) -> list[str]:
        sources = ", ".join(self.gates.sources) or "no gate file"
        lines = [f"gates from: {sources}"]
        for target in targets:
            context = gates.GateContext(
                model=target.model,
                backend=target.backend,
                device=target.device,
                variant=target.variant,
                hardware=hardware.label(target.device),
            )
            lines.extend(str(gates.explain(self.gates, context)).splitlines())
        return lines
