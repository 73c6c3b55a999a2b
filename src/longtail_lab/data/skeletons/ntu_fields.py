"""Skeleton sample names: the fields of NTU RGB+D 60/120 and NW-UCLA names and the labels they give.

- NTU: ``SsssCcccPpppRrrrAaaa`` (setup, camera, performer, replication, action), label = action - 1.
- NW-UCLA: ``aAA_sSS_eEE_vVV`` (action, subject, episode, view); the ten actions a01-a06, a08, a09,
  a11, a12 map to labels 0-9 in that order.

Digits are ASCII ``0-9`` only (the patterns are ``re.ASCII``: a plain ``\\d`` also matches other scripts'
digits, which ``int()`` reads). Errors are ``ValueError`` without a location; ``ntu_names`` adds file and line.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np

NTU_MAX_ACTION = 120
NWUCLA_ACTIONS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
NWUCLA_NUM_CLASSES = len(NWUCLA_ACTIONS)

_NTU_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})", re.ASCII)
_NWUCLA_NAME = re.compile(r"a(\d{2})_s(\d{2})_e(\d{2})_v(\d{2})", re.ASCII)
_NWUCLA_LABEL = {action: label for label, action in enumerate(NWUCLA_ACTIONS)}


class NtuName(NamedTuple):
    setup: int
    camera: int
    performer: int
    replication: int
    action: int

    @property
    def label(self) -> int:
        return self.action - 1


class NwuclaName(NamedTuple):
    action: int
    subject: int
    episode: int
    view: int

    @property
    def label(self) -> int:
        return _NWUCLA_LABEL[self.action]


def ntu_fields(name: str) -> NtuName:
    """Fields of an NTU sample name; ``ValueError`` (message without location) when malformed."""
    match = _NTU_NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"{name!r} is not an NTU sample name SsssCcccPpppRrrrAaaa")
    fields = NtuName(*(int(g) for g in match.groups()))
    if min(fields) < 1 or fields.camera > 3 or fields.replication > 2:
        raise ValueError(f"{name!r}: field out of range (all >= 1, camera <= 3, replication <= 2)")
    if fields.action > NTU_MAX_ACTION:
        raise ValueError(f"{name!r}: action A{fields.action:03d} is outside A001-A{NTU_MAX_ACTION:03d}")
    return fields


def nwucla_fields(name: str) -> NwuclaName:
    match = _NWUCLA_NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"{name!r} is not an NW-UCLA sample name aAA_sSS_eEE_vVV")
    fields = NwuclaName(*(int(g) for g in match.groups()))
    if fields.action not in _NWUCLA_LABEL:
        raise ValueError(f"{name!r}: action a{fields.action:02d} is not one of the NW-UCLA actions {NWUCLA_ACTIONS}")
    if not 1 <= fields.view <= 3 or fields.subject < 1:
        raise ValueError(f"{name!r}: view must be 1-3 and subject >= 1")
    return fields


FIELDS_OF = {"ntu": ntu_fields, "nwucla": nwucla_fields}


_NTU_LETTERS = np.frombuffer(b"SCPRA", dtype=np.uint8)


def ntu_labels_fast(names: list[str]) -> np.ndarray | None:
    """Labels of well-formed, distinct NTU names, or None when any name needs a closer look."""
    if not names:
        return np.zeros(0, dtype=np.int64)
    arr = np.asarray(names)
    if arr.dtype.itemsize != 20 * 4:  # numpy str is UTF-32: every name must be exactly 20 characters
        return None
    chars = arr.view(np.uint32).reshape(len(names), 5, 4)
    digits = chars[:, :, 1:].astype(np.int64) - ord("0")
    if (chars[:, :, 0] != _NTU_LETTERS).any() or ((digits < 0) | (digits > 9)).any():
        return None
    fields = digits @ np.array([100, 10, 1])  # [N, 5]: setup, camera, performer, replication, action
    bad = (fields < 1).any(axis=1) | (fields[:, 1] > 3) | (fields[:, 3] > 2) | (fields[:, 4] > NTU_MAX_ACTION)
    if bad.any() or len(set(names)) != len(names):
        return None
    return fields[:, 4] - 1
