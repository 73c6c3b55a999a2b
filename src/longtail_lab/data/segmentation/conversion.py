"""Converting a whole segmentation dataset into label maps of one label space, in one versioned folder:
a thread pool decodes, maps (``seg_labels`` lookup tables) and re-encodes each label, and the per-label
pixel counts are written next to the maps so statistics never decode a label twice."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from PIL import Image

from longtail_lab.data.segmentation.label_spaces import (
    class_names,
    class_pixel_counts,
    map_ids,
    resize_nearest,
    source_lut,
)
from longtail_lab.data.segmentation.layouts import SegIndex, SegSample, city_count_check, decode_label, image_size
from longtail_lab.errors import DataError
from longtail_lab.params import ParamBlock, Problems, setting
from longtail_lab.progress import StepProgress

log = logging.getLogger(__name__)

UNKNOWN_POLICIES = ("error", "to_ignore")
BAD_LABEL_POLICIES = ("skip", "error")


@dataclass(frozen=True, kw_only=True)
class ConversionSettings(ParamBlock):
    """How labels are converted (keys of a ``seg_labels`` block). ``resize`` = (width, height) or None to keep
    each label's size."""

    label_space: Literal["trainid19", "synthia16", "synthia13", "stal_compact16"] = "trainid19"  # LABEL_SPACES
    resize: tuple[int, int] | None = None
    unknown_ids: Literal["error", "to_ignore"] = "error"  # UNKNOWN_POLICIES
    on_bad_label: Literal["skip", "error"] = "skip"  # BAD_LABEL_POLICIES: a missing, unreadable or wrongly sized label
    workers: int = setting(4, ge=1)  # threads decoding/encoding PNGs

    def cross_check(self, prefix: str) -> Problems:
        if self.resize is not None and min(self.resize) < 1:
            return [(f"{prefix}.resize", f"must be null or [width, height] with both >= 1, got {list(self.resize)}")]
        return []

    def settings(self) -> ConversionSettings:
        """Only the conversion settings (a block that extends this one holds more keys)."""
        return ConversionSettings(**{f.name: getattr(self, f.name) for f in fields(ConversionSettings)})


@dataclass(frozen=True)
class _Done:
    sample: SegSample
    label: str  # relative to the output folder
    counts: np.ndarray
    ignore: int
    unknown: dict


@dataclass(frozen=True)
class _Skip:
    sample: SegSample
    reason: str


def output_label_path(sample: SegSample, layout: str, space: str) -> str:
    """Where a converted label goes inside the output folder: the dataset's own relative layout.

    Cityscapes trainid19 labels get cityscapesScripts' ``*_gtFine_labelTrainIds.png`` names (what STAL's
    lists expect); other spaces ``*_gtFine_label_<space>.png``. GTAV/SYNTHIA keep their label paths.
    """
    if layout != "cityscapes":
        return sample.label
    suffix = "gtFine_labelTrainIds.png" if space == "trainid19" else f"gtFine_label_{space}.png"
    return sample.label[: -len("gtFine_labelIds.png")] + suffix


