"""What a gate rule is: match keys, bounds and rank (``Rule``), the rules in force
(``GateSet``), the outcomes a bound can have, and ``marker_rule``, which turns a
``@pytest.mark.tts_gate`` marker's arguments into a rule that outranks every file rule.

Rank: layers outrank specificity (markers > the user's file > the shipped defaults);
within a layer the rule giving more match keys wins, and a tie goes to the later rule.

Scope: a file rule without ``suite`` judges the latency and streaming suites and the
users' own tests; the other shipped suites (``OPT_IN_SUITES``) measure something else or
never reach the trials a percentile needs, so only a rule that names them judges them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pytest_ttsbench.gates.bounds import Bound, Problem, parse_bound

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
MATCH_KEYS = ("model", "backend", "device", "variant", "hardware", "suite", "test", "prompt")
RULE_KEYS = (*MATCH_KEYS, "name", "bounds", "missing")
LAYER_DEFAULT, LAYER_USER, LAYER_MARKER = 0, 1, 2

# Shipped suites a rule without ``suite`` judges: single-stream timings at the planned
# trial count, the number a plain ``rtf.p50 <= 0.6`` means.
PLAIN_SUITES = ("latency", "streaming")
# The other shipped suites, and why a plain rule would misjudge them. Only a rule whose
# ``suite`` names them (or ``suite = "*"``) judges them; a marker judges its own test.
OPT_IN_SUITES = {
    "concurrency": "6-8 requests timed under load, a number of its own, never planned",
    "cold_start": "2-3 fresh processes; first audio includes import and load",
    "caching": "4 repeats of one prompt against unique ones",
    "memory": "trials timed beside the RSS sampler; the leak check's are fixed",
    "soak": "hundreds of trials that drift by design, run only with -m soak",
    "quality": "audio checks on 3 trials",
    "sweeps": "swept knobs (speed) change the audio and the timing",
    "fidelity": "8 prompts through two configurations: timings pool different prompts",
}


class GateError(ValueError):
    """A gate that cannot be understood (a bad marker, a bad bound)."""


@dataclass(frozen=True)
class Rule:
    match: dict[str, tuple[str, ...]]  # match key -> globs (any of them)
    bounds: tuple[Bound, ...]
    origin: str  # "path:line" of the rule, or "marker on test_x"
    index: int = 0  # position in its file: a later rule wins a tie
    layer: int = LAYER_USER  # markers > user file > shipped defaults
    name: str | None = None
    missing: str = INCONCLUSIVE  # an unmeasured metric: "inconclusive" or "skip"

    @property
    def specificity(self) -> int:
        return len(self.match)

    @property
    def plain(self) -> bool:
        """A file rule without ``suite``: it leaves the opt-in suites alone."""
        return self.layer != LAYER_MARKER and "suite" not in self.match

    def judges_suite(self, suite: str) -> bool:
        """Whether this rule may judge a test of ``suite`` at all, its globs aside."""
        return not (self.plain and opt_in(suite))

    def describe(self) -> str:
        keys = ", ".join(f"{k}={'|'.join(v)}" for k, v in self.match.items()) or "any target"
        label = f" [{self.name}]" if self.name else ""
        return f"{self.origin}{label} ({keys})"


def opt_in(suite: str) -> bool:
    """A shipped suite that only rules naming it judge (see ``OPT_IN_SUITES``)."""
    return suite.lower() in OPT_IN_SUITES


@dataclass(frozen=True)
class GateSet:
    rules: tuple[Rule, ...] = ()
    sources: tuple[str, ...] = ()  # the files read, for headers and explain


def marker_rule(args: Sequence[object], kwargs: Mapping[str, object], where: str) -> Rule:
    """``@pytest.mark.tts_gate("ttfa_ms.p95 <= 300", ...)`` -> a Rule that outranks every
    file rule for the metric statistics it names. ``where`` is the test's name or node
    id; the rule's origin reads "marker on <where>". Raises GateError.
    """
    origin = f"marker on {where}"
    if kwargs:
        first = next(iter(kwargs))
        raise GateError(
            f"tts_gate {origin}: keyword arguments are not supported "
            f"(got {first}=...); pass bounds as strings: "
            f'@pytest.mark.tts_gate("ttfa_ms.p95 <= 300")'
        )
    exprs: list[object] = []
    for arg in args:
        exprs.extend(arg if isinstance(arg, list | tuple) else [arg])
    if not exprs:
        raise GateError(
            f'tts_gate {origin}: no bounds; e.g. @pytest.mark.tts_gate("ttfa_ms.p95 <= 300")'
        )
    bounds = []
    for expr in exprs:
        if not isinstance(expr, str):
            raise GateError(
                f"tts_gate {origin}: bounds are strings like "
                f'"ttfa_ms.p95 <= 300", not {type(expr).__name__} {expr!r}'
            )
        try:
            bounds.append(parse_bound(expr, origin))
        except Problem as exc:
            raise GateError(f"tts_gate {origin}: {exc}") from None
    return Rule({}, tuple(bounds), origin, 0, LAYER_MARKER)
