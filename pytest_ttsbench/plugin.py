"""pytest-ttsbench hooks, options and fixtures: wiring only, logic lives elsewhere."""

from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING, Any, Literal

import pytest

from pytest_ttsbench import hookspec
from pytest_ttsbench.benchmark_bridge import ReplayClock
from pytest_ttsbench.engines.registry import EngineRegistry, RegistryError
from pytest_ttsbench.fixture import TTSBench
from pytest_ttsbench.gatekeeper import GateKeeper
from pytest_ttsbench.matrix.hardware import detect
from pytest_ttsbench.matrix.pool import EngineHandle, EngineLoadError
from pytest_ttsbench.matrix.targets import SelectionError, build, is_selected, validate_selection
from pytest_ttsbench.measure import prompts
from pytest_ttsbench.results.target import Target
from pytest_ttsbench.session import BenchSession, cache_dir
from pytest_ttsbench.settings import OPTIONS, SettingsError, resolve

if TYPE_CHECKING:
    from collections.abc import Iterator

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
        kwargs: dict[str, Any] = {"dest": spec.dest, "help": spec.help, "default": None}
        if spec.kind == "flag":
            kwargs["action"] = "store_true"
        elif spec.kind in ("names", "pairs"):
            kwargs["action"] = "append"
            kwargs["metavar"] = spec.metavar
        else:
            kwargs["metavar"] = spec.metavar
        group.addoption(spec.flag, **kwargs)
        ini_type: Literal["bool", "linelist", "string"] = (
            "bool" if spec.kind == "flag" else ("linelist" if spec.kind == "pairs" else "string")
        )
        parser.addini(spec.dest, spec.help, type=ini_type, default=None)


@pytest.hookimpl
def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspec)


def _ini_values(config: pytest.Config) -> dict[str, object]:
    return {spec.dest: config.getini(spec.dest) for spec in OPTIONS}


@pytest.hookimpl(trylast=True)  # after conftests have registered their engines hooks
def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    env = dict(os.environ)
    try:
        settings = resolve(
            cli={spec.dest: config.getoption(spec.dest) for spec in OPTIONS},
            env=env,
            ini=_ini_values(config),
            invocation_dir=config.invocation_params.dir,
            rootdir=config.rootpath,
        )
        registry = EngineRegistry.with_builtins()
        registry.load_entry_points()
        config.hook.pytest_ttsbench_register_engines(registry=registry, config=config)
        validate_selection(registry, settings)
        prompts.validate(settings.prompts)
        gatekeeper = GateKeeper.from_settings(settings, config.rootpath)
    except (SettingsError, SelectionError, RegistryError, prompts.PromptError) as exc:
        raise pytest.UsageError(f"pytest-ttsbench: {exc}") from None
    for name in registry.backends() + registry.devices():
        config.addinivalue_line("markers", f"{name}: {name} targets (pytest-ttsbench)")
    hardware = detect()
    entries = build(registry, settings, hardware, env, cache_dir(env))
    session = BenchSession(config, settings, registry, hardware, entries, gatekeeper)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, PLUGIN_NAME)


@pytest.hookimpl
def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION_KEY, None)
    if session is not None:
        session.pool.close_all()
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
        axes: dict[str, list[object]] = {
            k: [parse_knob(v) for v in vs] for k, vs in session.settings.sweep.items()
        } or ({k: list(v) for k, v in marker.kwargs.items()} if marker else {})
        points = [
            dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())
        ]
        metafunc.parametrize(
            "tts_sweep", points or [{}], ids=[sweep_id(p) for p in points] or ["default"]
        )


def parse_knob(text: str) -> object:
    """'1.25' -> 1.25, '4' -> 4, 'true' -> True; anything else stays a string."""
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def sweep_id(point: dict[str, object]) -> str:
    return "-".join(f"{k}={v}" for k, v in point.items())


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
    keep, drop = [], []
    for item in items:
        target = _item_target(item)
        if target is not None and not is_selected(target, session.settings):
            drop.append(item)
            continue
        keep.append(item)
        if target is not None and _uses_benchmark(config, item):
            clock = ReplayClock()
            session.clocks[item.nodeid] = clock
            item.add_marker(pytest.mark.benchmark(timer=clock))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    session.gatekeeper.check_markers(items)


@pytest.hookimpl
def pytest_collection_finish(session: pytest.Session) -> None:
    bench = session.config.stash.get(SESSION_KEY, None)
    if bench is None or not bench.settings.explain_gates:
        return
    targets = {t.id: t for t in (_item_target(i) for i in session.items) if t is not None}
    lines = bench.gatekeeper.explain(list(targets.values()), bench.hardware)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "ttsbench gates per target")
        for line in lines:
            reporter.write_line(line)
    pytest.exit("--tts-explain-gates: no benchmark was run", returncode=0)


def _item_target(item: pytest.Item) -> Target | None:
    callspec = getattr(item, "callspec", None)
    value = callspec.params.get("tts_target") if callspec is not None else None
    return value if isinstance(value, Target) else None


def _uses_benchmark(config: pytest.Config, item: pytest.Item) -> bool:
    """Feed pytest-benchmark only when it is active and the item has no timer of its own."""
    if not config.pluginmanager.has_plugin("benchmark"):
        return False
    if config.getoption("benchmark_disable", False) or config.getoption("benchmark_skip", False):
        return False
    marker = item.get_closest_marker("benchmark")
    return marker is None or "timer" not in marker.kwargs


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
    try:
        handle = session.pool.acquire(entry)
    except EngineLoadError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield handle
    session.pool.release(tts_target)


@pytest.fixture
def tts_bench(request: pytest.FixtureRequest, tts_engine: EngineHandle) -> TTSBench:
    """Call it to benchmark a prompt on this test's target; returns the BenchResult."""
    return TTSBench(_session(request.config), tts_engine, request)


@pytest.fixture(scope="session")
def tts_settings(request: pytest.FixtureRequest) -> Any:
    """The resolved pytest-ttsbench settings (read-only)."""
    return _session(request.config).settings
