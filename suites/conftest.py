"""Suite-wide defaults: soak runs only when asked for (``pytest suites -m soak``), and
each suite runs its own trial count unless the user asks for one (``--tts-trials``).

Every suite takes its prompt from ``tts_prompt`` (its own preset unless
``--tts-prompts`` names others) and its count from ``asked_trials``; a suite that cannot
run the count asked for skips and says why."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.options import OPTIONS_BY_ATTR

if TYPE_CHECKING:
    from pytest_ttsbench.settings import Settings


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if not config.option.markexpr:
        config.option.markexpr = "not soak"


@pytest.fixture(scope="session")
def asked_trials(request: pytest.FixtureRequest, tts_settings: Settings) -> int | None:
    """The trial count the user asked for (``--tts-trials``, its environment variable or
    its ini key); None when it was left at its default: each suite then runs its own
    count (a cold start 2 fresh processes, a leak check 20 syntheses)."""
    spec = OPTIONS_BY_ATTR["trials"]
    config = request.config
    given = (
        config.getoption(spec.dest) is not None
        or bool(spec.env and os.environ.get(spec.env, "").strip())
        or bool(config.getini(spec.dest))
    )
    return tts_settings.trials if given else None
