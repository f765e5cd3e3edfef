"""Cold start in a fresh process: import, load and first synthesis, the numbers a
serverless deployment pays on every scale-up. Pure: no pytest.

The parent sends a JSON job on stdin to ``python -m pytest_ttsbench.measure.coldstart``; the
child imports the adapter, loads it, stamps one trial and prints one JSON line: its
timings, the chunk stamps and the audio. Both read ``perf_counter_ns`` (CLOCK_MONOTONIC
on Linux, mach time on macOS: one clock for every process), so "spawn to first audio"
spans the interpreter start too.

The child imports only the engine module and the stamping (:mod:`.stamps`): the audio
checks (scipy, pyloudnorm) run in the parent, on the audio the child sent back, so the
import time measured is the engine's own.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pytest_ttsbench.engines.base import (
    Engine,
    EngineContext,
    EngineSpec,
    SynthesisOptions,
    WeightsLookup,
)
from pytest_ttsbench.measure.stamps import Chunked, capture, producer
from pytest_ttsbench.results.stats import ns_to_ms
from pytest_ttsbench.results.target import Target

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pytest_ttsbench.measure.request import BenchRequest

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


@dataclasses.dataclass(frozen=True)
class ColdStartJob:
    """What a fresh process needs to build the engine and run one trial."""

    engine: str  # module:Class, from :func:`engine_path`
    target: Target
    weights: WeightsLookup | None
    options: Mapping[str, str]  # --tts-opt
    allow_download: bool
    cache_dir: Path
    request: BenchRequest

    def as_json(self) -> dict[str, Any]:
        opts = self.request.opts
        return {
            "engine": self.engine,
            "target": dataclasses.asdict(self.target),
            "weights": None
            if self.weights is None
            else {
                "path": None if self.weights.path is None else str(self.weights.path),
                "details": dict(self.weights.details),
            },
            "options": dict(self.options),
            "allow_download": self.allow_download,
            "cache_dir": str(self.cache_dir),
            "text": self.request.prompt.text,
            "mode": self.request.mode,
            "opts": {
                "voice": opts.voice,
                "speed": opts.speed,
                "language": opts.language,
                "max_audio_s": opts.max_audio_s,
                "extra": {
                    k: v for k, v in opts.extra.items() if isinstance(v, int | float | str | bool)
                },
            },
        }


@dataclasses.dataclass(frozen=True)
class ChildRun:
    """One fresh process, seen from the parent: where its time went, and its trial."""

    interpreter_s: float
    import_s: float
    load_s: float
    spawn_to_first_audio_ms: float | None
    wall_s: float  # spawn to exit, measured by the parent
    captured: Chunked
    sample_rate: int
    versions: dict[str, str]


def run(job: ColdStartJob, timeout_s: float) -> ChildRun:
    """Spawn one fresh interpreter for ``job``; return what it measured."""
    spawned = time.perf_counter_ns()
    try:
        done = subprocess.run(
            [sys.executable, "-m", CHILD_MODULE],
            input=json.dumps({**job.as_json(), "spawned_ns": spawned}),
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
    wall_s = (time.perf_counter_ns() - spawned) / 1e9
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "{}"
    out: dict[str, Any] = json.loads(last)
    first = out["spawn_to_first_audio_ms"]
    return ChildRun(
        interpreter_s=float(out["interpreter_s"]),
        import_s=float(out["import_s"]),
        load_s=float(out["load_s"]),
        spawn_to_first_audio_ms=None if first is None else float(first),
        wall_s=wall_s,
        captured=Chunked(
            int(out["t0_ns"]),
            [int(t) for t in out["chunk_ns"]],
            [_decode(c) for c in out["chunks"]],
        ),
        sample_rate=int(out["sample_rate"]),
        versions={str(k): str(v) for k, v in out.get("versions", {}).items()},
    )


def _encode(chunk: np.ndarray[Any, np.dtype[np.float32]]) -> str:
    return base64.b64encode(chunk.astype("<f4").tobytes()).decode("ascii")


def _decode(text: str) -> np.ndarray[Any, np.dtype[np.float32]]:
    return np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32)


def child(data: dict[str, Any]) -> dict[str, Any]:
    """In the fresh process: import, load, one stamped trial."""
    start = time.perf_counter_ns()
    module_name, _, attr = str(data["engine"]).partition(":")
    cls: type[Engine] = getattr(importlib.import_module(module_name), attr)
    imported = time.perf_counter_ns()
    t = data["target"]
    target = Target(**t)
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
        voice=o["voice"],
        speed=o["speed"],
        language=o["language"],
        extra=o["extra"],
        max_audio_s=o.get("max_audio_s"),
    )
    captured = capture(producer(engine, data["text"], opts, data["mode"]))
    first = captured.chunk_ns[0] if captured.chunk_ns else None
    engine.close()
    return {
        "import_s": (imported - start) / 1e9,
        "load_s": (loaded - imported) / 1e9,
        "interpreter_s": (start - int(data["spawned_ns"])) / 1e9,
        "spawn_to_first_audio_ms": (
            None if first is None else ns_to_ms(captured.t0_ns + first - int(data["spawned_ns"]))
        ),
        "t0_ns": captured.t0_ns,
        "chunk_ns": captured.chunk_ns,
        "chunks": [_encode(c) for c in captured.chunks],
        "sample_rate": engine.sample_rate,
        "versions": engine.versions(),
    }


def main() -> int:
    data = json.loads(sys.stdin.read())
    print(json.dumps(child(data)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
