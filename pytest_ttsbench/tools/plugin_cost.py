"""What the installed plugin costs pytest runs that never benchmark anything.

    python -m pytest_ttsbench.tools.plugin_cost --runs 20

Two figures, each from alternating runs (plugin on, plugin off, on, off, ...) so that
load on a shared machine falls on both sides alike; medians of wall time, and of the
CPU time (user + system) each pytest process used, which a busy machine blurs less:

1. a trivial one-test project, with the plugin (its pytest11 entry point) and with
   ``-p no:ttsbench``;
2. collecting the whole matrix: ``--collect-only`` over a copy of the shipped suites,
   with the plugin and without it (the suites then collect as plain tests).

Both projects live in a temporary folder with a bare pytest.ini, so no other project's
configuration (strict markers, warnings as errors) changes what is measured. Every run
keeps its bytecode in a folder of its own (PYTHONPYCACHEPREFIX), as an installed plugin
has its bytecode: where the environment sets PYTHONDONTWRITEBYTECODE, each run would
otherwise compile the plugin's sources anew (``--env-bytecode`` measures that).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

TRIVIAL_TEST = "def test_one():\n    assert 1 + 1 == 2\n"


@dataclass(frozen=True)
class Pair:
    label: str
    with_plugin: list[float]  # wall seconds
    without: list[float]
    cpu_with: list[float] = field(default_factory=list)  # CPU seconds (user + system)
    cpu_without: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return statistics.median(self.with_plugin) / statistics.median(self.without)

    @property
    def delta_ms(self) -> float:
        return (statistics.median(self.with_plugin) - statistics.median(self.without)) * 1e3

    def lines(self) -> list[str]:
        on, off = statistics.median(self.with_plugin), statistics.median(self.without)
        out = [
            f"{self.label}: n={len(self.with_plugin)} alternating runs each",
            f"  with the plugin:  median {on * 1e3:7.0f} ms, min {min(self.with_plugin) * 1e3:.0f}",
            f"  -p no:ttsbench:   median {off * 1e3:7.0f} ms, min {min(self.without) * 1e3:.0f}",
            f"  ratio x{self.ratio:.3f}, difference {self.delta_ms:+.0f} ms",
            _paired("wall", self.with_plugin, self.without),
        ]
        if self.cpu_with and self.cpu_without:
            cpu_on, cpu_off = statistics.median(self.cpu_with), statistics.median(self.cpu_without)
            out.append(
                f"  CPU time: median {cpu_on * 1e3:.0f} vs {cpu_off * 1e3:.0f} ms, "
                f"ratio x{cpu_on / cpu_off:.3f}, difference {(cpu_on - cpu_off) * 1e3:+.0f} ms"
            )
            out.append(_paired("CPU", self.cpu_with, self.cpu_without))
        return out


def _paired(what: str, on: list[float], off: list[float]) -> str:
    """The median of each pair's difference (a run with the plugin minus the run without
    it just after): a load that drifts over the measurement cancels out of each pair."""
    delta = statistics.median(a - b for a, b in zip(on, off, strict=True))
    return (
        f"  paired {what}: median difference {delta * 1e3:+.0f} ms, "
        f"x{1 + delta / statistics.median(off):.3f}"
    )


def _children_cpu_s() -> float | None:
    """CPU seconds used so far by this process's waited-for children; None off Unix."""
    if sys.platform == "win32":
        return None
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wall(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float | None]:
    """Wall seconds of one pytest run, and the CPU seconds it used (None off Unix)."""
    cpu_before = _children_cpu_s()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    cpu_after = _children_cpu_s()
    if done.returncode not in (0, 5):
        raise SystemExit(f"pytest {' '.join(args)} failed in {cwd}:\n{done.stdout}{done.stderr}")
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return wall, cpu


def measure(label: str, cwd: Path, args: list[str], runs: int, env: dict[str, str]) -> Pair:
    _wall(args, cwd, env)  # warm the file cache and bytecode on both sides first
    _wall([*args, "-p", "no:ttsbench"], cwd, env)
    on: list[tuple[float, float | None]] = []
    off: list[tuple[float, float | None]] = []
    for _ in range(runs):
        on.append(_wall(args, cwd, env))
        off.append(_wall([*args, "-p", "no:ttsbench"], cwd, env))
    return Pair(
        label,
        [wall for wall, _ in on],
        [wall for wall, _ in off],
        [cpu for _, cpu in on if cpu is not None],
        [cpu for _, cpu in off if cpu is not None],
    )


def _suites_source() -> Path:
    shipped = Path(str(resources.files("pytest_ttsbench"))) / "suites"
    if shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[2] / "suites"  # a source checkout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="alternating runs per side")
    parser.add_argument(
        "--env-bytecode",
        action="store_true",
        help="keep the environment's bytecode settings (PYTHONDONTWRITEBYTECODE compiles "
        "every module without a .pyc on each run)",
    )
    opts = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ttsbench-cost-") as tmp:
        root = Path(tmp)
        env = dict(os.environ)
        if not opts.env_bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
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
                "trivial one-test project",
                trivial,
                ["-q", "-p", "no:cacheprovider"],
                opts.runs,
                env,
            ),
            measure(
                "collecting the suites (--collect-only)",
                matrix,
                ["-q", "--collect-only", "-p", "no:cacheprovider", "suites"],
                opts.runs,
                env,
            ),
        ]
    for pair in pairs:
        print("\n".join(pair.lines()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
