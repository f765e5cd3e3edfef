"""What the installed plugin costs pytest runs that never benchmark anything.

    python -m pytest_ttsbench.tools.plugin_cost --runs 10

Two figures, each from alternating runs (plugin on, plugin off, on, off, ...) so that
load on a shared machine falls on both sides alike; medians of wall time:

1. a trivial one-test project, with the plugin (its pytest11 entry point) and with
   ``-p no:ttsbench``;
2. collecting the whole matrix: ``--collect-only`` over a copy of the shipped suites,
   with the plugin and without it (the suites then collect as plain tests).

Both projects live in a temporary folder with a bare pytest.ini, so no other project's
configuration (strict markers, warnings as errors) changes what is measured.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

TRIVIAL_TEST = "def test_one():\n    assert 1 + 1 == 2\n"


@dataclass(frozen=True)
class Pair:
    label: str
    with_plugin: list[float]
    without: list[float]

    @property
    def ratio(self) -> float:
        return statistics.median(self.with_plugin) / statistics.median(self.without)

    @property
    def delta_ms(self) -> float:
        return (statistics.median(self.with_plugin) - statistics.median(self.without)) * 1e3

    def lines(self) -> list[str]:
        on, off = statistics.median(self.with_plugin), statistics.median(self.without)
        return [
            f"{self.label}: n={len(self.with_plugin)} alternating runs each",
            f"  with the plugin:  median {on * 1e3:7.0f} ms, min {min(self.with_plugin) * 1e3:.0f}",
            f"  -p no:ttsbench:   median {off * 1e3:7.0f} ms, min {min(self.without) * 1e3:.0f}",
            f"  ratio x{self.ratio:.3f}, difference {self.delta_ms:+.0f} ms",
        ]


def _wall(args: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if done.returncode not in (0, 5):
        raise SystemExit(f"pytest {' '.join(args)} failed in {cwd}:\n{done.stdout}{done.stderr}")
    return wall


def measure(label: str, cwd: Path, args: list[str], runs: int) -> Pair:
    _wall(args, cwd)  # warm the file cache and bytecode on both sides first
    _wall([*args, "-p", "no:ttsbench"], cwd)
    on: list[float] = []
    off: list[float] = []
    for _ in range(runs):
        on.append(_wall(args, cwd))
        off.append(_wall([*args, "-p", "no:ttsbench"], cwd))
    return Pair(label, on, off)


def _suites_source() -> Path:
    shipped = Path(str(resources.files("pytest_ttsbench"))) / "suites"
    if shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[2] / "suites"  # a source checkout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="alternating runs per side")
    opts = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ttsbench-cost-") as tmp:
        root = Path(tmp)
        trivial = root / "trivial"
        trivial.mkdir()
        (trivial / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        (trivial / "test_one.py").write_text(TRIVIAL_TEST, encoding="utf-8")
        matrix = root / "matrix"
        matrix.mkdir()
        (matrix / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
        shutil.copytree(
            _suites_source(), matrix / "suites", ignore=shutil.ignore_patterns("__pycache__")
        )
        pairs = [
            measure(
                "trivial one-test project", trivial, ["-q", "-p", "no:cacheprovider"], opts.runs
            ),
            measure(
                "collecting the suites (--collect-only)",
                matrix,
                ["-q", "--collect-only", "-p", "no:cacheprovider", "suites"],
                opts.runs,
            ),
        ]
    for pair in pairs:
        print("\n".join(pair.lines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
