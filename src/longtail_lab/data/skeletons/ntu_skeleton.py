"""Raw NTU RGB+D ``.skeleton`` text files -> joint arrays.

File layout: frame count; per frame a body count; per body a 10-field body line (bodyID first),
the joint count (25), then one 12-field line per joint (x y z depthX depthY colorX colorY
orientationW/X/Y/Z trackingState). Only x y z (camera space, metres) are kept.

The structure is walked per body (a few hundred steps); the joint lines are converted in one
``np.loadtxt`` call. Truncated or malformed files raise ``DataError`` naming the file and line.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from longtail_lab.data.skeletons.ntu_fields import ntu_fields
from longtail_lab.errors import DataError

NUM_JOINTS = 25
BODY_FIELDS = 10
JOINT_FIELDS = 12


@dataclass(frozen=True, eq=False)
class NtuSkeleton:
    """``joints`` float32 [bodies, frames, 25, 3]; a body's frames without it are zeros.

    Bodies are ordered by the first appearance of their bodyID; ``present`` [bodies, frames] says
    where each body was tracked.
    """

    joints: np.ndarray
    body_ids: tuple[str, ...]
    present: np.ndarray
    source: str = "<skeleton>"

    @property
    def num_frames(self) -> int:
        return self.joints.shape[1]


class _Lines:
    def __init__(self, text: str, source: str) -> None:
        self.lines = text.splitlines()
        self.source = source
        self.pos = 0

    def error(self, line: int, what: str) -> DataError:
        return DataError(f"{self.source}, line {line}: {what}")

    def next(self, what: str) -> tuple[int, str]:
        if self.pos >= len(self.lines):
            raise self.error(self.pos + 1, f"file is truncated: expected {what}, found the end of the file")
        self.pos += 1
        return self.pos, self.lines[self.pos - 1]

    def next_int(self, what: str) -> int:
        line, text = self.next(what)
        text = text.strip()
        if text.isascii() and text.isdigit() and len(text) <= 18:  # plain digits: int() also reads 1_0, +1, ١
            return int(text)
        if text[:1] == "-" and text[1:].isascii() and text[1:].isdigit():
            raise self.error(line, f"{what} is negative ({text[:60]})")
        raise self.error(line, f"expected {what} (an integer), got {text[:60]!r} (ASCII digits 0-9 only)")


def parse_skeleton(text: str, source: str = "<skeleton>", num_joints: int = NUM_JOINTS) -> NtuSkeleton:
    reader = _Lines(text, source)
    num_frames = reader.next_int("the frame count")
    entries: list[tuple[int, int]] = []  # (frame, body slot) per tracked body
    starts: list[int] = []  # index in reader.lines of each body's first joint line
    slot_of: dict[str, int] = {}
    for frame in range(num_frames):
        num_bodies = reader.next_int(f"the body count of frame {frame + 1}")
        seen: set[str] = set()
        for _ in range(num_bodies):
            line, body = reader.next(f"a body line in frame {frame + 1}")
            fields = body.split()
            if len(fields) != BODY_FIELDS:
                raise reader.error(line, f"body line has {len(fields)} fields, expected {BODY_FIELDS}")
            body_id = fields[0]
            if body_id in seen:
                raise reader.error(line, f"body {body_id} appears twice in frame {frame + 1}")
            seen.add(body_id)
            count = reader.next_int(f"the joint count of body {body_id}")
            if count != num_joints:
                raise reader.error(reader.pos, f"body {body_id} has {count} joints, expected {num_joints}")
            if reader.pos + count > len(reader.lines):
                raise reader.error(
                    len(reader.lines) + 1, f"file is truncated inside the joints of body {body_id}, frame {frame + 1}"
                )
            entries.append((frame, slot_of.setdefault(body_id, len(slot_of))))
            starts.append(reader.pos)
            reader.pos += count
    for line in range(reader.pos, len(reader.lines)):
        if reader.lines[line].strip():
            raise reader.error(line + 1, f"unexpected content after the last of {num_frames} frames")

    xyz = _joint_xyz(reader, starts, num_joints)
    joints = np.zeros((len(slot_of), num_frames, num_joints, 3), dtype=np.float32)
    present = np.zeros((len(slot_of), num_frames), dtype=bool)
    if entries:
        frames, slots = np.asarray(entries).T
        joints[slots, frames] = xyz
        present[slots, frames] = True
    return NtuSkeleton(joints, tuple(slot_of), present, source)


def _joint_xyz(reader: _Lines, starts: list[int], num_joints: int) -> np.ndarray:
    """x y z of every joint line, [entries, num_joints, 3], one vectorised conversion."""
    if not starts:
        return np.zeros((0, num_joints, 3), dtype=np.float32)
    index = (np.asarray(starts)[:, None] + np.arange(num_joints)[None, :]).ravel()
    block = [reader.lines[i] for i in index.tolist()]
    try:
        values = np.loadtxt(io.StringIO("\n".join(block)), dtype=np.float64, ndmin=2, comments=None)
    except ValueError:
        values = None
    if values is None or values.shape != (len(block), JOINT_FIELDS):
        for i, text in zip(index.tolist(), block, strict=True):  # slow path: locate the bad line
            fields = text.split()
            if len(fields) != JOINT_FIELDS:
                raise reader.error(i + 1, f"joint line has {len(fields)} fields, expected {JOINT_FIELDS}")
            try:
                [float(f) for f in fields]
            except ValueError:
                raise reader.error(i + 1, f"joint line has a non-numeric field: {text.strip()[:80]!r}") from None
        raise reader.error(index[0] + 1, "joint lines could not be parsed")
    xyz = values[:, :3]
    if not np.isfinite(xyz).all():
        bad = int(np.flatnonzero(~np.isfinite(xyz).all(axis=1))[0])
        raise reader.error(index[bad] + 1, "joint coordinate is not finite")
    return xyz.reshape(len(starts), num_joints, 3)


def read_skeleton(path: str | Path, num_joints: int = NUM_JOINTS) -> NtuSkeleton:
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: skeleton file does not exist")
    try:
        text = path.read_bytes().decode("ascii")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not an NTU .skeleton text file (byte {exc.start} is not ASCII)") from None
    return parse_skeleton(text, str(path), num_joints)


def skeleton_annotation(skeleton: NtuSkeleton, frame_dir: str, max_bodies: int = 2) -> dict:
    """A PYSKL-style annotation (``keypoint`` [M, T, 25, 3]) for one parsed sample.

    When there are more than ``max_bodies`` bodies the ones with the most motion (sum over
    coordinates of the variance over their tracked frames) are kept, most motion first, as
    PYSKL's ``ntu_preproc.py`` ranks them. Its other steps (dropping short bodies, spread
    denoising, packing bodies into time slots, trimming empty frames) are not applied, and the
    keypoints stay float32 (``ntu_preproc.py`` stores float16).
    """
    try:
        label = ntu_fields(frame_dir).label
    except ValueError as exc:
        raise DataError(f"{skeleton.source}: {exc}") from None
    joints = skeleton.joints
    if len(joints) > max_bodies:
        motion = [
            float(joints[b, skeleton.present[b]].reshape(-1, 3).var(axis=0).sum()) if skeleton.present[b].any() else 0
            for b in range(len(joints))
        ]
        order = np.argsort(-np.asarray(motion), kind="stable")[:max_bodies]
        joints = joints[order]
    return {
        "frame_dir": frame_dir,
        "label": label,
        "keypoint": np.ascontiguousarray(joints, dtype=np.float32),
        "total_frames": int(skeleton.num_frames),
    }
