"""Where segmentation datasets keep their files, and how their label images are read.

Layouts (paths relative to the dataset root):

- ``cityscapes``: ``leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png`` with
  ``gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png`` (8-bit, Cityscapes ids);
- ``gtav``: ``images/<name>.png`` with ``labels/<name>.png`` (palette PNGs whose indices are Cityscapes ids);
- ``synthia`` (SYNTHIA-RAND-CITYSCAPES): ``RGB/<name>.png`` with ``GT/LABELS/<name>.png`` (16-bit multi-channel
  PNGs; the class id is channel 0 in RGB order, as imageio returns it to STAL).

Discovery only lists files; nothing is decoded. An image whose label file is absent is recorded in
``missing_labels`` (the conversion reports it as a skip); a label without an image in ``orphan_labels``; an
image whose path is not valid UTF-8 (no table or list could hold it) in ``bad_names``, with ``\\xNN``
escapes, and the conversion reports it as a skip too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from longtail_lab.data.file_names import is_utf8, printable
from longtail_lab.data.images.png_check import check_png
from longtail_lab.errors import DataError

LAYOUTS = ("cityscapes", "gtav", "synthia")

CITYSCAPES_IMAGE = re.compile(r"(?P<city>.+?)_(?P<seq>[0-9]{6})_(?P<frame>[0-9]{6})_leftImg8bit\.png")

# Images per city of the official splits. train: as hard-coded in STAL's selection script
# (segmentation_stal.md C.1); val: the three validation cities of gtFine.
CITYSCAPES_CITY_COUNTS = {
    "train": {
        "aachen": 174, "bochum": 96, "bremen": 316, "cologne": 154, "darmstadt": 85, "dusseldorf": 221,
        "erfurt": 109, "hamburg": 248, "hanover": 196, "jena": 119, "krefeld": 99, "monchengladbach": 94,
        "strasbourg": 365, "stuttgart": 196, "tubingen": 144, "ulm": 95, "weimar": 142, "zurich": 122,
    },
    "val": {"frankfurt": 267, "lindau": 59, "munster": 174},
}  # fmt: skip


@dataclass(frozen=True)
class SegSample:
    """One image/label pair; paths are POSIX and relative to the dataset root."""

    image: str
    label: str
    split: str = "all"  # Cityscapes split; "all" for layouts without splits
    city: str = ""  # Cityscapes city; "" elsewhere


@dataclass(frozen=True)
class SegIndex:
    """The files of one dataset root. ``exists`` is False when the root folder is absent."""

    layout: str
    root: Path
    exists: bool = True
    samples: tuple[SegSample, ...] = ()
    missing_labels: tuple[SegSample, ...] = ()  # ``label`` is where the file was expected
    orphan_labels: tuple[str, ...] = ()
    bad_names: tuple[SegSample, ...] = ()  # paths not valid UTF-8, written with \xNN escapes

    @property
    def images_found(self) -> int:
        return len(self.samples) + len(self.missing_labels) + len(self.bad_names)

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(sorted({s.split for s in self.samples + self.missing_labels + self.bad_names}))

    def select_splits(self, splits: Sequence[str] | None, parameter: str = "splits") -> SegIndex:
        """Only the samples of ``splits`` (None = all); a split that is not on disk is an error naming
        ``parameter`` (the full key, e.g. ``cityscapes.seg_labels.splits``)."""
        if splits is None or not self.exists:
            return self
        absent = sorted(set(splits) - set(self.splits))
        if absent:
            raise DataError(
                f"parameter '{parameter}': {self.root}: split(s) {absent} not found; found {list(self.splits)}"
            )
        keep = set(splits)
        orphan_keep = tuple(p for p in self.orphan_labels if p.split("/")[1] in keep)
        return replace(
            self,
            samples=tuple(s for s in self.samples if s.split in keep),
            missing_labels=tuple(s for s in self.missing_labels if s.split in keep),
            bad_names=tuple(s for s in self.bad_names if s.split in keep),
            orphan_labels=orphan_keep,
        )


def discover(layout: str, root: Path) -> SegIndex:
    """List the image/label pairs of ``root`` in ``layout``; an absent root gives ``exists=False``."""
    if layout not in LAYOUTS:
        raise DataError(f"layout '{layout}' is unknown; known: {list(LAYOUTS)}")
    root = Path(root)
    if not root.exists():
        return SegIndex(layout, root, exists=False)
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    if layout == "cityscapes":
        return _discover_cityscapes(root)
    image_dir, label_dir = ("images", "labels") if layout == "gtav" else ("RGB", "GT/LABELS")
    return _discover_flat(layout, root, image_dir, label_dir)


def _require_dir(root: Path, sub: str, layout: str, expected: str) -> Path:
    folder = root / sub
    if not folder.is_dir():
        raise DataError(f"{root}: no {sub}/ folder; the {layout} layout is {expected}")
    return folder


def _pair_up(layout: str, root: Path, images: list[SegSample], labels_on_disk: set[str]) -> SegIndex:
    bad = tuple(replace(s, image=printable(s.image), label=printable(s.label), split=printable(s.split),
                        city=printable(s.city)) for s in images if not is_utf8(s.image))  # fmt: skip
    images = [s for s in images if is_utf8(s.image)]
    samples = tuple(s for s in images if s.label in labels_on_disk)
    missing = tuple(s for s in images if s.label not in labels_on_disk)
    named = {s.label for s in images} | {s.label for s in bad}
    orphans = tuple(sorted(printable(p) for p in labels_on_disk if printable(p) not in named))
    if not images and not bad:
        raise DataError(f"{root}: no {layout} images found")
    return SegIndex(layout, root, True, samples, missing, orphans, bad)


def _discover_cityscapes(root: Path) -> SegIndex:
    expected = "leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png + gtFine/<split>/<city>/..."
    image_root = _require_dir(root, "leftImg8bit", "cityscapes", expected)
    images = []
    for path in sorted(image_root.glob("*/*/*_leftImg8bit.png")):
        split, city = path.parent.parent.name, path.parent.name
        match = CITYSCAPES_IMAGE.fullmatch(path.name)
        if (match is None or match["city"] != city) and is_utf8(str(path)):  # an undecodable name: a skip
            raise DataError(f"{path}: not a Cityscapes image name '{city}_<seq>_<frame>_leftImg8bit.png'")
        stem = path.name[: -len("leftImg8bit.png")]
        label = f"gtFine/{split}/{city}/{stem}gtFine_labelIds.png"
        images.append(SegSample(f"leftImg8bit/{split}/{city}/{path.name}", label, split, city))
    labels = {p.relative_to(root).as_posix() for p in root.glob("gtFine/*/*/*_gtFine_labelIds.png")}
    return _pair_up("cityscapes", root, images, labels)


def _discover_flat(layout: str, root: Path, image_dir: str, label_dir: str) -> SegIndex:
    image_root = _require_dir(root, image_dir, layout, f"{image_dir}/<name>.png + {label_dir}/<name>.png")
    images = [SegSample(f"{image_dir}/{p.name}", f"{label_dir}/{p.name}") for p in sorted(image_root.glob("*.png"))]
    labels = {f"{label_dir}/{p.name}" for p in (root / label_dir).glob("*.png")}
    return _pair_up(layout, root, images, labels)


def decode_label(layout: str, path: Path) -> np.ndarray:
    """The 2-D class-id array of a label file (uint8, or uint16 for SYNTHIA); DataError if unreadable."""
    if layout == "synthia":
        return _decode_png_channel0(path)
    try:
        with Image.open(path) as img:
            mode = img.mode
            if mode not in ("L", "P"):
                raise DataError(f"{path}: label image has mode {mode}; expected single-channel ids (L or P)")
            return np.asarray(img)  # for P: the palette indices, which are the ids
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{path}: cannot decode label image ({exc})") from exc


def _decode_png_channel0(path: Path) -> np.ndarray:
    """Channel 0 of a (16-bit) PNG at full depth. Pillow truncates 16-bit RGB to 8 bits, so torchvision, after
    ``check_png``: torchvision crashes the process (segfault) on a PNG whose rows libpng cannot read."""
    import torch
    from torchvision.io import ImageReadMode, decode_png

    try:
        data = path.read_bytes()
        check_png(data)
        pixels = decode_png(torch.frombuffer(bytearray(data), dtype=torch.uint8), mode=ImageReadMode.UNCHANGED)
    except Exception as exc:
        raise DataError(f"{path}: cannot decode label image ({exc})") from exc
    return pixels[0].numpy()


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) from the image header, without decoding the pixels."""
    try:
        with Image.open(path) as img:
            return img.size
    except Exception as exc:
        raise DataError(f"{path}: cannot read image header ({exc})") from exc


