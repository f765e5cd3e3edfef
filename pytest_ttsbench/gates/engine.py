"""Gate files -> rules -> per-test verdicts. Pure: no pytest, no engines.

A gate file is TOML: rules under ``[[gates]]`` in a file of its own, or under
``[[tool.ttsbench.gates]]`` in pyproject.toml (docs/GATES.md has the whole format)::

    [[gates]]
    model = "kokoro"                 # match keys: model backend device variant hardware
    backend = "onnx"                 #   suite test prompt; globs, case-insensitive;
    device = "cpu"                   #   a list means any of them; omitted: anything
    bounds = ["rtf.p50 <= 0.6", "ttfa_ms.p95 <= 1500", "lufs in [-20, -12]"]

For each ``metric.statistic`` the most specific matching rule wins (the number of
match keys it gives; a tie goes to the later rule). Layers outrank specificity:
``@pytest.mark.tts_gate`` markers > the user's file > the shipped defaults.

Public API (the plugin's call sequence is in docs/GATES.md, "For plugin authors"):

- ``load_gates(path, pyproject, use_defaults) -> GateSet``; ``DEFAULT_GATES_PATH``
- ``marker_rule(args, kwargs, where) -> Rule``
- ``GateContext`` (what a rule matches on); ``GateContext.from_result(result)``
- ``explain(gates, context, markers=()) -> Explanation`` (``str()`` prints it)
- ``required_trials(gates, context, current_n, cap, markers=()) -> int``
- ``evaluate(gates, result, markers=()) -> list[Verdict]``
- ``load_baseline(path) -> Baseline``; ``compare_baseline(result, baseline,
  max_regression) -> list[Verdict]``
- ``format_table(verdicts) -> str``; ``should_fail(verdicts, mode) -> bool``
- ``Verdict.as_dict()`` / ``Verdict.from_dict()``: plain JSON, for results and xdist
- ``GateError`` (a bad marker) and its subclass ``GateFileError`` (file, line, problem)
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.results.files import load_results_file
from pytest_ttsbench.results.model import ALIASES, POOLED, SCALARS, SERIES, BenchResult
from pytest_ttsbench.results.stats import (
    CI_LEVEL,
    STATISTICS,
    compare,
    min_trials_for_percentile,
    quantile_lower_bound,
    quantile_upper_bound,
)
from pytest_ttsbench.results.verdict import Verdict, format_bound

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence

DEFAULT_GATES_PATH = Path(__file__).with_name("default_gates.toml")
_DEFAULT_SHOWN = "pytest_ttsbench/gates/default_gates.toml"  # short and the same on every machine

PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
MATCH_KEYS = ("model", "backend", "device", "variant", "hardware", "suite", "test", "prompt")
RULE_KEYS = (*MATCH_KEYS, "name", "bounds", "missing")
OPERATORS = ("<=", "<", ">=", ">", "==", "in")
BASELINE_METRICS = ("ttfa_ms", "latency_ms", "rtf")  # lower is better for all three

_LAYER_DEFAULT, _LAYER_USER, _LAYER_MARKER = 0, 1, 2
_PERCENTILE_STATS = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}
# The smallest n whose distribution-free median CI reaches CI_LEVEL: 1 - 2 * 0.5**n >= level.
_MIN_N_MEDIAN_CI = math.ceil(math.log2(2 / (1 - CI_LEVEL)))
_TIMING = {
    "ttfa_ms",
    "ttfa_audible_ms",
    "latency_ms",
    "rtf",
    "rtfx",
    "samples_per_s",
    "gap_max_ms",
    "chunk_gap_ms",
    "stalls",
    "stall_s",
    "min_prebuffer_ms",
    "load_s",
    "cold_ttfa_ms",
    "cold_latency_ms",
}


class GateError(ValueError):
    """A gate that cannot be understood (a bad marker, a bad bound)."""


class GateFileError(GateError):
    """A gate or baseline file that cannot be used; the message names file and line."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        self.path, self.line, self.problem = path, line, problem
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {problem}")


class _Problem(Exception):
    """Internal: a problem found while parsing, before the line is known."""


