"""CPU threads for training and inference: a setting that does not collapse when the machine is busy.

PyTorch's OpenMP threads wait for each other at the end of every parallel region. With as many threads as
cores and another process on one of the cores, every region waits for the thread that lost its core. Measured
with ``benchmarks/cpu_speed.py`` on the 2-core development CPU (SADE+RL step, batch 128): idle machine, 2
threads 2.21 s/step, 1 thread 3.83 s; one core kept busy by another process, 2 threads 7.7 s (OpenMP's
default spinning wait) to 11.2 s (``OMP_WAIT_POLICY=PASSIVE``), 1 thread 4.0 s.

``num_threads: auto`` therefore uses the cores that are idle when the run starts: the CPU time other
processes use during half a second (``/proc/stat``), rounded to whole cores, is subtracted from the usable
cores (at least 1 thread; DDP ranks share the cores). The 1-minute load average is not used: it remembers the
previous run of a sweep for a minute. A number pins the count. The choice is logged at the start of training.
"""

from __future__ import annotations

import logging
import os
import time

import torch

log = logging.getLogger(__name__)
_auto: int | None = None  # resolved once per process: later nodes would see this process's own load
_why = ""


def usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def busy_cores(window_s: float = 0.5) -> float | None:
    """How many cores' worth of CPU time the machine spent outside idle during ``window_s`` (Linux), else None."""

    def sample() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
        return sum(values[:8]), idle

    try:
        total0, idle0 = sample()
        time.sleep(window_s)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    total = total1 - total0
    return 0.0 if total <= 0 else (1 - (idle1 - idle0) / total) * (os.cpu_count() or 1)


def auto_threads(world_size: int = 1) -> tuple[int, str]:
    """(threads, why) for ``num_threads: auto``: the idle cores at the first call, shared among ranks."""
    global _auto, _why
    if world_size > 1:  # spawned ranks start together: measuring would count the other ranks as load
        cores = usable_cores()
        return max(1, cores // world_size), f"auto: {cores} usable cores shared by {world_size} ranks"
    if _auto is None:
        cores = usable_cores()
        busy = busy_cores()
        _auto = cores if busy is None else max(1, min(cores, round(cores - busy)))
        seen = "not measured" if busy is None else f"{busy:.1f} busy"
        _why = f"auto: {cores} usable cores, {seen} at the first call"
    return _auto, _why


def use_threads(setting: int | str, world_size: int = 1) -> int:
    """Apply ``train.num_threads`` (an int or ``"auto"``) to this process and log the choice."""
    threads, why = (int(setting), "train.num_threads") if setting != "auto" else auto_threads(world_size)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    log.info("CPU threads: %d (%s)", threads, why)
    return threads
