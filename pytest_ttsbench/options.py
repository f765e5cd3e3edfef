"""Every option of the plugin, declared once: the table plugin.py turns into flags and
ini keys when pytest loads it.

An :class:`OptionSpec` is the only place an option is written down: its flag, ini key,
environment variable, kind, default, help and the Settings attribute it fills. The
help text shows the spec's default. Parsing and resolving the raw values into a frozen
``Settings`` lives in settings.py, which plugin.py imports when pytest configures.

This module imports nothing but the standard library: the plugin imports it at load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# names: comma list, repeatable, 'all' = every one; pairs: KEY=VALUE, repeatable, with
# the value kept as text, as a path, or as a comma list (the --tts-sweep axes); items:
# repeatable values kept as typed (URLs), split on whitespace and commas; number_pairs:
# KEY=NUMBER pairs with positive numbers, the keys limited to ``choices``
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
    "items",
    "number_pairs",
]
REPEATABLE_KINDS = ("names", "pairs", "path_pairs", "list_pairs", "items", "number_pairs")
PAIR_KINDS = ("pairs", "path_pairs", "list_pairs", "number_pairs")

STREAM_MODES = ("auto", "native", "sentence", "none")
GATE_MODES = ("fail", "warn")
INTELLIGIBILITY_MODES = ("auto", "off", "require")


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
        return "linelist" if self.kind in (*PAIR_KINDS, "items") else "string"


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
        "tts_intelligibility",
        "--tts-intelligibility",
        "choice",
        "check that each measured trial's audio says its prompt (ASR round trip, after "
        "the trials): auto (when the intelligibility extra is installed), off, or "
        "require (a missing extra is a usage error)",
        attr="intelligibility",
        default="auto",
        env="TTSBENCH_INTELLIGIBILITY",
        choices=INTELLIGIBILITY_MODES,
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
        "tts_reference",
        "--tts-reference",
        "pairs",
        "the reference configuration the fidelity suite compares against: KEY=VALUE, "
        "repeatable (mode=none, speed=1.0, variant=fp32, backend=pt, any knob); "
        "overrides @pytest.mark.tts_reference",
        attr="reference",
        shown="none: the suite's own streaming comparisons",
        env="TTSBENCH_REFERENCE",
        metavar="KEY=VALUE",
    ),
    OptionSpec(
        "tts_slo",
        "--tts-slo",
        "number_pairs",
        "the service level a load's request must meet to count toward goodput: "
        "KEY=MS with KEY ttfa_ms or latency_ms, repeatable; replaces the default "
        "(docs/METRICS.md, Goodput)",
        attr="slo",
        default="ttfa_ms=1000",
        env="TTSBENCH_SLO",
        choices=("ttfa_ms", "latency_ms"),
        metavar="KEY=MS",
    ),
    OptionSpec(
        "tts_server",
        "--tts-server",
        "items",
        "benchmark a TTS server over the OpenAI speech protocol (POST /v1/audio/speech): "
        "URL, NAME=URL or NAME=URL#MODEL, repeatable; each is a target NAME-http-remote "
        "(NAME default 'server'); docs/SERVING.md",
        attr="servers",
        shown="none",
        env="TTSBENCH_SERVER",
        metavar="[NAME=]URL[#MODEL]",
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
