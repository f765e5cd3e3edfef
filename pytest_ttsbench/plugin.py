"""pytest-ttsbench hooks, options and fixtures: wiring only, logic lives elsewhere.

pytest imports this module (the pytest11 entry point) in every run of every project
that has the plugin installed, and a project that never benchmarks must not pay for
it. So loading the plugin imports the option table and this wiring only. Configuring
it resolves the settings when the user set any option (a bad value stays a usage
error at start-up); untouched defaults wait for the first benchmark. The bench session
(engine registry and its entry points, hardware probe, gate files, matrix, engine
pool) is built the first time something needs it:

- a conftest or plugin that registers engines (``pytest_ttsbench_register_engines``),
- a collected test that asks for ``tts_target`` (``tts_bench`` does),
- ``--markers``, ``--tts-explain-gates``, and the xdist controller, which collects
  nothing itself but gathers the workers' results.

numpy, the trial runner, the engine packages and the report writers are imported when
the first benchmark runs or the first report is written.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ttsbench import hookspec
from pytest_ttsbench.options import OPTIONS

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytest_ttsbench.fixture import TTSBench
    from pytest_ttsbench.matrix.pool import EngineHandle
    from pytest_ttsbench.results.target import Target
    from pytest_ttsbench.session import BenchSession
    from pytest_ttsbench.settings import Settings

PLUGIN_NAME = "ttsbench-session"
REGISTER_HOOK = "pytest_ttsbench_register_engines"

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
    "tts_reference(**config): the reference configuration a fidelity comparison runs "
    "against, e.g. tts_reference(mode='none') (overridden by --tts-reference)",
    "soak: long soak runs (deselected by default in suites/; select with -m soak)",
    "slow: slow benchmarks (deselect with -m 'not slow')",
)


@dataclass
class _State:
    """The run's settings once resolved (at pytest_configure when the user set any
    option, else when first needed) and its session once something needed it."""

    settings: Settings | None = None
    project: Path | None = None  # the user's project, where the settings resolve
    session: BenchSession | None = None
    header_shown: bool = False
    # a usage error met while collecting: raised once collection ends, so the run exits
    # with 4 like any usage error, not with a collection error
    deferred: pytest.UsageError | None = None


STATE_KEY = pytest.StashKey[_State]()
# a plugin or conftest that registers engines came before pytest_configure
WANTED_KEY = pytest.StashKey[bool]()


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


def _options_given(config: pytest.Config) -> bool:
    """Whether the user set any option (flag, environment variable or ini key). The
    defaults are valid by construction: with none set, resolving waits for a benchmark."""
    for spec in OPTIONS:
        if config.getoption(spec.dest) not in (None, [], False):
            return True
        if spec.env and os.environ.get(spec.env, "").strip():
            return True
        if config.getini(spec.dest) not in (None, "", [], False):
            return True
    return False


def _usage_error(exc: Exception) -> pytest.UsageError:
    return pytest.UsageError(f"pytest-ttsbench: {exc}")


def _settings(config: pytest.Config) -> Settings:
    """The resolved settings; a bad value is a usage error (raised again on each call)."""
    state = config.stash[STATE_KEY]
    if state.settings is not None:
        return state.settings
    if state.deferred is not None:
        raise state.deferred
    from pytest_ttsbench.settings import project_root, resolve

    project = project_root(config.rootpath, config.invocation_params.dir)
    try:
        settings = resolve(
            cli={spec.dest: config.getoption(spec.dest) for spec in OPTIONS},
            env=dict(os.environ),
            ini=_ini_values(config),
            invocation_dir=config.invocation_params.dir,
            rootdir=project,
        )
        from pytest_ttsbench import selections

        selections.check(settings)
    except ValueError as exc:  # SettingsError, PromptError: the valid form is in the message
        state.deferred = _usage_error(exc)
        raise state.deferred from None
    except pytest.UsageError as exc:
        state.deferred = exc
        raise
    state.settings, state.project = settings, project
    return settings


@pytest.hookimpl(trylast=True)  # after the start-up conftests are registered
def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    config.stash[STATE_KEY] = _State()
    # an option the user set is checked now: a bad value is a usage error at start-up
    settings = _settings(config) if _options_given(config) else None
    if (
        config.stash.get(WANTED_KEY, False)
        or config.getoption("markers", False)  # --markers lists the matrix's marks
        or (settings is not None and settings.explain_gates)
    ):
        _bench(config)


@pytest.hookimpl
def pytest_plugin_registered(plugin: object, manager: pytest.PytestPluginManager) -> None:
    """A plugin or conftest that registers engines means this run benchmarks: the session
    is built now, or at pytest_configure when it comes before (a rootdir conftest)."""
    if getattr(plugin, REGISTER_HOOK, None) is None:
        return
    config = manager.get_plugin("pytestconfig")
    if not isinstance(config, pytest.Config):
        return
    if STATE_KEY not in config.stash:
        config.stash[WANTED_KEY] = True
        return
    # a conftest that collection loads: a usage error waits for pytest_collection_modifyitems
    with contextlib.suppress(pytest.UsageError):
        _bench(config)


@pytest.hookimpl(tryfirst=True)  # before the terminal reporter asks for the header
def pytest_sessionstart(session: pytest.Session) -> None:
    # the xdist controller collects nothing: its session gathers what the workers report
    config = session.config
    if STATE_KEY in config.stash and config.pluginmanager.has_plugin("dsession"):
        _bench(config)


def _bench(config: pytest.Config) -> BenchSession:
    """The run's BenchSession, built and registered on first use."""
    state = config.stash[STATE_KEY]
    if state.session is not None:
        return state.session
    if state.deferred is not None:
        raise state.deferred
    from pytest_ttsbench.engines.registry import EngineRegistry, RegistryError
    from pytest_ttsbench.gatekeeper import GateKeeper
    from pytest_ttsbench.matrix.hardware import detect
    from pytest_ttsbench.session import BenchSession
    from pytest_ttsbench.settings import SettingsError

    settings, project = _settings(config), state.project
    assert project is not None  # resolved with the settings
    try:
        registry = EngineRegistry.with_builtins()
        registry.load_entry_points()
        if settings.servers:  # --tts-server: one http target per server (no httpx yet)
            from pytest_ttsbench.serving.targets import register_servers

            register_servers(registry, settings.servers)
        gatekeeper = GateKeeper.from_settings(settings, project)
    except (SettingsError, RegistryError) as exc:
        state.deferred = _usage_error(exc)
        raise state.deferred from None
    session = BenchSession(config, settings, registry, detect(), gatekeeper, project)
    state.session = session
    # registering it calls its pytest_plugin_registered for every plugin and conftest
    # so far (a historic hook), and again for each conftest that collection loads later:
    # engines registered in a test folder's conftest join the matrix too
    config.pluginmanager.register(session, PLUGIN_NAME)
    if config.pluginmanager.has_plugin("benchmark"):
        from pytest_ttsbench.benchmark_bridge import BRIDGE_NAME, BenchmarkBridge

        session.bridge = BenchmarkBridge(config)
        config.pluginmanager.register(session.bridge, BRIDGE_NAME)
    return session


