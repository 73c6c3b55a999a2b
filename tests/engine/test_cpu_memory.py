"""The glibc malloc tuning used for CPU training applies on glibc, once, and is a no-op elsewhere."""

from __future__ import annotations

import platform

import pytest
import torch

from longtail_lab.engine import cpu_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_keep_freed_memory_applies_on_glibc_and_tensors_still_work(monkeypatch):
    monkeypatch.setattr(cpu_memory, "_done", False)
    assert cpu_memory.keep_freed_memory() is True
    assert cpu_memory._done is True
    assert cpu_memory.keep_freed_memory() is True  # second call: nothing to do
    x = torch.ones(1024, 1024) * 2  # a 4 MiB block, above glibc's default mmap threshold
    assert float(x.sum()) == 2 * 1024 * 1024


def test_not_linux_is_a_no_op(monkeypatch):
    monkeypatch.setattr(cpu_memory, "_done", False)
    monkeypatch.setattr(cpu_memory.sys, "platform", "darwin")
    assert cpu_memory.keep_freed_memory() is False
