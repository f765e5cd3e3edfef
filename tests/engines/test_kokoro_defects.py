"""Kokoro adapter defects, against stand-ins: one-time setup (misaki's G2P, spaCy's
model download) belongs to load(), never to the first timed call."""

from __future__ import annotations

import importlib.machinery
import sys
import types
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.engines.base import EngineError, SynthesisOptions, WeightsLookup
from pytest_ttsbench.engines.kokoro_pt import KokoroPtEngine
from pytest_ttsbench.engines.mlx_kokoro import KokoroMlxEngine
from pytest_ttsbench.matrix.targets import not_found_reason
from pytest_ttsbench.results.target import Target

from .conftest import Install, context, make_files, query
from .fakes import mlx_fake
from .fakes.kokoro_transformers_fake import Recorder, make_kokoro
from .fakes.mlx_fake import make_mlx, make_mlx_audio

if TYPE_CHECKING:
    from pathlib import Path

    from .fakes.torch_fake import TorchRecorder

KOKORO_PT = Target("kokoro", "pt", "cpu", "default")
KOKORO_MLX = Target("kokoro", "mlx", "cpu", "bf16")
PT_FILES = ("config.json", "kokoro-v1_0.pth", "voices/af_heart.pt")


def spec_module(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__spec__ = importlib.machinery.ModuleSpec(name, None)
    return module


class SpacyCli:
    """spacy.cli: download() installs en_core_web_sm, or exits as spaCy does on failure."""

    def __init__(self, install: Install, fail: bool) -> None:
        self.install = install
        self.fail = fail
        self.downloads: list[str] = []

    def module(self) -> dict[str, types.ModuleType]:
        spacy = spec_module("spacy")
        spacy.__path__ = []
        cli = spec_module("spacy.cli")
        cli.download = self.download  # type: ignore[attr-defined]
        spacy.cli = cli  # type: ignore[attr-defined]
        return {"spacy": spacy, "spacy.cli": cli}

    def download(self, model: str, *pip_args: str) -> None:
        self.downloads.append(model)
        if self.fail:
            sys.exit(1)  # what spacy.util.run_command does when pip fails
        self.install({model: spec_module(model)})


@pytest.fixture
def no_spacy_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """en_core_web_sm absent, whatever this machine has installed."""
    monkeypatch.setitem(sys.modules, "en_core_web_sm", None)  # find_spec: ValueError


def spacy_cli(install: Install, monkeypatch: pytest.MonkeyPatch, fail: bool) -> SpacyCli:
    cli = SpacyCli(install, fail)
    install(cli.module())
    monkeypatch.setitem(sys.modules, "en_core_web_sm", None)  # absent until downloaded
    return cli


# -- kokoro-pt ---------------------------------------------------------------------------


@pytest.fixture
def kokoro(install: Install, fake_torch: TorchRecorder) -> Recorder:
    rec = Recorder()
    install({"kokoro": make_kokoro(rec)})
    return rec


def test_pt_g2p_and_default_voice_are_loaded_at_load(
    tmp_path: Path, kokoro: Recorder, install: Install
) -> None:
    install({"en_core_web_sm": spec_module("en_core_web_sm")})
    folder = make_files(tmp_path, PT_FILES)
    engine = KokoroPtEngine(context(KOKORO_PT, folder, options={"lang_code": "b"}))
    engine.load()
    assert kokoro.names() == ["KModel", "KPipeline", "load_voice"]
    assert kokoro.last("KPipeline")["lang_code"] == "b"  # the knob's language, not "a"
    assert kokoro.last("load_voice")["voice"] == str(folder / "voices" / "af_heart.pt")
    engine.synthesize("Hi.", SynthesisOptions())
    assert kokoro.names().count("KPipeline") == 1


def test_pt_spacy_download_runs_at_load(
    tmp_path: Path, kokoro: Recorder, install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = spacy_cli(install, monkeypatch, fail=False)
    folder = make_files(tmp_path, PT_FILES)
    engine = KokoroPtEngine(context(KOKORO_PT, folder, allow_download=True))
    engine.load()
    assert cli.downloads == ["en_core_web_sm"]  # before any synthesis
    engine.synthesize("Hi.", SynthesisOptions())
    assert cli.downloads == ["en_core_web_sm"]


def test_pt_failed_spacy_download_is_a_load_error(
    tmp_path: Path, kokoro: Recorder, install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = spacy_cli(install, monkeypatch, fail=True)
    engine = KokoroPtEngine(context(KOKORO_PT, make_files(tmp_path, PT_FILES), allow_download=True))
    with pytest.raises(
        EngineError, match=r"downloading the spaCy model en_core_web_sm .*SystemExit"
    ):
        engine.load()
    assert cli.downloads == ["en_core_web_sm"]
    assert "KPipeline" not in kokoro.names()


# -- kokoro-mlx --------------------------------------------------------------------------


@pytest.fixture
def mlx(install: Install, monkeypatch: pytest.MonkeyPatch) -> mlx_fake.Recorder:
    rec = mlx_fake.Recorder()
    install({**make_mlx(rec), **make_mlx_audio(rec), "misaki": spec_module("misaki")})
    return rec


def mlx_folder(tmp_path: Path) -> Path:
    folder = make_files(tmp_path, ["kokoro-v1_0.safetensors", "voices/af_heart.safetensors"])
    (folder / "config.json").write_text('{"model_type": "kokoro"}', encoding="utf-8")
    return folder


def test_mlx_g2p_is_built_at_load_not_in_the_first_call(
    tmp_path: Path,
    mlx: mlx_fake.Recorder,
    install: Install,
    capsys: pytest.CaptureFixture[str],
) -> None:
    install({"en_core_web_sm": spec_module("en_core_web_sm")})
    engine = KokoroMlxEngine(context(KOKORO_MLX, mlx_folder(tmp_path)))
    engine.load()
    assert mlx.names()[-2:] == ["load_model", "pipeline"]
    assert mlx.last("pipeline") == {"lang_code": "a"}
    assert "g2p_at_load" in engine.details()
    assert capsys.readouterr().out == ""  # upstream's print kept out of the output
    list(engine.stream("One.\nTwo.", SynthesisOptions()))
    assert mlx.names().count("pipeline") == 1  # the timed call found it built


def test_mlx_spacy_download_runs_at_load(
    tmp_path: Path, mlx: mlx_fake.Recorder, install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = spacy_cli(install, monkeypatch, fail=False)
    engine = KokoroMlxEngine(context(KOKORO_MLX, mlx_folder(tmp_path), allow_download=True))
    engine.load()
    assert cli.downloads == ["en_core_web_sm"]
    engine.synthesize("Hi.", SynthesisOptions())
    assert cli.downloads == ["en_core_web_sm"]


def test_mlx_failed_spacy_download_is_a_load_error(
    tmp_path: Path, mlx: mlx_fake.Recorder, install: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli = spacy_cli(install, monkeypatch, fail=True)
    engine = KokoroMlxEngine(context(KOKORO_MLX, mlx_folder(tmp_path), allow_download=True))
    with pytest.raises(EngineError, match="en_core_web_sm"):
        engine.load()
    assert cli.downloads == ["en_core_web_sm"]
    assert "load_model" not in mlx.names()


def test_mlx_skip_message_names_the_missing_model_and_the_flag_once(
    tmp_path: Path, install: Install, no_spacy_model: None
) -> None:
    install({"misaki": spec_module("misaki")})
    folder = mlx_folder(tmp_path)
    lookup = KokoroMlxEngine.locate_weights(
        KOKORO_MLX, query({"HF_HUB_CACHE": str(tmp_path / "hub")}, {"kokoro-mlx": folder})
    )
    assert isinstance(lookup, WeightsLookup)
    assert not lookup.found
    reason = not_found_reason(lookup)
    assert reason.startswith(
        f"weights found at {folder}, but missing python package en_core_web_sm"
    )
    assert "weights not found" not in reason
    assert reason.count("--tts-allow-download") == 1
    assert "spacy download en_core_web_sm" in reason
