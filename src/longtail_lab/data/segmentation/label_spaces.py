"""Segmentation label spaces: Cityscapes / GTAV / SYNTHIA ids -> Cityscapes trainIds, and their statistics.

Every mapping is a 256-entry lookup table applied with numpy indexing (``lut[ids]``), never per pixel in
Python. Ids that a source does not define are *unknown*: an error naming the file and the values, or
(``unknown_ids: to_ignore``) mapped to 255 and counted per value in the report.

Label spaces (the ids written to disk):

- ``trainid19``: the 19 Cityscapes trainIds, 255 = ignore (official cityscapesScripts table).
- ``synthia16`` / ``synthia13``: the standard SYNTHIA protocols, i.e. the 16 classes SYNTHIA shares with
  Cityscapes (19 minus terrain, truck, train) and those 16 minus wall, fence, pole; written as compact ids
  0..15 / 0..12 in Cityscapes trainId order. Use them on *both* domains (Cityscapes too) to train or
  evaluate in 16 / 13 classes.
- ``stal_compact16``: the same ids as ``synthia16`` (RIPU's indexing: sky 9, person 10, ...), named for
  what STAL's released code does with SYNTHIA: it writes these compact ids but trains a 19-class model
  next to 19-class Cityscapes trainIds, so SYNTHIA sky (9) is read as Cityscapes terrain, person (10) as
  sky, and so on. Choose it only to reproduce the official behaviour; it is inconsistent with
  ``trainid19`` Cityscapes labels.
"""

from __future__ import annotations

import logging

import numpy as np
from PIL import Image

from longtail_lab.errors import DataError

log = logging.getLogger(__name__)

IGNORE = 255

TRAINID19_NAMES = (
    "road", "sidewalk", "building", "wall", "fence", "pole", "traffic light", "traffic sign", "vegetation",
    "terrain", "sky", "person", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle",
)  # fmt: skip

# cityscapesScripts helpers/labels.py: (id, name, trainId). License plate has trainId -1 there and is never
# drawn into label images; like the other non-evaluated classes it is ignore (255) here.
CITYSCAPES_LABELS = (
    (0, "unlabeled", IGNORE), (1, "ego vehicle", IGNORE), (2, "rectification border", IGNORE),
    (3, "out of roi", IGNORE), (4, "static", IGNORE), (5, "dynamic", IGNORE), (6, "ground", IGNORE),
    (7, "road", 0), (8, "sidewalk", 1), (9, "parking", IGNORE), (10, "rail track", IGNORE),
    (11, "building", 2), (12, "wall", 3), (13, "fence", 4), (14, "guard rail", IGNORE), (15, "bridge", IGNORE),
    (16, "tunnel", IGNORE), (17, "pole", 5), (18, "polegroup", IGNORE), (19, "traffic light", 6),
    (20, "traffic sign", 7), (21, "vegetation", 8), (22, "terrain", 9), (23, "sky", 10), (24, "person", 11),
    (25, "rider", 12), (26, "car", 13), (27, "truck", 14), (28, "bus", 15), (29, "caravan", IGNORE),
    (30, "trailer", IGNORE), (31, "train", 16), (32, "motorcycle", 17), (33, "bicycle", 18),
    (-1, "license plate", IGNORE),
)  # fmt: skip

# SYNTHIA-RAND-CITYSCAPES class ids -> Cityscapes trainIds: the 16 shared classes (segmentation_stal.md C.3).
# Its other ids (0 void, 13 parking-slot, 14 road-work, 16 terrain, 18 truck, 20 train, 22 lanemarking) are
# ignore: terrain/truck/train are outside the SYNTHIA protocols, so trainid19 SYNTHIA labels never hold 9/14/16.
SYNTHIA_TO_TRAINID = {
    3: 0, 4: 1, 2: 2, 21: 3, 5: 4, 7: 5, 15: 6, 9: 7, 6: 8, 1: 10, 10: 11, 17: 12, 8: 13, 19: 15, 12: 17, 11: 18,
}  # fmt: skip
SYNTHIA_MAX_ID = 22

SOURCE_IDS = {
    "cityscapes": {i: t for i, _, t in CITYSCAPES_LABELS if i >= 0},
    "gtav": {i: t for i, _, t in CITYSCAPES_LABELS if i >= 0},  # GTAV labels use the Cityscapes ids
    "synthia": {i: SYNTHIA_TO_TRAINID.get(i, IGNORE) for i in range(SYNTHIA_MAX_ID + 1)},
}

