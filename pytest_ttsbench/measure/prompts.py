"""Prompt presets (prompts.toml) and the sentence splitter of sentence streaming."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


class PromptError(ValueError):
    """An unknown preset; the message lists the valid ones."""


@dataclass(frozen=True)
class Prompt:
    name: str
    text: str
    language: str = "en"
    needs: tuple[str, ...] = ()  # capabilities such as "tags"

    @property
    def chars(self) -> int:
        return len(self.text)


def _shipped(file: str) -> dict[str, Any]:
    return tomllib.loads(
        resources.files("pytest_ttsbench.measure").joinpath(file).read_text(encoding="utf-8")
    )


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


@cache
def presets() -> dict[str, Prompt]:
    raw = _shipped("prompts.toml")
    return {
        name: Prompt(
            name=name,
            text=_one_line(body["text"]),
            language=str(body.get("language", "en")),
            needs=tuple(body.get("needs", ())),
        )
        for name, body in raw.items()
    }


def get(name: str) -> Prompt:
    try:
        return presets()[name]
    except KeyError:
        raise PromptError(
            f"unknown prompt preset {name!r}; valid: {', '.join(presets())}"
        ) from None


@cache
def prompt_sets() -> dict[str, tuple[Prompt, ...]]:
    """The shipped prompt sets (prompt_sets.toml): name -> its prompts, named
    ``set.1``, ``set.2``, ... in order."""
    raw = _shipped("prompt_sets.toml")
    return {
        name: tuple(
            Prompt(f"{name}.{i}", _one_line(text), str(body.get("language", "en")))
            for i, text in enumerate(body["texts"], start=1)
        )
        for name, body in raw.items()
    }


def prompt_set(name: str) -> tuple[Prompt, ...]:
    try:
        return prompt_sets()[name]
    except KeyError:
        raise PromptError(
            f"unknown prompt set {name!r}; valid: {', '.join(prompt_sets())}"
        ) from None


def validate(names: tuple[str, ...] | None) -> None:
    for name in names or ():
        get(name)


# A sentence ends at . ! ? (or their CJK/Arabic forms) followed by space or the end;
# abbreviations like "Dr." are rare in call-centre prompts and merely split early.
_SENTENCE_END = re.compile(r"(?<=[.!?。！？؟])\s+")


def split_sentences(text: str) -> list[str]:
    """Sentences in order; text without terminal punctuation is one sentence."""
    parts = [p.strip() for p in _SENTENCE_END.split(text.strip())]
    return [p for p in parts if p]
