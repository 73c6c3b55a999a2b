"""Tiny fMoW-layout trees written by the tests: real JPEGs of known sizes with a coloured rectangle at
each box, and JSON records shaped like fMoW-rgb's (fields from fMoW/dataset and the baseline's reader)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

RED, GREEN, BLUE, YELLOW = (220, 30, 30), (30, 200, 60), (40, 60, 230), (230, 210, 20)


def fmow_record(width: int, height: int, boxes: list[dict], single_dict: bool = False) -> dict:
    """A record like a real ``*_rgb.json`` (a subset of its fields; the crop rule reads only ``bounding_boxes``)."""
    entries = [
        {
            "box": list(b["box"]),
            "ID": b["ID"],
            **({"category": b["category"]} if b.get("category") else {}),
            "visible": "True",
            "raw_location": "POLYGON ((-80.1 25.7, -80.1 25.8, -80.0 25.8, -80.0 25.7, -80.1 25.7))",
        }
        for b in boxes
    ]
    return {
        "gsd": 0.5,
        "img_width": width,
        "img_height": height,
        "utm": "17R",
        "cloud_cover": 0,
        "timestamp": "2015-03-06T16:05:40Z",
        "scan_direction": "Forward",
        "country_code": "USA",
        "bounding_boxes": entries[0] if single_dict and len(entries) == 1 else entries,
    }


def write_fmow_image(
    root: Path,
    rel_base: str,
    size: tuple[int, int],
    boxes: list[dict],
    single_dict: bool = False,
    quality: int = 95,
) -> Path:
    """``<root>/<rel_base>.jpg`` (``size`` = (width, height); grey gradient, each box filled with its ``colour``)
    and ``<rel_base>.json``. Returns the JPEG path."""
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    grey = (60 + 80 * xs / max(width - 1, 1) + 40 * ys / max(height - 1, 1)).astype(np.uint8)
    pixels = np.repeat(grey[..., None], 3, axis=2)
    for b in boxes:
        x, y, w, h = b["box"]
        pixels[max(y, 0) : max(y + h, 0), max(x, 0) : max(x + w, 0)] = b.get("colour", RED)
    jpg = root / f"{rel_base}.jpg"
    jpg.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(jpg, quality=quality)
    (root / f"{rel_base}.json").write_text(json.dumps(fmow_record(width, height, boxes, single_dict)))
    return jpg


# What write_fmow_tree writes: (split, rel_base, (width, height), boxes, single_dict).
TREE = [
    ("train", "train/airport/airport_0/airport_0_0_rgb", (160, 120),
     [{"box": [60, 40, 40, 30], "ID": 100, "category": "airport", "colour": RED}], False),
    ("train", "train/airport/airport_0/airport_0_1_rgb", (180, 120),
     [{"box": [70, 50, 40, 30], "ID": 100, "category": "airport", "colour": RED}], False),
    ("train", "train/zoo/zoo_3/zoo_3_0_rgb", (200, 100),
     [{"box": [60, 30, 50, 40], "ID": 7, "category": "zoo", "colour": GREEN},
      {"box": [5, 5, 2, 10], "ID": 8, "category": "zoo", "colour": BLUE}], False),  # too small
    ("train", "train/fountain/fountain_514/fountain_514_1_rgb", (140, 140),
     [{"box": [50, 50, 40, 40], "ID": 514, "category": "fountain", "colour": BLUE}], True),  # single dict
    ("val", "val/airport/airport_5/airport_5_0_rgb", (160, 120),
     [{"box": [50, 40, 60, 40], "ID": 5, "category": "airport", "colour": RED},
      {"box": [300, 10, 20, 20], "ID": 6, "category": "airport", "colour": RED}], False),  # window off the image
    ("test", "test/0000001/0000001_0_rgb", (150, 130), [{"box": [50, 45, 50, 40], "ID": 11, "colour": YELLOW}], False),
    ("test", "test/0000002/0000002_0_rgb", (150, 130),
     [{"box": [40, 40, 60, 50], "ID": 12, "category": "impoverished_settlement", "colour": GREEN}], False),
]  # fmt: skip
CORRUPT_JPEG = "train/dam/dam_1/dam_1_0_rgb.jpg"
CORRUPT_JSON = "train/dam/dam_2/dam_2_0_rgb.json"
# Expected results of TREE (labels in the baseline order).
EXPECTED_CSV_ROWS = {"train": 4, "val": 1, "test": 1}
EXPECTED_SKIPS = {
    ("train", CORRUPT_JPEG, "unreadable_image"),
    ("train", CORRUPT_JSON, "unreadable_json"),
    ("train", "train/zoo/zoo_3/zoo_3_0_rgb.json", "too_small"),
    ("val", "val/airport/airport_5/airport_5_0_rgb.json", "empty_window"),
}


def write_fmow_tree(root: Path) -> Path:
    """The ``TREE`` images, one undecodable JPEG, one broken JSON and an ``_msrgb`` pair that must be ignored."""
    for _, rel_base, size, boxes, single in TREE:
        write_fmow_image(root, rel_base, size, boxes, single)
    bad_jpeg = root / CORRUPT_JPEG
    write_fmow_image(root, bad_jpeg.with_suffix("").relative_to(root).as_posix(), (100, 80),
                     [{"box": [20, 20, 30, 30], "ID": 1, "category": "dam"}])  # fmt: skip
    bad_jpeg.write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG " * 4)
    bad_json = root / CORRUPT_JSON
    write_fmow_image(root, bad_json.with_suffix("").relative_to(root).as_posix(), (100, 80),
                     [{"box": [20, 20, 30, 30], "ID": 2, "category": "dam"}])  # fmt: skip
    bad_json.write_text('{"bounding_boxes": [{"box": [1, 2')
    write_fmow_image(root, "train/airport/airport_0/airport_0_0_msrgb", (160, 120),
                     [{"box": [60, 40, 40, 30], "ID": 100, "category": "airport"}])  # fmt: skip
    return root
