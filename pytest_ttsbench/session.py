"""The one object per pytest run: matrix, engine pool, results, gates, reports.

Registered as a plugin (its ``pytest_*`` methods are hooks) and reached through
``config.stash``. Per-test results ride on the call-phase TestReport as one JSON
string attribute (xdist serializes a report's attributes), so the same code collects
them in a plain run and on the xdist controller, and rows already reported survive a
crashed worker. Only the controller (or a plain
run) writes files.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ttsbench import __version__
from pytest_ttsbench.benchmark_bridge import ReplayClock, xdist_workers
from pytest_ttsbench.matrix.pool import EnginePool
from pytest_ttsbench.results.model import BenchResult

if TYPE_CHECKING:
    from collections.abc import Generator

    from pytest_ttsbench.engines.registry import EngineRegistry
    from pytest_ttsbench.fixture import Prepared
    from pytest_ttsbench.gatekeeper import GateKeeper
    from pytest_ttsbench.matrix.hardware import Hardware
    from pytest_ttsbench.matrix.pool import EngineHandle
    from pytest_ttsbench.matrix.targets import MatrixEntry
    from pytest_ttsbench.settings import Settings

REPORT_ATTR = "ttsbench_result_v1"  # one JSON string on the call-phase TestReport
RESULT_KEY = pytest.StashKey[str]()
JUNIT_METRICS = (
    "ttfa_ms.p50",
    "ttfa_ms.p95",
    "latency_ms.p50",
    "rtf.p50",
    "load_s",
    "peak_rss_mb",
    "accel_peak_mb",
)
SUITE_PREFIX = "test_"


def cache_dir(env: dict[str, str]) -> Path:
    """Assembled weights live here, shared by every project on the machine."""
    if env.get("TTSBENCH_CACHE"):
        return Path(env["TTSBENCH_CACHE"]).expanduser()
    xdg = env.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "pytest-ttsbench"


def git_commit(root: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


class BenchSession:
    def __init__(
        self,
        config: pytest.Config,
        settings: Settings,
        registry: EngineRegistry,
        hardware: Hardware,
        entries: list[MatrixEntry],
        gatekeeper: GateKeeper,
    ) -> None:
        self.config = config
        self.settings = settings
        self.registry = registry
        self.hardware = hardware
        self.entries = {e.target.id: e for e in entries}
        self.gatekeeper = gatekeeper
        self.is_worker = hasattr(config, "workerinput")
        self.env = dict(os.environ)
        self.pool = EnginePool(
            dict(settings.engine_opts),
            settings.allow_download,
            cache_dir(self.env),
            settings.trial_timeout_s,
        )
        self.results: list[BenchResult] = []
        self.clocks: dict[str, ReplayClock] = {}
        self.started = time.time()
        self.written: list[tuple[str, Path]] = []
        self.warnings: list[str] = []
        self.doc_lines: list[str] = []

    @property
    def artifacts_dir(self) -> Path:
        return self.settings.artifacts

    # ---- used by the tts_bench fixture ----------------------------------------------------
    def new_result(
        self, request: pytest.FixtureRequest, handle: EngineHandle, prep: Prepared
    ) -> BenchResult:
        target = handle.target
        module = request.node.module.__name__.rpartition(".")[2] if request.node.module else ""
        return BenchResult(
            target=target,
            test=request.node.nodeid,
            suite=module.removeprefix(SUITE_PREFIX) or "custom",
            prompt=prep.prompt.name,
            text_chars=prep.prompt.chars,
            language=prep.opts.language,
            stream_mode=prep.mode,
            hardware=self.hardware.label(target.device),
            warmup=self.settings.warmup,
            load_s=handle.load_s,
            versions=handle.thread.call(handle.engine.versions, 60),
            details={
                "engine": handle.thread.call(handle.engine.details, 60),
                "capabilities": handle.engine.capabilities.as_dict(),
                "options": prep.opts.as_dict(),
                "engine_opts": dict(self.settings.engine_opts),
                "clock": "time.perf_counter_ns",
                "stamp": "host array handed over",
            },
            params=prep.params,
            xdist_workers=xdist_workers(),
        )

    def record(
        self, request: pytest.FixtureRequest, result: BenchResult, extra_info: dict[str, Any]
    ) -> None:
        """Keep the result for this test's report (it travels to the xdist controller on
        the report itself) and put the key numbers in user_properties for JUnit XML."""
        payload = result.as_dict()
        payload["extra_info"] = _jsonable(extra_info)
        request.node.stash[RESULT_KEY] = json.dumps(payload)
        for name in JUNIT_METRICS:
            value = result.metric(name)
            if value is not None:
                request.node.user_properties.append((f"tts.{name}", round(value, 6)))

    def replay_clock(self, node: pytest.Item) -> ReplayClock | None:
        return self.clocks.get(node.nodeid)

    # ---- hooks -------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        payload = item.stash.get(RESULT_KEY, None)
        if payload is not None and call.when == "call":
            # an extra report attribute: serialized by xdist with the report
            setattr(report, REPORT_ATTR, payload)
        return report

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = None if self.is_worker else result_from_report(report)
        if result is not None:
            self.results.append(result)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.pool.close_all()
        if self.is_worker:
            return
        from pytest_ttsbench.report import outputs

        outputs.write_all(self)

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.is_worker:
            return
        from pytest_ttsbench.report import outputs

        outputs.terminal_summary(self, terminalreporter)

    # ---- facts for the results JSON ------------------------------------------------------
    def machine_info(self) -> dict[str, Any]:
        return {
            "hostname": socket.gethostname(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "hardware": self.hardware.as_dict(),
            "pytest": pytest.__version__,
            "plugin_version": __version__,
            "git_commit": git_commit(self.config.rootpath),
            "started": self.started,
            "args": list(self.config.invocation_params.args),
            "xdist_workers": xdist_workers(),
            "settings": {
                "trials": self.settings.trials,
                "warmup": self.settings.warmup,
                "stream": self.settings.stream,
                "adaptive": self.settings.adaptive,
            },
        }


def result_from_report(report: pytest.TestReport) -> BenchResult | None:
    """The BenchResult a tts_bench call attached to this (call-phase) report, if any."""
    payload = getattr(report, REPORT_ATTR, None)
    if not isinstance(payload, str):
        return None
    data = json.loads(payload)
    extra = data.pop("extra_info", {})
    result = BenchResult.from_dict(data)
    result.details["extra_info"] = extra
    result.outcome = "inconclusive" if report.skipped else report.outcome
    return result


def _jsonable(value: Any) -> Any:
    """extra_info must survive json.dumps: anything else becomes its repr."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        if isinstance(value, dict):
            return {str(k): _jsonable(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [_jsonable(v) for v in value]
        return repr(value)
    return value