def _built(config: pytest.Config) -> BenchSession | None:
    """The session if something has built it; None in a run that benchmarks nothing."""
    state = config.stash.get(STATE_KEY, None)
    return state.session if state is not None else None


@pytest.hookimpl
def pytest_unconfigure(config: pytest.Config) -> None:
    session = _built(config)
    if session is not None:
        from pytest_ttsbench.benchmark_bridge import BRIDGE_NAME

        session.pool.close_all()
        if session.bridge is not None:
            config.pluginmanager.unregister(session.bridge, BRIDGE_NAME)
            session.bridge = None
        config.pluginmanager.unregister(session, PLUGIN_NAME)
    if STATE_KEY in config.stash:
        del config.stash[STATE_KEY]
    if WANTED_KEY in config.stash:
        del config.stash[WANTED_KEY]


def _header(config: pytest.Config) -> str | None:
    state = config.stash.get(STATE_KEY, None)
    if state is None or state.session is None or state.header_shown:
        return None
    state.header_shown = True
    session, s = state.session, state.session.settings
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


@pytest.hookimpl(trylast=True)  # last: printed first
def pytest_report_header(config: pytest.Config) -> str | None:
    return _header(config)


@pytest.hookimpl
def pytest_report_collectionfinish(config: pytest.Config) -> str | None:
    """The header line, when collection built the session after the header was printed
    (the first test that asked for a target); shown where pytest would show a header."""
    if config.get_verbosity() < 0 or config.getoption("no_header", False):
        return None
    return _header(config)


