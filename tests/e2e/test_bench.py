"""The tts_bench fixture through the real plugin, on the synthetic engine whose timing
is known: ground truth, cold/warm separation, streaming modes, broken engines."""

from __future__ import annotations

import json
import statistics
import textwrap
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.measure.prompts import get, split_sentences
from pytest_ttsbench.results.stats import gaps_ms, ns_to_ms
from pytest_ttsbench.session import result_from_report

if TYPE_CHECKING:
    from pytest_ttsbench.results.model import BenchResult

SYNTH = ["--tts-model=synthetic", "-p", "no:xdist"]


def results_of(reprec: pytest.HookRecorder) -> list[BenchResult]:
    reports = reprec.getreports("pytest_runtest_logreport")
    return [r for r in map(result_from_report, reports) if r is not None]


# The synthetic engine, recording each call's handovers (its own stamps, just before each
# yield) to handovers.json at the end of the inner session: the ground truth.
RECORDING_CONFTEST = textwrap.dedent(
    """
    import json
    from pytest_ttsbench.engines.base import EngineSpec
    from pytest_ttsbench.engines.synthetic import SyntheticEngine

    ENGINES = []

    class Recording(SyntheticEngine):
        def __init__(self, ctx):
            super().__init__(ctx)
            ENGINES.append(self)

    def pytest_ttsbench_register_engines(registry, config):
        registry.register(EngineSpec("synthetic", "sim", Recording, devices=("cpu",)))

    def pytest_sessionfinish(session):
        calls = [[h.text, h.start_ns, h.yields_ns] for e in ENGINES for h in e.handovers]
        with open("handovers.json", "w") as fh:
            json.dump(calls, fh)
    """
)

# The harness stamps a chunk a few microseconds after the engine's own stamp (the
# generator hands it over, we read the clock). A preemption in between can cost a
# time slice (milliseconds) on a busy machine, rarely: the median over every chunk
# ignores those, and 0.5 ms is still far below any gap a test engine leaves.
MEDIAN_LAG_NS = 500_000


def handovers(p: pytest.Pytester) -> list[tuple[str, int, list[int]]]:
    return [
        (text, start, list(ys))
        for text, start, ys in json.loads((p.path / "handovers.json").read_text())
    ]


def test_reported_timings_follow_the_engines_own_stamps(ttsb: pytest.Pytester) -> None:
    ttsb.makeconftest(RECORDING_CONFTEST)
    ttsb.makepyfile(
        """
        def test_truth(tts_bench):
            tts_bench("short", first_ms=40, gap_ms=15, chunks=6)
        """
    )
    reprec = ttsb.inline_run(*SYNTH, "--tts-trials=9", "--tts-warmup=2")
    reprec.assertoutcome(passed=1)
    (result,) = results_of(reprec)
    kinds = [t.kind for t in result.trials]
    assert kinds == ["cold", "warmup", "warmup"] + ["measured"] * 9
    assert result.n == 9
    calls = handovers(ttsb)
    assert len(calls) == len(result.trials)  # one engine call per trial, in order
    lags: list[int] = []
    for trial, (_, start, yields) in zip(result.trials, calls, strict=True):
        stamps = [trial.t0_ns + ns for ns in trial.chunk_ns]
        assert len(stamps) == len(yields) == 6
        # exact, whatever the load: t0 before the call; each chunk stamped after the
        # engine handed it over and before the engine went on to the next one
        assert trial.t0_ns <= start <= yields[0]
        for k, (ours, theirs) in enumerate(zip(stamps, yields, strict=True)):
            assert theirs <= ours
            assert k + 1 == len(yields) or ours <= yields[k + 1]
            lags.append(ours - theirs)
        # every time metric is that trial's stamps, converted once
        assert trial.metrics["ttfa_ms"] == ns_to_ms(trial.chunk_ns[0])
        assert trial.metrics["latency_ms"] == ns_to_ms(trial.chunk_ns[-1])
        assert trial.metrics["gap_max_ms"] == max(gaps_ms(trial.chunk_ns))
    assert statistics.median(lags) < MEDIAN_LAG_NS
    pooled = [g for t in result.valid_trials for g in gaps_ms(t.chunk_ns)]
    assert result.series("chunk_gap_ms") == pooled
    # the cold trial is kept apart, not folded into the warm statistics
    assert result.cold_ttfa_ms == ns_to_ms(result.trials[0].chunk_ns[0])
    ttfa = statistics.median(result.series("ttfa_ms"))
    assert result.metric("ttfa_ms.p50") == ttfa
    assert result.stream_mode == "native"
    assert result.rss is not None
    assert result.rss.sampler.rss_samples > 0
    assert result.peak_rss_mb is not None
    assert result.peak_rss_mb > 0
    assert result.accel_peak_mb is None  # the CPU exposes no accelerator peak


