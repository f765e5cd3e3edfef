"""Collecting the whole matrix imports no engine package: skips are decided with
find_spec, nvidia-smi and file checks. Checked through sys.modules in a fresh process."""

from __future__ import annotations

import importlib.util
import json
import textwrap

import pytest

HEAVY = (
    "torch",
    "mlx",
    "onnxruntime",
    "chatterbox",
    "mlx_audio",
    "kokoro_onnx",
    "kokoro",
    "transformers",
    "tokenizers",
    "huggingface_hub",
    "misaki",
    "spacy",
)


def test_collecting_every_target_imports_no_engine(ttsb: pytest.Pytester) -> None:
    installed = [name for name in HEAVY if importlib.util.find_spec(name) is not None]
    if "kokoro_onnx" not in installed:
        pytest.skip("kokoro-onnx is not installed: nothing heavy could be imported anyway")
    ttsb.makeconftest(
        textwrap.dedent(
            f"""
            import json
            import sys

            HEAVY = {HEAVY!r}

            def pytest_collection_finish(session):
                loaded = sorted(m for m in sys.modules if m.split(".")[0] in HEAVY)
                with open("heavy.json", "w") as fh:
                    json.dump(loaded, fh)
            """
        )
    )
    ttsb.makepyfile(
        """
        def test_target(tts_target):
            pass

        def test_bench(tts_bench):
            pass
        """
    )
    result = ttsb.runpytest_subprocess("--collect-only", "-q", "--tts-variant=all")
    assert result.ret == 0, result.stdout.str()
    loaded = json.loads((ttsb.path / "heavy.json").read_text())
    assert loaded == [], f"collection imported {loaded} (installed here: {installed})"
    # the whole matrix, every variant, was collected
    assert "chatterbox-turbo-onnx-cpu-q4f16" in result.stdout.str()
