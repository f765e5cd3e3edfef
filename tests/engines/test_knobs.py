"""Engine knobs: typed, checked, named in every error; the length cap as an upstream knob."""

from __future__ import annotations

import pytest

from pytest_ttsbench.engines.base import EngineError, SynthesisOptions
from pytest_ttsbench.engines.knobs import S3_TOKENS_PER_S, Knobs, cap_kwarg


def test_knobs_call_values_win_and_convert() -> None:
    knobs = Knobs("x", {"a": "1.5", "n": "3", "flag": "off", "s": "hi"}, {"a": 2})
    assert knobs.number("a", 0.0) == 2.0
    assert knobs.integer("n", 0, low=1) == 3
    assert knobs.flag("flag", True) is False
    assert knobs.text("s") == "hi"
    assert knobs.text("missing", "d") == "d"
    assert knobs.numbers({"a": {"low": 0.0}, "b": {}}) == {"a": 2.0}
    assert knobs.integers({"n": 0, "m": 0}) == {"n": 3}


@pytest.mark.parametrize(
    ("value", "call"),
    [
        ("nan", lambda k: k.number("v", 0.0)),
        (True, lambda k: k.number("v", 0.0)),
        ("2.5", lambda k: k.integer("v", 0)),
        ("0", lambda k: k.integer("v", 0, low=1)),
        ("/no/such/file", lambda k: k.path("v")),
    ],
)
def test_knobs_reject_bad_values(value: object, call: object) -> None:
    knobs = Knobs("kokoro-pt-cpu", {}, {"v": value})
    with pytest.raises(EngineError, match="kokoro-pt-cpu: knob v="):
        call(knobs)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("value", "expected"), [("ON", True), (" yes ", True), ("0", False), ("False", False)]
)
def test_knob_flags_read_the_words_options_read(value: str, expected: bool) -> None:
    assert Knobs("x", {"f": value}).flag("f", not expected) is expected
    assert Knobs("x", {"f": ""}).flag("f", True) is True  # blank: not given


def test_a_knob_flag_that_is_no_word_names_the_knob() -> None:
    with pytest.raises(EngineError, match="knob f='maybe': expected on/off"):
        Knobs("x", {"f": "maybe"}).flag("f", False)


def test_cap_kwarg_in_upstream_steps_unless_given() -> None:
    kwargs: dict[str, object] = {}
    cap_kwarg(kwargs, "max_new_tokens", SynthesisOptions(max_audio_s=2.0), S3_TOKENS_PER_S)
    assert kwargs == {"max_new_tokens": 50}
    given: dict[str, object] = {"max_new_tokens": 7}
    cap_kwarg(given, "max_new_tokens", SynthesisOptions(max_audio_s=2.0), S3_TOKENS_PER_S)
    assert given == {"max_new_tokens": 7}
    uncapped: dict[str, object] = {}
    cap_kwarg(uncapped, "max_new_tokens", SynthesisOptions(), S3_TOKENS_PER_S)
    assert uncapped == {}
