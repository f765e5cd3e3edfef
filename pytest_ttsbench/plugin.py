"""pytest-ttsbench hooks, options and fixtures: wiring only, logic lives elsewhere.

pytest imports this module (the pytest11 entry point) in every run of every project
that has the plugin installed, so it and everything collection needs stay light:
numpy, the trial runner, the engine packages and the report writers are imported
when the first benchmark runs or the first report is written, never at import.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ttsbench import hookspec
from pytest_ttsbench.benchmark_bridge import BRIDGE_NAME, BenchmarkBridge
from pytest_ttsbench.engines.registry import EngineRegistry, RegistryError
from pytest_ttsbench.gatekeeper import GateKeeper
from pytest_ttsbench.matrix.hardware import detect
from pytest_ttsbench.matrix.pool import EngineLoadError
from pytest_ttsbench.matrix.targets import (
    SelectionError,
    is_selected,
    validate_selection,
    why_nothing_selected,
)
from pytest_ttsbench.measure import prompts
from pytest_ttsbench.session import BenchSession, item_target
from pytest_ttsbench.settings import OPTIONS, Settings, SettingsError, project_root, resolve
from pytest_ttsbench.sweeps import sweep_id, sweep_points

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytest_ttsbench.fixture import TTSBench
    from pytest_ttsbench.matrix.pool import EngineHandle
    from pytest_ttsbench.results.target import Target

SESSION_KEY = pytest.StashKey[BenchSession]()
PLUGIN_NAME = "ttsbench-session"

MARKERS = (
    "cuda: runs on an NVIDIA GPU (PyTorch CUDA, onnxruntime-gpu, MLX CUDA)",
    "mps: runs on the Apple GPU (PyTorch MPS, MLX Metal, ONNX CoreML)",
    "cpu: runs on the CPU",
    "pt: PyTorch backend",
    "mlx: MLX backend",
    "onnx: ONNX Runtime backend",
    "tts_prompts(*names): prompt presets a benchmark runs (overridden by --tts-prompts)",
    "tts_gate(*bounds): bounds for this test only, e.g. 'ttfa_ms.p95 <= 300'",
    "tts_sweep(**knobs): sweep engine knobs, e.g. tts_sweep(speed=[0.8, 1.0, 1.25]); "
    "each point is its own test id and results row (overridden by --tts-sweep)",
    "soak: long soak runs (deselected by default in suites/; select with -m soak)",
    "slow: slow benchmarks (deselect with -m 'not slow')",
)


@pytest.hookimpl
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ttsbench", "text-to-speech benchmarks (pytest-ttsbench)")
    for spec in OPTIONS:
        # default None: resolve() must see whether the flag was given at all
        kwargs: dict[str, Any] = {
            "dest": spec.dest,
            "help": spec.help_text.replace("%", "%%"),  # argparse %-formats help
            "default": None,
        }
        if spec.kind == "flag":
            kwargs["action"] = "store_true"
        else:
            kwargs["metavar"] = spec.metavar
            if spec.repeatable:
                kwargs["action"] = "append"
        group.addoption(spec.flag, **kwargs)
        parser.addini(spec.dest, spec.help_text, type=spec.ini_type, default=None)


@pytest.hookimpl
def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspec)


def _ini_values(config: pytest.Config) -> dict[str, object]:
    return {spec.dest: config.getini(spec.dest) for spec in OPTIONS}


@pytest.hookimpl(trylast=True)  # after the start-up conftests are registered
def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    env = dict(os.environ)
    project = project_root(config.rootpath, config.invocation_params.dir)
    try:
        settings = resolve(
            cli={spec.dest: config.getoption(spec.dest) for spec in OPTIONS},
            env=env,
            ini=_ini_values(config),
            invocation_dir=config.invocation_params.dir,
            rootdir=project,
        )
        registry = EngineRegistry.with_builtins()
        registry.load_entry_points()
        prompts.validate(settings.prompts)
        sweep_points(settings.sweep, None)  # bad --tts-sweep values: exit 4, not a crash
        gatekeeper = GateKeeper.from_settings(settings, project)
    except (SettingsError, RegistryError, prompts.PromptError) as exc:
        raise pytest.UsageError(f"pytest-ttsbench: {exc}") from None
    session = BenchSession(config, settings, registry, detect(), gatekeeper, project)
    config.stash[SESSION_KEY] = session
    # registering it calls its pytest_plugin_registered for every plugin and conftest
    # so far (a historic hook), and again for each conftest that collection loads later:
    # engines registered in a test folder's conftest join the matrix too
    config.pluginmanager.register(session, PLUGIN_NAME)
    if config.pluginmanager.has_plugin("benchmark"):
        session.bridge = BenchmarkBridge(config)
        config.pluginmanager.register(session.bridge, BRIDGE_NAME)


@pytest.hookimpl
def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.pool.close_all()
        if session.bridge is not None:
            config.pluginmanager.unregister(session.bridge, BRIDGE_NAME)
            session.bridge = None
        config.pluginmanager.unregister(session, PLUGIN_NAME)
        del config.stash[SESSION_KEY]


@pytest.hookimpl(trylast=True)  # last: printed first
def pytest_report_header(config: pytest.Config) -> str | None:
    session = config.stash.get(SESSION_KEY, None)
    if session is None:
        return None
    s = session.settings
    chosen = ", ".join(
        f"{label}={','.join(value) if value else 'all'}"
        for label, value in (("model", s.models), ("backend", s.backends), ("device", s.devices))
    )
    hw = session.hardware
    gpu = f", GPU: {hw.label('cuda')}" if hw.gpus else ""
    return (
        f"ttsbench: {hw.label('cpu')}{gpu}; {chosen}; trials={s.trials} "
        f"warmup={s.warmup} stream={s.stream}"
    )


@pytest.hookimpl
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    session = metafunc.config.stash.get(SESSION_KEY, None)
    if session is None:
        return
    already = {
        name for m in metafunc.definition.iter_markers("parametrize") for name in _argnames(m)
    }
    if "tts_target" in metafunc.fixturenames and "tts_target" not in already:
        params = []
        for entry in session.entries.values():
            marks: list[Any] = [getattr(pytest.mark, m) for m in entry.marks]
            if entry.skip:
                marks.append(pytest.mark.skip(reason=entry.skip))
            params.append(pytest.param(entry.target, marks=marks, id=entry.target.id))
        metafunc.parametrize("tts_target", params, scope="session")
    if "tts_prompt" in metafunc.fixturenames and "tts_prompt" not in already:
        marker = metafunc.definition.get_closest_marker("tts_prompts")
        names = session.settings.prompts or (tuple(marker.args) if marker else ("medium",))
        try:
            prompts.validate(tuple(names))
        except prompts.PromptError as exc:
            raise pytest.UsageError(
                f"pytest-ttsbench: {metafunc.definition.nodeid}: {exc}"
            ) from None
        metafunc.parametrize("tts_prompt", list(names), ids=list(names))
    if "tts_sweep" in metafunc.fixturenames and "tts_sweep" not in already:
        marker = metafunc.definition.get_closest_marker("tts_sweep")
        try:
            points = sweep_points(session.settings.sweep, marker.kwargs if marker else None)
        except SettingsError as exc:
            raise pytest.UsageError(f"pytest-ttsbench: {exc}") from None
        metafunc.parametrize(
            "tts_sweep", points or [{}], ids=[sweep_id(p) for p in points] or ["default"]
        )


def _argnames(marker: pytest.Mark) -> list[str]:
    names = marker.args[0] if marker.args else marker.kwargs.get("argnames", "")
    if isinstance(names, str):
        return [n.strip() for n in names.split(",")]
    return list(names)


@pytest.hookimpl
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is None:
        return
    # every conftest is loaded by now: names unknown here are registered nowhere
    try:
        validate_selection(session.registry, session.settings)
    except SelectionError as exc:
        raise pytest.UsageError(
            f"pytest-ttsbench: {exc}. Engines were read from: "
            f"{'; '.join(session.registry.sources)}. A model of your own is registered "
            "by a pytest_ttsbench_register_engines hook in a conftest.py this run loads, "
            "or by an entry point (docs/YOUR_ENGINE.md)"
        ) from None
    keep, drop = [], []
    for item in items:
        target = item_target(item)
        if target is not None and not is_selected(target, session.settings):
            drop.append(item)
            continue
        keep.append(item)
    had_targets = any(item_target(i) is not None for i in items)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    if had_targets and not any(item_target(i) is not None for i in items):
        raise pytest.UsageError(
            "pytest-ttsbench: the selection matches no target: "
            + why_nothing_selected(session.registry, session.settings)
        )
    session.gatekeeper.check_markers(items)


@pytest.hookimpl
def pytest_collection_finish(session: pytest.Session) -> None:
    bench = session.config.stash.get(SESSION_KEY, None)
    if bench is None or not bench.settings.explain_gates:
        return
    targets = {t.id: t for t in (item_target(i) for i in session.items) if t is not None}
    lines = bench.gatekeeper.explain(list(targets.values()), bench.hardware, session.items)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "ttsbench gates per target")
        for line in lines:
            reporter.write_line(line)
    pytest.exit("--tts-explain-gates: no benchmark was run", returncode=0)


# ---- fixtures --------------------------------------------------------------------------
def _session(config: pytest.Config) -> BenchSession:
    return config.stash[SESSION_KEY]


@pytest.fixture(scope="session")
def tts_engine(request: pytest.FixtureRequest, tts_target: Target) -> Iterator[EngineHandle]:
    """The loaded engine of this test's target: loaded once, released before the next."""
    session = _session(request.config)
    entry = session.entries[tts_target.id]
    if entry.error:
        pytest.fail(entry.error, pytrace=False)
    error: str | None = None
    try:
        handle = session.pool.acquire(entry)
    except EngineLoadError as exc:
        error = str(exc)
    if error is not None:  # outside the except: no "during handling" copy of the cause
        pytest.fail(error, pytrace=False)
    yield handle
    session.pool.release(tts_target)


@pytest.fixture
def tts_bench(request: pytest.FixtureRequest, tts_engine: EngineHandle) -> TTSBench:
    """Call it to benchmark a prompt on this test's target; returns the BenchResult."""
    # imported here: the trial runner pulls in numpy, psutil and the audio checks
    from pytest_ttsbench.fixture import TTSBench

    return TTSBench(_session(request.config), tts_engine, request)


@pytest.fixture(scope="session")
def tts_settings(request: pytest.FixtureRequest) -> Settings:
    """The resolved pytest-ttsbench settings (read-only)."""
    return _session(request.config).settings
