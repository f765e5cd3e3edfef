"""Warnings raised while an engine loads or synthesizes are counted per target and never
fail a benchmark, whatever filters the user's project sets (here: every warning an
error, as ``filterwarnings = ["error"]`` does). The engine runs through the real pool,
its EngineThread and the runners. Log records at WARNING and above, which upstream
packages log instead of warning, are counted beside them and still reach their handlers.
"""

from __future__ import annotations

import json
import logging
import math
import re
import uuid
import warnings
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from pytest_ttsbench.engines.base import Capabilities, Engine, EngineContext, EngineSpec
from pytest_ttsbench.matrix.pool import EngineHandle, EnginePool
from pytest_ttsbench.matrix.targets import MatrixEntry
from pytest_ttsbench.measure import runners
from pytest_ttsbench.measure.engine_thread import EngineThread
from pytest_ttsbench.measure.planning import TrialPlan
from pytest_ttsbench.results.details import EngineWarning
from pytest_ttsbench.results.model import BenchResult, warning_lines
from pytest_ttsbench.results.target import Target
from tests.unit.runner_support import ask, header

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytest_ttsbench.engines.base import SynthesisOptions

CHUNKS = 3
HERE = Path(__file__).name
DROPOUT = "dropout option adds dropout after all but last recurrent layer,\nso expects more"
WEIGHT_NORM = "torch.nn.utils.weight_norm is deprecated in favor of parametrizations"
SDPA = "sdpa attention does not support `output_attentions=True`"
UPSTREAM = "upstream.lib"


class Warns(Engine):
    """Warns like upstream packages do: once when built, once in load, on every chunk."""

    capabilities = Capabilities(stream=True, thread_safe=True)
    sample_rate = 16_000

    def __init__(self, ctx: EngineContext) -> None:
        super().__init__(ctx)
        warnings.warn("a future default changes", FutureWarning, stacklevel=1)

    def load(self) -> None:
        warnings.warn(DROPOUT, UserWarning, stacklevel=1)

    def versions(self) -> dict[str, str]:
        warnings.warn("pkg_resources is deprecated", DeprecationWarning, stacklevel=1)
        return {"warns": "1"}

    def stream(self, text: str, opts: SynthesisOptions) -> Iterator[np.ndarray[Any, Any]]:
        t = np.arange(3 * self.sample_rate) / self.sample_rate  # 3 s: plausible for "short"
        wave = (0.3 * np.sin(2 * math.pi * 220.0 * t)).astype(np.float32)
        for chunk in np.array_split(wave, CHUNKS):
            warnings.warn(WEIGHT_NORM, DeprecationWarning, stacklevel=1)
            yield chunk


@pytest.fixture
def pool(tmp_path: Path) -> Iterator[EnginePool]:
    engines = EnginePool({}, allow_download=False, cache_dir=tmp_path, load_timeout_s=30)
    yield engines
    engines.close_all()