# ---- rules ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Bound:
    """One bound, e.g. ``ttfa_ms.p95 <= 500``, with the metric name resolved."""

    expr: str  # as the user wrote it
    name: str  # the flat name BenchResult.metric takes: "ttfa_ms.p95", "load_s", "stalls.max"
    metric: str  # series, pooled or scalar name
    statistic: str  # one of stats.STATISTICS; "" for a scalar
    op: str  # one of OPERATORS
    value: float  # the bound; the low end for "in"
    high: float | None  # the high end for "in"
    origin: str  # "path:line" or "marker on test_x"

    def text(self) -> str:
        if self.op == "in":
            return f"{self.name} in [{format_bound(self.value)}, {format_bound(self.high)}]"
        return f"{self.name} {self.op} {format_bound(self.value)}"

    def holds(self, x: float) -> bool:
        if self.op == "in":
            return self.value <= x <= (self.high if self.high is not None else math.inf)
        return {
            "<=": x <= self.value,
            "<": x < self.value,
            ">=": x >= self.value,
            ">": x > self.value,
            "==": x == self.value,
        }[self.op]


@dataclass(frozen=True)
class Rule:
    match: dict[str, tuple[str, ...]]  # match key -> globs (any of them)
    bounds: tuple[Bound, ...]
    origin: str  # "path:line" of the rule, or "marker on test_x"
    index: int = 0  # position in its file: a later rule wins a tie
    layer: int = _LAYER_USER  # markers > user file > shipped defaults
    name: str | None = None
    missing: str = INCONCLUSIVE  # an unmeasured metric: "inconclusive" or "skip"

    @property
    def specificity(self) -> int:
        return len(self.match)

    def describe(self) -> str:
        keys = ", ".join(f"{k}={'|'.join(v)}" for k, v in self.match.items()) or "any target"
        label = f" [{self.name}]" if self.name else ""
        return f"{self.origin}{label} ({keys})"


@dataclass(frozen=True)
class GateSet:
    rules: tuple[Rule, ...] = ()
    sources: tuple[str, ...] = ()  # the files read, for headers and explain


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


# ---- parsing -------------------------------------------------------------------------

_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_.]*)\s*")
_OP = re.compile(r"(in\b|[<>=!~]+)\s*")
_RANGE = re.compile(r"\[\s*([^,\]]+?)\s*,\s*([^,\]]+?)\s*\]\s*$")
_ALL_NAMES = (*SERIES, *POOLED, *SCALARS, *ALIASES)


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _resolve_metric(name: str) -> tuple[str, str, str]:
    """A user's metric name -> (metric, statistic, flat name for BenchResult.metric)."""
    flat = ALIASES.get(name, name)
    if flat in SCALARS:
        return flat, "", flat
    series, dot, stat = flat.partition(".")
    if series in SCALARS:
        raise _Problem(f"{series} is one number per result: write {series!r} without a statistic")
    if series not in SERIES and series not in POOLED:
        raise _Problem(
            f"unknown metric {name!r}{_suggest(name, _ALL_NAMES) or _suggest(series, _ALL_NAMES)}; "
            f"metrics: "
            f"{', '.join((*SERIES, *POOLED, *SCALARS))}"
        )
    if not dot:
        raise _Problem(
            f"{series} needs a statistic, e.g. {series}.p50 or {series}.p95 "
            f"(one of {', '.join(STATISTICS)})"
        )
    if stat not in STATISTICS:
        raise _Problem(
            f"unknown statistic {stat!r} of {series}{_suggest(stat, STATISTICS)}; "
            f"statistics: {', '.join(STATISTICS)}"
        )
    return series, stat, flat


def _number(text: str, metric: str) -> float:
    try:
        value = float(text)
    except ValueError:
        unit = _unit(metric)
        hint = f" (the unit comes from the name: {metric} is in {unit})" if unit else ""
        raise _Problem(f"bound {text!r} is not a number{hint}") from None
    if math.isnan(value):
        raise _Problem("a bound cannot be NaN")
    return value


def _parse_bound(expr: str, origin: str) -> Bound:
    """``"ttfa_ms.p95 <= 500"`` -> Bound. Raises _Problem with a readable message."""
    m = _NAME.match(expr)
    if not m:
        raise _Problem(
            f"cannot read bound {expr!r}: expected METRIC OPERATOR NUMBER, "
            f'e.g. "ttfa_ms.p95 <= 500"'
        )
    name = m.group(1)
    metric, stat, flat = _resolve_metric(name)
    rest = expr[m.end() :]
    op_m = _OP.match(rest)
    if not op_m:
        raise _Problem(
            f"bound {expr!r} has no operator after {name!r}; use <=, <, >=, >, == or in [lo, hi]"
        )
    op = op_m.group(1)
    if op not in OPERATORS:
        raise _Problem(f"bad operator {op!r} in {expr!r}; use <=, <, >=, >, == or in [lo, hi]")
    value_text = rest[op_m.end() :].strip()
    if not value_text:
        raise _Problem(f"bound {expr!r} has no value after {op!r}")
    if op == "in":
        r = _RANGE.match(value_text)
        if not r:
            raise _Problem(f"bound {expr!r}: 'in' needs a range like [-20, -12]")
        low, high = _number(r.group(1), metric), _number(r.group(2), metric)
        if low > high:
            raise _Problem(f"bound {expr!r}: the range's low end is above its high end")
        return Bound(expr, flat, metric, stat, op, low, high, origin)
    return Bound(expr, flat, metric, stat, op, _number(value_text, metric), None, origin)


