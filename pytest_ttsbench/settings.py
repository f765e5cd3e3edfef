"""Every option of the plugin, declared once, resolved once into a frozen Settings.

An :class:`OptionSpec` is the only place an option is written down: its flag, ini key,
environment variable, kind, default, help and the Settings attribute it fills. The
help text shows the spec's default, the Settings field defaults are the spec defaults
parsed like any other value, and :func:`resolve` fills Settings by walking the specs.

Precedence is CLI > environment > ini > default. This module imports no pytest:
plugin.py turns each OptionSpec into an ``addoption`` and an ``addini`` and hands the
raw values to :func:`resolve`, which raises :class:`SettingsError` (shown to the
user as a pytest usage error, exit code 4) for anything it cannot accept.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from collections.abc import Mapping

# names: comma list, repeatable, 'all' = every one; pairs: KEY=VALUE, repeatable, with
# the value kept as text, as a path, or as a comma list (the --tts-sweep axes)
Kind = Literal[
    "names",
    "int",
    "float",
    "percent",
    "flag",
    "choice",
    "path",
    "pairs",
    "path_pairs",
    "list_pairs",
]
REPEATABLE_KINDS = ("names", "pairs", "path_pairs", "list_pairs")
PAIR_KINDS = ("pairs", "path_pairs", "list_pairs")

STREAM_MODES = ("auto", "native", "sentence", "none")
GATE_MODES = ("fail", "warn")


class SettingsError(ValueError):
    """A value the plugin cannot accept; the message names the option and the fix."""


@dataclass(frozen=True)
class OptionSpec:
    """One option: ``dest`` is both the argparse dest and the ini key."""

    dest: str
    flag: str
    kind: Kind
    help: str  # without the default: help_text adds it from ``default``
    attr: str  # the Settings attribute it fills
    default: object = None  # raw, parsed like a user's value (paths: against rootdir)
    shown: str | None = None  # how help names a default of None ("all", "none")
    env: str | None = None
    choices: tuple[str, ...] = ()
    metavar: str | None = None
    negate: bool = False  # a --no-X flag: the attribute is True unless it is given
    all_is_value: bool = False  # 'all' is kept as ("all",), not None (variants)

    @property
    def help_text(self) -> str:
        env = f", env {self.env}" if self.env else ""
        return f"{self.help} (default: {self.default_text}{env})"

    @property
    def default_text(self) -> str:
        if self.default is None:
            return self.shown or "none"
        if isinstance(self.default, bool):
            return "on" if self.default else "off"
        if isinstance(self.default, float):
            return f"{self.default:g}"
        return str(self.default)

    @property
    def repeatable(self) -> bool:
        return self.kind in REPEATABLE_KINDS

    @property
    def ini_type(self) -> Literal["bool", "linelist", "string"]:
        if self.kind == "flag":
            return "bool"
        return "linelist" if self.kind in PAIR_KINDS else "string"


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "tts_model",
        "--tts-model",
        "names",
        "models to benchmark: comma list, repeatable, or 'all'",
        attr="models",
        shown="all",
        env="TTSBENCH_MODEL",
        metavar="NAMES",
    ),
    OptionSpec(
        "tts_backend",
        "--tts-backend",
        "names",
        "backends: pt, mlx, onnx or user-registered ones",
        attr="backends",
        shown="all",
        env="TTSBENCH_BACKEND",
        metavar="NAMES",
    ),
    OptionSpec(
        "tts_device",
        "--tts-device",
        "names",
        "devices: cuda, mps, cpu",
        attr="devices",
        shown="all",
        env="TTSBENCH_DEVICE",
        metavar="NAMES",
    ),
    OptionSpec(
        "tts_variant",
        "--tts-variant",
        "names",
        "variants such as fp16, int8, 4bit, or 'all'",
        attr="variants",
        shown="each pair's default",
        env="TTSBENCH_VARIANT",
        metavar="NAMES",
        all_is_value=True,
    ),
    OptionSpec(
        "tts_trials",
        "--tts-trials",
        "int",
        "measured trials per test",
        attr="trials",
        default=5,
        env="TTSBENCH_TRIALS",
        metavar="N",
    ),
    OptionSpec(
        "tts_warmup",
        "--tts-warmup",
        "int",
        "warm-up runs before the trials",
        attr="warmup",
        default=1,
        env="TTSBENCH_WARMUP",
        metavar="N",
    ),
    OptionSpec(
        "tts_prompts",
        "--tts-prompts",
        "names",
        "prompt presets the suites use",
        attr="prompts",
        shown="each suite's own",
        env="TTSBENCH_PROMPTS",
        metavar="NAMES",
    ),
    OptionSpec(
        "tts_stream",
        "--tts-stream",
        "choice",
        "streaming mode: auto (native where the engine streams), native, sentence, none",
        attr="stream",
        default="auto",
        env="TTSBENCH_STREAM",
        choices=STREAM_MODES,
    ),
    OptionSpec(
        "tts_adaptive",
        "--tts-adaptive",
        "flag",
        "run trials until the 95% CI half-width of the median latency is within "
        "--tts-precision, or --tts-budget seconds are spent",
        attr="adaptive",
        default=False,
    ),
    OptionSpec(
        "tts_precision",
        "--tts-precision",
        "percent",
        "target CI half-width of the median for --tts-adaptive",
        attr="precision",
        default="5%",
        metavar="PCT",
    ),
    OptionSpec(
        "tts_budget",
        "--tts-budget",
        "float",
        "seconds of trials per test for --tts-adaptive",
        attr="budget_s",
        default=120.0,
        metavar="SECONDS",
    ),
    OptionSpec(
        "tts_max_trials",
        "--tts-max-trials",
        "int",
        "cap on trials when adaptive mode or a percentile gate raises n",
        attr="max_trials",
        default=60,
        metavar="N",
    ),
    OptionSpec(
        "tts_trial_timeout",
        "--tts-trial-timeout",
        "float",
        "seconds before a trial counts as hung",
        attr="trial_timeout_s",
        default=300.0,
        env="TTSBENCH_TRIAL_TIMEOUT",
        metavar="SECONDS",
    ),
    OptionSpec(
        "tts_max_audio",
        "--tts-max-audio",
        "float",
        "seconds of audio an autoregressive engine may generate per call before it is "
        "stopped (marvis, chatterbox); weights marked random get 2 s unless this is set",
        attr="max_audio_s",
        shown="the engine's own limit",
        env="TTSBENCH_MAX_AUDIO",
        metavar="SECONDS",
    ),
    OptionSpec(
        "tts_gates",
        "--tts-gates",
        "path",
        "gate file (TOML)",
        attr="gates_path",
        shown="[tool.ttsbench] in pyproject.toml",
        env="TTSBENCH_GATES",
        metavar="PATH",
    ),
    OptionSpec(
        "no_tts_gates",
        "--no-tts-gates",
        "flag",
        "do not evaluate any gate",
        attr="gates_enabled",
        default=False,
        negate=True,
    ),
    OptionSpec(
        "tts_gates_mode",
        "--tts-gates-mode",
        "choice",
        "fail: a broken gate fails the test; warn: report only",
        attr="gates_mode",
        default="fail",
        choices=GATE_MODES,
    ),
    OptionSpec(
        "tts_explain_gates",
        "--tts-explain-gates",
        "flag",
        "show which gate rule applies to each collected target, then exit",
        attr="explain_gates",
        default=False,
    ),
    OptionSpec(
        "tts_baseline",
        "--tts-baseline",
        "path",
        "an earlier results JSON (.ttsbench/results-*.json) to gate regressions against",
        attr="baseline",
        env="TTSBENCH_BASELINE",
        metavar="PATH",
    ),
    OptionSpec(
        "tts_max_regression",
        "--tts-max-regression",
        "percent",
        "fail when the median got worse than the baseline by more than this, with "
        "statistical significance",
        attr="max_regression",
        default="10%",
        metavar="PCT",
    ),
    OptionSpec(
        "update_results_doc",
        "--update-results-doc",
        "flag",
        "upsert the results doc at the end of the session",
        attr="update_results_doc",
        default=False,
        env="TTSBENCH_UPDATE_RESULTS_DOC",
    ),
    OptionSpec(
        "tts_results_doc",
        "--tts-results-doc",
        "path",
        "the Markdown results doc",
        attr="results_doc",
        default="docs/BENCHMARK_RESULTS.md",
        env="TTSBENCH_RESULTS_DOC",
        metavar="PATH",
    ),
    OptionSpec(
        "tts_history",
        "--tts-history",
        "int",
        "previous values kept per row in the results doc's history",
        attr="history",
        default=5,
        metavar="N",
    ),
    OptionSpec(
        "tts_artifacts",
        "--tts-artifacts",
        "path",
        "folder for results JSON, chunk traces and audio",
        attr="artifacts",
        default=".ttsbench",
        env="TTSBENCH_ARTIFACTS",
        metavar="DIR",
    ),
    OptionSpec(
        "tts_save_audio",
        "--tts-save-audio",
        "flag",
        "write every trial's audio as WAV under the artifacts folder",
        attr="save_audio",
        default=False,
    ),
    OptionSpec(
        "tts_weights",
        "--tts-weights",
        "path_pairs",
        "where a model's weights are: MODEL=PATH or MODEL-BACKEND=PATH, repeatable",
        attr="weights",
        shown="local caches, then packages that ship weights",
        env="TTSBENCH_WEIGHTS",
        metavar="MODEL=PATH",
    ),
    OptionSpec(
        "tts_opt",
        "--tts-opt",
        "pairs",
        "engine knob for every target that has it: KEY=VALUE, repeatable "
        "(speed=1.2, voice=af_heart, exaggeration=0.7)",
        attr="engine_opts",
        shown="each engine's own",
        metavar="KEY=VALUE",
    ),
    OptionSpec(
        "tts_sweep",
        "--tts-sweep",
        "list_pairs",
        "sweep an engine knob: KNOB=V1,V2,... (each value its own test id and row), "
        "repeatable for a grid; overrides @pytest.mark.tts_sweep",
        attr="sweep",
        shown="none",
        metavar="KNOB=VALUES",
    ),
    OptionSpec(
        "tts_allow_download",
        "--tts-allow-download",
        "flag",
        "let engines download missing weights (off: nothing is downloaded)",
        attr="allow_download",
        default=False,
        env="TTSBENCH_ALLOW_DOWNLOAD",
    ),
)

OPTIONS_BY_DEST: dict[str, OptionSpec] = {o.dest: o for o in OPTIONS}
OPTIONS_BY_ATTR: dict[str, OptionSpec] = {o.attr: o for o in OPTIONS}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


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
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise SettingsError(f"{where}: {raw!r} is not true or false")


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
        if isinstance(value, dict):
            setattr(cls, name, field(default_factory=dict))  # every dict default is empty
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
    weights: Mapping[str, Path] = FROM_SPEC
    engine_opts: Mapping[str, str] = FROM_SPEC
    sweep: Mapping[str, tuple[str, ...]] = FROM_SPEC
    allow_download: bool = FROM_SPEC


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
    values["max_trials"] = max(values["max_trials"], values["trials"])
    if values["trial_timeout_s"] <= 0:
        raise SettingsError("--tts-trial-timeout: must be above 0 seconds")
    if values["max_audio_s"] is not None and values["max_audio_s"] <= 0:
        raise SettingsError("--tts-max-audio: must be above 0 seconds")
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
