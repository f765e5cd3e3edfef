"""Every option of the plugin, declared once, resolved once into a frozen Settings.

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
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Mapping

Kind = Literal["names", "int", "float", "path", "flag", "choice", "pairs", "percent"]

STREAM_MODES = ("auto", "native", "sentence", "none")
GATE_MODES = ("fail", "warn")


class SettingsError(ValueError):
    """A value the plugin cannot accept; the message names the option and the fix."""


@dataclass(frozen=True)
class OptionSpec:
    dest: str
    flag: str
    kind: Kind
    help: str
    default: object = None
    env: str | None = None
    choices: tuple[str, ...] = ()
    metavar: str | None = None


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "tts_model",
        "--tts-model",
        "names",
        "models to benchmark: comma list, repeatable, or 'all' (default: all)",
        env="TTSBENCH_MODEL",
        metavar="NAMES",
    ),
    OptionSpec(
        "tts_backend",
        "--tts-backend",
        "names",
        "backends: pt, mlx, onnx or user-registered ones (default: all)",
        env="TTSBENCH_BACKEND",
        metavar="NAMES",
    ),
    OptionSpec(
        "tts_device",
        "--tts-device",
        "names",
        "devices: cuda, mps, cpu (default: all)",
        env="TTSBENCH_DEVICE",
        metavar="NAMES",
    ),
    OptionSpec(
        "tts_variant",
        "--tts-variant",
        "names",
        "variants such as fp16, int8, 4bit, or 'all' (default: each pair's default)",
        env="TTSBENCH_VARIANT",
        metavar="NAMES",
    ),
    OptionSpec(
        "tts_trials",
        "--tts-trials",
        "int",
        "measured trials per test (default: 5)",
        default=5,
        env="TTSBENCH_TRIALS",
        metavar="N",
    ),
    OptionSpec(
        "tts_warmup",
        "--tts-warmup",
        "int",
        "warm-up runs before the trials (default: 1)",
        default=1,
        env="TTSBENCH_WARMUP",
        metavar="N",
    ),
    OptionSpec(
        "tts_prompts",
        "--tts-prompts",
        "names",
        "prompt presets the suites use (default: each suite's own)",
        env="TTSBENCH_PROMPTS",
        metavar="NAMES",
    ),
    OptionSpec(
        "tts_stream",
        "--tts-stream",
        "choice",
        "streaming mode: auto (native where the engine streams), native, sentence, none",
        default="auto",
        env="TTSBENCH_STREAM",
        choices=STREAM_MODES,
    ),
    OptionSpec(
        "tts_adaptive",
        "--tts-adaptive",
        "flag",
        "run trials until the 95%% CI half-width of the median latency is within "
        "--tts-precision, or --tts-budget seconds are spent",
        default=False,
    ),
    OptionSpec(
        "tts_precision",
        "--tts-precision",
        "percent",
        "target CI half-width of the median for --tts-adaptive (default: 5%%)",
        default="5%",
        metavar="PCT",
    ),
    OptionSpec(
        "tts_budget",
        "--tts-budget",
        "float",
        "seconds of trials per test for --tts-adaptive (default: 120)",
        default=120.0,
        metavar="SECONDS",
    ),
    OptionSpec(
        "tts_max_trials",
        "--tts-max-trials",
        "int",
        "cap on trials when adaptive mode or a percentile gate raises n (default: 60)",
        default=60,
        metavar="N",
    ),
    OptionSpec(
        "tts_trial_timeout",
        "--tts-trial-timeout",
        "float",
        "seconds before a trial counts as hung (default: 300)",
        default=300.0,
        env="TTSBENCH_TRIAL_TIMEOUT",
        metavar="SECONDS",
    ),
    OptionSpec(
        "tts_gates",
        "--tts-gates",
        "path",
        "gate file (TOML); default: [tool.ttsbench] in pyproject.toml",
        env="TTSBENCH_GATES",
        metavar="PATH",
    ),
    OptionSpec("no_tts_gates", "--no-tts-gates", "flag", "do not evaluate any gate", default=False),
    OptionSpec(
        "tts_gates_mode",
        "--tts-gates-mode",
        "choice",
        "fail: a broken gate fails the test; warn: report only",
        default="fail",
        choices=GATE_MODES,
    ),
    OptionSpec(
        "tts_explain_gates",
        "--tts-explain-gates",
        "flag",
        "show which gate rule applies to each collected target, then exit",
        default=False,
    ),
    OptionSpec(
        "tts_baseline",
        "--tts-baseline",
        "path",
        "an earlier results JSON (.ttsbench/results-*.json) to gate regressions against",
        env="TTSBENCH_BASELINE",
        metavar="PATH",
    ),
    OptionSpec(
        "tts_max_regression",
        "--tts-max-regression",
        "percent",
        "fail when the median got worse than the baseline by more than this, with "
        "statistical significance (default: 10%%)",
        default="10%",
        metavar="PCT",
    ),
    OptionSpec(
        "update_results_doc",
        "--update-results-doc",
        "flag",
        "upsert the results doc at the end of the session",
        default=False,
        env="TTSBENCH_UPDATE_RESULTS_DOC",
    ),
    OptionSpec(
        "tts_results_doc",
        "--tts-results-doc",
        "path",
        "the Markdown results doc (default: docs/BENCHMARK_RESULTS.md)",
        default="docs/BENCHMARK_RESULTS.md",
        env="TTSBENCH_RESULTS_DOC",
        metavar="PATH",
    ),
    OptionSpec(
        "tts_history",
        "--tts-history",
        "int",
        "previous values kept per row in the results doc's history (default: 5)",
        default=5,
        metavar="N",
    ),
    OptionSpec(
        "tts_artifacts",
        "--tts-artifacts",
        "path",
        "folder for results JSON, chunk traces and audio (default: .ttsbench)",
        default=".ttsbench",
        env="TTSBENCH_ARTIFACTS",
        metavar="DIR",
    ),
    OptionSpec(
        "tts_save_audio",
        "--tts-save-audio",
        "flag",
        "write every trial's audio as WAV under the artifacts folder",
        default=False,
    ),
    OptionSpec(
        "tts_weights",
        "--tts-weights",
        "pairs",
        "where a model's weights are: MODEL=PATH or MODEL-BACKEND=PATH, repeatable",
        env="TTSBENCH_WEIGHTS",
        metavar="MODEL=PATH",
    ),
    OptionSpec(
        "tts_opt",
        "--tts-opt",
        "pairs",
        "engine knob for every target that has it: KEY=VALUE, repeatable "
        "(speed=1.2, voice=af_heart, exaggeration=0.7)",
        metavar="KEY=VALUE",
    ),
    OptionSpec(
        "tts_sweep",
        "--tts-sweep",
        "pairs",
        "sweep an engine knob: KNOB=V1,V2,... (each value its own test id and row), "
        "repeatable for a grid; overrides @pytest.mark.tts_sweep",
        metavar="KNOB=VALUES",
    ),
    OptionSpec(
        "tts_allow_download",
        "--tts-allow-download",
        "flag",
        "let engines download missing weights (off: nothing is downloaded)",
        default=False,
        env="TTSBENCH_ALLOW_DOWNLOAD",
    ),
)

OPTIONS_BY_DEST: dict[str, OptionSpec] = {o.dest: o for o in OPTIONS}


@dataclass(frozen=True)
class Settings:
    models: tuple[str, ...] | None = None  # None: every registered model
    backends: tuple[str, ...] | None = None
    devices: tuple[str, ...] | None = None
    variants: tuple[str, ...] | None = None  # None: each pair's default; ("all",): every one
    trials: int = 5
    warmup: int = 1
    prompts: tuple[str, ...] | None = None
    stream: str = "auto"
    adaptive: bool = False
    precision: float = 0.05
    budget_s: float = 120.0
    max_trials: int = 60
    trial_timeout_s: float = 300.0
    gates_path: Path | None = None
    gates_enabled: bool = True
    gates_mode: str = "fail"
    explain_gates: bool = False
    baseline: Path | None = None
    max_regression: float = 0.10
    update_results_doc: bool = False
    results_doc: Path = Path("docs/BENCHMARK_RESULTS.md")
    history: int = 5
    artifacts: Path = Path(".ttsbench")
    save_audio: bool = False
    weights: Mapping[str, Path] = field(default_factory=dict)
    engine_opts: Mapping[str, str] = field(default_factory=dict)
    sweep: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    allow_download: bool = False


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _names(raw: object, where: str) -> tuple[str, ...] | None:
    items: list[str] = []
    values = raw if isinstance(raw, list | tuple) else [raw]
    for value in values:
        items.extend(part.strip().lower() for part in str(value).split(",") if part.strip())
    if not items:
        raise SettingsError(f"{where}: empty list")
    if "all" in items:
        return None
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
    values: dict[str, Any] = {}  # each value checked by its kind's parser above
    for spec in OPTIONS:
        raw, where, relative_to_cwd = _source_value(spec, cli, env, ini)
        if raw is None:
            values[spec.dest] = None
            continue
        kind = spec.kind
        if kind == "names":
            values[spec.dest] = _names(raw, where)
        elif kind == "int":
            values[spec.dest] = int(_number(raw, where, int))
        elif kind == "float":
            values[spec.dest] = _number(raw, where, float)
        elif kind == "percent":
            values[spec.dest] = _percent(raw, where)
        elif kind == "flag":
            values[spec.dest] = _flag(raw, where)
        elif kind == "choice":
            text = str(raw).strip().lower()
            if text not in spec.choices:
                raise SettingsError(f"{where}: {raw!r} is not one of {', '.join(spec.choices)}")
            values[spec.dest] = text
        elif kind == "pairs":
            values[spec.dest] = _pairs(raw, where)
        else:  # path
            path = Path(str(raw)).expanduser()
            base = invocation_dir if relative_to_cwd else rootdir
            values[spec.dest] = path if path.is_absolute() else base / path

    trials = int(values["tts_trials"])
    if trials < 1:
        raise SettingsError("--tts-trials: must be at least 1")
    max_trials = int(values["tts_max_trials"])
    if max_trials < trials:
        max_trials = trials
    timeout = float(values["tts_trial_timeout"])
    if timeout <= 0:
        raise SettingsError("--tts-trial-timeout: must be above 0 seconds")
    weights_raw: dict[str, str] = values["tts_weights"] or {}
    weights = {
        key: (
            Path(p).expanduser()
            if Path(p).expanduser().is_absolute()
            else invocation_dir / Path(p).expanduser()
        )
        for key, p in weights_raw.items()
    }
    return Settings(
        models=values["tts_model"],
        backends=values["tts_backend"],
        devices=values["tts_device"],
        variants=(
            ("all",) if cli_or_env_said_all(cli, env, ini, "tts_variant") else values["tts_variant"]
        ),
        trials=trials,
        warmup=int(values["tts_warmup"]),
        prompts=values["tts_prompts"],
        stream=str(values["tts_stream"]),
        adaptive=bool(values["tts_adaptive"]),
        precision=float(values["tts_precision"]),
        budget_s=float(values["tts_budget"]),
        max_trials=max_trials,
        trial_timeout_s=timeout,
        gates_path=values["tts_gates"],
        gates_enabled=not values["no_tts_gates"],
        gates_mode=str(values["tts_gates_mode"]),
        explain_gates=bool(values["tts_explain_gates"]),
        baseline=values["tts_baseline"],
        max_regression=float(values["tts_max_regression"]),
        update_results_doc=bool(values["update_results_doc"]),
        results_doc=values["tts_results_doc"],
        history=int(values["tts_history"]),
        artifacts=values["tts_artifacts"],
        save_audio=bool(values["tts_save_audio"]),
        weights=weights,
        engine_opts=values["tts_opt"] or {},
        sweep={
            knob: tuple(v.strip() for v in raw.split(",") if v.strip())
            for knob, raw in (values["tts_sweep"] or {}).items()
        },
        allow_download=bool(values["tts_allow_download"]),
    )


def cli_or_env_said_all(
    cli: Mapping[str, object], env: Mapping[str, str], ini: Mapping[str, object], dest: str
) -> bool:
    """'all' means every variant for --tts-variant, unlike the other name lists."""
    spec = OPTIONS_BY_DEST[dest]
    raw, where, _ = _source_value(spec, cli, env, ini)
    if raw is None:
        return False
    return _names(raw, where) is None
