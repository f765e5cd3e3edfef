"""The comparison key of a result: everything that changes its numbers.

Two results compare like with like only when their keys are equal: the same model,
backend, device and variant, on the same hardware, streamed the same way, on the same
prompt with the same swept parameters, from the same suite and test. Baselines
(``pytest_ttsbench.gates.baseline``) match on it, and the results doc's rows can too.
``key_differences`` names the fields two keys differ in, for a one-line "not
comparable" reason. Pure: no pytest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pytest_ttsbench.results.model import BenchResult

SUITE_PREFIX = "test_"  # suites/test_latency.py is the "latency" suite
NO_SUITE = "custom"  # a module named just "test_" (or none)

# Field -> how a reason names it; also the order differences are listed in.
LABELS = {
    "model": "model",
    "backend": "backend",
    "device": "device",
    "variant": "variant",
    "hardware": "hardware",
    "stream_mode": "stream mode",
    "prompt": "prompt",
    "params": "params",
    "weights": "weights",
    "suite": "suite",
    "test": "test",
}


def suite_name(module: str) -> str:
    """The suite of a test module: its last dotted part without ``test_``
    (``pytest_ttsbench.suites.test_cold_start`` -> ``cold_start``)."""
    return module.rpartition(".")[2].removeprefix(SUITE_PREFIX) or NO_SUITE


def node_function(node_id: str) -> str:
    """The test function of a node id, with its class, without the file path and the
    parameters: the same from a checkout and from ``--pyargs``, and when an id changes
    (``a/test_x.py::TestA::test_y[p]`` -> ``TestA::test_y``)."""
    parts = node_id.split("[", 1)[0].split("::")
    return "::".join(parts[1:] if len(parts) > 1 else parts)


def _param_value(value: Any) -> str:
    # 1 and 1.0 are one speed: JSON round trips and CLI sweeps spell numbers either way
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def params_key(params: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """Swept parameters as sorted (name, canonical value) pairs."""
    return tuple(sorted((str(k), _param_value(v)) for k, v in params.items()))


def _params_text(params: tuple[tuple[str, str], ...]) -> str:
    return ", ".join(f"{k}={v}" for k, v in params) or "none"


@dataclass(frozen=True, order=True)
class ResultKey:
    """What a result's numbers depend on; equal keys compare like with like."""

    model: str
    backend: str
    device: str
    variant: str
    hardware: str
    stream_mode: str  # native, sentence or none
    prompt: str
    params: tuple[tuple[str, str], ...]  # see params_key
    weights: str  # "real", or "random" for random-init weights
    suite: str
    test: str  # node_function of the node id; "" when the result recorded no test

    def text(self, name: str) -> str:
        """One field as a reason shows it."""
        value = getattr(self, name)
        return _params_text(value) if name == "params" else str(value)

    def describe(self) -> str:
        """One line naming every field: ``model kokoro, backend onnx, ...``."""
        return ", ".join(f"{label} {self.text(name)}" for name, label in LABELS.items())


@dataclass(frozen=True)
class Difference:
    field: str  # the label: "stream mode"
    baseline: str
    current: str


def result_key(result: BenchResult) -> ResultKey:
    """The comparison key of ``result``."""
    t = result.target
    return ResultKey(
        model=t.model,
        backend=t.backend,
        device=t.device,
        variant=t.variant,
        hardware=result.hardware.strip(),
        stream_mode=result.stream_mode,
        prompt=result.prompt,
        params=params_key(result.params),
        weights="real" if result.random_weights is None else "random",
        suite=result.suite,
        test=node_function(result.test),
    )


def key_differences(baseline: ResultKey, current: ResultKey) -> list[Difference]:
    """The fields ``current`` differs from ``baseline`` in, in ``LABELS`` order; empty:
    comparable. A baseline that recorded no test (older files) matches any test."""
    out = []
    for f in fields(ResultKey):
        if f.name == "test" and not baseline.test:
            continue
        if getattr(baseline, f.name) != getattr(current, f.name):
            out.append(Difference(LABELS[f.name], baseline.text(f.name), current.text(f.name)))
    return out


def describe_differences(differences: Sequence[Difference]) -> str:
    """``stream mode native vs sentence; params none vs speed=0.8``: baseline first."""
    return "; ".join(f"{d.field} {d.baseline} vs {d.current}" for d in differences)