_SYNTHIA16 = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18)
LABEL_SPACES = {  # label space -> the 19-class trainIds it keeps, in output-id order
    "trainid19": tuple(range(19)),
    "synthia16": _SYNTHIA16,
    "synthia13": tuple(t for t in _SYNTHIA16 if t not in (3, 4, 5)),
    "stal_compact16": _SYNTHIA16,
}


def check_label_space(space: str) -> None:
    if space not in LABEL_SPACES:
        raise DataError(f"unknown label space {space!r}; known: {sorted(LABEL_SPACES)}")


def class_names(space: str) -> tuple[str, ...]:
    check_label_space(space)
    return tuple(TRAINID19_NAMES[t] for t in LABEL_SPACES[space])


def cityscapes_train_id(label_id: int) -> int:
    """trainId of one Cityscapes id (-1..33) per the official table; DataError for any other id."""
    table = {i: t for i, _, t in CITYSCAPES_LABELS}
    if label_id not in table:
        raise DataError(f"Cityscapes id {label_id} is not in the cityscapesScripts label table")
    return table[label_id]


def space_lut(space: str) -> np.ndarray:
    """uint8[256]: 19-class trainId (or 255) -> id in ``space``; dropped classes become 255."""
    check_label_space(space)
    lut = np.full(256, IGNORE, dtype=np.uint8)
    lut[list(LABEL_SPACES[space])] = np.arange(len(LABEL_SPACES[space]), dtype=np.uint8)
    return lut


def to_label_space(train_ids: np.ndarray, space: str) -> np.ndarray:
    """Convert 19-class trainId maps (any int array, 255 = ignore) to ``space``, e.g. for 16-class evaluation."""
    arr = np.asarray(train_ids)
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise DataError(f"trainId map holds values outside 0..255 (min {arr.min()}, max {arr.max()})")
    return space_lut(space)[arr.astype(np.intp, copy=False)]


def source_lut(source: str, space: str = "trainid19") -> tuple[np.ndarray, np.ndarray]:
    """(lut uint8[256], known bool[256]) mapping a source's raw ids straight into ``space``."""
    if source not in SOURCE_IDS:
        raise DataError(f"label source '{source}' is unknown; known: {sorted(SOURCE_IDS)}")
    to19 = np.full(256, IGNORE, dtype=np.uint8)
    known = np.zeros(256, dtype=bool)
    ids = np.fromiter(SOURCE_IDS[source], dtype=np.intp)
    to19[ids] = np.fromiter(SOURCE_IDS[source].values(), dtype=np.uint8)
    known[ids] = True
    return space_lut(space)[to19], known


def map_ids(ids: np.ndarray, lut: np.ndarray, known: np.ndarray, unknown: str, where: str) -> tuple[np.ndarray, dict]:
    """Map a raw id array; returns (uint8 ids in the label space, {unknown id: pixels}).

    ``unknown='error'`` raises a DataError naming ``where`` (the file) and the offending values;
    ``'to_ignore'`` maps them to 255 and returns their pixel counts.
    """
    hist = np.bincount(ids.ravel(), minlength=256)
    bad = np.flatnonzero(hist[:256] * ~known)
    bad = np.concatenate([bad, np.flatnonzero(hist[256:]) + 256])
    found = {int(v): int(hist[v]) for v in bad}
    if found and unknown == "error":
        raise DataError(f"{where}: label ids {sorted(found)} are not defined for this dataset (pixels: {found})")
    if ids.dtype != np.uint8:
        ids = np.where(ids > 255, IGNORE, ids).astype(np.uint8)
    return lut[ids], found


def class_pixel_counts(label: np.ndarray, num_classes: int) -> tuple[np.ndarray, int]:
    """(pixels per class [num_classes], ignore pixels) of a mapped uint8 label map."""
    hist = np.bincount(label.ravel(), minlength=256)
    stray = np.flatnonzero(hist[num_classes:IGNORE])
    if stray.size:
        raise DataError(f"label map holds ids {(stray + num_classes).tolist()} outside 0..{num_classes - 1} and 255")
    return hist[:num_classes].astype(np.int64), int(hist[IGNORE])


def resize_nearest(label: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a uint8 id map to ``size`` = (width, height); never invents ids."""
    if (label.shape[1], label.shape[0]) == tuple(size):
        return label
    return np.asarray(Image.fromarray(label).resize(tuple(size), Image.Resampling.NEAREST))