class LabelMapWriter:
    """Folder writer (see ``io.folders``): converts every labelled sample of ``index`` into ``folder``.

    Writes the label PNGs (mode L), ``index.csv`` (image relative to the raw root, label relative to the
    folder, split, city), ``class_pixels.csv`` (per converted label: ignore pixels and pixels per class),
    ``report.json`` (counts, skips with reasons, unknown ids) and for Cityscapes ``lists/<split>.txt`` in
    STAL's list format. Labels are decoded and encoded in ``workers`` threads (PIL/zlib release the GIL).
    """

    def __init__(self, index: SegIndex, settings: ConversionSettings) -> None:
        self.index, self.settings = index, settings
        self.lut, self.known = source_lut(index.layout, settings.label_space)
        self.names = class_names(settings.label_space)

    def write(self, folder: Path, final: Path) -> None:
        index, cfg = self.index, self.settings
        results: list[_Done | _Skip] = []
        if index.exists:
            results = [_Skip(s, "label file missing") for s in index.missing_labels]
            if results and cfg.on_bad_label == "error":
                first = results[0].sample
                raise DataError(f"{index.root / first.label}: label file missing for image {first.image}")
            if index.bad_names and cfg.on_bad_label == "error":
                raise DataError(f"{index.root / index.bad_names[0].image}: image file name is not valid UTF-8")
            results += [_Skip(s, "file name is not valid UTF-8") for s in index.bad_names]
            results += self._convert_all(folder)
        done = [r for r in results if isinstance(r, _Done)]
        skips = [r for r in results if isinstance(r, _Skip)]
        for skip in skips[:20]:
            log.warning("%s: skipped %s (%s)", index.layout, skip.sample.image, skip.reason)
        if len(skips) > 20:
            log.warning("%s: %d images skipped in all; see skipped_files in the summary", index.layout, len(skips))
        _write_tables(folder, done, len(self.names))
        if index.layout == "cityscapes":
            for split in sorted({r.sample.split for r in done}):
                lines = [r.sample.image for r in done if r.sample.split == split]
                (folder / "lists").mkdir(exist_ok=True)
                (folder / "lists" / f"{split}.txt").write_text("".join(f"{line}\n" for line in lines))
        report = self._report(done, skips)
        (folder / "report.json").write_text(json.dumps(report, indent=2) + "\n")

    def _convert_all(self, folder: Path) -> list[_Done | _Skip]:
        samples = self.index.samples
        out = []
        label = f"{self.index.layout}: converting label images"
        with (
            ThreadPoolExecutor(max_workers=int(self.settings.workers)) as pool,
            StepProgress(label, len(samples)) as bar,
        ):
            for result in pool.map(lambda s: self._convert(s, folder), samples):
                out.append(result)
                bar.advance()
        return out

    def _convert(self, sample: SegSample, folder: Path) -> _Done | _Skip:
        cfg, root = self.settings, self.index.root
        path = root / sample.label
        try:
            ids = decode_label(self.index.layout, path)
            if cfg.resize is None:
                width, height = image_size(root / sample.image)
                if (width, height) != (ids.shape[1], ids.shape[0]):
                    raise DataError(
                        f"{path}: label is {ids.shape[1]}x{ids.shape[0]} but image {sample.image} is "
                        f"{width}x{height} (set 'resize' to convert anyway)"
                    )
        except DataError as exc:
            if cfg.on_bad_label == "error":
                raise
            return _Skip(sample, str(exc))
        mapped, unknown = map_ids(ids, self.lut, self.known, cfg.unknown_ids, str(path))
        if cfg.resize is not None:
            mapped = resize_nearest(mapped, (int(cfg.resize[0]), int(cfg.resize[1])))
        counts, ignore = class_pixel_counts(mapped, len(self.names))
        rel = output_label_path(sample, self.index.layout, cfg.label_space)
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(mapped).save(target)
        return _Done(sample, rel, counts, ignore, unknown)

    def _report(self, done: list[_Done], skips: list[_Skip]) -> dict:
        index, cfg = self.index, self.settings
        unknown: dict[int, int] = {}
        for r in done:
            for value, pixels in r.unknown.items():
                unknown[value] = unknown.get(value, 0) + pixels
        cities: dict[str, dict[str, int]] = {}
        for r in done:
            per_split = cities.setdefault(r.sample.split, {})
            per_split[r.sample.city] = per_split.get(r.sample.city, 0) + 1
        report = {
            "layout": index.layout,
            "status": "converted" if index.exists else "absent",
            "root": str(index.root),
            "label_space": cfg.label_space,
            "num_classes": len(self.names),
            "class_names": list(self.names),
            "resize": None if cfg.resize is None else [int(v) for v in cfg.resize],
            "unknown_ids_policy": cfg.unknown_ids,
            "images_found": index.images_found,
            "converted": len(done),
            "skipped": len(skips),
            "skipped_files": [{"image": s.sample.image, "label": s.sample.label, "reason": s.reason} for s in skips],
            "orphan_labels": len(index.orphan_labels),
            "orphan_label_examples": list(index.orphan_labels[:20]),
            "unknown_ids": {str(v): unknown[v] for v in sorted(unknown)},
            "images_per_split": {split: sum(c.values()) for split, c in sorted(cities.items())},
        }
        if index.layout == "cityscapes":
            report["city_counts"] = {split: dict(sorted(c.items())) for split, c in sorted(cities.items())}
        return report


def _write_tables(folder: Path, done: list[_Done], num_classes: int) -> None:
    index = pd.DataFrame(
        {
            "image": [r.sample.image for r in done],
            "label": [r.label for r in done],
            "split": [r.sample.split for r in done],
            "city": [r.sample.city for r in done],
        }
    )
    index.to_csv(folder / "index.csv", index=False)
    counts = np.stack([r.counts for r in done]) if done else np.zeros((0, num_classes), dtype=np.int64)
    pixels = pd.DataFrame(counts, columns=[str(c) for c in range(num_classes)])
    pixels.insert(0, "ignore", np.asarray([r.ignore for r in done], dtype=np.int64))
    pixels.insert(0, "label", index["label"])
    pixels.to_csv(folder / "class_pixels.csv", index=False)


# ------------------------------------------------------------------------------------------- statistics
def read_conversion(folder: Path) -> tuple[dict, pd.DataFrame]:
    """(report, per-label class pixel table) of a folder written by ``LabelMapWriter``."""
    folder = Path(folder)
    try:
        report = json.loads((folder / "report.json").read_text())
        pixels = pd.read_csv(folder / "class_pixels.csv", dtype={"label": str}, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{folder}: not a converted label folder ({exc})") from exc
    return report, pixels


def class_stats_table(pixels: pd.DataFrame, names: tuple[str, ...]) -> pd.DataFrame:
    """Per class: pixels, share of the labelled (non-ignore) pixels, and labels containing the class."""
    counts = pixels[[str(c) for c in range(len(names))]].to_numpy(dtype=np.int64).reshape(-1, len(names))
    total = counts.sum(axis=0)
    labelled = int(total.sum())
    images = (counts > 0).sum(axis=0)
    return pd.DataFrame(
        {
            "class_id": np.arange(len(names)),
            "name": list(names),
            "pixels": total,
            "pixel_fraction": total / labelled if labelled else np.zeros(len(names)),
            "images_containing": images,
            "image_fraction": images / len(counts) if len(counts) else np.zeros(len(names)),
        }
    )


def label_summary(report: dict, pixels: pd.DataFrame, stats: pd.DataFrame) -> dict:
    """The conversion report plus pixel totals, ignore fraction, absent classes and the city check."""
    labelled = int(stats["pixels"].sum())
    ignore = int(pixels["ignore"].sum()) if len(pixels) else 0
    summary = {k: v for k, v in report.items() if k != "class_names"}
    summary.update(
        {
            "labelled_pixels": labelled,
            "ignore_pixels": ignore,
            "total_pixels": labelled + ignore,
            "ignore_fraction": ignore / (labelled + ignore) if labelled + ignore else 0.0,
            "absent_classes": stats.loc[stats["pixels"] == 0, "name"].tolist(),
        }
    )
    if "city_counts" in report:
        summary["official_city_check"] = city_count_check(report["city_counts"])
    return summary
