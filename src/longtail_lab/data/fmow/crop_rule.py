"""fMoW (Functional Map of the World): layout index, box records and the baseline's context crops.

PatchDrop trains on one 224x224 crop per fMoW bounding box, cut with the fMoW baseline's adaptive
context rule (``fMoW/baseline: code/data_ml_functions/dataFunctions.py: _process_file``):

- boxes are ``[x, y, w, h]`` with ``(x, y)`` the top-left corner; boxes with w <= 2 or h <= 2 are skipped;
- a context multiplier per axis from the box-to-image ratio (``MULTIPLIER_EDGES`` / ``MULTIPLIER_VALUES``);
  the baseline divides the box *width* by the image *rows* and the *height* by the *columns*
  (``ratio_quirk=True``, the default: the rule behind published fMoW baseline numbers);
  ``ratio_quirk=False`` gives the intuitive w / cols, h / rows;
- buffers ``int(w * m_w / 2)``, ``int(h * m_h / 2)`` on each side, the window clipped to the image,
  an empty window skipped;
- the window resized to 224x224 and written as JPEG (quality 95, ``cv2.imwrite``'s default; the baseline
  reads and writes BGR, we read and write RGB: the same pixels on disk).

Resizing: the baseline calls ``cv2.resize`` (INTER_LINEAR: half-pixel centres, edge clamp, *no*
antialiasing when shrinking) on a float32 image and truncates to uint8. ``resize="cv2_linear"`` (default)
reproduces that in numpy (``resize_linear``; equal to ``torch.nn.functional.interpolate(mode="bilinear",
align_corners=False, antialias=False)`` up to float rounding) so pool workers need neither OpenCV nor
torch. ``resize="pil_bilinear"`` uses Pillow's antialiased bilinear filter (smoother large downscales,
not the baseline's pixels).

Deviations from the baseline, all reported instead of crashing or silently dropping: unreadable JSON (also
nested too deeply) or images, malformed boxes (also values no image can have, IDs beyond int64), unknown
categories, duplicate box ids, file names that are not UTF-8 and any other failure of one file
(``crop_failed``) are skipped and listed with the file's path (``skipped.csv``, counted in the summary);
boxes without a category (the public fMoW test set) are still cropped but get label -1 and stay out of the
PatchDrop CSVs. The window is computed from the decoded image size, as the baseline does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from longtail_lab.data.file_names import is_utf8, printable
from longtail_lab.data.fmow.records import RecordError, parse_boxes, read_record
from longtail_lab.errors import DataError

log = logging.getLogger(__name__)

# The 62 fMoW categories in the order of fMoW/baseline ``code/params.py: category_names`` without its
# index-0 entry ``false_detection``: label = baseline label - 1. ``impoverished_settlement`` sits after
# ``recreational_facility`` here.
CATEGORIES_BASELINE = (
    "airport", "airport_hangar", "airport_terminal", "amusement_park", "aquaculture", "archaeological_site",
    "barn", "border_checkpoint", "burial_site", "car_dealership", "construction_site", "crop_field", "dam",
    "debris_or_rubble", "educational_institution", "electric_substation", "factory_or_powerplant",
    "fire_station", "flooded_road", "fountain", "gas_station", "golf_course", "ground_transportation_station",
    "helipad", "hospital", "interchange", "lake_or_pond", "lighthouse", "military_facility",
    "multi-unit_residential", "nuclear_powerplant", "office_building", "oil_or_gas_facility", "park",
    "parking_lot_or_garage", "place_of_worship", "police_station", "port", "prison", "race_track",
    "railway_bridge", "recreational_facility", "impoverished_settlement", "road_bridge", "runway", "shipyard",
    "shopping_mall", "single-unit_residential", "smokestack", "solar_farm", "space_facility", "stadium",
    "storage_tank", "surface_mine", "swimming_pool", "toll_booth", "tower", "tunnel_opening", "waste_disposal",
    "water_treatment_facility", "wind_farm", "zoo",
)  # fmt: skip
# The fMoW/dataset README "Categories" list: the same names sorted alphabetically.
CATEGORIES_ALPHABETICAL = tuple(sorted(CATEGORIES_BASELINE))
CATEGORY_ORDERS = {"baseline": CATEGORIES_BASELINE, "alphabetical": CATEGORIES_ALPHABETICAL}

MIN_BOX_SIDE = 2  # boxes with w <= 2 or h <= 2 are "too small to train on" (baseline)
# ratio < 0.1 -> 2, [0.1, 0.2) -> 1, [0.2, 0.3) -> 0.5, [0.3, 0.4) -> 0.3, [0.4, 0.5) -> 0.2, >= 0.5 -> 0.15
MULTIPLIER_EDGES = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
MULTIPLIER_VALUES = np.array([2.0, 1.0, 0.5, 0.3, 0.2, 0.15])
RESIZE_METHODS = ("cv2_linear", "pil_bilinear")

# Image-level layouts: "category" = <split>/<category>/<category>_<seq>/<base>.json (train, val),
# "flat" = <split>/<id>/<base>.json (test).
LAYOUT_DEPTH = {4: "category", 3: "flat"}
INDEX_COLUMNS = ["split", "layout", "folder", "json", "image", "basename"]
PROBLEM_COLUMNS = ["split", "path", "box_id", "reason", "detail"]
CROP_COLUMNS = [
    "split", "source_image", "box_id", "category", "label", "x0", "y0", "x1", "y1",
    "box_x", "box_y", "box_w", "box_h", "image_width", "image_height", "mult_w", "mult_h", "crop",
]  # fmt: skip

# Files written into one crop version folder.
METADATA_FILE, SKIPPED_FILE, CATEGORIES_FILE, RUN_FILE, IMAGES_DIR = (
    "metadata.csv",
    "skipped.csv",
    "categories.csv",
    "crop_run.json",
    "images",
)


# --------------------------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class FmowIndex:
    """The fMoW tree under ``root`` without decoding anything.

    ``images``: one row per ``*_rgb.json`` with its image (``INDEX_COLUMNS``; paths relative to ``root``;
    ``folder`` is ``<category>/<category>_<seq>`` or ``<id>``). ``problems``: files that cannot be
    processed (``missing_image``, ``missing_json``, ``bad_layout``; ``bad_name``: a file or folder name that
    is not UTF-8, written with ``\\xNN`` escapes, a folder not entered), in ``PROBLEM_COLUMNS``.
    """

    root: Path
    images: pd.DataFrame
    problems: pd.DataFrame

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.images["split"]) | set(self.problems["split"])))


def index_layout(root: str | Path, image_format: str = "jpg") -> FmowIndex:
    """Walk ``root/<split>/...`` for ``*_rgb.json`` files (``_msrgb`` products are ignored, as in the baseline)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: fMoW root folder does not exist (expected <root>/<split>/...)")
    image_suffix = f"_rgb.{image_format}"
    rows, problems = [], []
    for split_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if not is_utf8(split_dir.name):
            continue  # not a split any parameter can name
        for dirpath, dirnames, filenames in os.walk(split_dir):
            rel_dir = Path(dirpath).relative_to(root)
            for name in sorted(n for n in dirnames + filenames if not is_utf8(n)):  # no table could hold it
                problems.append((split_dir.name, printable(rel_dir / name), None, "bad_name", "not valid UTF-8"))
            dirnames[:] = sorted(d for d in dirnames if is_utf8(d))
            names = {n for n in filenames if is_utf8(n)}
            for name in sorted(names):
                rel = rel_dir / name
                if name.endswith("_rgb.json"):
                    base = name[: -len(".json")]
                    layout = LAYOUT_DEPTH.get(len(rel.parts))
                    if layout is None:
                        problems.append((split_dir.name, str(rel), None, "bad_layout", "unexpected folder depth"))
                    elif f"{base}.{image_format}" not in names:
                        problems.append((split_dir.name, str(rel), None, "missing_image", f"no {base}.{image_format}"))
                    else:
                        folder = "/".join(rel.parts[1:-1])
                        rows.append(
                            (split_dir.name, layout, folder, str(rel), str(rel_dir / f"{base}.{image_format}"), base)
                        )
                elif name.endswith(image_suffix) and f"{name[: -len(image_suffix)]}_rgb.json" not in names:
                    problems.append((split_dir.name, str(rel), None, "missing_json", "no _rgb.json next to it"))
    images = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    return FmowIndex(root, images, problem_frame(problems))


