"""Peak memory and CPU time of a process and its children, read from /proc (no psutil)."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(child) for child in task.read_text().split()]
        except OSError:
            continue
    return found


def tree(pid: int) -> list[int]:
    """The process and all its descendants still alive."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        if Path(f"/proc/{current}").exists():
            pids.append(current)
            todo += _children(current)
    return pids


def peak_rss_mib(pid: int) -> float:
    """Sum over the process tree of each process's peak resident set (VmHWM)."""
    total_kib = 0
    for member in tree(pid):
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by the process tree."""
    total = 0
    for member in tree(pid):
        try:
            # The command name (field 2) may contain spaces; fields after it are fixed.
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / _TICKS


def machine_busy_seconds() -> float:
    """CPU time all processes on the machine have used (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(value) for value in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICKS
