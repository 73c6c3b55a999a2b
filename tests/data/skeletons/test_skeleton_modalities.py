"""Bone / skip / motion modalities on hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from longtail_lab.data.skeletons.modalities import (
    NTU_BONE_PAIRS,
    NTU_BONE_PARENT,
    NTU_SKIP_PAIRS,
    NTU_SKIP_TARGET,
    bone,
    modality,
    motion,
    skip,
)
from longtail_lab.errors import DataError


def _joints() -> np.ndarray:
    """x[v] = (v, 2v, 3v): every difference is easy to compute by hand."""
    v = np.arange(25, dtype=np.float32)
    return np.stack([v, 2 * v, 3 * v], axis=-1)


def test_tables_cover_every_joint_once():
    assert sorted(v1 for v1, _ in NTU_BONE_PAIRS) == list(range(25))
    assert sorted(v1 for v1, _ in NTU_SKIP_PAIRS) == list(range(25))
    assert [v for v in range(25) if NTU_BONE_PARENT[v] == v] == [20]
    assert [v for v in range(25) if NTU_SKIP_TARGET[v] == v] == [1, 2, 4, 8, 20]


def test_skip_is_the_grandparent_two_hops_toward_the_centre():
    for v in range(25):
        parent, grand = NTU_BONE_PARENT[v], NTU_BONE_PARENT[NTU_BONE_PARENT[v]]
        assert NTU_SKIP_TARGET[v] == (v if grand == parent else grand), v


def test_bone_values():
    b = bone(_joints())
    assert b[0].tolist() == [-1, -2, -3]  # 0 -> 1
    assert b[3].tolist() == [1, 2, 3]  # 3 -> 2
    assert b[20].tolist() == [0, 0, 0]  # centre
    assert b[21].tolist() == [-1, -2, -3]  # 21 -> 22
    assert b[22].tolist() == [15, 30, 45]  # 22 -> 7
    assert b[24].tolist() == [13, 26, 39]  # 24 -> 11
    assert b[12].tolist() == [12, 24, 36]  # 12 -> 0


def test_skip_values():
    k = skip(_joints())
    assert k[0].tolist() == [-20, -40, -60]  # 0 -> 20
    assert k[1].tolist() == [0, 0, 0]
    assert k[7].tolist() == [2, 4, 6]  # 7 -> 5
    assert k[13].tolist() == [13, 26, 39]  # 13 -> 0
    assert k[21].tolist() == [14, 28, 42]  # 21 -> 7
    assert k[24].tolist() == [14, 28, 42]  # 24 -> 10


def test_batched_layouts_and_dtype():
    x = np.random.default_rng(0).normal(size=(2, 5, 25, 3)).astype(np.float16)  # [M, T, V, C]
    b = bone(x)
    assert b.dtype == np.float16 and b.shape == x.shape
    np.testing.assert_array_equal(b[1, 3, 9], x[1, 3, 9] - x[1, 3, 8])
    with pytest.raises(DataError, match=r"bone: expected an array \[\.\.\., 25 joints, C\]"):
        bone(np.zeros((5, 20, 3)))


def test_motion_forward_difference_last_frame_zero():
    x = np.array([[1.0, 2.0], [4.0, 8.0], [5.0, 5.0]])[None, :, None, :]  # [M=1, T=3, V=1, C=2]
    m = motion(x)
    assert m[0, :, 0].tolist() == [[3, 6], [1, -3], [0, 0]]
    cv = np.moveaxis(x, (0, 1, 2, 3), (3, 1, 2, 0))  # [C, T, V, M]
    np.testing.assert_array_equal(motion(cv, time_axis=1), np.moveaxis(m, (0, 1, 2, 3), (3, 1, 2, 0)))
    with pytest.raises(DataError, match="time_axis 4"):
        motion(x, time_axis=4)


def test_modalities_by_name():
    x = np.random.default_rng(1).normal(size=(1, 4, 25, 3))
    np.testing.assert_array_equal(modality(x, "j"), x)
    np.testing.assert_array_equal(modality(x, "bm"), motion(bone(x)))
    np.testing.assert_array_equal(modality(x, "km"), motion(skip(x)))
    assert not modality(x, "jm")[:, -1].any()
    with pytest.raises(DataError, match="unknown skeleton modality 'bone'"):
        modality(x, "bone")
