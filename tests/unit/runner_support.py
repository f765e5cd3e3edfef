"""What the runner tests share: a prepared request and the result header the fixture
fills in from the session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_ttsbench.measure.request import Ask, BenchRequest, prepare
from pytest_ttsbench.results.model import BenchResult

if TYPE_CHECKING:
    from pytest_ttsbench.matrix.pool import EngineHandle


def ask(handle: EngineHandle, prompt: str = "short", **kw: Any) -> BenchRequest:
    return prepare(Ask(prompt, **kw), handle.engine.capabilities, handle.target.id, "auto")


def header(
    handle: EngineHandle, request: BenchRequest, *, with_versions: bool = False
) -> BenchResult:
    """The result's header, as the fixture fills it from the session."""
    return BenchResult(
        target=handle.target,
        test="tests/unit/runners::t",
        suite="unit",
        prompt=request.prompt.name,
        text_chars=request.prompt.chars,
        language=request.opts.language,
        stream_mode=request.mode,
        hardware="test box",
        warmup=0,
        load_s=handle.load_s,
        # the fixture asks the engine on its own thread
        versions=handle.thread.call(handle.engine.versions, 60) if with_versions else {},
        params=request.params,
    )
