"""Cold start in a fresh process: import, load and first synthesis, the numbers a
serverless deployment pays on every scale-up. Pure: no pytest.

The parent sends a JSON job on stdin to ``python -m pytest_ttsbench.measure.coldstart``; the
child imports the adapter, loads it, runs one trial and prints one JSON line. Both
read ``perf_counter_ns`` (CLOCK_MONOTONIC on Linux, mach time on macOS: one clock for
every process), so "spawn to first audio" spans the interpreter start too.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pytest_ttsbench.engines.base import (
    Engine,
    EngineContext,
    EngineSpec,
    SynthesisOptions,
    WeightsLookup,
)
from pytest_ttsbench.results.model import Trial
from pytest_ttsbench.results.target import Target

CHILD_MODULE = "pytest_ttsbench.measure.coldstart"


class ColdStartError(RuntimeError):
    """The child process failed; the message carries its stderr tail."""


def engine_path(spec: EngineSpec) -> str | None:
    """``module:Class`` a fresh interpreter can import, or None (classes in conftest
    or test modules live only in pytest's import machinery)."""
    if isinstance(spec.engine, str):
        return spec.engine
    if spec.engine is None:
        return None
    module = spec.engine.__module__
    leaf = module.rpartition(".")[2]
    if leaf == "conftest" or leaf.startswith("test_") or module == "__main__":
        return None
    return f"{module}:{spec.engine.__qualname__}"


def job(
    spec_path: str,
    target: Target,
    weights: WeightsLookup | None,
    options: dict[str, str],
    allow_download: bool,
    cache_dir: Path,
    text: str,
    mode: str,
    opts: SynthesisOptions,
) -> dict[str, Any]:
    return {
        "engine": spec_path,
        "target": target.as_dict(),
        "weights": None
        if weights is None
        else {
            "path": None if weights.path is None else str(weights.path),
            "details": dict(weights.details),
        },
        "options": options,
        "allow_download": allow_download,
        "cache_dir": str(cache_dir),
        "text": text,
        "mode": mode,
        "opts": {
            "voice": opts.voice,
            "speed": opts.speed,
            "language": opts.language,
            "extra": {
                k: v for k, v in opts.extra.items() if isinstance(v, int | float | str | bool)
            },
        },
    }


def run(job_data: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Spawn one fresh interpreter for ``job_data``; return what it measured."""
    spawned = time.perf_counter_ns()
    try:
        done = subprocess.run(
            [sys.executable, "-m", CHILD_MODULE],
            input=json.dumps({**job_data, "spawned_ns": spawned}),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ColdStartError(f"the fresh process did not finish within {timeout_s:g} s") from None
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        raise ColdStartError(f"the fresh process exited {done.returncode}:\n{tail}")
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "{}"
    out: dict[str, Any] = json.loads(last)
    out["wall_s"] = (time.perf_counter_ns() - spawned) / 1e9
    return out


def child(data: dict[str, Any]) -> dict[str, Any]:
    """In the fresh process: import, load, one trial."""
    from pytest_ttsbench.measure.trial import build_trial, capture, producer

    start = time.perf_counter_ns()
    module_name, _, attr = str(data["engine"]).partition(":")
    cls: type[Engine] = getattr(importlib.import_module(module_name), attr)
    imported = time.perf_counter_ns()
    t = data["target"]
    target = Target(t["model"], t["backend"], t["device"], t["variant"], t["default_variant"])
    w = data["weights"]
    weights = (
        WeightsLookup.not_needed()
        if w is None
        else WeightsLookup(
            path=None if w["path"] is None else Path(w["path"]), details=w["details"]
        )
    )
    engine = cls(
        EngineContext(
            target=target,
            weights=weights,
            options=data["options"],
            allow_download=data["allow_download"],
            cache_dir=Path(data["cache_dir"]),
        )
    )
    engine.load()
    loaded = time.perf_counter_ns()
    o = data["opts"]
    opts = SynthesisOptions(
        voice=o["voice"], speed=o["speed"], language=o["language"], extra=o["extra"]
    )
    captured = capture(producer(engine, data["text"], opts, data["mode"]))
    trial, _ = build_trial(
        captured, index=0, kind="measured", sample_rate=engine.sample_rate, text=data["text"]
    )
    first = captured.chunk_ns[0] if captured.chunk_ns else None
    engine.close()
    return {
        "import_s": (imported - start) / 1e9,
        "load_s": (loaded - imported) / 1e9,
        "interpreter_s": (start - int(data["spawned_ns"])) / 1e9,
        "spawn_to_first_audio_ms": (
            None if first is None else (captured.t0_ns + first - int(data["spawned_ns"])) / 1e6
        ),
        "trial": trial.as_dict(),
        "versions": engine.versions(),
    }


def trial_of(measured: dict[str, Any], index: int) -> Trial:
    trial = Trial.from_dict(measured["trial"])
    trial.index = index
    return trial


def main() -> int:
    data = json.loads(sys.stdin.read())
    print(json.dumps(child(data)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
