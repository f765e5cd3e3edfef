"""Every option is declared once, by its OptionSpec; resolve() applies CLI > env > ini >
default and names the option in every error."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pytest_ttsbench.options import OPTIONS, OPTIONS_BY_ATTR, OptionSpec
from pytest_ttsbench.settings import FROM_SPEC, Settings, SettingsError, resolve

CWD = Path("/work/here")
ROOT = Path("/project")


def settle(
    cli: dict[str, object] | None = None,
    env: dict[str, str] | None = None,
    ini: dict[str, object] | None = None,
) -> Settings:
    return resolve(cli or {}, env or {}, ini or {}, invocation_dir=CWD, rootdir=ROOT)


# ---- one declaration per option ------------------------------------------------------
@pytest.mark.parametrize("spec", OPTIONS, ids=lambda s: s.flag)
def test_help_shows_the_spec_default(spec: OptionSpec) -> None:
    text = spec.help_text
    assert text.endswith(")")
    assert f"(default: {spec.default_text}" in text
    if spec.default is None:
        assert spec.shown or spec.default_text == "none"
    else:
        value = spec.default
        shown = {True: "on", False: "off"}.get(value) if isinstance(value, bool) else None
        if isinstance(value, float):
            shown = f"{value:g}"
        assert spec.default_text == (shown or str(value))
    assert "%%" not in text  # plugin.py escapes for argparse, once


def test_help_default_is_read_from_the_spec_value() -> None:
    trials = OPTIONS_BY_ATTR["trials"]
    assert trials.default == 5
    assert "(default: 5," in trials.help_text
    assert "(default: 5%" in OPTIONS_BY_ATTR["precision"].help_text
    assert "(default: 120)" in OPTIONS_BY_ATTR["budget_s"].help_text
    assert "(default: off)" in OPTIONS_BY_ATTR["save_audio"].help_text
    assert "(default: all," in OPTIONS_BY_ATTR["models"].help_text


def test_every_settings_field_comes_from_exactly_one_spec() -> None:
    attrs = [spec.attr for spec in OPTIONS]
    assert len(attrs) == len(set(attrs))
    assert sorted(f.name for f in dataclasses.fields(Settings)) == sorted(attrs)
    dests = [spec.dest for spec in OPTIONS]
    flags = [spec.flag for spec in OPTIONS]
    envs = [spec.env for spec in OPTIONS if spec.env]
    assert len(set(dests)) == len(dests)
    assert len(set(flags)) == len(flags)
    assert len(set(envs)) == len(envs)


def test_settings_defaults_are_the_spec_defaults() -> None:
    plain = Settings()
    assert plain.trials == 5
    assert plain.precision == pytest.approx(0.05)
    assert plain.max_regression == pytest.approx(0.10)
    assert plain.results_doc == Path("docs/BENCHMARK_RESULTS.md")
    assert plain.gates_enabled is True  # --no-tts-gates is off
    assert plain.weights == {}
    assert not any(getattr(plain, spec.attr) is FROM_SPEC for spec in OPTIONS)


def test_resolve_with_nothing_given_is_the_defaults_with_rooted_paths() -> None:
    resolved = settle()
    plain = Settings()
    for spec in OPTIONS:
        value = getattr(plain, spec.attr)
        expected = ROOT / value if isinstance(value, Path) else value
        assert getattr(resolved, spec.attr) == expected, spec.flag


def test_the_kinds_parse_as_before() -> None:
    resolved = settle(
        cli={
            "tts_model": ["kokoro,Marvis", "kokoro"],
            "tts_variant": ["all"],
            "tts_precision": "2.5%",
            "tts_max_regression": "0.2",
            "tts_weights": ["kokoro=w/k"],
            "tts_sweep": ["speed=0.8, 1.0"],
            "tts_opt": ["Voice=af_heart"],
            "no_tts_gates": True,
            "tts_trials": "7",
            "tts_max_trials": "3",
        }
    )
    assert resolved.models == ("kokoro", "marvis")
    assert resolved.variants == ("all",)
    assert resolved.precision == pytest.approx(0.025)
    assert resolved.max_regression == pytest.approx(0.2)
    assert resolved.weights == {"kokoro": CWD / "w/k"}
    assert resolved.sweep == {"speed": ("0.8", "1.0")}
    assert resolved.engine_opts == {"voice": "af_heart"}
    assert resolved.gates_enabled is False
    assert resolved.max_trials == 7  # raised to the trials asked for


# ---- precedence ----------------------------------------------------------------------
def test_cli_beats_env_beats_ini_beats_default() -> None:
    assert settle().trials == 5
    assert settle(ini={"tts_trials": "4"}).trials == 4
    assert settle(env={"TTSBENCH_TRIALS": "3"}, ini={"tts_trials": "4"}).trials == 3
    both = settle(cli={"tts_trials": "2"}, env={"TTSBENCH_TRIALS": "3"}, ini={"tts_trials": "4"})
    assert both.trials == 2


def test_paths_from_cli_or_env_are_relative_to_the_invocation_dir() -> None:
    assert settle(cli={"tts_artifacts": "out"}).artifacts == CWD / "out"
    assert settle(env={"TTSBENCH_ARTIFACTS": "out"}).artifacts == CWD / "out"
    assert settle(ini={"tts_artifacts": "out"}).artifacts == ROOT / "out"
    assert settle().artifacts == ROOT / ".ttsbench"


def test_blank_values_fall_through_to_the_next_source() -> None:
    resolved = settle(cli={"tts_model": None}, env={"TTSBENCH_MODEL": "  "}, ini={"tts_model": ""})
    assert resolved.models is None
    assert settle(ini={"tts_allow_download": True}).allow_download is True
    assert settle(env={"TTSBENCH_ALLOW_DOWNLOAD": "no"}).allow_download is False


# ---- errors name the option and where the value came from -----------------------------
@pytest.mark.parametrize(
    ("sources", "message"),
    [
        ({"cli": {"tts_trials": "0"}}, "--tts-trials: must be at least 1"),
        ({"cli": {"tts_trials": "many"}}, "--tts-trials: 'many' is not a int"),
        ({"env": {"TTSBENCH_TRIALS": "-1"}}, "environment variable TTSBENCH_TRIALS: '-1'"),
        ({"ini": {"tts_stream": "loud"}}, "ini key tts_stream: 'loud' is not one of auto"),
        ({"cli": {"tts_trial_timeout": "0"}}, "--tts-trial-timeout: must be above 0 seconds"),
        ({"cli": {"tts_weights": ["kokoro"]}}, "--tts-weights: 'kokoro' is not KEY=VALUE"),
        ({"cli": {"tts_precision": "lots"}}, "--tts-precision: 'lots' is not a percentage"),
        ({"env": {"TTSBENCH_ALLOW_DOWNLOAD": "maybe"}}, "'maybe' is not true or false"),
        ({"cli": {"tts_model": [","]}}, "--tts-model: empty list"),
    ],
)
def test_errors_name_the_option(sources: dict[str, dict[str, object]], message: str) -> None:
    env = {k: str(v) for k, v in sources.get("env", {}).items()}
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        settle(cli=sources.get("cli"), env=env, ini=sources.get("ini"))


def test_runner_defaults_are_the_options_defaults() -> None:
    """Every default is declared once, in options.py: the runners' specs read it."""
    from pytest_ttsbench.measure.planning import TrialPlan
    from pytest_ttsbench.measure.runners import RunSpec
    from pytest_ttsbench.settings import Settings, default

    settings = Settings()
    plan, spec = TrialPlan(), RunSpec()
    assert (plan.trials, plan.adaptive, plan.precision, plan.budget_s, plan.max_trials) == (
        settings.trials,
        settings.adaptive,
        settings.precision,
        settings.budget_s,
        settings.max_trials,
    )
    assert (spec.warmup, spec.trial_timeout_s) == (settings.warmup, settings.trial_timeout_s)
    assert default("precision") == 0.05  # parsed: the option is written "5%"