def test_sentence_mode_streams_sentence_by_sentence(ttsb: pytest.Pytester) -> None:
    ttsb.makeconftest(RECORDING_CONFTEST)
    ttsb.makepyfile(
        """
        def test_sentences(tts_bench):
            tts_bench("medium", mode="sentence", first_ms=20, gap_ms=5, chunks=2)
        """
    )
    reprec = ttsb.inline_run(*SYNTH, "--tts-trials=3")
    reprec.assertoutcome(passed=1)
    (result,) = results_of(reprec)
    assert result.stream_mode == "sentence"
    assert result.series("chunks") == [3.0, 3.0, 3.0]  # three sentences in "medium"
    sentences = split_sentences(get("medium").text)
    calls = handovers(ttsb)
    assert len(calls) == 3 * len(result.trials)  # one engine call per sentence
    for k, trial in enumerate(result.trials):
        mine = calls[3 * k : 3 * k + 3]
        assert [text for text, _, _ in mine] == sentences
        stamps = [trial.t0_ns + ns for ns in trial.chunk_ns]
        # each sentence is one chunk, handed over once the engine has finished it and
        # before the next sentence's call began: streamed sentence by sentence, exactly
        for j, (ours, (_, _, yields)) in enumerate(zip(stamps, mine, strict=True)):
            assert yields[-1] <= ours
            assert j + 1 == len(mine) or ours <= mine[j + 1][1]


@pytest.mark.parametrize(
    ("knobs", "message"),
    [
        ("nan=1", "NaN"),
        ("silence=1", "silen"),
        ("fail_on=3", "synthetic failure on call 3"),
    ],
)
def test_broken_audio_or_engine_fails_naming_the_trial(
    ttsb: pytest.Pytester, knobs: str, message: str
) -> None:
    ttsb.makepyfile(
        """
        def test_broken(tts_bench):
            tts_bench("short")
        """
    )
    result = ttsb.runpytest(*SYNTH, "--tts-trials=3", f"--tts-opt={knobs}")
    result.assert_outcomes(failed=1)
    out = result.stdout.str()
    assert "trial(s) invalid, left out of the statistics" in out
    assert message in out
    assert "Traceback" not in out


def test_a_hung_engine_times_out_and_is_abandoned(ttsb: pytest.Pytester) -> None:
    ttsb.makepyfile(
        """
        def test_first(tts_bench):
            tts_bench("short")

        def test_second(tts_bench):
            tts_bench("short")
        """
    )
    result = ttsb.runpytest(*SYNTH, "--tts-opt=hang=1", "--tts-trial-timeout=0.5")
    result.assert_outcomes(failed=2)
    out = result.stdout.str()
    # said once per test: no trial runs after the hang, no exception chain repeats it
    failures = out.split("= FAILURES =", 1)[1].split("ttsbench targets", 1)[0]
    first, second = failures.split("test_second", 1)
    assert first.count("the engine was abandoned") == 1
    assert "1 trial(s) invalid" in first
    assert "  cold trial 0 hung: no result within 0.5 s (--tts-trial-timeout)" in first
    # the second test fails fast, naming the hang
    assert second.count("the engine was abandoned") == 1
    assert "cold trial 0 hung" in second
    assert "During handling" not in out
    # nowhere else (the file is named so); pytest's own short summary repeats failure
    # messages in full where CI is set, so it is left out of the count
    told = out.split("short test summary info", 1)[0]
    assert told.count("the engine was abandoned") == 2


def test_native_streaming_that_does_not_exist_is_a_skip(ttsb: pytest.Pytester) -> None:
    ttsb.makeconftest(
        textwrap.dedent(
            """
            import numpy as np
            from pytest_ttsbench.engines.base import Capabilities, Engine, EngineSpec

            class Whole(Engine):
                capabilities = Capabilities(stream=False)

                def synthesize(self, text, opts):
                    return np.full(24000, 0.1, dtype=np.float32)

            def pytest_ttsbench_register_engines(registry, config):
                registry.register(EngineSpec("whole", "py", Whole, devices=("cpu",)))
            """
        )
    )
    ttsb.makepyfile(
        """
        def test_stream(tts_bench):
            tts_bench("ultra-short", trials=1)
        """
    )
    result = ttsb.runpytest("--tts-model=whole", "--tts-stream=native", "-rs")
    result.assert_outcomes(skipped=1)
    assert "whole-py-cpu: no native streaming upstream; measure it with --tts-stream=sentence" in (
        result.stdout.str()
    )
    result = ttsb.runpytest("--tts-model=whole", "-rs", "-p", "no:xdist")
    result.assert_outcomes(passed=1)


