"""CPU training: stop glibc from returning every large freed block to the OS.

With glibc's defaults, blocks above 128 KiB are mmap'ed and unmapped on free, so every activation and
gradient buffer of every step is a fresh mapping that page-faults on first touch. Training keeps
re-allocating the same sizes, so keeping freed memory in the heap is much faster: measured on the 2-core
CPU for SADE+RL ResNet-32 (batch 128), 0.77 -> 0.68 s/step (see ``benchmarks/reflective_step.py``). This
is what jemalloc/tcmalloc preloading achieves for PyTorch on CPU, done without a preload.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_MAX_THRESHOLD = 32 * 1024 * 1024  # glibc's upper bound for M_MMAP_THRESHOLD on 64-bit
_done = False


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds (once per process); False where that is not glibc (no-op)."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: nothing to tune
        return False
    ok = mallopt(_M_MMAP_THRESHOLD, _MMAP_MAX_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, 1 << 30) == 1
    _done = ok
    log.debug("glibc malloc thresholds raised for CPU training: %s", ok)
    return ok