def _bound_items(raw: object) -> list[tuple[str, str]]:
    """The ``bounds`` value -> [(expression, text to look for when finding its line)]."""
    if isinstance(raw, str):
        raw = [raw]
    if isinstance(raw, list):
        items = []
        for item in raw:
            if not isinstance(item, str):
                raise _Problem(
                    f'bounds must be strings like "ttfa_ms.p95 <= 500", '
                    f"not {type(item).__name__} {item!r}"
                )
            items.append((item, item))
        return items
    if isinstance(raw, dict):
        return _table_items(raw, "")
    raise _Problem(f"bounds must be a list of strings or a table, not {type(raw).__name__}")


def _table_items(table: Mapping[str, object], prefix: str) -> list[tuple[str, str]]:
    # A table may nest (``ttfa_ms.p95 = "<= 500"`` as a bare dotted key makes
    # {"ttfa_ms": {"p95": ...}}); flatten it back to dotted names.
    items: list[tuple[str, str]] = []
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            items.extend(_table_items(value, name))
        elif isinstance(value, str):
            items.append((f"{name} {value}", value))
        elif (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        ):
            items.append((f"{name} in [{value[0]}, {value[1]}]", key))
        else:
            raise _Problem(
                f"bound {name} = {value!r}: write the operator as a string, "
                f'e.g. {name} = "<= {value}", or a range [lo, hi]'
            )
    return items


def _globs(key: str, raw: object) -> tuple[str, ...]:
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise _Problem(f"{key} is an empty list: leave the key out to match anything")
    for v in values:
        if not isinstance(v, str):
            raise _Problem(
                f"{key} must be a string glob or a list of them, not {type(v).__name__} {v!r}"
            )
        if not v.strip():
            raise _Problem(f"{key} is an empty string: leave the key out to match anything")
        # fnmatch reads an unclosed "[" as a literal, which is never what was meant
        if re.search(r"\[(?![^\]]*\])", v):
            raise _Problem(
                f"bad glob {v!r} for {key}: unclosed '[' (write [[] for a literal bracket)"
            )
    return tuple(str(v) for v in values)


class _Locator:
    """Line numbers for a TOML text (tomllib gives none): a small scan for the
    ``[[gates]]`` headers, then for keys and bound strings inside each rule's span."""

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_\-.\"' ]+?)\s*\]\]?\s*(#.*)?$")

    def __init__(self, text: str, prefix: str, n_rules: int) -> None:
        self.lines = text.splitlines()
        self.spans: list[tuple[int, int]] = []
        start: int | None = None
        for no, line in enumerate(self.lines, 1):
            m = self._HEADER.match(line)
            if not m:
                continue
            key = re.sub(r"[\s\"']", "", m.group(2))
            if m.group(1) == "[[" and key == prefix:
                if start is not None:
                    self.spans.append((start, no - 1))
                start = no
            elif m.group(1) == "[" and key.startswith(prefix + "."):
                continue  # a sub-table of the current rule: [gates.bounds]
            elif start is not None:
                self.spans.append((start, no - 1))
                start = None
        if start is not None:
            self.spans.append((start, len(self.lines)))
        if len(self.spans) != n_rules:  # inline form, gates = [{...}]: one span, whole file
            first = self.find_key(prefix.rsplit(".", 1)[-1], 1, len(self.lines)) or 1
            self.spans = [(first, len(self.lines))] * n_rules

    def rule_line(self, index: int) -> int:
        return self.spans[index][0] if index < len(self.spans) else 1

    def find_key(self, key: str, lo: int, hi: int) -> int | None:
        pattern = re.compile(rf"(^|[\s{{,.])[\"']?{re.escape(key)}[\"']?\s*=")
        return self._find(pattern.search, lo, hi)

    def find_text(self, text: str, lo: int, hi: int) -> int | None:
        return self._find(lambda line: text in line, lo, hi)

    def _find(self, test: Callable[[str], object], lo: int, hi: int) -> int | None:
        for no in range(max(lo, 1), min(hi, len(self.lines)) + 1):
            if test(self.lines[no - 1]):
                return no
        return None


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _syntax_line(message: str, text: str) -> int | None:
    m = re.search(r"at line (\d+)", message)
    if m:
        return int(m.group(1))
    return max(len(text.splitlines()), 1) if "end of document" in message else None


