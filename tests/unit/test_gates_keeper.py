"""The pytest side of gates (GateKeeper), driven with stand-in items: explain per suite,
and the note when the sample-size rule raises the trials a test asked for."""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from pytest_ttsbench.gatekeeper import GateKeeper
from pytest_ttsbench.matrix.hardware import Hardware
from pytest_ttsbench.results.target import Target
from pytest_ttsbench.settings import Settings
from tests.unit.gates_support import gateset
from tests.unit.result_support import make_result

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

KOKORO = Target("kokoro", "onnx", "cpu", "int8")
HARDWARE = Hardware("Linux", "x86_64", "AMD EPYC 7B13", 2)
PLAIN = '[[gates]]\nmodel = "kokoro"\nbounds = ["rtf.p50 <= 0.6"]\n'


def item(module: str, target: Target | None = KOKORO, marks: tuple[Any, ...] = ()) -> Any:
    params = {} if target is None else {"tts_target": target}
    return SimpleNamespace(
        module=SimpleNamespace(__name__=module),
        callspec=SimpleNamespace(params=params),
        name="test_x",
        iter_markers=lambda name: iter(marks),
    )


def keeper(tmp_path: Path, text: str = PLAIN) -> GateKeeper:
    return GateKeeper(Settings(), gateset(tmp_path, text), None)


def test_explain_shows_each_target_per_suite(tmp_path: Path) -> None:
    items = [
        item("suites.test_latency"),
        item("suites.test_latency"),
        item("pytest_ttsbench.suites.test_cold_start"),
        item("test_mine"),
        item("test_plain", target=None),
    ]
    lines = keeper(tmp_path).explain([KOKORO], HARDWARE, cast("list[pytest.Item]", items))
    text = "\n".join(lines)
    heads = [line for line in lines if line.startswith("kokoro-onnx-cpu-int8")]
    assert [h.split("suite=")[1] for h in heads] == ["latency", "cold_start", "mine"]
    latency, cold, mine = text.split("kokoro-onnx-cpu-int8")[1:]
    assert "rtf.p50 <= 0.6" in latency
    assert "rtf.p50 <= 0.6" in mine
    assert "no gate applies" in cold
    assert "suite cold_start is judged only by rules that name it" in cold


def test_explain_without_items_keeps_one_block_per_target(tmp_path: Path) -> None:
    lines = keeper(tmp_path).explain([KOKORO], HARDWARE)
    assert lines[1].startswith("kokoro-onnx-cpu-int8 hardware=")
    assert "rtf.p50 <= 0.6" in lines[2]
    assert "rules without suite = judge latency, streaming and your own tests" in lines[-1]


def test_raising_the_trials_asked_for_leaves_a_note(tmp_path: Path) -> None:
    result = make_result({})
    n, note = keeper(tmp_path).trials_needed(
        cast("pytest.Item", item("test_latency")), result, 3, 60
    )
    assert n == 5
    assert note is not None
    assert note.startswith("trials raised from 3 to 5 so the gates can be judged: rtf.p50")
    assert f"{tmp_path / 'gates.toml'}:3" in note  # the bound's line


def test_no_note_when_the_trials_asked_for_suffice(tmp_path: Path) -> None:
    result = make_result({})
    gk = keeper(tmp_path)
    assert gk.trials_needed(cast("pytest.Item", item("test_latency")), result, 5, 60) == (5, None)
    assert gk.trials_needed(cast("pytest.Item", item("test_latency")), result, 20, 60) == (20, None)
    cold = make_result({}, suite="cold_start")  # no rule judges it: nothing raised
    assert gk.trials_needed(cast("pytest.Item", item("test_cold_start")), cold, 2, 60) == (2, None)