def stal_label_path(image: str) -> str:
    """The label that STAL's loader derives from a list line (an image path relative to the Cityscapes root).

    Drops the leading ``leftImg8bit/`` and trailing ``leftImg8bit.png`` and wraps the rest as
    ``gtFine/<rest>gtFine_labelTrainIds.png`` (segmentation_stal.md C.3).
    """
    head, tail = "leftImg8bit/", "leftImg8bit.png"
    if not (image.startswith(head) and image.endswith(tail)) or len(image) <= len(head) + len(tail):
        raise DataError(f"STAL list line '{image}': expected 'leftImg8bit/<...>leftImg8bit.png'")
    return f"gtFine/{image[len(head) : -len(tail)]}gtFine_labelTrainIds.png"


def city_count_check(found: dict[str, dict[str, int]]) -> dict[str, dict]:
    """Compare images per city with the official Cityscapes splits (only splits with known counts)."""
    out = {}
    for split, counts in sorted(found.items()):
        official = CITYSCAPES_CITY_COUNTS.get(split)
        if official is None:
            continue
        differences = {
            city: {"found": counts.get(city, 0), "official": official.get(city, 0)}
            for city in sorted(set(counts) | set(official))
            if counts.get(city, 0) != official.get(city, 0)
        }
        out[split] = {"complete": not differences, "official_total": sum(official.values()), "differences": differences}
    return out