@pytest.hookimpl
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    wanted = [n for n in ("tts_target", "tts_prompt", "tts_sweep") if n in metafunc.fixturenames]
    state = metafunc.config.stash.get(STATE_KEY, None)
    if not wanted or state is None:
        return
    try:
        settings = _settings(metafunc.config)
    except pytest.UsageError:
        return  # deferred: raised when collection ends
    already = {
        name for m in metafunc.definition.iter_markers("parametrize") for name in _argnames(m)
    }
    if "tts_target" in wanted and "tts_target" not in already:
        try:
            session = _bench(metafunc.config)
        except pytest.UsageError:
            return  # deferred: raised when collection ends
        params = []
        for entry in session.entries.values():
            marks: list[Any] = [getattr(pytest.mark, m) for m in entry.marks]
            if entry.skip:
                marks.append(pytest.mark.skip(reason=entry.skip))
            params.append(pytest.param(entry.target, marks=marks, id=entry.target.id))
        metafunc.parametrize("tts_target", params, scope="session")
    if "tts_prompt" in wanted and "tts_prompt" not in already:
        from pytest_ttsbench.measure import prompts

        marker = metafunc.definition.get_closest_marker("tts_prompts")
        names = settings.prompts or (tuple(marker.args) if marker else ("medium",))
        try:
            prompts.validate(tuple(names))
        except prompts.PromptError as exc:
            where = metafunc.definition.nodeid
            state.deferred = state.deferred or pytest.UsageError(f"pytest-ttsbench: {where}: {exc}")
            return
        metafunc.parametrize("tts_prompt", list(names), ids=list(names))
    if "tts_sweep" in wanted and "tts_sweep" not in already:
        from pytest_ttsbench.settings import SettingsError
        from pytest_ttsbench.sweeps import sweep_id, sweep_points

        marker = metafunc.definition.get_closest_marker("tts_sweep")
        try:
            points = sweep_points(settings.sweep, marker.kwargs if marker else None)
        except SettingsError as exc:
            state.deferred = state.deferred or _usage_error(exc)
            return
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
    state = config.stash.get(STATE_KEY, None)
    if state is not None and state.deferred is not None:
        raise state.deferred
    session = _built(config)
    if session is None:  # nothing asked for a target: no item has one
        return
    from pytest_ttsbench.gatekeeper import item_target
    from pytest_ttsbench.matrix.targets import (
        SelectionError,
        is_selected,
        validate_selection,
        why_nothing_selected,
    )

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
    state = session.config.stash.get(STATE_KEY, None)
    # unresolved settings: no option was set, so no --tts-explain-gates either
    if state is None or state.settings is None or not state.settings.explain_gates:
        return
    from pytest_ttsbench.gatekeeper import item_target

    bench = _bench(session.config)
    targets = {t.id: t for t in (item_target(i) for i in session.items) if t is not None}
    lines = bench.gatekeeper.explain(list(targets.values()), bench.hardware, session.items)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "ttsbench gates per target")
        for line in lines:
            reporter.write_line(line)
    pytest.exit("--tts-explain-gates: no benchmark was run", returncode=0)


# ---- fixtures --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def tts_engine(request: pytest.FixtureRequest, tts_target: Target) -> Iterator[EngineHandle]:
    """The loaded engine of this test's target: loaded once, released before the next."""
    from pytest_ttsbench.matrix.pool import EngineLoadError

    session = _bench(request.config)
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

    return TTSBench(_bench(request.config), tts_engine, request)


@pytest.fixture(scope="session")
def tts_settings(request: pytest.FixtureRequest) -> Settings:
    """The resolved pytest-ttsbench settings (read-only)."""
    return _settings(request.config)