@pytest.fixture
def strict() -> Iterator[None]:
    """Every warning an error, as a project with ``filterwarnings = ["error"]`` has it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
        # the plugin's own code outside the engine's calls keeps the project's filters
        with pytest.raises(UserWarning, match="still an error"):
            warnings.warn("still an error", UserWarning, stacklevel=1)


def load(pool: EnginePool) -> EngineHandle:
    target = Target("warns", "py", "cpu", "default")
    return pool.acquire(MatrixEntry(target, EngineSpec(target.model, "py", Warns)))


def counts(result: BenchResult) -> dict[tuple[str, str, str], int]:
    return {(w.phase, w.category, w.message): w.count for w in result.warnings}


@pytest.mark.usefixtures("strict")
def test_warnings_in_load_and_synthesis_are_counted_not_raised(pool: EnginePool) -> None:
    handle = load(pool)
    request = ask(handle)
    spec = runners.RunSpec(warmup=1, trial_timeout_s=60, plan=TrialPlan(trials=2))
    result = header(handle, request, with_versions=True).measured_by(
        runners.single_prompt(handle, request, spec)
    )
    assert runners.invalid_trials(result) is None
    assert result.n == 2
    calls = 1 + 1 + 2  # cold, warm-up, measured
    assert counts(result) == {
        ("load", "FutureWarning", "a future default changes"): 1,
        (
            "load",
            "UserWarning",
            "dropout option adds dropout after all but last recurrent layer,",
        ): 1,
        ("synthesis", "DeprecationWarning", "pkg_resources is deprecated"): 1,
        ("synthesis", "DeprecationWarning", WEIGHT_NORM): CHUNKS * calls,
    }
    assert all(re.search(rf"{HERE}:\d+$", w.where) for w in result.warnings)
    # load warnings belong to the target's first result only; each result counts its own
    again = header(handle, request, with_versions=True).measured_by(
        runners.single_prompt(handle, request, spec)
    )
    assert counts(again) == {
        ("synthesis", "DeprecationWarning", "pkg_resources is deprecated"): 1,
        ("synthesis", "DeprecationWarning", WEIGHT_NORM): CHUNKS * (1 + 2),
    }
    lines = warning_lines([result, again])
    assert len(lines) == 1  # one line per target, counts summed over its results
    assert lines[0].startswith("warnings: warns-py-cpu: ")
    assert f"{CHUNKS * 7} DeprecationWarning '{WEIGHT_NORM[:40]}" in lines[0]
    assert "1 UserWarning 'dropout option adds dropout after all but last" in lines[0]
    assert lines[0].count("(load)") == 2
    assert "2 DeprecationWarning 'pkg_resources is deprecated' (synthesis)" in lines[0]


@pytest.mark.usefixtures("strict")
def test_warnings_of_concurrent_requests_are_counted_not_raised(pool: EnginePool) -> None:
    handle = load(pool)
    shape = runners.LoadSpec(concurrency=2, requests=4)
    request = ask(handle, params=shape.params)
    spec = runners.RunSpec(warmup=0, trial_timeout_s=60)
    result = header(handle, request, with_versions=True).measured_by(
        runners.concurrent(handle, request, spec, shape)
    )
    assert runners.invalid_trials(result) is None
    assert result.load is not None
    assert result.load.errors == 0
    calls = 1 + 2 + 4  # cold, one at a time (the throughput to compare with), the load
    assert counts(result)[("synthesis", "DeprecationWarning", WEIGHT_NORM)] == CHUNKS * calls
    assert counts(result)[("load", "UserWarning", DROPOUT.splitlines()[0])] == 1


@pytest.mark.usefixtures("strict")
def test_cache_check_counts_the_warnings_of_its_trials(pool: EnginePool) -> None:
    handle = load(pool)
    request = ask(handle)
    spec = runners.RunSpec(warmup=0, trial_timeout_s=60, plan=TrialPlan(trials=2))
    result = header(handle, request, with_versions=True).measured_by(
        runners.cache_check(handle, request, spec)
    )
    assert runners.invalid_trials(result) is None
    calls = len(result.trials)  # cold, warm-up, unique and repeated: one call each
    assert counts(result)[("synthesis", "DeprecationWarning", WEIGHT_NORM)] == CHUNKS * calls
    assert counts(result)[("load", "UserWarning", DROPOUT.splitlines()[0])] == 1


def test_warnings_ride_in_the_results_json_and_old_files_read() -> None:
    base = BenchResult(
        Target("m", "b", "cpu", "default"), "t", "s", "short", 10, "en", "none", "h", 1
    )
    assert "warnings" not in base.as_dict()["details"]  # none: the key stays out
    assert BenchResult.from_dict(base.as_dict()).warnings == []
    warned = [
        EngineWarning("UserWarning", "dropout", "rnn.py:83", 3, "load"),
        EngineWarning("DeprecationWarning", "weight_norm", "utils.py:12", 12, "synthesis"),
    ]
    base = replace(base, warnings=warned)
    data = json.loads(json.dumps(base.as_dict()))
    assert data["details"]["warnings"][0] == {
        "category": "UserWarning",
        "message": "dropout",
        "where": "rnn.py:83",
        "count": 3,
        "phase": "load",
    }
    again = BenchResult.from_dict(data)
    assert again.warnings == base.warnings
    assert again.details == {}
    assert warning_lines([again]) == [
        "warnings: m-b-cpu: 3 UserWarning 'dropout' (load), "
        "12 DeprecationWarning 'weight_norm' (synthesis)"
    ]
    assert warning_lines([BenchResult.from_dict(base.as_dict() | {"details": {}})]) == []


# ---- log records -----------------------------------------------------------------------------
class Collect(logging.Handler):
    """A logger's own handler: what the user's logging shows."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def engine() -> Iterator[EngineThread]:
    thread = EngineThread("logs")
    yield thread
    thread.stop()


@pytest.fixture
def upstream() -> Iterator[tuple[logging.Logger, Collect]]:
    """A package's logger as transformers sets up its own: a handler, no propagation."""
    logger = logging.getLogger(UPSTREAM)
    collect = Collect()
    logger.addHandler(collect)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, collect
    logger.removeHandler(collect)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


def tally(thread: EngineThread) -> dict[tuple[str, str, str], int]:
    return {(w.phase, w.category, w.message): w.count for w in thread.warnings.drain()}


