"""Which rules apply to a test: ``GateContext`` (what rules match on), glob matching,
the ranking of rules, and ``explain`` (the bounds in force for a context, which rules
they came from, which lost, and which cannot be decided yet).

For each ``metric.statistic`` the highest-ranked matching rule wins (see
``pytest_ttsbench.gates.rules``); the winning rule gives every bound it has on that
statistic (e.g. a low and a high). A file rule without ``suite`` does not match an
opt-in suite (``rules.OPT_IN_SUITES``: cold start, caching, ...); explain says so.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from pytest_ttsbench.gates.bounds import Bound, needed_n
from pytest_ttsbench.gates.rules import (
    LAYER_MARKER,
    OPT_IN_SUITES,
    PLAIN_SUITES,
    GateSet,
    Rule,
    opt_in,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_ttsbench.results.model import BenchResult


@dataclass(frozen=True)
class GateContext:
    """What rules match on. None: not known yet (explain at collection time)."""

    model: str | None = None
    backend: str | None = None
    device: str | None = None
    variant: str | None = None
    hardware: str | None = None
    suite: str | None = None
    test: str | None = None  # the node id
    prompt: str | None = None

    @classmethod
    def from_result(cls, result: BenchResult) -> GateContext:
        t = result.target
        return cls(
            model=t.model,
            backend=t.backend,
            device=t.device,
            variant=t.variant,
            hardware=result.hardware,
            suite=result.suite,
            test=result.test,
            prompt=result.prompt,
        )

    def label(self) -> str:
        parts = [p for p in (self.model, self.backend, self.device, self.variant) if p]
        extra = [
            f"{k}={getattr(self, k)}"
            for k in ("hardware", "suite", "test", "prompt")
            if getattr(self, k) is not None
        ]
        return " ".join(["-".join(parts) or "any target", *extra])


def node_names(node_id: str) -> list[str]:
    """A node id, its last part, and that part without the parameters: what a
    ``test`` glob may match."""
    name = node_id.rsplit("::", 1)[-1]
    return [node_id, name, name.split("[", 1)[0]]


def _matches(rule: Rule, ctx: GateContext) -> bool | None:
    """True, False, or None when it depends on a context value not known yet."""
    if ctx.suite is not None and not rule.judges_suite(ctx.suite):
        return False
    verdict: bool | None = True
    for key, globs in rule.match.items():
        value = getattr(ctx, key)
        if value is None:
            if "*" not in globs:  # "*" matches whatever the value turns out to be
                verdict = None
            continue
        candidates = node_names(value) if key == "test" else [value]
        if not any(fnmatchcase(c.lower(), g.lower()) for c in candidates for g in globs):
            return False
    return verdict


def _left_out_by_scope(rule: Rule, ctx: GateContext) -> bool:
    """A plain rule that an opt-in suite alone keeps from matching: explain names it."""
    if ctx.suite is None or not rule.plain or not opt_in(ctx.suite):
        return False
    return _matches(rule, dataclasses.replace(ctx, suite=None)) is not False


def _ranked(gates: GateSet, markers: Sequence[Rule]) -> list[Rule]:
    # markers come closest first (as item.iter_markers yields them): the first one wins
    marks = [
        dataclasses.replace(m, index=len(markers) - i, layer=LAYER_MARKER)
        for i, m in enumerate(markers)
    ]
    return sorted(
        [*gates.rules, *marks], key=lambda r: (r.layer, r.specificity, r.index), reverse=True
    )


@dataclass(frozen=True)
class Explanation:
    """Which rules and bounds apply to one context, and which lost or are undecided."""

    context: GateContext
    applied: tuple[tuple[Bound, Rule], ...]
    overridden: tuple[tuple[Bound, Rule], ...]
    undecided: tuple[Rule, ...]  # they depend on a context value not known yet
    # file rules without ``suite`` that would match but for an opt-in suite
    out_of_scope: tuple[Rule, ...] = ()

    def __str__(self) -> str:
        lines = [self.context.label()]
        if not self.applied:
            lines.append("  no gate applies")
        for bound, rule in self.applied:
            need = needed_n(bound)
            extra = f", needs n >= {need}" if need > 1 else ""
            lines.append(
                f"  {bound.text():32} from {bound.origin}"
                f"{f' [{rule.name}]' if rule.name else ''}{extra}"
            )
        for bound, rule in self.overridden:
            lines.append(f"  overridden: {bound.text()} from {rule.describe()}")
        for rule in self.undecided:
            unknown = [k for k in rule.match if getattr(self.context, k) is None]
            lines.append(f"  may apply once {', '.join(unknown)} is known: {rule.describe()}")
        lines.extend(self._scope_lines())
        return "\n".join(lines)

    def _scope_lines(self) -> list[str]:
        suite = self.context.suite
        if suite is not None and self.out_of_scope:
            origins = ", ".join(r.origin for r in self.out_of_scope)
            return [
                f"  suite {suite} is judged only by rules that name it "
                f'({OPT_IN_SUITES[suite.lower()]}): add suite = "{suite}" to judge it '
                f"with {origins}"
            ]
        if suite is None and any(rule.plain for _, rule in self.applied):
            return [
                f"  rules without suite = judge {', '.join(PLAIN_SUITES)} and your own tests; "
                f"{', '.join(OPT_IN_SUITES)} only where a rule names them"
            ]
        return []


def explain(gates: GateSet, context: GateContext, markers: Sequence[Rule] = ()) -> Explanation:
    """For ``--tts-explain-gates``: the bounds in force for ``context`` and where from."""
    applied: list[tuple[Bound, Rule]] = []
    overridden: list[tuple[Bound, Rule]] = []
    undecided: list[Rule] = []
    out_of_scope: list[Rule] = []
    taken: set[str] = set()
    for rule in _ranked(gates, markers):
        state = _matches(rule, context)
        if state is False and _left_out_by_scope(rule, context):
            out_of_scope.append(rule)
        if state is None:
            undecided.append(rule)
        if not state:
            continue
        # the winning rule gives every bound it has on a statistic (e.g. a low and a high)
        mine = {b.name for b in rule.bounds if b.name not in taken}
        for b in rule.bounds:
            (applied if b.name in mine else overridden).append((b, rule))
        taken |= mine
    return Explanation(
        context, tuple(applied), tuple(overridden), tuple(undecided), tuple(out_of_scope)
    )
