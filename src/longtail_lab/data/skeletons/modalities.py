"""Derived skeleton modalities (BRL / PYSKL ``GenSkeFeat``): bone, skip ("k") and their motion.

Arrays are ``[..., V, C]`` (joint axis second to last), e.g. PYSKL's ``keypoint`` [M, T, V, C].
Tables are for the NTU RGB+D 25-joint layout (0-based; joint 20 = spine-shoulder, the centre).
NW-UCLA (20 joints) has its own tables in BRL, which our reference does not list, so they are
not provided here.
"""

from __future__ import annotations

import numpy as np

from longtail_lab.errors import DataError

NTU_NUM_JOINTS = 25
NTU_CENTER = 20

# bone: vector at joint v1 = joint v1 - joint v2, pairs (v1, v2); 20 -> 20 gives a zero vector
NTU_BONE_PAIRS = (
    (0, 1), (1, 20), (2, 20), (3, 2), (4, 20), (5, 4), (6, 5), (7, 6), (8, 20), (9, 8), (10, 9), (11, 10),
    (12, 0), (13, 12), (14, 13), (15, 14), (16, 0), (17, 16), (18, 17), (19, 18), (21, 22), (20, 20),
    (22, 7), (23, 24), (24, 11),
)  # fmt: skip
# skip: joint minus its grandparent (two hops toward the centre); joints 1, 2, 4, 8, 20 are self pairs
NTU_SKIP_PAIRS = (
    (0, 20), (3, 20), (5, 20), (6, 4), (7, 5), (9, 20), (10, 8), (11, 9), (12, 1), (13, 0), (14, 12),
    (15, 13), (16, 1), (17, 0), (18, 16), (19, 17), (21, 7), (22, 6), (23, 11), (24, 10),
    (1, 1), (2, 2), (4, 4), (8, 8), (20, 20),
)  # fmt: skip


def _reference_index(pairs, num_joints: int) -> np.ndarray:
    """ref[v1] = v2 for every joint; each joint must appear exactly once as v1."""
    ref = np.full(num_joints, -1, dtype=np.int64)
    for v1, v2 in pairs:
        ref[v1] = v2
    assert (ref >= 0).all() and len(pairs) == num_joints
    return ref


NTU_BONE_PARENT = _reference_index(NTU_BONE_PAIRS, NTU_NUM_JOINTS)
NTU_SKIP_TARGET = _reference_index(NTU_SKIP_PAIRS, NTU_NUM_JOINTS)


def _relative(x: np.ndarray, ref: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim < 2 or x.shape[-2] != len(ref):
        raise DataError(f"{what}: expected an array [..., {len(ref)} joints, C], got shape {x.shape}")
    return x - x[..., ref, :]


def bone(x: np.ndarray) -> np.ndarray:
    """Bone vectors of NTU-25 joints: ``x[..., v, :] - x[..., parent[v], :]`` (zero at the centre)."""
    return _relative(x, NTU_BONE_PARENT, "bone")


def skip(x: np.ndarray) -> np.ndarray:
    """Skip ("k") vectors of NTU-25 joints: joint minus its grandparent; zero for 1, 2, 4, 8, 20."""
    return _relative(x, NTU_SKIP_TARGET, "skip")


def motion(x: np.ndarray, time_axis: int = -3) -> np.ndarray:
    """Forward difference ``x[t+1] - x[t]`` along ``time_axis`` with the last frame set to 0.

    The default axis fits ``[..., T, V, C]`` (PYSKL keypoints [M, T, V, C]). BRL computes motion on
    the full-rate sequence, before frame sampling.
    """
    x = np.asarray(x)
    if x.ndim == 0 or not -x.ndim <= time_axis < x.ndim:
        raise DataError(f"motion: time_axis {time_axis} is outside an array of shape {x.shape}")
    out = np.zeros_like(x)
    axis = time_axis % x.ndim
    head = [slice(None)] * x.ndim
    head[axis] = slice(0, -1)
    out[tuple(head)] = np.diff(x, axis=axis)
    return out


MODALITIES = ("j", "b", "k", "jm", "bm", "km")


def modality(x: np.ndarray, name: str, time_axis: int = -3) -> np.ndarray:
    """One of BRL's six inputs: j (joints), b (bone), k (skip), jm / bm / km (their motion)."""
    if name not in MODALITIES:
        raise DataError(f"unknown skeleton modality {name!r}; known: {MODALITIES}")
    base = {"j": np.asarray, "b": bone, "k": skip}[name[0]](x)
    return motion(base, time_axis) if name.endswith("m") else base
