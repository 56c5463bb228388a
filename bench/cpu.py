"""Where the CPU went during a benchmark row (Linux /proc; empty figures elsewhere).

On a 2-core machine the server, the database, the cache and the load generator share the same
cores, and anything else running at the same time (a test suite, a build) lowers the figures.
Counting the machine's busy time and the server's own time next to each row shows both.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class Snapshot:
    at: float
    machine_busy: float  # seconds of CPU used by everything, all cores added up
    group: dict[int, float]  # seconds of CPU used so far by each process of the server's group


def _machine_busy() -> float:
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    del idle, iowait
    return (user + nice + system + irq + softirq + steal) / TICKS


def _group_times(pgid: int | None) -> dict[int, float]:
    if pgid is None:
        return {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name is in parentheses and may hold spaces: split after the last one.
            rest = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(rest[2]) == pgid:
            times[int(entry.name)] = (int(rest[11]) + int(rest[12])) / TICKS
    return times


def snapshot(pgid: int | None = None) -> Snapshot:
    return Snapshot(at=time.monotonic(), machine_busy=_machine_busy(), group=_group_times(pgid))


def usage(before: Snapshot, after: Snapshot) -> tuple[float, float]:
    """(share of the whole machine that was busy, cores used by the server's processes) between two snapshots."""
    wall = max(1e-9, after.at - before.at)
    # Clock ticks are coarse: a fully busy machine can read a little over 100 %.
    machine = min(1.0, (after.machine_busy - before.machine_busy) / wall / (os.cpu_count() or 1))
    server = sum(t - before.group[pid] for pid, t in after.group.items() if pid in before.group) / wall
    return machine, server


def background_load(seconds: float = 2.0) -> float:
    """Share of the machine busy while nothing of the benchmark runs: should be close to 0."""
    before = snapshot()
    time.sleep(seconds)
    return usage(before, snapshot())[0]
