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
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ttsbench.benchmark_bridge import xdist_workers
from pytest_ttsbench.engines.base import WeightsQuery
from pytest_ttsbench.engines.registry import RegistryError
from pytest_ttsbench.gatekeeper import item_target
from pytest_ttsbench.matrix.outcomes import TargetOutcomes
from pytest_ttsbench.matrix.pool import EnginePool
from pytest_ttsbench.matrix.targets import availability, build
from pytest_ttsbench.results import metrics
from pytest_ttsbench.results.model import BenchResult, warning_lines
from pytest_ttsbench.version import __version__

if TYPE_CHECKING:
    from collections.abc import Generator

    from pytest_ttsbench.benchmark_bridge import BenchmarkBridge, ReplayClock
    from pytest_ttsbench.engines.registry import EngineRegistry
    from pytest_ttsbench.gatekeeper import GateKeeper
    from pytest_ttsbench.matrix.hardware import Hardware
    from pytest_ttsbench.matrix.targets import MatrixEntry
    from pytest_ttsbench.measure.scoring import ScorerLike
    from pytest_ttsbench.report.outputs import Written
    from pytest_ttsbench.results.target import Target
    from pytest_ttsbench.settings import Settings

REPORT_ATTR = "ttsbench_result_v1"  # one JSON string on the call-phase TestReport
TARGET_ATTR = "ttsbench_target"  # the target id, on every phase's report
RESULT_KEY = pytest.StashKey[str]()


def junit_properties(result: BenchResult) -> list[tuple[str, float]]:
    """The registry's JUnit metrics (results.metrics) that ``result`` measured, as
    user properties: ``("tts.ttfa_ms.p50", 412.5)``."""
    values = ((name, result.metric(name)) for name in metrics.flat_names("junit"))
    return [(f"tts.{name}", round(value, 6)) for name, value in values if value is not None]


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
        gatekeeper: GateKeeper,
        project: Path,
    ) -> None:
        self.config = config
        self.settings = settings
        self.registry = registry
        self.hardware = hardware
        self.gatekeeper = gatekeeper
        self.project = project  # the user's project: docs, artifacts and gates live there
        self.is_worker = hasattr(config, "workerinput")
        self.env = dict(os.environ)
        self.entries: dict[str, MatrixEntry] = {}
        self._marked: set[str] = set()
        self._hooks_called: set[int] = set()
        self.build_matrix()
        self.pool = EnginePool(
            dict(settings.engine_opts),
            settings.allow_download,
            cache_dir(self.env),
            settings.trial_timeout_s,
        )
        self.results: list[BenchResult] = []
        self.outcomes = TargetOutcomes()
        self.bridge: BenchmarkBridge | None = None  # set when pytest-benchmark is active
        self.started = time.time()
        self.written: Written | None = None  # what the session-end reports wrote
        # the ASR of the intelligibility check: one per session (per xdist worker),
        # loaded at its first use; or why it cannot be used
        self._scorer: ScorerLike | str | None = None
        self._missing: tuple[str | None] | None = None

    # ---- the matrix, and engines registered by conftests -------------------------------
    def build_matrix(self) -> None:
        self.entries = {
            e.target.id: e
            for e in build(
                self.registry, self.settings, self.hardware, self.env, cache_dir(self.env)
            )
        }
        names = self.registry.models() + self.registry.backends() + self.registry.devices()
        for name in names:
            if name not in self._marked:
                self._marked.add(name)
                self.config.addinivalue_line("markers", f"{name}: {name} targets (pytest-ttsbench)")

    @pytest.hookimpl
    def pytest_plugin_registered(self) -> None:
        """Historic: called for every plugin and conftest registered before this session,
        then for each conftest collection loads (a test folder's)."""
        caller = self.config.hook.pytest_ttsbench_register_engines
        kwargs = {"registry": self.registry, "config": self.config}
        added = False
        for impl in caller.get_hookimpls():
            if id(impl.function) in self._hooks_called:
                continue
            self._hooks_called.add(id(impl.function))
            where = getattr(impl.plugin, "__file__", None) or impl.plugin_name
            try:
                impl.function(**{name: kwargs[name] for name in impl.argnames})
            except RegistryError as exc:
                raise pytest.UsageError(f"pytest-ttsbench: {where}: {exc}") from None
            self.registry.sources.append(f"pytest_ttsbench_register_engines in {where}")
            added = True
        if added:
            self.build_matrix()

    @property
    def artifacts_dir(self) -> Path:
        return self.settings.artifacts

    # ---- used by the tts_bench fixture ----------------------------------------------------
    def record(self, request: pytest.FixtureRequest, result: BenchResult) -> None:
        """Keep the result for this test's report (it travels to the xdist controller on
        the report itself) and put the key numbers in user_properties for JUnit XML."""
        request.node.stash[RESULT_KEY] = json.dumps(result.as_dict())
        request.node.user_properties.extend(junit_properties(result))

    def intelligibility_missing(self) -> str | None:
        """Why the intelligibility extra cannot be used (looked up once), or None."""
        if self._missing is None:
            from pytest_ttsbench.measure.intelligibility import missing

            self._missing = (missing(),)
        return self._missing[0]

    def scorer(self) -> ScorerLike | str:
        """The session's ASR scorer, loaded (one CPU thread) at the first result that
        needs it; a str: why it could not load (said once, then every time)."""
        if self._scorer is None:
            from pytest_ttsbench.measure.intelligibility import IntelligibilityError, Scorer

            try:
                self._scorer = Scorer.load(cpu_threads=1)
            except IntelligibilityError as exc:
                self._scorer = str(exc)
        return self._scorer

    def reference_entry(self, target: Target) -> MatrixEntry | str:
        """The matrix entry of a fidelity reference: the session's when it has one that
        can run, else looked up now (a variant or backend the selection left out); a
        str: why it cannot run, saying how to make it run."""
        spec = self.registry.get(target.model, target.backend)
        if spec is None:
            pairs = ", ".join(f"{s.model}-{s.backend}" for s in self.registry.specs())
            return f"{target.id}: no engine for {target.model}-{target.backend} ({pairs})"
        full = replace(target, default_variant=target.variant == spec.default_variant)
        for kind, value, valid in (
            ("variant", target.variant, spec.variants),
            ("device", target.device, spec.devices),
        ):
            if value not in valid:
                return f"{full.id}: no {kind} {value!r} (valid: {', '.join(valid)})"
        known = self.entries.get(full.id)
        if known is not None and known.skip is None and known.error is None:
            return known
        query = WeightsQuery(self.settings.weights, self.env, cache_dir(self.env))
        entry = availability(full, spec, self.hardware, query, self.settings.allow_download)
        return entry.skip or entry.error or entry

    def replay_clock(self, node: pytest.Item) -> ReplayClock | None:
        """The pytest-benchmark timer of this item; None without pytest-benchmark."""
        return self.bridge.replay_clock(node) if self.bridge is not None else None

    # ---- hooks -------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        target = item_target(item)
        if target is not None:  # every phase: skips happen at setup
            setattr(report, TARGET_ATTR, target.id)
        payload = item.stash.get(RESULT_KEY, None)
        if payload is not None and call.when == "call":
            # an extra report attribute: serialized by xdist with the report
            setattr(report, REPORT_ATTR, payload)
        return report

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        result = result_from_report(report)
        if result is not None:
            self.results.append(result)
        target = getattr(report, TARGET_ATTR, None)
        if isinstance(target, str):
            self.outcomes.add(target, report.when, report.outcome, _skip_reason(report))

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> Generator[None, None, None]:
        """After every other plugin's session end, and even when one of them raised
        (pytest's JUnit XML writer on a path it cannot write): the results are written
        all the same, and the error still ends the run. The innermost wrapper: the
        terminal reporter's summary, around it, shows what was written."""
        try:
            yield
        finally:
            self.finish(session)

    def finish(self, session: pytest.Session) -> None:
        """Release the engines, then write every output; an output that could not be
        written where asked fails a run that would have passed."""
        self.pool.close_all()
        if self.is_worker or not self.results:
            return
        # imported here: the writers pull in filelock, tabulate and numpy
        from pytest_ttsbench.report import outputs

        settings = self.settings
        self.written = outputs.write_all(
            self.results,
            machine=self.machine_info(),
            artifacts=settings.artifacts,
            results_doc=settings.results_doc if settings.update_results_doc else None,
            history=settings.history,
            now=datetime.now(UTC),
            env=dict(os.environ),
        )
        if self.written.failed and session.exitstatus == pytest.ExitCode.OK:
            # the data went to a side file or the temp folder: a green run must not hide it
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    @pytest.hookimpl
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.is_worker:
            return
        targets = self.outcomes.lines()
        if targets:
            terminalreporter.write_sep("=", "ttsbench targets (-rs lists every skipped test)")
            for text in targets:
                terminalreporter.write_line(text)
            # upstream warnings are counted, never raised: shown once per target
            for text in warning_lines(self.results):
                terminalreporter.write_line(text, yellow=True)
            for text in self.pool.abandoned:
                terminalreporter.write_line(f"abandoned: {text}", yellow=True)
            checks = [r.intelligibility for r in self.results if r.intelligibility is not None]
            if checks:
                from pytest_ttsbench.measure.scoring import session_lines

                for text, warns in session_lines(checks):
                    terminalreporter.write_line(text, yellow=warns)
        if self.written is None:
            return
        from pytest_ttsbench.report import outputs

        lines = outputs.summary_lines(self.results, self.written, self.config.invocation_params.dir)
        if lines:
            terminalreporter.write_sep("=", outputs.SUMMARY_TITLE)
        for line in lines:
            terminalreporter.write_line(line.text, yellow=line.warning, red=line.error)

    # ---- facts for the results JSON ------------------------------------------------------
    def machine_info(self) -> dict[str, Any]:
        return {
            "hostname": socket.gethostname(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "hardware": self.hardware.as_dict(),
            "pytest": pytest.__version__,
            "plugin_version": __version__,
            "git_commit": git_commit(self.project),
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
    result = BenchResult.from_dict(json.loads(payload))
    failure = None
    if report.failed:  # the results doc shows why, beside the last good numbers
        crash = getattr(report.longrepr, "reprcrash", None)
        message = getattr(crash, "message", None) or report.longreprtext.strip()
        failure = message.splitlines()[-1][:300] if message else "failed"
    outcome = "inconclusive" if report.skipped else report.outcome
    return replace(result, outcome=outcome, failure=failure)


def _skip_reason(report: pytest.TestReport) -> str | None:
    """The reason of a skip: pytest keeps (path, line, "Skipped: reason")."""
    if not report.skipped:
        return None
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)
