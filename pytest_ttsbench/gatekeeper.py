"""Gates as part of each test's verdict: the pytest side of the pytest_ttsbench.gates package.

A broken bound fails the test with a table (metric, statistic, observed, bound, n,
95% CI, rule); a gate that cannot be judged (too few trials, not measured) makes the
test an explicit skip-like "inconclusive", listed in the summary, never a silent
pass. ``--tts-gates-mode=warn`` reports both and fails nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

# Imported where used: plugin.py builds the keeper, with the gate files loaded, once a
# run benchmarks (a bad file is a usage error before anything runs); judging,
# baselines and tables load with the first benchmark.
if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from pytest_ttsbench.gates.baseline import Baseline
    from pytest_ttsbench.gates.rules import GateSet, Rule
    from pytest_ttsbench.gates.samples import TrialCount
    from pytest_ttsbench.matrix.hardware import Hardware
    from pytest_ttsbench.results.model import BenchResult
    from pytest_ttsbench.results.target import Target
    from pytest_ttsbench.results.verdict import Verdict
    from pytest_ttsbench.settings import Settings

MARKER = "tts_gate"


class GateKeeper:
    def __init__(self, settings: Settings, gate_set: GateSet, baseline: Baseline | None) -> None:
        self.settings = settings
        self.gates = gate_set
        self.baseline = baseline

    @classmethod
    def from_settings(cls, settings: Settings, rootdir: Path) -> GateKeeper:
        """Load the gate file and baseline once; a bad file is a usage error (exit 4)."""
        from pytest_ttsbench.gates.files import load_gates
        from pytest_ttsbench.gates.rules import GateError, GateSet
        from pytest_ttsbench.settings import SettingsError

        if not settings.gates_enabled:
            return cls(settings, GateSet(), None)
        if settings.baseline is not None and settings.baseline.suffix.lower() == ".md":
            # The doc keeps medians, not trials: nothing to run a significance test on.
            raise SettingsError(
                f"--tts-baseline {settings.baseline}: a results doc holds medians only, "
                "which cannot be tested for a significant regression; pass the results "
                "JSON its rows came from (.ttsbench/results-*.json, or a CI artifact)"
            )
        try:
            gate_set = load_gates(
                settings.gates_path, rootdir / "pyproject.toml", use_defaults=True
            )
            baseline = None
            if settings.baseline is not None:
                from pytest_ttsbench.gates.baseline import load_baseline

                baseline = load_baseline(settings.baseline)
        except GateError as exc:
            raise SettingsError(str(exc)) from None
        return cls(settings, gate_set, baseline)

    def markers(self, node: pytest.Item) -> list[Rule]:
        from pytest_ttsbench.gates.rules import marker_rule

        if not self.settings.gates_enabled:
            return []
        return [marker_rule(m.args, m.kwargs, node.name) for m in node.iter_markers(MARKER)]

    def check_markers(self, items: list[pytest.Item]) -> None:
        """Every tts_gate marker is validated at collection, before any benchmark runs."""
        from pytest_ttsbench.gates.rules import GateError

        for item in items:
            try:
                self.markers(item)
            except GateError as exc:
                raise pytest.UsageError(f"pytest-ttsbench: {item.nodeid}: {exc}") from None

    def trials_needed(
        self, node: pytest.Item, result: BenchResult, requested: int, cap: int
    ) -> TrialCount:
        """The measured trials to run for ``result`` (its header); when the gates raise
        them above ``requested`` (what the user or the test asked for), the count's note
        says so and why, for the summary and the results JSON."""
        from pytest_ttsbench.gates.matching import GateContext
        from pytest_ttsbench.gates.samples import count_trials

        context = GateContext.from_result(result)
        return count_trials(self.gates, context, requested, cap, self.markers(node))

    def verdicts(self, node: pytest.Item, result: BenchResult) -> list[Verdict]:
        from pytest_ttsbench.gates.baseline import compare_baseline
        from pytest_ttsbench.gates.judging import evaluate

        found = evaluate(self.gates, result, self.markers(node))
        if self.baseline is not None:
            found += compare_baseline(result, self.baseline, self.settings.max_regression)
        return found

    def enforce(self, result: BenchResult, verdicts: list[Verdict]) -> None:
        """Fail or mark inconclusive, after the result has been recorded."""
        if not verdicts or self.settings.gates_mode == "warn":
            return
        where = f"{result.target.id} [{result.prompt}]"
        from pytest_ttsbench.gates.judging import should_fail
        from pytest_ttsbench.gates.table import format_table

        if should_fail(verdicts, self.settings.gates_mode):
            broken = sum(v.outcome == "fail" for v in verdicts)
            pytest.fail(
                f"{where}: {broken} gate(s) broken\n{format_table(verdicts)}", pytrace=False
            )
        undecided = [v for v in verdicts if v.outcome == "inconclusive" and not v.informational]
        if undecided:
            reasons = "; ".join(f"{v.name}: {v.reason}" for v in undecided)
            pytest.skip(f"gate inconclusive: {where}: {reasons}")

    def explain(
        self, targets: Sequence[Target], hardware: Hardware, items: Sequence[pytest.Item] = ()
    ) -> list[str]:
        """``--tts-explain-gates``: the bounds in force per target, one block per suite
        the collected ``items`` run it in (rules without ``suite`` skip the opt-in
        suites); without items, one block per target with the suite unknown."""
        from pytest_ttsbench.gates.matching import GateContext
        from pytest_ttsbench.gates.matching import explain as explain_gates

        sources = ", ".join(self.gates.sources) or "no gate file"
        lines = [f"gates from: {sources}"]
        suites: dict[Target, list[str | None]] = {}
        for item in items:
            target = item_target(item)
            if target is not None:
                found = suites.setdefault(target, [])
                name = item_suite(item)
                if name not in found:
                    found.append(name)
        for target in targets:
            label = hardware.label(target.device)
            for suite in suites.get(target) or [None]:  # None: not known, say so
                context = GateContext(
                    model=target.model,
                    backend=target.backend,
                    device=target.device,
                    variant=target.variant,
                    hardware=label,
                    suite=suite,
                )
                lines.extend(str(explain_gates(self.gates, context)).splitlines())
        return lines


def item_suite(item: pytest.Item) -> str:
    """The suite of a collected test, as its results name it (its module, no test_)."""
    from pytest_ttsbench.results.keys import suite_name

    module = getattr(item, "module", None)
    return suite_name(module.__name__ if module is not None else "")


def item_target(item: pytest.Item) -> Target | None:
    """The target a collected test runs on (its ``tts_target`` parameter); None for a
    test that is not parametrized over targets."""
    from pytest_ttsbench.results.target import Target

    callspec = getattr(item, "callspec", None)
    value = callspec.params.get("tts_target") if callspec is not None else None
    return value if isinstance(value, Target) else None