@pytest.mark.usefixtures("strict")
def test_log_records_of_a_logger_that_does_not_propagate_are_counted(
    engine: EngineThread, upstream: tuple[logging.Logger, Collect]
) -> None:
    logger, _ = upstream

    def synthesize() -> None:  # runs on the engine's thread
        for _ in range(2):
            logger.warning("%s\nFalling back to the manual implementation", SDPA)
        logger.error("out of memory, retrying on %s", "cpu")

    engine.call(synthesize)
    warned = engine.warnings.drain()
    assert {(w.phase, w.category, w.message): w.count for w in warned} == {
        ("synthesis", f"log WARNING ({UPSTREAM})", SDPA): 2,
        ("synthesis", f"log ERROR ({UPSTREAM})", "out of memory, retrying on cpu"): 1,
    }
    assert all(re.search(rf"{HERE}:\d+$", w.where) for w in warned)
    # reported the way warnings are: in the results JSON and the summary line
    base = BenchResult(
        Target("m", "b", "cpu", "default"), "t", "s", "short", 10, "en", "none", "h", 1
    )
    result = BenchResult.from_dict(json.loads(json.dumps(replace(base, warnings=warned).as_dict())))
    assert result.warnings == warned
    lines = warning_lines([result])
    assert len(lines) == 1
    assert lines[0].startswith(f"warnings: m-b-cpu: 2 log WARNING ({UPSTREAM}) 'sdpa attention")
    assert f"1 log ERROR ({UPSTREAM}) 'out of memory, retrying on cpu' (synthesis)" in lines[0]


def test_log_records_below_warning_are_not_counted(
    engine: EngineThread, upstream: tuple[logging.Logger, Collect]
) -> None:
    logger, collect = upstream

    def synthesize() -> None:
        logger.debug("tokens: 12")
        logger.info("loaded the voice")
        logger.warning("text truncated")

    engine.call(synthesize)
    assert tally(engine) == {("synthesis", f"log WARNING ({UPSTREAM})", "text truncated"): 1}
    assert [r.getMessage() for r in collect.records] == [
        "tokens: 12",
        "loaded the voice",
        "text truncated",
    ]


def test_logging_is_left_as_it_was_and_records_reach_their_handlers(
    engine: EngineThread, upstream: tuple[logging.Logger, Collect]
) -> None:
    original = logging.Logger.callHandlers
    logger, collect = upstream
    engine.call(lambda: logger.warning("kept"))
    assert logging.Logger.callHandlers is original
    assert tally(engine) == {("synthesis", f"log WARNING ({UPSTREAM})", "kept"): 1}

    def fails() -> None:
        logger.warning("about to fail")
        raise RuntimeError("engine error")

    with pytest.raises(RuntimeError, match="engine error"):
        engine.call(fails, phase="close")
    assert logging.Logger.callHandlers is original
    assert tally(engine) == {("close", f"log WARNING ({UPSTREAM})", "about to fail"): 1}
    logger.warning("not waited on")  # outside any call: logged, not counted
    assert [r.getMessage() for r in collect.records] == ["kept", "about to fail", "not waited on"]
    assert tally(engine) == {}


def test_a_logger_created_during_the_call_is_counted(engine: EngineThread) -> None:
    name = f"fresh.lib.{uuid.uuid4().hex}"  # a library imported during load logs
    assert name not in logging.Logger.manager.loggerDict

    def load() -> None:
        logging.getLogger(name).warning("weights were not initialized from the checkpoint")

    engine.call(load, phase="load")
    assert tally(engine) == {
        ("load", f"log WARNING ({name})", "weights were not initialized from the checkpoint"): 1
    }


def test_the_harness_own_log_records_are_not_counted(
    engine: EngineThread, upstream: tuple[logging.Logger, Collect]
) -> None:
    logger, _ = upstream
    ours = logging.getLogger("pytest_ttsbench.x")
    collect = Collect()
    ours.addHandler(collect)
    ours.propagate = False
    try:

        def synthesize() -> None:
            ours.warning("the harness speaks")
            logging.getLogger("pytest_ttsbench").error("so does its root")
            logger.warning("upstream speaks")

        engine.call(synthesize)
    finally:
        ours.removeHandler(collect)
        ours.propagate = True
    assert tally(engine) == {("synthesis", f"log WARNING ({UPSTREAM})", "upstream speaks"): 1}
    assert [r.getMessage() for r in collect.records] == ["the harness speaks"]


def test_nested_contexts_count_a_record_once(
    engine: EngineThread, upstream: tuple[logging.Logger, Collect]
) -> None:
    original = logging.Logger.callHandlers
    logger, collect = upstream
    with engine.catching("load"):
        engine.call(lambda: logger.warning("some weights were not used"), phase="load")
    assert logging.Logger.callHandlers is original
    assert tally(engine) == {("load", f"log WARNING ({UPSTREAM})", "some weights were not used"): 1}
    assert len(collect.records) == 1


def test_a_record_whose_message_cannot_be_formatted_is_counted(engine: EngineThread) -> None:
    # made here, so that pytest's capturing handler (whose handleError raises) is not on it
    logger = logging.getLogger(f"badformat.{uuid.uuid4().hex}")
    collect = Collect()
    logger.addHandler(collect)
    logger.propagate = False
    # the arguments do not fit the format: getMessage() raises
    engine.call(lambda: logger.warning("%d layers", "twelve"))
    assert tally(engine) == {("synthesis", f"log WARNING ({logger.name})", "%d layers"): 1}
    assert len(collect.records) == 1
