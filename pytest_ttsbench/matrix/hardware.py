"""What this machine has (CUDA GPUs, Apple GPU, CPU), found without importing torch.

CUDA GPUs come from ``nvidia-smi`` unless torch is already imported (then from torch,
which sees CUDA_VISIBLE_DEVICES), so collecting the matrix stays light.
"""

from __future__ import annotations

import functools
import os
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GPU:
    name: str
    memory_mb: int | None = None


@dataclass(frozen=True)
class Hardware:
    system: str  # Linux, Darwin, Windows
    machine: str  # x86_64, arm64
    cpu_model: str
    cores: int
    gpus: tuple[GPU, ...] = ()
    gpu_source: str = "none"  # nvidia-smi, torch or none
    apple_chip: str | None = None

    @property
    def apple_silicon(self) -> bool:
        return self.system == "Darwin" and self.machine in ("arm64", "aarch64")

    def device_missing(self, device: str) -> str | None:
        """Why this machine cannot run ``device`` at all, or None if it can."""
        if device == "cuda" and not self.gpus:
            how = (
                "nvidia-smi lists no GPU" if shutil.which("nvidia-smi") else "no nvidia-smi on PATH"
            )
            return f"no CUDA GPU on this machine ({how}); run it on a GPU runner: pytest -m cuda"
        if device == "mps" and not self.apple_silicon:
            return (
                f"needs an Apple Silicon Mac (the Apple GPU via Metal/MPS); this is "
                f"{self.system} {self.machine}: run it on a macOS arm64 runner: pytest -m mps"
            )
        return None

    def label(self, device: str) -> str:
        """A stable hardware name for the results table, for what ``device`` runs on."""
        if device == "cuda" and self.gpus:
            names = sorted({g.name for g in self.gpus})
            return names[0] if len(names) == 1 else " + ".join(names)
        if device == "mps" and self.apple_chip:
            return self.apple_chip
        if device == "remote":  # a server (--tts-server): its hardware is not this machine's
            return "remote server"
        return f"{self.cpu_model} ({self.cores} cores)"

    def as_dict(self) -> dict[str, object]:
        return {
            "system": self.system,
            "machine": self.machine,
            "cpu_model": self.cpu_model,
            "cores": self.cores,
            "gpus": [{"name": g.name, "memory_mb": g.memory_mb} for g in self.gpus],
            "gpu_source": self.gpu_source,
            "apple_chip": self.apple_chip,
            "python": platform.python_version(),
        }


def _cpu_model(system: str) -> str:
    if system == "Linux":
        try:
            text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
        if match:
            return re.sub(r"\s+", " ", match.group(1)).strip()
    if system == "Darwin":
        brand = _run(["sysctl", "-n", "machdep.cpu.brand_string"])
        if brand:
            return brand
    return platform.processor() or platform.machine() or "unknown CPU"


def _cores() -> int:
    affinity = getattr(os, "sched_getaffinity", None)
    if affinity is not None:
        return len(affinity(0))
    return os.cpu_count() or 1


def _run(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def parse_nvidia_smi(text: str) -> tuple[GPU, ...]:
    """Parse ``nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits``."""
    gpus = []
    for line in text.splitlines():
        name, _, memory = line.rpartition(",")
        if not name.strip():
            continue
        try:
            mem: int | None = int(float(memory.strip()))
        except ValueError:
            mem = None
        gpus.append(GPU(name=name.strip(), memory_mb=mem))
    return tuple(gpus)


def _gpus_from_torch() -> tuple[GPU, ...]:
    """GPUs as an already-imported torch sees them; torch is never imported here."""
    torch: Any = sys.modules["torch"]
    if not torch.cuda.is_available():
        return ()
    return tuple(
        GPU(
            torch.cuda.get_device_name(i),
            int(torch.cuda.get_device_properties(i).total_memory // 2**20),
        )
        for i in range(torch.cuda.device_count())
    )


@functools.lru_cache(maxsize=1)
def detect() -> Hardware:
    """Probe once per process: torch's view if torch is already loaded, else nvidia-smi."""
    system = platform.system()
    machine = platform.machine()
    gpus: tuple[GPU, ...] = ()
    source = "none"
    if "torch" in sys.modules:
        try:
            gpus = _gpus_from_torch()
            source = "torch" if gpus else "none"
        except Exception:  # a broken torch must not break collection
            gpus = ()
    if not gpus and shutil.which("nvidia-smi"):
        gpus = parse_nvidia_smi(
            _run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"])
        )
        source = "nvidia-smi" if gpus else "none"
    cpu = _cpu_model(system)
    chip = cpu if system == "Darwin" and cpu.startswith("Apple") else None
    return Hardware(
        system=system,
        machine=machine,
        cpu_model=cpu,
        cores=_cores(),
        gpus=gpus,
        gpu_source=source,
        apple_chip=chip,
    )
