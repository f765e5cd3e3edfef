"""The public API at ``pytest_ttsbench`` top level: every name resolves, and importing
the package alone (pytest does, in every run of every project that has it installed)
loads nothing heavy."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import pytest_ttsbench

HEAVY = (
    "numpy",
    "scipy",
    "pyloudnorm",
    "psutil",
    "tabulate",
    "filelock",
    "onnxruntime",
    "torch",
    "mlx",
    "kokoro_onnx",
    "transformers",
)


@pytest.mark.parametrize("name", pytest_ttsbench.__all__)
def test_every_public_name_resolves(name: str) -> None:
    value = getattr(pytest_ttsbench, name)
    assert value is not None
    if name != "__version__":
        # the object from the module that defines it, not a copy
        assert getattr(value, "__module__", "").startswith("pytest_ttsbench.")


def test_public_names_are_listed_in_dir() -> None:
    assert set(pytest_ttsbench.__all__) <= set(dir(pytest_ttsbench))
    # every lazy name is public, every public name but the version is lazy
    assert set(pytest_ttsbench._LAZY) | {"__version__"} == set(pytest_ttsbench.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = pytest_ttsbench.no_such_thing  # type: ignore[attr-defined]


def test_importing_the_package_alone_loads_nothing_heavy() -> None:
    code = (
        "import json, sys, pytest_ttsbench; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    assert sorted(loaded & set(HEAVY)) == []
    assert "pytest" not in loaded  # nor pytest itself: the API is usable from plain scripts


def test_reading_a_light_name_stays_light() -> None:
    code = (
        "import json, sys, pytest_ttsbench; pytest_ttsbench.EngineSpec; "
        "pytest_ttsbench.EngineRegistry; pytest_ttsbench.find_weights; pytest_ttsbench.Target; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert sorted(set(json.loads(done.stdout)) & set(HEAVY)) == []
