"""Gates as part of each test's verdict (placeholder until gates.py lands)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pytest_ttsbench.settings import Settings

if TYPE_CHECKING:
    from pytest_ttsbench.engines.base import Target
    from pytest_ttsbench.hardware import Hardware
    from pytest_ttsbench.results import BenchResult


class GateKeeper:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: Settings, rootdir: Path) -> GateKeeper:
        return cls(settings)

    def trials_needed(self, result: BenchResult, requested: int, cap: int) -> int:
        return requested

    def judge(self, request: pytest.FixtureRequest, result: BenchResult) -> None:
        return None

    def explain(self, targets: list[Target], hardware: Hardware) -> list[str]:
        return []
