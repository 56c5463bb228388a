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
# Processes counted as "the stores". On a shared machine this includes other users' sessions
# of the same servers, which the "Background" line of the report helps to spot.
STORE_COMMANDS = frozenset({"postgres", "redis-server"})


@dataclass(frozen=True)
class Snapshot:
    at: float
    machine_busy: float  # seconds of CPU used by everything, all cores added up
    group: dict[int, float]  # seconds of CPU used so far by each process of the server's group
    stores: dict[int, float]  # the same for the database and cache processes (see STORE_COMMANDS)


def _machine_busy() -> float:
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return float("nan")
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    del idle, iowait
    return (user + nice + system + irq + softirq + steal) / TICKS


def _process_times(pgid: int | None) -> tuple[dict[int, float], dict[int, float]]:
    """CPU seconds so far of each process in the process group ``pgid``, and of each store process."""
    group: dict[int, float] = {}
    stores: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name is in parentheses and may hold spaces: split after the last one.
            head, _, tail = (entry / "stat").read_text().rpartition(")")
            rest = tail.split()
        except OSError:
            continue
        if len(rest) < 15:
            continue
        own = (int(rest[11]) + int(rest[12])) / TICKS
        if pgid is not None and int(rest[2]) == pgid:
            group[int(entry.name)] = own
        elif head.partition("(")[2] in STORE_COMMANDS:
            # Plus the time of children already ended: Django opens a connection per request, so
            # most PostgreSQL backends live and die between two snapshots, reaped by the postmaster.
            stores[int(entry.name)] = own + (int(rest[13]) + int(rest[14])) / TICKS
    return group, stores


def snapshot(pgid: int | None = None) -> Snapshot:
    group, stores = _process_times(pgid)
    return Snapshot(at=time.monotonic(), machine_busy=_machine_busy(), group=group, stores=stores)


def _spent(before: dict[int, float], after: dict[int, float]) -> float:
    # A process that started in between counts from zero; one that ended is lost (short-lived backends).
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def usage(before: Snapshot, after: Snapshot) -> tuple[float, float, float]:
    """Between two snapshots: the share of the whole machine that was busy, and the cores used by
    the server's processes and by the stores' processes."""
    wall = max(1e-9, after.at - before.at)
    # Clock ticks are coarse: a fully busy machine can read a little over 100 %.
    machine = min(1.0, (after.machine_busy - before.machine_busy) / wall / (os.cpu_count() or 1))
    return machine, _spent(before.group, after.group) / wall, _spent(before.stores, after.stores) / wall


def busiest_share(before: Snapshot, after: Snapshot) -> float:
    """Share of the server's CPU time used by its busiest process (0.5 with two evenly loaded workers)."""
    spent = [t - before.group[pid] for pid, t in after.group.items() if pid in before.group]
    total = sum(spent)
    return max(spent) / total if total > 0 and len(spent) > 1 else float("nan")


def background_load(seconds: float = 2.0) -> float:
    """Share of the machine busy while nothing of the benchmark runs: should be close to 0."""
    before = snapshot()
    time.sleep(seconds)
    return usage(before, snapshot())[0]
