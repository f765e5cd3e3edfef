"""Gates as a new user meets them: write one, pass, tighten, read the failure."""

from __future__ import annotations

import textwrap

import pytest

SYNTH = ["--tts-model=synthetic", "-p", "no:xdist", "-p", "no:benchmark"]
QUICK = ["--tts-opt=first_ms=50", "--tts-opt=gap_ms=2", "--tts-opt=chunks=2"]

TEST = textwrap.dedent(
    """
    def test_gated(tts_bench):
        tts_bench("short")
    """
)


def gate_file(p: pytest.Pytester, *bounds: str, extra: str = "") -> None:
    listed = ", ".join(repr(b).replace("'", '"') for b in bounds)
    p.makefile(".toml", gates=f'[[gates]]\nmodel = "synthetic"\n{extra}bounds = [{listed}]\n')


def test_gate_passes_then_fails_with_a_readable_table(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TEST)
    gate_file(ttsb, "ttfa_ms.p50 <= 100")
    ok = ttsb.runpytest(*SYNTH, *QUICK, "--tts-gates=gates.toml", "--tts-trials=5")
    ok.assert_outcomes(passed=1)
    gate_file(ttsb, "ttfa_ms.p50 <= 30")
    bad = ttsb.runpytest(*SYNTH, *QUICK, "--tts-gates=gates.toml", "--tts-trials=5")
    bad.assert_outcomes(failed=1)
    out = bad.stdout.str()
    assert "synthetic-sim-cpu [short]: 1 gate(s) broken" in out
    for column in ("metric", "observed", "bound", "95% CI", "rule"):
        assert column in out
    assert "gates.toml:" in out
    assert "<= 30" in out
    assert "Traceback" not in out


def test_warn_mode_reports_but_does_not_fail(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TEST)
    gate_file(ttsb, "ttfa_ms.p50 <= 30")
    result = ttsb.runpytest(*SYNTH, *QUICK, "--tts-gates=gates.toml", "--tts-gates-mode=warn")
    result.assert_outcomes(passed=1)


def test_p95_on_too_few_trials_is_never_a_silent_pass(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TEST)
    gate_file(ttsb, "ttfa_ms.p95 <= 100")
    capped = ttsb.runpytest(
        *SYNTH, *QUICK, "--tts-gates=gates.toml", "--tts-trials=5", "--tts-max-trials=10", "-rs"
    )
    capped.assert_outcomes(skipped=1)
    out = capped.stdout.str()
    assert "gate inconclusive: synthetic-sim-cpu [short]: ttfa_ms.p95:" in out
    assert "59" in out  # the trials p95 needs


def test_p95_gate_raises_the_trial_count(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TEST)
    gate_file(ttsb, "ttfa_ms.p95 <= 100")
    fast = ["--tts-opt=first_ms=2", "--tts-opt=gap_ms=1", "--tts-opt=chunks=2"]
    result = ttsb.runpytest(*SYNTH, *fast, "--tts-gates=gates.toml", "--tts-trials=5", "-v")
    result.assert_outcomes(passed=1)


def test_marker_tightens_one_test(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(
        """
        import pytest

        def test_loose(tts_bench):
            tts_bench("short")

        @pytest.mark.tts_gate("ttfa_ms.p50 <= 10")
        def test_tight(tts_bench):
            tts_bench("short")
        """
    )
    gate_file(ttsb, "ttfa_ms.p50 <= 100")
    result = ttsb.runpytest(*SYNTH, *QUICK, "--tts-gates=gates.toml")
    result.assert_outcomes(passed=1, failed=1)
    assert "marker on test_tight" in result.stdout.str()


def test_bad_marker_is_a_usage_error_before_any_benchmark(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(
        """
        import pytest

        @pytest.mark.tts_gate("ttfa_ms.p42 <= 10")
        def test_bad(tts_bench):
            raise AssertionError("must not run")
        """
    )
    result = ttsb.runpytest(*SYNTH)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "p42" in result.stderr.str()


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        (
            '[[gates]]\nmodel = "synthetic"\nbounds = ["ttfa_ms.p95 <= 100", "tffa_ms.p50 < 1"]\n',
            3,
            "tffa_ms",
        ),
        ('[[gates]]\nbounds = ["ttfa_ms.p97 <= 100"]\n', 2, "p97"),
        ('[[gates]]\nbounds = ["ttfa_ms.p50 =< 100"]\n', 2, "=<"),
        ('[[gates]]\nmodle = "kokoro"\nbounds = ["rtf.p50 <= 1"]\n', 2, "modle"),
        ('[[gates]]\nbounds = "rtf.p50 <= 1"\nhardware = 3\n', 3, "hardware"),
        ("[[gates]\nbounds = []\n", 1, ""),
    ],
)
def test_malformed_gate_files_exit_4_naming_file_and_line(
    ttsb: pytest.Pytester, content: str, line: int, problem: str
) -> None:
    ttsb.makepyfile(TEST)
    ttsb.makefile(".toml", gates=content)
    result = ttsb.runpytest(*SYNTH, "--tts-gates=gates.toml")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert f"gates.toml:{line}:" in err
    assert problem in err
    assert "Traceback" not in err


def test_pyproject_gates_and_explain(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TEST)
    ttsb.makepyprojecttoml(
        """
        [tool.ttsbench]
        [[tool.ttsbench.gates]]
        model = "synthetic"
        bounds = ["rtf.p50 <= 0.9", "ttfa_ms.p95 <= 400"]
        """
    )
    result = ttsb.runpytest(*SYNTH, "--tts-explain-gates")
    assert result.ret == 0
    out = result.stdout.str()
    assert "synthetic-sim-cpu" in out
    assert "rtf.p50 <= 0.9" in out
    assert "needs n >= 59" in out
    assert "pyproject.toml" in out


def test_no_tts_gates_switches_everything_off(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(
        """
        import pytest

        @pytest.mark.tts_gate("ttfa_ms.p50 <= 1")
        def test_tight(tts_bench):
            tts_bench("short")
        """
    )
    result = ttsb.runpytest(*SYNTH, *QUICK, "--no-tts-gates")
    result.assert_outcomes(passed=1)


def test_a_results_doc_is_refused_as_a_baseline(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(TEST)
    (ttsb.path / "BENCH.md").write_text("# results\n")
    result = ttsb.runpytest(*SYNTH, "--tts-baseline=BENCH.md")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "a results doc holds medians only" in result.stderr.str()


def test_a_rule_without_suite_leaves_the_caching_suite_alone(ttsb: pytest.Pytester) -> None:
    # caching runs 4 repeats: a p50 gate there was always inconclusive, so a skip
    ttsb.makepyfile(
        test_caching="""
        def test_repeated_vs_unique(tts_bench):
            tts_bench.cache_check("short", repeats=4)
        """,
        test_mine=TEST,
    )
    gate_file(ttsb, "rtf.p50 <= 100")
    result = ttsb.runpytest(*SYNTH, *QUICK, "--tts-gates=gates.toml", "-rs")
    result.assert_outcomes(passed=2)
    assert "inconclusive" not in result.stdout.str()
    gate_file(ttsb, "rtf.p50 <= 100", extra='suite = "caching"\n')
    named = ttsb.runpytest(*SYNTH, *QUICK, "--tts-gates=gates.toml", "-rs")
    named.assert_outcomes(passed=1, skipped=1)  # test_mine is not caching: not judged
    assert "gate inconclusive" in named.stdout.str()


def test_raising_the_trials_a_test_asked_for_is_reported(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(
        """
        def test_three(tts_bench):
            tts_bench("short", trials=3)
        """
    )
    gate_file(ttsb, "rtf.p50 <= 100")
    result = ttsb.runpytest(*SYNTH, *QUICK, "--tts-gates=gates.toml")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*note: synthetic-sim-cpu [[]short[]]: trials raised from 3 to 5 so the gates*"]
    )
    ttsb.makepyfile(TEST)  # asks for nothing: --tts-trials decides
    enough = ttsb.runpytest(*SYNTH, *QUICK, "--tts-gates=gates.toml", "--tts-trials=6")
    enough.assert_outcomes(passed=1)
    assert "trials raised" not in enough.stdout.str()
    few = ttsb.runpytest(*SYNTH, *QUICK, "--tts-gates=gates.toml", "--tts-trials=2")
    assert "trials raised from 2 to 5" in few.stdout.str()
