"""The options, resolved once into a frozen Settings: the parsers of each option kind,
the Settings fields and :func:`resolve`.

The options themselves are declared once, in options.py: the Settings field defaults
are the spec defaults parsed like any other value, and :func:`resolve` fills Settings
by walking the specs.

Precedence is CLI > environment > ini > default. This module imports no pytest:
plugin.py turns each OptionSpec into an ``addoption`` and an ``addini`` and hands the
raw values to :func:`resolve`, which raises :class:`SettingsError` (shown to the
user as a pytest usage error, exit code 4) for anything it cannot accept.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pytest_ttsbench.flag_words import parse_flag
from pytest_ttsbench.options import OPTIONS, OPTIONS_BY_ATTR, PAIR_KINDS, OptionSpec

if TYPE_CHECKING:
    from collections.abc import Mapping


class SettingsError(ValueError):
    """A value the plugin cannot accept; the message names the option and the fix."""


def default(attr: str) -> Any:
    """An option's default, parsed as Settings holds it ("5%" is 0.05), for code that
    runs without Settings (runners' specs, the merge command): declared once, in
    OPTIONS."""
    spec = OPTIONS_BY_ATTR[attr]
    return _convert(spec, spec.default, spec.flag, base=None, cwd=None)


def _names(raw: object, where: str, all_is_value: bool = False) -> tuple[str, ...] | None:
    items: list[str] = []
    values = raw if isinstance(raw, list | tuple) else [raw]
    for value in values:
        items.extend(part.strip().lower() for part in str(value).split(",") if part.strip())
    if not items:
        raise SettingsError(f"{where}: empty list")
    if "all" in items:
        return ("all",) if all_is_value else None
    return tuple(dict.fromkeys(items))  # keep order, drop repeats


def _number(raw: object, where: str, kind: type[int] | type[float]) -> float:
    try:
        value = kind(str(raw).strip())
    except ValueError:
        raise SettingsError(f"{where}: {raw!r} is not a {kind.__name__}") from None
    if not math.isfinite(value) or value < 0:
        raise SettingsError(f"{where}: {raw!r} must be a non-negative number")
    return value


def _percent(raw: object, where: str) -> float:
    text = str(raw).strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%?)", text)
    if not match:
        raise SettingsError(f"{where}: {raw!r} is not a percentage such as 10% or 0.1")
    value = float(match.group(1))
    return value / 100 if match.group(2) or value > 1 else value


def _flag(raw: object, where: str) -> bool:
    value = parse_flag(raw)
    if value is None:
        raise SettingsError(f"{where}: {raw!r} is not true or false")
    return value


def _pairs(raw: object, where: str) -> dict[str, str]:
    values = raw if isinstance(raw, list | tuple) else [raw]
    out: dict[str, str] = {}
    for value in values:
        for part in re.split(r"[;\n]", str(value)):
            part = part.strip()
            if not part:
                continue
            key, sep, val = part.partition("=")
            if not sep or not key.strip() or not val.strip():
                raise SettingsError(f"{where}: {part!r} is not KEY=VALUE")
            out[key.strip().lower()] = val.strip()
    return out


def _bound(key: str, text: str, spec: OptionSpec, where: str) -> float:
    """One KEY=NUMBER value: a key among the spec's choices, a positive number."""
    if spec.choices and key not in spec.choices:
        raise SettingsError(f"{where}: {key!r} is not one of {', '.join(spec.choices)}")
    value = _number(text, f"{where} {key}", float)
    if value <= 0:
        raise SettingsError(f"{where}: {key}={text!r} must be above 0")
    return value


def _path(raw: object, base: Path | None) -> Path:
    path = Path(str(raw)).expanduser()
    return path if path.is_absolute() or base is None else base / path


def _convert(spec: OptionSpec, raw: object, where: str, base: Path | None, cwd: Path | None) -> Any:
    """Parse one raw value by its spec's kind; ``base`` anchors relative paths (None:
    leave them relative, as in the Settings defaults), ``cwd`` anchors --tts-weights."""
    kind = spec.kind
    if raw is None:
        value: Any = {} if kind in PAIR_KINDS else None
    elif kind == "names":
        value = _names(raw, where, spec.all_is_value)
    elif kind == "int":
        value = int(_number(raw, where, int))
    elif kind == "float":
        value = _number(raw, where, float)
    elif kind == "percent":
        value = _percent(raw, where)
    elif kind == "flag":
        value = _flag(raw, where)
    elif kind == "choice":
        value = str(raw).strip().lower()
        if value not in spec.choices:
            raise SettingsError(f"{where}: {raw!r} is not one of {', '.join(spec.choices)}")
    elif kind == "path":
        value = _path(raw, base)
    elif kind == "pairs":
        value = _pairs(raw, where)
    elif kind == "path_pairs":  # always against the invocation dir, wherever they came from
        value = {key: _path(p, cwd) for key, p in _pairs(raw, where).items()}
    elif kind == "items":
        values = raw if isinstance(raw, list | tuple) else [raw]
        value = tuple(v for text in values for v in re.split(r"[\s,]+", str(text)) if v)
        if not value:
            raise SettingsError(f"{where}: empty list")
    elif kind == "number_pairs":
        value = {key: _bound(key, text, spec, where) for key, text in _pairs(raw, where).items()}
    else:  # list_pairs
        value = {
            key: tuple(v.strip() for v in text.split(",") if v.strip())
            for key, text in _pairs(raw, where).items()
        }
    return not value if spec.negate else value


_C = TypeVar("_C", bound=type)

# A Settings field set to FROM_SPEC takes its default from the OptionSpec of that attr.
FROM_SPEC: Any = object()


def _defaults_from_specs(cls: _C) -> _C:
    """Give each field its spec's default, parsed; refuse a field without exactly one
    spec and a spec without a field, so the two can never drift apart."""
    declared = list(cls.__annotations__)
    attrs = [spec.attr for spec in OPTIONS]
    if sorted(declared) != sorted(attrs) or len(set(attrs)) != len(attrs):
        raise TypeError(f"Settings fields {declared} do not match the OptionSpec attrs {attrs}")
    for name in declared:
        if getattr(cls, name, None) is not FROM_SPEC:
            raise TypeError(f"Settings.{name}: its default must be FROM_SPEC")
        spec = OPTIONS_BY_ATTR[name]
        value = _convert(spec, spec.default, spec.flag, base=None, cwd=None)
        if isinstance(value, dict):  # a fresh copy of the default for each Settings
            setattr(cls, name, field(default_factory=functools.partial(dict, value)))
        else:
            setattr(cls, name, field(default=value))
    return cls


@dataclass(frozen=True)
@_defaults_from_specs
class Settings:
    """The resolved options, one field per OptionSpec (``spec.attr``); the types live
    here for mypy, the defaults in the specs."""

    models: tuple[str, ...] | None = FROM_SPEC  # None: every registered model
    backends: tuple[str, ...] | None = FROM_SPEC
    devices: tuple[str, ...] | None = FROM_SPEC
    variants: tuple[str, ...] | None = FROM_SPEC  # None: each pair's default; ("all",): all
    trials: int = FROM_SPEC
    warmup: int = FROM_SPEC
    prompts: tuple[str, ...] | None = FROM_SPEC
    stream: str = FROM_SPEC
    adaptive: bool = FROM_SPEC
    precision: float = FROM_SPEC
    budget_s: float = FROM_SPEC
    max_trials: int = FROM_SPEC
    trial_timeout_s: float = FROM_SPEC
    max_audio_s: float | None = FROM_SPEC
    gates_path: Path | None = FROM_SPEC
    gates_enabled: bool = FROM_SPEC
    gates_mode: str = FROM_SPEC
    explain_gates: bool = FROM_SPEC
    baseline: Path | None = FROM_SPEC
    max_regression: float = FROM_SPEC
    update_results_doc: bool = FROM_SPEC
    results_doc: Path = FROM_SPEC
    history: int = FROM_SPEC
    artifacts: Path = FROM_SPEC
    save_audio: bool = FROM_SPEC
    intelligibility: str = FROM_SPEC  # auto, off or require
    weights: Mapping[str, Path] = FROM_SPEC
    engine_opts: Mapping[str, str] = FROM_SPEC
    sweep: Mapping[str, tuple[str, ...]] = FROM_SPEC
    reference: Mapping[str, str] = FROM_SPEC
    slo: Mapping[str, float] = FROM_SPEC  # --tts-slo: the goodput bounds, in ms
    servers: tuple[str, ...] | None = FROM_SPEC  # --tts-server entries, as typed
    allow_download: bool = FROM_SPEC


def trial_cap(max_trials: int, asked: int) -> int:
    """The most measured trials a test may run: ``max_trials`` (--tts-max-trials), but
    never fewer than ``asked`` (by --tts-trials, by the test, or by its gates' plan)."""
    return max(max_trials, asked)


def _source_value(
    spec: OptionSpec,
    cli: Mapping[str, object],
    env: Mapping[str, str],
    ini: Mapping[str, object],
) -> tuple[object, str, bool]:
    """Return (raw value, where it came from, came_from_cli_or_env)."""
    value = cli.get(spec.dest)
    if value not in (None, [], False):
        return value, spec.flag, True
    if spec.env and env.get(spec.env, "").strip():
        return env[spec.env], f"environment variable {spec.env}", True
    value = ini.get(spec.dest)
    if value not in (None, "", [], False):
        return value, f"ini key {spec.dest}", False
    return spec.default, spec.flag, False  # default paths are relative to the rootdir


def resolve(
    cli: Mapping[str, object],
    env: Mapping[str, str],
    ini: Mapping[str, object],
    invocation_dir: Path,
    rootdir: Path,
) -> Settings:
    """Apply precedence and validate every option into one frozen Settings."""
    values: dict[str, Any] = {}  # each value checked by its kind's parser
    for spec in OPTIONS:
        raw, where, relative_to_cwd = _source_value(spec, cli, env, ini)
        base = invocation_dir if relative_to_cwd else rootdir
        values[spec.attr] = _convert(spec, raw, where, base, invocation_dir)
    # rules between options, and bounds the kinds alone do not express
    if values["trials"] < 1:
        raise SettingsError("--tts-trials: must be at least 1")
    values["max_trials"] = trial_cap(values["max_trials"], values["trials"])
    if values["trial_timeout_s"] <= 0:
        raise SettingsError("--tts-trial-timeout: must be above 0 seconds")
    if values["max_audio_s"] is not None and values["max_audio_s"] <= 0:
        raise SettingsError("--tts-max-audio: must be above 0 seconds")
    if values["intelligibility"] == "require":
        from pytest_ttsbench.measure.intelligibility import missing  # numpy: only here

        absent = missing()
        if absent is not None:
            raise SettingsError(f"--tts-intelligibility=require: {absent}")
    return Settings(**values)


PROJECT_MARKERS = ("pyproject.toml", "pytest.ini", "tox.ini", "setup.cfg", ".git")


def project_root(rootdir: Path, invocation_dir: Path) -> Path:
    """The user's project, against which the results doc, artifacts and gate file resolve.

    pytest's rootdir when the run started inside it (or above it). When the suites are
    given by path from another project (``pytest <plugin checkout>/suites``), pytest takes
    the suites' checkout as rootdir; the user's project is then the nearest folder above
    the invocation directory that has a project file, else the invocation directory.
    """
    if invocation_dir.is_relative_to(rootdir) or rootdir.is_relative_to(invocation_dir):
        return rootdir
    for folder in (invocation_dir, *invocation_dir.parents):
        if any((folder / name).exists() for name in PROJECT_MARKERS):
            return folder
    return invocation_dir
