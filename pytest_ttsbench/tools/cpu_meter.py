"""The CPU the rest of the machine used over a stretch of wall time: the fidelity
check marks a block that shared the machine as contended."""

from __future__ import annotations

import os
import time
from pathlib import Path


def machine_busy_s() -> float | None:
    """CPU seconds all CPUs spent busy since boot (Linux ``/proc/stat``), else None.

    user + nice + system + irq + softirq + steal: steal is a VM's neighbours."""
    try:
        with Path("/proc/stat").open(encoding="ascii") as f:
            fields = f.readline().split()
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[1:9])
    return (user + nice + system + irq + softirq + steal) / ticks


def own_cpu_s() -> float:
    """This process's CPU seconds plus those of its children it waited for."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class CpuMeter:
    """Wall time and foreign CPU (the machine's busy CPU minus ours) over a block."""

    def __init__(self) -> None:
        self._busy = machine_busy_s()
        self._own = own_cpu_s()
        self._start = time.perf_counter()

    def stop(self) -> tuple[float, float | None]:
        wall = time.perf_counter() - self._start
        busy = machine_busy_s()
        if busy is None or self._busy is None:
            return wall, None
        return wall, (busy - self._busy) - (own_cpu_s() - self._own)
