"""Gate files: TOML -> ``GateSet``, with every problem reported as file, line and what
is wrong (``GateFileError``). A gate file holds rules under ``[[gates]]`` in a file of
its own, or under ``[[tool.ttsbench.gates]]`` in pyproject.toml (docs/GATES.md has the
whole format)::

    [[gates]]
    model = "kokoro"                 # match keys: model backend device variant hardware
    backend = "onnx"                 #   suite test prompt; globs, case-insensitive;
    device = "cpu"                   #   a list means any of them; omitted: anything
    bounds = ["rtf.p50 <= 0.6", "ttfa_ms.p95 <= 1500", "lufs in [-20, -12]"]

``load_gates`` also brings in the shipped defaults (``DEFAULT_GATES_PATH``).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ttsbench.gates.bounds import Problem, parse_bound, suggest
from pytest_ttsbench.gates.rules import (
    INCONCLUSIVE,
    LAYER_DEFAULT,
    LAYER_USER,
    MATCH_KEYS,
    RULE_KEYS,
    GateError,
    GateSet,
    Rule,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

DEFAULT_GATES_PATH = Path(__file__).with_name("default_gates.toml")
_DEFAULT_SHOWN = "pytest_ttsbench/gates/default_gates.toml"  # short and the same on every machine


class GateFileError(GateError):
    """A gate or baseline file that cannot be used; the message names file and line."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        self.path, self.line, self.problem = path, line, problem
        where = f"{path}:{line}" if line else path
        super().__init__(f"{where}: {problem}")


def _bound_items(raw: object) -> list[tuple[str, str]]:
    """The ``bounds`` value -> [(expression, text to look for when finding its line)]."""
    if isinstance(raw, str):
        raw = [raw]
    if isinstance(raw, list):
        items = []
        for item in raw:
            if not isinstance(item, str):
                raise Problem(
                    f'bounds must be strings like "ttfa_ms.p95 <= 500", '
                    f"not {type(item).__name__} {item!r}"
                )
            items.append((item, item))
        return items
    if isinstance(raw, dict):
        return _table_items(raw, "")
    raise Problem(f"bounds must be a list of strings or a table, not {type(raw).__name__}")


def _table_items(table: Mapping[str, object], prefix: str) -> list[tuple[str, str]]:
    # A table may nest (``ttfa_ms.p95 = "<= 500"`` as a bare dotted key makes
    # {ttfa_ms: {p95: ...}}); flatten it back to dotted names.
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
            raise Problem(
                f"bound {name} = {value!r}: write the operator as a string, "
                f'e.g. {name} = "<= {value}", or a range [lo, hi]'
            )
    return items


def _globs(key: str, raw: object) -> tuple[str, ...]:
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise Problem(f"{key} is an empty list: leave the key out to match anything")
    for v in values:
        if not isinstance(v, str):
            raise Problem(
                f"{key} must be a string glob or a list of them, not {type(v).__name__} {v!r}"
            )
        if not v.strip():
            raise Problem(f"{key} is an empty string: leave the key out to match anything")
        # fnmatch reads an unclosed "[" as a literal, which is never what was meant
        if re.search(r"\[(?![^\]]*\])", v):
            raise Problem(
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


def display(path: Path) -> str:
    """A path as messages show it: relative to the working directory where it can be."""
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
    shown = shown or display(path)
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
                f"{suggest(key, ('gates', 'default_gates'))}; "
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
                f"unknown key {key!r} in a gate rule{suggest(key, RULE_KEYS)}; "
                f"allowed: {', '.join(RULE_KEYS)}",
                loc.find_key(key, lo, hi),
            )
    match: dict[str, tuple[str, ...]] = {}
    for key in MATCH_KEYS:
        if key in raw:
            try:
                match[key] = _globs(key, raw[key])
            except Problem as exc:
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
    except Problem as exc:
        raise fail(str(exc), bounds_line) from None
    if not items:
        raise fail("bounds is empty: a rule needs at least one bound", bounds_line)
    bounds = []
    cursor = bounds_line or lo  # bounds are written in order: look from the last one on
    for expr, needle in items:
        at = loc.find_text(needle, cursor, hi) or loc.find_text(needle, lo, hi) or cursor
        cursor = at
        try:
            bounds.append(parse_bound(expr, f"{shown}:{at}"))
        except Problem as exc:
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
        user = _parse_file(path, LAYER_USER)
        if user is None:
            raise GateFileError(
                display(path), None, "no [[tool.ttsbench.gates]] rules in this pyproject.toml"
            )
        source = path
    elif pyproject is not None and pyproject.is_file():
        user = _parse_file(pyproject, LAYER_USER, pyproject_style=True)
        source = pyproject if user is not None else None
    rules: list[Rule] = []
    sources: list[str] = []
    if use_defaults and (user is None or user[1] == "extend"):
        defaults = _parse_file(
            DEFAULT_GATES_PATH, LAYER_DEFAULT, pyproject_style=False, shown=_DEFAULT_SHOWN
        )
        if defaults is not None:  # pragma: no branch - the shipped file always has gates
            rules.extend(defaults[0])
            sources.append(_DEFAULT_SHOWN)
    if user is not None and source is not None:
        rules.extend(user[0])
        sources.append(display(source))
    return GateSet(tuple(rules), tuple(sources))