def problem_frame(rows: Iterable[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(list(rows), columns=PROBLEM_COLUMNS)
    frame["box_id"] = frame["box_id"].astype("Int64")
    return frame


# ----------------------------------------------------------------------------------- context windows
@dataclass(frozen=True)
class ContextWindows:
    """Per box: ``windows`` int64 [N, 4] (x0, y0, x1, y1; half-open, source pixels), ``multipliers``
    float [N, 2] (width, height) and ``status``: "" (crop it), "too_small" or "empty_window"."""

    windows: np.ndarray
    multipliers: np.ndarray
    status: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        return self.status == ""


def band_multiplier(ratio: np.ndarray) -> np.ndarray:
    """The baseline's context multiplier for box-to-image ratios (vectorised)."""
    return MULTIPLIER_VALUES[np.searchsorted(MULTIPLIER_EDGES, np.asarray(ratio, dtype=np.float64), side="right")]


def context_windows(
    boxes: np.ndarray, image_hw: Sequence[int] | np.ndarray, ratio_quirk: bool = True
) -> ContextWindows:
    """Crop windows of all ``boxes`` [N, 4] at once; ``image_hw`` is (rows, cols), one pair or one per box.

    ``ratio_quirk=True`` (baseline): width ratio = w / rows, height ratio = h / cols.
    ``ratio_quirk=False``: width ratio = w / cols, height ratio = h / rows.
    """
    boxes = np.asarray(boxes, dtype=np.int64).reshape(-1, 4)
    hw = np.broadcast_to(np.asarray(image_hw, dtype=np.int64).reshape(-1, 2), (len(boxes), 2))
    x, y, w, h = boxes.T
    rows, cols = hw.T
    w_ratio, h_ratio = (w / rows, h / cols) if ratio_quirk else (w / cols, h / rows)
    mult_w, mult_h = band_multiplier(w_ratio), band_multiplier(h_ratio)
    width_buffer = np.trunc(w * mult_w / 2.0).astype(np.int64)  # Python int() truncates toward zero
    height_buffer = np.trunc(h * mult_h / 2.0).astype(np.int64)
    windows = np.stack(
        [
            np.maximum(x - width_buffer, 0),
            np.maximum(y - height_buffer, 0),
            np.minimum(x + w + width_buffer, cols),
            np.minimum(y + h + height_buffer, rows),
        ],
        axis=1,
    )
    too_small = (w <= MIN_BOX_SIDE) | (h <= MIN_BOX_SIDE)
    empty = (windows[:, 0] >= windows[:, 2]) | (windows[:, 1] >= windows[:, 3])
    status = np.where(too_small, "too_small", np.where(empty, "empty_window", ""))
    return ContextWindows(windows, np.stack([mult_w, mult_h], axis=1), status)


# ---------------------------------------------------------------------------------------- resizing
def _linear_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    src = np.maximum((np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5, 0.0)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (src - i0).astype(np.float32)


def resize_linear(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    # Hand-written on purpose (library exception): the baseline's pixels are cv2 INTER_LINEAR then float->uint8
    # truncation; torch's interpolate samples the same taps but would pull torch (and its thread pools) into
    # every crop worker process, and OpenCV is not a dependency. Tested against torch's interpolate.
    """uint8 [h, w, C] -> uint8 [size[1], size[0], C] like ``cv2.resize(float32, size)`` (INTER_LINEAR,
    no antialiasing) followed by ``astype(np.uint8)`` (truncation), as the fMoW baseline does.

    Only the 2x2 source taps of each output pixel are gathered (O(output), not O(crop)); rows are handled
    as flat ``w * C`` vectors because numpy is slow on a trailing axis of length 3.
    """
    out_w, out_h = size
    h, w, c = image.shape
    y0, y1, fy = _linear_taps(h, out_h)
    x0, x1, fx = _linear_taps(w, out_w)
    columns = (np.concatenate([x0, x1])[:, None] * c + np.arange(c)).ravel()  # both taps, channels interleaved
    flat = image.reshape(h, w * c)
    n = out_w * c
    fx = np.repeat(fx, c)

    def mix_columns(rows: np.ndarray) -> np.ndarray:
        taps = flat.take(rows, axis=0).take(columns, axis=1).astype(np.float32)
        return taps[:, :n] * (1 - fx) + taps[:, n:] * fx

    fy = fy[:, None]
    out = mix_columns(y0) * (1 - fy) + mix_columns(y1) * fy
    return np.clip(out, 0, 255, out=out).astype(np.uint8).reshape(out_h, out_w, c)


def resize_crop(crop: Image.Image, size: tuple[int, int], method: str) -> Image.Image:
    if method == "cv2_linear":
        return Image.fromarray(resize_linear(np.asarray(crop), size))
    if method == "pil_bilinear":
        return crop.resize(size, Image.Resampling.BILINEAR)
    raise DataError(f"unknown resize method {method!r}; known: {list(RESIZE_METHODS)}")


@contextmanager
def _no_pixel_limit() -> Iterator[None]:
    """fMoW scenes exceed Pillow's decompression-bomb limit; the baseline silenced it too."""
    saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def decode_rgb(path: str | Path) -> Image.Image:
    """The fully decoded image in RGB (no copy when it is RGB already). Raises on unreadable files."""
    with _no_pixel_limit(), Image.open(path) as image:
        image.load()
        return image if image.mode == "RGB" else image.convert("RGB")


# --------------------------------------------------------------------------------------- cropping
@dataclass(frozen=True)
class CropOptions:
    """How crops are cut and written; ``labels`` maps category name -> 0-based label."""

    labels: dict[str, int]
    target_size: tuple[int, int] = (224, 224)
    ratio_quirk: bool = True
    resize: str = "cv2_linear"
    jpeg_quality: int = 95


def crop_path(split: str, layout: str, folder: str, basename: str, box_id: int, category: str | None) -> str:
    """Where the baseline puts a crop, relative to the crop folder: ``<split>/<category>/<category>_<seq>/
    <category>_<ID>/<basename>.jpg`` (train/val) or ``<split>/<id>/<ID>/<basename>.jpg`` (test)."""
    box_dir = f"{category}_{box_id}" if layout == "category" and category else str(box_id)
    return f"{IMAGES_DIR}/{split}/{folder}/{box_dir}/{basename}.jpg"


def crop_image(task: tuple, root: Path, out: Path, options: CropOptions) -> tuple[list[tuple], list[tuple]]:
    """Crop every box of one fMoW image (an ``FmowIndex.images`` row). Returns (crop rows in ``CROP_COLUMNS``,
    skip rows in ``PROBLEM_COLUMNS``); bad input never raises, failing to write does.

    Reading errors are skips where they happen (``unreadable_json``, ``bad_box``, ``unreadable_image``); any
    other failure of this one file becomes a ``crop_failed`` skip naming its record, except an ``OSError``,
    which here can only come from writing a crop and stops the run."""
    try:
        return _crop_image(task, root, out, options)
    except OSError:
        raise
    except Exception as exc:  # a failure of this file, whatever it is: a counted skip, never a stopped run
        return [], [(task[0], task[3], None, "crop_failed", f"{type(exc).__name__}: {exc}")]


def _crop_image(task: tuple, root: Path, out: Path, options: CropOptions) -> tuple[list[tuple], list[tuple]]:
    split, layout, folder, json_rel, image_rel, basename = task
    try:
        records = parse_boxes(read_record(root / json_rel))
    except RecordError as exc:
        return [], [(split, json_rel, None, exc.reason, str(exc))]
    skips = [(split, json_rel, box_id, reason, detail) for box_id, reason, detail in records.problems]
    if len(records.ids) == 0:
        return [], skips or [(split, json_rel, None, "no_boxes", "'bounding_boxes' is empty")]
    labels = np.array([options.labels.get(c, -2) if c is not None else -1 for c in records.categories], np.int64)
    todo = labels != -2
    for i in np.flatnonzero(~todo):
        detail = f"category {records.categories[i]!r} is not one of the 62 fMoW classes"
        skips.append((split, json_rel, int(records.ids[i]), "unknown_category", detail))
    w, h = records.boxes[:, 2], records.boxes[:, 3]
    small = todo & ((w <= MIN_BOX_SIDE) | (h <= MIN_BOX_SIDE))
    for i in np.flatnonzero(small):  # known before decoding: no need to read the image for these
        skips.append((split, json_rel, int(records.ids[i]), "too_small", f"box {records.boxes[i].tolist()}"))
    todo &= ~small
    if not todo.any():
        return [], skips
    try:
        image = decode_rgb(root / image_rel)
    except Exception as exc:  # any decoder failure is a bad input: report it, keep the run going
        return [], [*skips, (split, image_rel, None, "unreadable_image", f"{type(exc).__name__}: {exc}")]
    cols, rows_ = image.size
    found = context_windows(records.boxes, (rows_, cols), options.ratio_quirk)
    crops = []
    for i in np.flatnonzero(todo):
        box_id, box, category = int(records.ids[i]), records.boxes[i].tolist(), records.categories[i]
        if not found.ok[i]:
            skips.append((split, json_rel, box_id, str(found.status[i]), f"box {box} in a {cols}x{rows_} image"))
            continue
        x0, y0, x1, y1 = found.windows[i].tolist()
        rel = crop_path(split, layout, folder, basename, box_id, category)
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        crop = resize_crop(image.crop((x0, y0, x1, y1)), options.target_size, options.resize)
        crop.save(target, format="JPEG", quality=options.jpeg_quality)
        mult_w, mult_h = found.multipliers[i].tolist()
        window = (x0, y0, x1, y1)
        crops.append(
            (split, image_rel, box_id, category or "", int(labels[i]), *window, *box, cols, rows_, mult_w, mult_h, rel)
        )
    return crops, skips
