"""One reader of true/false words, for options and engine knobs alike."""

from __future__ import annotations

import pytest

from pytest_ttsbench.flag_words import parse_flag


@pytest.mark.parametrize("word", ["1", "true", "YES", " On ", True])
def test_true_words(word: object) -> None:
    assert parse_flag(word) is True


@pytest.mark.parametrize("word", ["0", "False", "no", "OFF", "", "  ", False])
def test_false_words(word: object) -> None:
    assert parse_flag(word) is False


@pytest.mark.parametrize("word", ["maybe", "2", "y", None])
def test_anything_else_is_none(word: object) -> None:
    assert parse_flag(word) is None
