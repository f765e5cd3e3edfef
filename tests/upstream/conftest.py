"""The upstream tier: real upstream packages, tiny random-init weights built at test
time. Its tests run only when asked for (`-m upstream`, tox -e upstream-*, CI's upstream
stage); in the default run they skip with that hint."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.upstream.support import TIER_LOG

if TYPE_CHECKING:
    from pathlib import Path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "upstream" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="upstream tier: run it with -m upstream (or tox -e upstream)")
    for item in items:
        if item.get_closest_marker("upstream") is not None:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIER_LOG:
        terminalreporter.section("upstream tier: suites per pair (random weights)")
        for line in TIER_LOG:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def hf_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An HF home of our own: companions the upstream reads from the hub cache go here."""
    return tmp_path_factory.mktemp("hf-home")
