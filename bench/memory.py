"""Resident memory and CPU time of the stack's processes, read from /proc (Linux)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from devstack.config import SERVICES as _SPECS
from devstack.supervisor import Supervisor

SERVICES = tuple(spec.name for spec in _SPECS)
INFRASTRUCTURE = ("kafka", "postgres")


@dataclass
class ProcessMemory:
    name: str
    pid: int | None
    rss_mb: float | None  # VmRSS of the process itself
    peak_mb: float | None  # VmHWM: the most it has been resident since it started
    tree_rss_mb: float | None  # VmRSS summed over it and its descendants (shared pages counted repeatedly)
    tree_processes: int
    error: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _status_kb(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command may contain spaces and parentheses: fields start after the last ")".
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry))
    return tree


def _descendants(pid: int, tree: dict[int, list[int]]) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, ()))
    return found


def measure(sup: Supervisor, names: tuple[str, ...] = SERVICES + INFRASTRUCTURE) -> list[ProcessMemory]:
    tree = _children()
    result = []
    for name in names:
        try:
            pid = sup.pid(name)
        except Exception as exc:  # not configured (external PostgreSQL) or supervisor gone
            result.append(ProcessMemory(name, None, None, None, None, 0, error=f"{exc.__class__.__name__}: {exc}"))
            continue
        if not pid:
            result.append(ProcessMemory(name, None, None, None, None, 0, error="not running"))
            continue
        rss = _status_kb(pid, "VmRSS")
        peak = _status_kb(pid, "VmHWM")
        members = _descendants(pid, tree)
        tree_kb = sum(_status_kb(p, "VmRSS") or 0 for p in members)
        result.append(
            ProcessMemory(
                name,
                pid,
                rss / 1024 if rss is not None else None,
                peak / 1024 if peak is not None else None,
                tree_kb / 1024,
                len(members),
            )
        )
    return result


def _cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime, stime, cutime, cstime are fields 14-17 of proc(5); after the ")" the list starts at field 3.
    # cutime/cstime hold the time of children that exited and were waited for (e.g. PostgreSQL backends).
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_seconds(sup: Supervisor, names: tuple[str, ...] = SERVICES + INFRASTRUCTURE) -> dict[str, float]:
    """CPU time (user + system) used so far by each process, its live descendants and its exited children."""
    tree = _children()
    result = {}
    for name in names:
        try:
            pid = sup.pid(name)
        except Exception:
            continue
        if pid:
            result[name] = _cpu_seconds(pid, reaped_children=True) + sum(
                _cpu_seconds(p) for p in _descendants(pid, tree) if p != pid
            )
    result["bench"] = _cpu_seconds(os.getpid())
    return result