def test_capabilities_the_engine_lacks_are_skips(ttsb: pytest.Pytester) -> None:
    ttsb.makeconftest(
        textwrap.dedent(
            """
            import numpy as np
            from pytest_ttsbench.engines.base import Capabilities, Engine, EngineSpec

            class Plain(Engine):
                capabilities = Capabilities()

                def synthesize(self, text, opts):
                    return np.full(len(text) * 1600, 0.1, dtype=np.float32)

            def pytest_ttsbench_register_engines(registry, config):
                registry.register(EngineSpec("plain", "py", Plain, devices=("cpu",)))
            """
        )
    )
    ttsb.makepyfile(
        """
        import pytest

        @pytest.mark.tts_prompts("ar", "tags")
        def test_prompt(tts_bench, tts_prompt):
            tts_bench(tts_prompt, trials=1)

        def test_speed(tts_bench):
            tts_bench("short", speed=1.5, trials=1)
        """
    )
    result = ttsb.runpytest("--tts-model=plain", "-rs")
    result.assert_outcomes(skipped=3)
    out = result.stdout.str()
    assert "plain-py-cpu: no language 'ar' (supports en)" in out
    assert "uses paralinguistic tags, which this engine does not support" in out
    assert "plain-py-cpu: no speed control" in out


def test_engine_loads_once_per_target_and_is_released(ttsb: pytest.Pytester) -> None:
    ttsb.makeconftest(
        textwrap.dedent(
            """
            from pytest_ttsbench.engines.base import EngineSpec
            from pytest_ttsbench.engines.synthetic import SyntheticEngine

            EVENTS = []

            class Counting(SyntheticEngine):
                def load(self):
                    EVENTS.append(("load", self.target.id))

                def close(self):
                    EVENTS.append(("close", self.target.id))
                    super().close()

            def pytest_ttsbench_register_engines(registry, config):
                registry.register(EngineSpec("count", "sim", Counting,
                                             devices=("cpu",), variants=("a", "b"),
                                             default_variant="a"))

            def pytest_sessionfinish(session):
                with open("events.txt", "w") as fh:
                    fh.write(repr(EVENTS))
            """
        )
    )
    ttsb.makepyfile(
        """
        def test_one(tts_bench):
            tts_bench("short", trials=1, warmup=0)

        def test_two(tts_bench):
            tts_bench("short", trials=1, warmup=0)
        """
    )
    result = ttsb.runpytest("--tts-model=count", "--tts-variant=all", "-p", "no:xdist")
    result.assert_outcomes(passed=4)
    events = (ttsb.path / "events.txt").read_text()
    assert events == repr(
        [
            ("load", "count-sim-cpu"),
            ("close", "count-sim-cpu"),
            ("load", "count-sim-cpu-b"),
            ("close", "count-sim-cpu-b"),
        ]
    )


def test_pytest_benchmark_sees_our_trials(ttsb: pytest.Pytester) -> None:
    pytest.importorskip("pytest_benchmark")
    ttsb.makepyfile(
        """
        def test_bench(tts_bench):
            tts_bench("short", first_ms=30, gap_ms=10, chunks=3)
        """
    )
    out = ttsb.path / "bench.json"
    result = ttsb.runpytest(*SYNTH, "--tts-trials=4", f"--benchmark-json={out}")
    result.assert_outcomes(passed=1)
    data = json.loads(out.read_text())
    (bench,) = data["benchmarks"]
    assert bench["stats"]["rounds"] == 4
    assert bench["extra_info"]["tts_rtf_direction"] == "lower is better"
    assert bench["extra_info"]["tts_latency_ms_p50"] == pytest.approx(
        bench["stats"]["median"] * 1e3
    )


def test_broken_weights_fail_the_load_with_the_reason(
    ttsb: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("kokoro_onnx")
    folder = ttsb.mkdir("weights")
    (folder / "kokoro-v1.0.onnx").write_bytes(b"not an onnx model")
    (folder / "voices-v1.0.bin").write_bytes(b"not voices")
    ttsb.makepyfile(
        """
        def test_one(tts_bench):
            tts_bench("short")

        def test_two(tts_bench):
            tts_bench("short")
        """
    )
    result = ttsb.runpytest(
        "--tts-model=kokoro",
        "--tts-backend=onnx",
        "--tts-device=cpu",
        "--tts-variant=fp32",
        f"--tts-weights=kokoro={folder}",
        "-p",
        "no:xdist",
    )
    result.assert_outcomes(errors=2)
    out = result.stdout.str()
    assert "kokoro-onnx-cpu-fp32: loading failed:" in out
    assert "Traceback" not in out