def _read_toml(path: Path, shown: str) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GateFileError(shown, None, "gate file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GateFileError(shown, None, f"cannot read the gate file: {exc}") from None
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as exc:
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise GateFileError(
            shown, _syntax_line(str(exc), text), f"TOML syntax error: {message}"
        ) from None


def _parse_file(
    path: Path, layer: int, pyproject_style: bool | None = None, shown: str | None = None
) -> tuple[list[Rule], str] | None:
    """Rules and the ``default_gates`` mode of one file; None: a pyproject without gates."""
    shown = shown or _display(path)
    doc, text = _read_toml(path, shown)
    if pyproject_style is None:
        pyproject_style = path.name == "pyproject.toml" or ("tool" in doc and "gates" not in doc)
    if pyproject_style:
        table = doc.get("tool", {}).get("ttsbench")
        # no gates here, unless a misspelt key was meant for them: _parse_table says so
        if not isinstance(table, dict) or set(table) <= {"default_gates"}:
            return None
        prefix = "tool.ttsbench.gates"
    else:
        table, prefix = doc, "gates"
    return _parse_table(table, text, shown, prefix, layer)


def _parse_table(
    table: dict[str, Any], text: str, shown: str, prefix: str, layer: int
) -> tuple[list[Rule], str]:
    raw_rules = table.get("gates", [])
    loc = _Locator(text, prefix, len(raw_rules) if isinstance(raw_rules, list) else 0)
    top = prefix.rsplit(".", 1)[0] if "." in prefix else ""
    for key in table:
        if key not in ("gates", "default_gates"):
            line = loc.find_key(key, 1, len(loc.lines))
            where = f"[{top}]" if top else "the top level"
            raise GateFileError(
                shown,
                line,
                f"unknown key {key!r} in {where}"
                f"{_suggest(key, ('gates', 'default_gates'))}; "
                f"allowed: gates, default_gates",
            )
    mode = table.get("default_gates", "replace")
    if mode not in ("replace", "extend"):
        raise GateFileError(
            shown,
            loc.find_key("default_gates", 1, len(loc.lines)),
            f'default_gates must be "replace" or "extend", not {mode!r}',
        )
    if not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
        raise GateFileError(
            shown,
            loc.find_key("gates", 1, len(loc.lines))
            or loc.find_text(f"[{prefix}]", 1, len(loc.lines)),
            f"gates must be an array of tables: [[{prefix}]]",
        )
    return [_parse_rule(raw, i, loc, shown, layer) for i, raw in enumerate(raw_rules)], mode


def _parse_rule(raw: dict[str, Any], index: int, loc: _Locator, shown: str, layer: int) -> Rule:
    lo, hi = loc.spans[index]
    line = loc.rule_line(index)

    def fail(problem: str, at: int | None = None) -> GateFileError:
        return GateFileError(shown, at or line, problem)

    for key in raw:
        if key not in RULE_KEYS:
            raise fail(
                f"unknown key {key!r} in a gate rule{_suggest(key, RULE_KEYS)}; "
                f"allowed: {', '.join(RULE_KEYS)}",
                loc.find_key(key, lo, hi),
            )
    match: dict[str, tuple[str, ...]] = {}
    for key in MATCH_KEYS:
        if key in raw:
            try:
                match[key] = _globs(key, raw[key])
            except _Problem as exc:
                raise fail(str(exc), loc.find_key(key, lo, hi)) from None
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise fail(
            f"name must be a string, not {type(name).__name__}", loc.find_key("name", lo, hi)
        )
    missing = raw.get("missing", INCONCLUSIVE)
    if missing not in (INCONCLUSIVE, "skip"):
        raise fail(
            f'missing must be "inconclusive" or "skip", not {missing!r}',
            loc.find_key("missing", lo, hi),
        )
    bounds_line = loc.find_key("bounds", lo, hi)
    if "bounds" not in raw:
        raise fail('a gate rule needs bounds, e.g. bounds = ["rtf.p50 <= 0.6"]')
    try:
        items = _bound_items(raw["bounds"])
    except _Problem as exc:
        raise fail(str(exc), bounds_line) from None
    if not items:
        raise fail("bounds is empty: a rule needs at least one bound", bounds_line)
    bounds = []
    cursor = bounds_line or lo  # bounds are written in order: look from the last one on
    for expr, needle in items:
        at = loc.find_text(needle, cursor, hi) or loc.find_text(needle, lo, hi) or cursor
        cursor = at
        try:
            bounds.append(_parse_bound(expr, f"{shown}:{at}"))
        except _Problem as exc:
            raise fail(str(exc), at) from None
    return Rule(match, tuple(bounds), f"{shown}:{line}", index, layer, name, str(missing))


def load_gates(path: Path | None, pyproject: Path | None, use_defaults: bool) -> GateSet:
    """The gates in force: ``path`` if given (a gate file, or a pyproject.toml);
    else ``[tool.ttsbench]`` of ``pyproject`` if it has gates; else nothing. The
    shipped defaults (``DEFAULT_GATES_PATH``) apply when ``use_defaults`` and no user
    file was found, or under the user's rules when the file says
    ``default_gates = "extend"``. Raises GateFileError for anything malformed.
    """
    user: tuple[list[Rule], str] | None = None
    source: Path | None = None
    if path is not None:
        user = _parse_file(path, _LAYER_USER)
        if user is None:
            raise GateFileError(
                _display(path), None, "no [[tool.ttsbench.gates]] rules in this pyproject.toml"
            )
        source = path
    elif pyproject is not None and pyproject.is_file():
        user = _parse_file(pyproject, _LAYER_USER, pyproject_style=True)
        source = pyproject if user is not None else None
    rules: list[Rule] = []
    sources: list[str] = []
    if use_defaults and (user is None or user[1] == "extend"):
        defaults = _parse_file(
            DEFAULT_GATES_PATH, _LAYER_DEFAULT, pyproject_style=False, shown=_DEFAULT_SHOWN
        )
        if defaults is not None:  # pragma: no branch - the shipped file always has gates
            rules.extend(defaults[0])
            sources.append(_DEFAULT_SHOWN)
    if user is not None and source is not None:
        rules.extend(user[0])
        sources.append(_display(source))
    return GateSet(tuple(rules), tuple(sources))


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
            bounds.append(_parse_bound(expr, origin))
        except _Problem as exc:
            raise GateError(f"tts_gate {origin}: {exc}") from None
    return Rule({}, tuple(bounds), origin, 0, _LAYER_MARKER)


# ---- matching ------------------------------------------------------------------------


def _test_names(node_id: str) -> list[str]:
    name = node_id.rsplit("::", 1)[-1]
    return [node_id, name, name.split("[", 1)[0]]


def _matches(rule: Rule, ctx: GateContext) -> bool | None:
    """True, False, or None when it depends on a context value not known yet."""
    verdict: bool | None = True
    for key, globs in rule.match.items():
        value = getattr(ctx, key)
        if value is None:
            verdict = None
            continue
        candidates = _test_names(value) if key == "test" else [value]
        if not any(fnmatchcase(c.lower(), g.lower()) for c in candidates for g in globs):
            return False
    return verdict


def _ranked(gates: GateSet, markers: Sequence[Rule]) -> list[Rule]:
    # markers come closest first (as item.iter_markers yields them): the first one wins
    marks = [
        dataclasses.replace(m, index=len(markers) - i, layer=_LAYER_MARKER)
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

    def __str__(self) -> str:
        lines = [self.context.label()]
        if not self.applied:
            lines.append("  no gate applies")
        for bound, rule in self.applied:
            need = _needed_n(bound)
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
        return "\n".join(lines)


def explain(gates: GateSet, context: GateContext, markers: Sequence[Rule] = ()) -> Explanation:
    """For ``--tts-explain-gates``: the bounds in force for ``context`` and where from."""
    applied: list[tuple[Bound, Rule]] = []
    overridden: list[tuple[Bound, Rule]] = []
    undecided: list[Rule] = []
    taken: set[str] = set()
    for rule in _ranked(gates, markers):
        state = _matches(rule, context)
        if state is None:
            undecided.append(rule)
        if not state:
            continue
        # the winning rule gives every bound it has on a statistic (e.g. a low and a high)
        mine = {b.name for b in rule.bounds if b.name not in taken}
        for b in rule.bounds:
            (applied if b.name in mine else overridden).append((b, rule))
        taken |= mine
    return Explanation(context, tuple(applied), tuple(overridden), tuple(undecided))


def _needed_n(bound: Bound) -> int:
    """The fewest values a bound's statistic needs before it means what it says."""
    if bound.statistic in _PERCENTILE_STATS:
        return min_trials_for_percentile(_PERCENTILE_STATS[bound.statistic])
    if bound.statistic in ("ci_low", "ci_high"):
        return _MIN_N_MEDIAN_CI
    if bound.statistic == "stdev":
        return 2
    return 1


def required_trials(
    gates: GateSet, context: GateContext, current_n: int, cap: int, markers: Sequence[Rule] = ()
) -> int:
    """How many measured trials to run so that every percentile gate can be judged:
    at least ``current_n``, raised up to ``cap`` (never lowered). Pooled metrics
    (chunk_gap_ms) count gaps, not trials, and do not raise it.
    """
    need = current_n
    for bound, _ in explain(gates, context, markers).applied:
        if bound.metric in SERIES:
            need = max(need, _needed_n(bound))
    return max(current_n, min(need, cap))


# ---- verdicts ------------------------------------------------------------------------


def _fmt(x: float | None) -> str:
    """An observed value, to about four significant digits, without exponents."""
    if x is None:
        return "-"
    if not math.isfinite(x):
        return str(x)
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    a = abs(x)
    if a >= 1000:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def _unit(metric: str) -> str:
    for suffix, unit in (
        ("_ms", "ms"),
        ("_s", "s"),
        ("_mb", "MB"),
        ("lufs", "LUFS"),
        ("_dbtp", "dBTP"),
        ("_dbfs", "dBFS"),
    ):
        if metric.endswith(suffix):
            return unit
    return ""


def _with_unit(x: float | None, metric: str) -> str:
    unit = _unit(metric)
    return f"{_fmt(x)} {unit}" if unit else _fmt(x)


def _statistic_ci(bound: Bound, result: BenchResult) -> tuple[float | None, float | None]:
    """A 95% CI of the statistic a bound gates: the median's from the Summary, a
    distribution-free order-statistic interval for p90..p99, none for the others."""
    summary = result.summaries.get(bound.metric)
    if summary is None:
        return None, None
    if bound.statistic == "p50":
        return summary.ci_low, summary.ci_high
    if bound.statistic in ("p90", "p95", "p99"):
        values = result.series(bound.metric)
        if not values:  # trials stripped from the JSON: no interval without them
            return None, None
        q, side = _PERCENTILE_STATS[bound.statistic], 1 - (1 - CI_LEVEL) / 2
        return (quantile_lower_bound(values, q, side), quantile_upper_bound(values, q, side))
    return None, None


def _noise_note(
    bound: Bound, observed: float, ci: tuple[float | None, float | None], cv: float | None
) -> str | None:
    if bound.op == "==":
        return None
    low, high = ci
    for edge in (bound.value, bound.high):
        if edge is None:
            continue
        if low is not None and high is not None and low <= edge <= high:
            return (
                f"within noise: the bound {format_bound(edge)} lies inside the 95% CI "
                f"[{_fmt(low)}, {_fmt(high)}] of {bound.name}; a rerun may flip it"
            )
        if cv is not None and abs(edge - observed) < cv * abs(observed):
            return (
                f"within noise: {bound.name} is {_fmt(abs(edge - observed))} from the "
                f"bound {format_bound(edge)}, less than one CV ({cv:.1%}) of the observed value"
            )
    return None


def _unmeasured_reason(bound: Bound, result: BenchResult) -> str:
    if bound.metric in SCALARS:
        return (
            f"{bound.metric} was not measured (not exposed for this target, or not "
            f"recorded by this test)"
        )
    summary = result.summaries.get(bound.metric)
    if summary is None:
        if result.n == 0:
            return f"{bound.name}: no valid measured trials"
        return f"{bound.metric} was not measured by this test (no values)"
    return f"{bound.name} is undefined with n={summary.n}"


def _judge(bound: Bound, rule: Rule, result: BenchResult) -> Verdict | None:
    observed = result.metric(bound.name)
    summary = result.summaries.get(bound.metric)
    if bound.metric in SCALARS:
        n: int | None = None if observed is None else 1
    else:
        n = summary.n if summary is not None else 0

    def verdict(
        outcome: str,
        reason: str,
        ci: tuple[float | None, float | None] = (None, None),
        note: str | None = None,
    ) -> Verdict:
        return Verdict(
            bound.metric,
            bound.statistic,
            bound.op,
            bound.value,
            observed,
            n,
            outcome,
            bound.origin,
            reason,
            bound_high=bound.high,
            ci_low=ci[0],
            ci_high=ci[1],
            note=note,
        )

    if observed is None:
        if rule.missing == "skip":
            return None
        return verdict(INCONCLUSIVE, _unmeasured_reason(bound, result))
    count = n or 0
    need = _needed_n(bound)
    if count < need:
        if bound.metric in POOLED:
            reason = (
                f"{bound.statistic} needs at least {need} values, got {count} "
                f"{bound.metric} values; run more or longer trials"
            )
        elif bound.statistic in _PERCENTILE_STATS:
            reason = (
                f"{bound.statistic} needs at least {need} trials, got {count}; raise "
                f"--tts-trials or --tts-max-trials"
            )
        else:
            reason = (
                f"{bound.statistic} needs at least {need} trials for a "
                f"{CI_LEVEL:.0%} claim, got {count}; raise --tts-trials"
            )
        return verdict(INCONCLUSIVE, reason)
    ci = _statistic_ci(bound, result)
    ok = bound.holds(observed)
    shown = f"{bound.name} = {_with_unit(observed, bound.metric)}"
    if ok:
        reason = f"{shown}, within {bound.op} {_bound_range(bound)}"
    elif bound.op == "in":
        reason = f"{shown}, outside [{format_bound(bound.value)}, {format_bound(bound.high)}]"
    else:
        over = observed - bound.value
        pct = f" ({over / abs(bound.value):+.1%})" if bound.value else ""
        reason = f"{shown}, breaks {bound.op} {format_bound(bound.value)} by {_fmt(abs(over))}{pct}"
    notes = [_noise_note(bound, observed, ci, summary.cv if summary else None)]
    if result.xdist_workers > 0 and bound.metric in _TIMING:
        notes.append(f"timed beside {result.xdist_workers} xdist workers: contended")
    note = "; ".join(x for x in notes if x) or None
    return verdict(PASS if ok else FAIL, f"{reason} (n={count})", ci, note)


def _bound_range(bound: Bound) -> str:
    return (
        f"[{format_bound(bound.value)}, {format_bound(bound.high)}]"
        if bound.op == "in"
        else format_bound(bound.value)
    )


def evaluate(gates: GateSet, result: BenchResult, markers: Sequence[Rule] = ()) -> list[Verdict]:
    """Judge every bound in force for ``result`` (whose summaries must be computed).
    Bounds on unmeasured metrics are inconclusive, or left out where the rule says
    ``missing = "skip"``.
    """
    applied = explain(gates, GateContext.from_result(result), markers).applied
    verdicts = (_judge(bound, rule, result) for bound, rule in applied)
    return [v for v in verdicts if v is not None]


def should_fail(verdicts: Iterable[Verdict], mode: str) -> bool:
    """Whether the test fails: in "fail" mode when any judged verdict failed. An
    inconclusive verdict never fails a test; the plugin reports it (never silently)."""
    if mode not in ("fail", "warn"):
        raise ValueError(f"gate mode {mode!r} is not 'fail' or 'warn'")
    return mode == "fail" and any(v.outcome == FAIL and not v.informational for v in verdicts)


def format_table(verdicts: Sequence[Verdict]) -> str:
    """A fixed-width table (the failure message of a test) plus one line per reason
    or note worth reading: failures, inconclusive verdicts, noise and baseline notes."""
    if not verdicts:
        return "no gates apply"
    header = ("verdict", "metric", "statistic", "observed", "bound", "n", "95% CI", "rule")
    rows = [header]
    for v in verdicts:
        ci = (
            "-"
            if v.ci_low is None and v.ci_high is None
            else (f"[{_fmt(v.ci_low)}, {_fmt(v.ci_high)}]")
        )
        label = "info" if v.informational else ("FAIL" if v.outcome == FAIL else v.outcome)
        rows.append(
            (
                label,
                v.metric,
                v.statistic or "-",
                _fmt(v.observed),
                v.bound_text(),
                "-" if v.n is None else str(v.n),
                ci,
                v.origin,
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    for v in verdicts:
        if v.outcome != PASS or v.informational:
            lines.append(f"- {v.name}: {v.outcome if not v.informational else 'info'}: {v.reason}")
        if v.note:
            lines.append(f"- {v.name}: {v.note}")
    return "\n".join(lines)


# ---- baselines -----------------------------------------------------------------------


def _base_name(node_id: str) -> str:
    return _test_names(node_id)[2]


@dataclass(frozen=True)
class Baseline:
    path: str
    results: tuple[BenchResult, ...] = field(default_factory=tuple)

    def find(self, result: BenchResult) -> BenchResult | None:
        """The baseline for ``result``: same model, backend, hardware and prompt (and
        swept params), then the same test id, else the same suite and test function,
        else a baseline entry that recorded no test at all. The last entry wins."""
        same = [r for r in self.results if r.key == result.key and r.params == result.params]
        name = (result.suite, _base_name(result.test))
        for hits in (
            [r for r in same if r.test == result.test],
            [r for r in same if (r.suite, _base_name(r.test)) == name],
            [r for r in same if not r.test],
        ):
            if hits:
                return hits[-1]
        return None


def load_baseline(path: Path) -> Baseline:
    """An earlier results JSON file, read by the results-file reader (one reader for one
    format). Raises GateFileError naming the file, and the line for JSON syntax errors."""
    shown = _display(path)
    try:
        loaded = load_results_file(path)
    except FileNotFoundError:
        raise GateFileError(shown, None, "baseline file not found") from None
    except OSError as exc:
        raise GateFileError(shown, None, f"cannot read the baseline: {exc}") from None
    except ValueError as exc:  # ResultsFileError, or anything a malformed entry raised
        cause = exc.__cause__
        line = cause.lineno if isinstance(cause, json.JSONDecodeError) else None
        problem = str(exc).removeprefix(f"{path}: ")
        raise GateFileError(shown, line, f"not a usable baseline: {problem}") from None
    return Baseline(shown, tuple(loaded.results))


def compare_baseline(
    result: BenchResult, baseline: Baseline, max_regression: float
) -> list[Verdict]:
    """Regression verdicts on the medians of ttfa_ms, latency_ms and rtf. A metric
    fails only when its median got worse by more than ``max_regression`` (0.10 = 10%)
    AND a two-sided Mann-Whitney U test says p < 0.05. Without a baseline for this
    key the answer is one informational "pass" verdict, so the test is not affected.
    """
    if not max_regression >= 0:
        raise ValueError(f"max_regression must be >= 0, got {max_regression}")
    origin = f"baseline {baseline.path}"
    match = baseline.find(result)
    if match is None:
        model, backend, hardware, prompt = result.key
        return [
            Verdict(
                "baseline",
                "",
                "",
                0.0,
                None,
                None,
                PASS,
                origin,
                f"no baseline for this key ({model}, {backend}, {hardware}, "
                f"{prompt}) in {baseline.path}",
                informational=True,
            )
        ]
    verdicts = []
    for metric in BASELINE_METRICS:
        current = result.series(metric)
        if not current:
            continue  # unmeasured now: the file gates already say so
        verdicts.append(_regression(metric, current, result, match, max_regression, origin))
    return verdicts


def _regression(
    metric: str,
    current: list[float],
    result: BenchResult,
    match: BenchResult,
    max_regression: float,
    origin: str,
) -> Verdict:
    summary = result.summaries.get(metric)
    ci = (summary.ci_low, summary.ci_high) if summary else (None, None)
    base_values = match.series(metric)
    if not base_values:
        base_summary = match.summaries.get(metric)
        base_median = base_summary.p50 if base_summary else None
        why = (
            "has no per-trial samples (trials stripped), so no significance test"
            if base_summary
            else f"has no {metric}"
        )
        cmp_median = summary.p50 if summary else None
        return Verdict(
            metric,
            "p50",
            "<=",
            (base_median or 0.0) * (1 + max_regression),
            cmp_median,
            len(current),
            PASS,
            origin,
            f"the baseline {why}",
            ci_low=ci[0],
            ci_high=ci[1],
            informational=True,
            baseline=base_median,
        )
    cmp = compare(base_values, current)
    limit = cmp.baseline_median * (1 + max_regression)
    change = f"{cmp.change:+.1%}" if math.isfinite(cmp.ratio) else "+inf%"
    p_text = "untestable (< 2 values a side)" if cmp.p_value is None else f"{cmp.p_value:.3g}"
    shown = (
        f"{metric}.p50 {_with_unit(cmp.current_median, metric)} vs baseline "
        f"{_with_unit(cmp.baseline_median, metric)} ({change}, limit "
        f"+{max_regression:.0%}; Mann-Whitney p = {p_text}, n = {len(current)} vs "
        f"{len(base_values)})"
    )
    worse = cmp.ratio > 1 + max_regression
    note = None
    if worse and cmp.significant:
        outcome, reason = FAIL, f"regression: {shown}"
    elif worse:
        outcome, reason = PASS, shown
        note = f"slower by {change} but not significant at p < 0.05"
    else:
        outcome, reason = PASS, shown
        if cmp.ratio < 1 and cmp.significant:
            note = f"improved: {change} against the baseline, significant"
    return Verdict(
        metric,
        "p50",
        "<=",
        limit,
        cmp.current_median,
        len(current),
        outcome,
        origin,
        reason,
        ci_low=ci[0],
        ci_high=ci[1],
        note=note,
        baseline=cmp.baseline_median,
        p_value=cmp.p_value,
    )
