"""Tiny Cityscapes / GTAV / SYNTHIA trees in the official layouts, with known pixels per class id."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

W, H = 16, 8  # every fixture label is 16x8 = 128 pixels

# Hand-written from segmentation_stal.md C.3 (independent of the code under test).
CITYSCAPES_TO_TRAIN = {
    7: 0, 8: 1, 11: 2, 12: 3, 13: 4, 17: 5, 19: 6, 20: 7, 21: 8, 22: 9,
    23: 10, 24: 11, 25: 12, 26: 13, 27: 14, 28: 15, 31: 16, 32: 17, 33: 18,
}  # fmt: skip
SYNTHIA_TO_TRAIN = {
    3: 0,
    4: 1,
    2: 2,
    21: 3,
    5: 4,
    7: 5,
    15: 6,
    9: 7,
    6: 8,
    1: 10,
    10: 11,
    17: 12,
    8: 13,
    19: 15,
    12: 17,
    11: 18,
}

# (split, city, "<seq>_<frame>") -> {Cityscapes id: pixels}; ids 0, 1, 4, 9 are ignore classes.
CITYSCAPES_FRAMES = {
    ("train", "aachen", "000000_000019"): {7: 40, 8: 20, 11: 20, 26: 20, 0: 10, 1: 18},
    ("train", "aachen", "000001_000019"): {7: 30, 21: 30, 23: 30, 24: 10, 25: 8, 33: 10, 4: 10},
    ("train", "bochum", "000000_000019"): {12: 16, 13: 16, 17: 16, 19: 16, 20: 16, 22: 16, 27: 16, 28: 16},
    ("val", "frankfurt", "000000_000294"): {31: 32, 32: 32, 9: 32, 26: 32},
}
GTAV_FRAMES = {"00001": {7: 64, 26: 32, 23: 32}, "00002": {8: 50, 21: 50, 0: 28}}
# SYNTHIA ids 0 void, 13 parking-slot, 22 lanemarking are ignore in every protocol.
SYNTHIA_FRAMES = {"0000000": {3: 40, 1: 30, 10: 20, 8: 20, 0: 10, 22: 8}, "0000001": {21: 32, 5: 32, 7: 32, 13: 32}}


def id_map(pixels: dict[int, int], seed: int) -> np.ndarray:
    """An HxW id map holding exactly ``pixels[id]`` pixels of each id, scattered by ``seed``."""
    flat = np.concatenate([np.full(n, i, dtype=np.int64) for i, n in pixels.items()])
    assert flat.size == W * H, pixels
    return np.random.default_rng(seed).permutation(flat).reshape(H, W)


def expected_train_ids(ids: np.ndarray, table: dict[int, int]) -> np.ndarray:
    out = np.full(ids.shape, 255, dtype=np.uint8)
    for raw, train in table.items():
        out[ids == raw] = train
    return out


def expected_counts(frames: dict, table: dict[int, int], num_classes: int = 19) -> tuple[np.ndarray, int]:
    """(pixels per trainId, ignore pixels) over ``frames``."""
    counts = np.zeros(num_classes, dtype=np.int64)
    ignore = 0
    for pixels in frames.values():
        for raw, n in pixels.items():
            if raw in table:
                counts[table[raw]] += n
            else:
                ignore += n
    return counts, ignore


def _rgb(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(H, W, 3), dtype=np.uint8)


def _save(path: Path, img: Image.Image) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def png16_bytes(rgb: np.ndarray) -> bytes:
    """A 16-bit RGB PNG (colour type 2, bit depth 16) of a uint16 [H, W, 3] array, written by hand."""
    height, width, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].astype(">u2").tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def synthia_label(ids: np.ndarray, seed: int) -> np.ndarray:
    """SYNTHIA-style uint16 [H, W, 3]: class id in channel 0, large instance-like values in channels 1-2."""
    rng = np.random.default_rng(seed)
    other = rng.integers(256, 65535, size=(H, W, 2))
    return np.concatenate([ids[..., None], other], axis=2).astype(np.uint16)


def cityscapes_paths(split: str, city: str, frame: str) -> tuple[str, str]:
    stem = f"{city}_{frame}_"
    return f"leftImg8bit/{split}/{city}/{stem}leftImg8bit.png", f"gtFine/{split}/{city}/{stem}gtFine_labelIds.png"


def write_cityscapes(root: Path, missing_label: bool = False, extra_ids: dict[int, int] | None = None) -> dict:
    """The frames of ``CITYSCAPES_FRAMES`` (+ with ``missing_label`` a bochum image without label file).

    ``extra_ids`` replaces the first frame's pixels (e.g. to plant an unknown id). Returns {frame key: ids}.
    """
    written = {}
    for n, (key, pixels) in enumerate(CITYSCAPES_FRAMES.items()):
        if n == 0 and extra_ids is not None:
            pixels = extra_ids
        image, label = cityscapes_paths(*key)
        ids = id_map(pixels, seed=n)
        _save(root / image, Image.fromarray(_rgb(n)))
        _save(root / label, Image.fromarray(ids.astype(np.uint8)))
        # the other official gtFine files sit beside labelIds and must be ignored
        _save(root / label.replace("labelIds", "color"), Image.fromarray(_rgb(n + 100)))
        written[key] = ids
    if missing_label:
        image, _ = cityscapes_paths("train", "bochum", "000001_000019")
        _save(root / image, Image.fromarray(_rgb(99)))
    return written


def write_gtav(root: Path, corrupt_label: bool = False) -> dict:
    """Palette-indexed labels (indices = Cityscapes ids); ``corrupt_label`` adds 00003 with a broken label."""
    palette = np.random.default_rng(5).integers(0, 256, size=768, dtype=np.uint8).tolist()
    written = {}
    for n, (name, pixels) in enumerate(GTAV_FRAMES.items()):
        ids = id_map(pixels, seed=10 + n)
        label = Image.fromarray(ids.astype(np.uint8))
        label.putpalette(palette)  # L -> P, indices unchanged
        _save(root / "images" / f"{name}.png", Image.fromarray(_rgb(10 + n)))
        _save(root / "labels" / f"{name}.png", label)
        written[name] = ids
    if corrupt_label:
        _save(root / "images" / "00003.png", Image.fromarray(_rgb(13)))
        (root / "labels" / "00003.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not a png")
    return written


def write_synthia(root: Path) -> dict:
    written = {}
    for n, (name, pixels) in enumerate(SYNTHIA_FRAMES.items()):
        ids = id_map(pixels, seed=20 + n)
        _save(root / "RGB" / f"{name}.png", Image.fromarray(_rgb(20 + n)))
        (root / "GT" / "LABELS").mkdir(parents=True, exist_ok=True)
        (root / "GT" / "LABELS" / f"{name}.png").write_bytes(png16_bytes(synthia_label(ids, seed=30 + n)))
        written[name] = ids
    return written
