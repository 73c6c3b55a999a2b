"""CPU threads for training and inference: a setting that does not collapse when the machine is busy.

PyTorch's OpenMP threads spin while they wait for each other. With as many threads as cores and another
process on one of the cores, every parallel region waits for the thread that lost its core: measured on the
2-core development CPU, a SADE+RL step took 10.6 s with 2 threads against 3.3 s with 1 thread while a second
process kept one core busy (2.6 s with 2 threads on an idle machine). Two defences:

* ``OMP_WAIT_POLICY=PASSIVE`` (set in ``longtail_lab/__init__.py`` before torch loads OpenMP, unless you set
  it yourself): waiting threads sleep instead of spinning (same busy case: 4.4 s; idle: no measurable cost);
* ``num_threads: auto`` uses the cores that are idle when the run starts: usable cores minus the 1-minute
  load average, rounded, at least 1 (each DDP rank gets its share). A number pins the count.
"""

from __future__ import annotations

import logging
import os

import torch

log = logging.getLogger(__name__)
_auto: int | None = None  # resolved once per process: later nodes see this process's own load


def usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def auto_threads(world_size: int = 1) -> tuple[int, str]:
    """(threads, why) for ``num_threads: auto``: the idle cores at the first call, shared among ranks."""
    global _auto
    cores = usable_cores()
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not available on this platform
        load = 0.0
    if _auto is None:
        _auto = max(1, min(cores, round(cores - load)))
    threads = max(1, _auto // max(world_size, 1))
    return threads, f"auto: {cores} usable cores, 1-min load {load:.2f} at the first call"


def use_threads(setting: int | str, world_size: int = 1) -> int:
    """Apply ``train.num_threads`` (an int or ``"auto"``) to this process and log the choice."""
    threads, why = (int(setting), "train.num_threads") if setting != "auto" else auto_threads(world_size)
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    log.info(
        "CPU threads: %d (%s; OMP_WAIT_POLICY=%s)", threads, why, os.environ.get("OMP_WAIT_POLICY", "unset")
    )
    return threads
