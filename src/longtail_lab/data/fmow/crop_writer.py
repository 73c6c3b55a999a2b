"""Running the fMoW crop rule (``data/fmow/crop_rule.py``) over a whole dataset: a bounded process pool over images,
progress, and the ``FolderWriter`` that writes crops, PatchDrop CSVs and the metadata/skip tables into one
versioned folder; plus the summary of such a folder."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from longtail_lab.data.fmow.crop_rule import (
    CATEGORIES_FILE,
    CATEGORY_ORDERS,
    CROP_COLUMNS,
    INDEX_COLUMNS,
    METADATA_FILE,
    MULTIPLIER_VALUES,
    RUN_FILE,
    SKIPPED_FILE,
    CropOptions,
    FmowIndex,
    crop_image,
    problem_frame,
)
from longtail_lab.errors import DataError
from longtail_lab.params import ParamBlock, Problems, setting
from longtail_lab.progress import StepProgress

log = logging.getLogger(__name__)


def _crop_chunk(tasks: list[tuple], root: str, out: str, options: CropOptions) -> tuple[list[tuple], list[tuple]]:
    rows, skips = [], []
    for task in tasks:
        r, s = crop_image(task, Path(root), Path(out), options)
        rows += r
        skips += s
    return rows, skips


def _run_chunks(chunks: list[list[tuple]], root: Path, out: Path, options: CropOptions, workers: int):
    """Yield (images, rows, skips) per finished chunk; a process pool when ``workers`` > 1, bounded in flight.

    The pool uses ``forkserver`` (``spawn`` where missing): the parent may hold torch threads and rich's
    refresh thread, which fork does not copy safely.
    """
    if workers <= 1:
        for chunk in chunks:
            yield len(chunk), *_crop_chunk(chunk, str(root), str(out), options)
        return
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([__name__])  # workers fork from a server that imported this module once
    else:
        context = multiprocessing.get_context("spawn")
    pending = iter(chunks)
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        in_flight = {}
        while True:
            while len(in_flight) < 4 * workers and (chunk := next(pending, None)) is not None:
                in_flight[pool.submit(_crop_chunk, chunk, str(root), str(out), options)] = len(chunk)
            if not in_flight:
                return
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                yield in_flight.pop(future), *future.result()


# ------------------------------------------------------------------------------------------ writer
@dataclass(frozen=True, kw_only=True)
class CropParams(ParamBlock):
    """The ``fmow_crops`` parameter block: which splits are cropped and how (defaults: the baseline's rule)."""

    splits: tuple[str, ...] = ("train", "val", "test")  # folders under the raw root; each gives <split>.csv
    target_size: int | tuple[int, int] = setting(224, ge=1)  # crop side, or [width, height]
    ratio_quirk: bool = True  # baseline: width ratio = w / image rows, height ratio = h / image cols
    category_order: Literal["baseline", "alphabetical"] = "baseline"  # fmow.CATEGORY_ORDERS
    resize: Literal["cv2_linear", "pil_bilinear"] = "cv2_linear"  # fmow.RESIZE_METHODS
    jpeg_quality: int = setting(95, ge=1, le=100)
    workers: int | None = setting(None, ge=1)  # None: min(4, CPU cores); 1: no process pool

    def cross_check(self, prefix: str) -> Problems:
        if not self.splits:
            return [(f"{prefix}.splits", "must name at least one split, got []")]
        return []

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of a crop."""
        size = self.target_size
        return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))


@dataclass
class FmowCropWriter:
    """A ``FolderWriter``: crops + PatchDrop CSVs + category list + metadata/skip tables in one folder.

    Files: ``images/...`` (the crops), ``<split>.csv`` (no header; label 0-61, absolute crop path under the
    committed folder), ``categories.csv`` (label,name), ``metadata.csv`` (one row per crop, ``CROP_COLUMNS``),
    ``skipped.csv`` (every skipped file or box with its reason) and ``crop_run.json`` (settings, counts, speed).
    """

    index: FmowIndex
    splits: tuple[str, ...]
    options: CropOptions
    category_order: str
    workers: int = 1
    chunk_size: int = 0  # images per pool task; 0 = automatic

    def write(self, folder: Path, final: Path) -> None:
        images = self.index.images[self.index.images["split"].isin(self.splits)]
        tasks = list(images[INDEX_COLUMNS].itertuples(index=False, name=None))
        size = self.chunk_size or max(1, min(32, len(tasks) // (8 * max(self.workers, 1)) or 1))
        chunks = [tasks[i : i + size] for i in range(0, len(tasks), size)]
        crop_rows, skip_rows = [], []
        with StepProgress("fmow crops (images)", len(tasks), interval_s=10.0) as progress:
            for n, rows, skips in _run_chunks(chunks, self.index.root, folder, self.options, self.workers):
                crop_rows += rows
                skip_rows += skips
                rate = len(crop_rows) / max(progress.elapsed_s, 1e-9)
                progress.update(
                    progress.completed + n, f"{len(crop_rows)} crops, {len(skip_rows)} skipped, {rate:.0f} crops/s"
                )
        elapsed = progress.elapsed_s

        metadata = pd.DataFrame(crop_rows, columns=CROP_COLUMNS).sort_values(["split", "source_image", "box_id"])
        problems = self.index.problems[self.index.problems["split"].isin(self.splits)]
        skipped = pd.concat([problems, problem_frame(skip_rows)], ignore_index=True)
        skipped = skipped.sort_values(["split", "path", "box_id", "reason"], na_position="first")
        metadata.to_csv(folder / METADATA_FILE, index=False)
        skipped.to_csv(folder / SKIPPED_FILE, index=False)
        names = CATEGORY_ORDERS[self.category_order]
        pd.DataFrame({"label": range(len(names)), "name": names}).to_csv(folder / CATEGORIES_FILE, index=False)
        for split in self.splits:
            rows = metadata[(metadata["split"] == split) & (metadata["label"] >= 0)]
            paths = [str(final / rel) for rel in rows["crop"]]
            pd.DataFrame({"label": rows["label"], "path": paths}).to_csv(
                folder / f"{split}.csv", header=False, index=False
            )
            if rows.empty:
                log.warning("fmow crops: %s.csv has no labelled crops", split)
        unlabelled = int((metadata["label"] < 0).sum())
        if unlabelled:  # e.g. the public test set: its records carry no category
            log.warning("fmow crops: %d crops have no category (label -1 in metadata.csv, not in the CSVs)", unlabelled)
        info = {
            "raw_root": str(self.index.root.resolve()),
            "splits": list(self.splits),
            "category_order": self.category_order,
            "target_size": list(self.options.target_size),
            "ratio_quirk": self.options.ratio_quirk,
            "resize": self.options.resize,
            "jpeg_quality": self.options.jpeg_quality,
            "workers": self.workers,
            "images_indexed": {s: int((images["split"] == s).sum()) for s in self.splits},
            "elapsed_s": round(elapsed, 3),
            "crops_per_s": round(len(metadata) / max(elapsed, 1e-9), 1),
        }
        (folder / RUN_FILE).write_text(json.dumps(info, indent=2))
        if len(skipped):
            counts = skipped["reason"].value_counts().to_dict()
            log.warning(
                "fmow crops: skipped %d files/boxes %s; listed in %s", len(skipped), counts, final / SKIPPED_FILE
            )


def plan_crops(index: FmowIndex, params: CropParams, prefix: str = "fmow_crops") -> FmowCropWriter:
    """The writer that does the work, for checked settings (the block ``prefix``, parsed by the pipeline's
    parameter check); the splits must exist in the index."""
    missing = [s for s in params.splits if s not in index.splits]
    if missing:
        raise DataError(
            f"parameter '{prefix}.splits': {missing} not found under {index.root} (found: {list(index.splits)})"
        )
    workers = min(4, os.cpu_count() or 1) if params.workers is None else params.workers
    names = CATEGORY_ORDERS[params.category_order]
    options = CropOptions(
        labels={name: i for i, name in enumerate(names)},
        target_size=params.size,
        ratio_quirk=params.ratio_quirk,
        resize=params.resize,
        jpeg_quality=params.jpeg_quality,
    )
    return FmowCropWriter(index, tuple(params.splits), options, params.category_order, workers)


# ----------------------------------------------------------------------------------------- summary
def summarise_crop_folder(folder: str | Path, examples: int = 10) -> dict:
    """Counts of a written crop folder, from its tables: per split (crops, CSV rows, unlabelled crops,
    skips by reason), crops per category, multiplier bands, speed, and example paths of each skip reason.
    ``skipped_files`` are whole images/records (no box id), ``skipped_boxes`` single boxes."""
    folder = Path(folder)
    metadata = pd.read_csv(folder / METADATA_FILE, keep_default_na=False)
    skipped = pd.read_csv(folder / SKIPPED_FILE, keep_default_na=False, dtype={"box_id": str})
    info = json.loads((folder / RUN_FILE).read_text())
    names = pd.read_csv(folder / CATEGORIES_FILE)["name"].tolist()
    per_split = {}
    for split in info["splits"]:
        crops = metadata[metadata["split"] == split]
        skips = skipped[skipped["split"] == split]
        per_split[split] = {
            "images_indexed": info["images_indexed"].get(split, 0),
            "images_with_crops": int(crops["source_image"].nunique()),
            "crops": len(crops),
            "csv_rows": int((crops["label"] >= 0).sum()),
            "unlabelled_crops": int((crops["label"] < 0).sum()),
            "skipped": len(skips),
            "skipped_by_reason": {str(k): int(v) for k, v in skips["reason"].value_counts().sort_index().items()},
        }
    labelled = metadata[metadata["label"] >= 0]
    per_category = labelled["label"].value_counts()
    return {
        **{k: info[k] for k in ("raw_root", "category_order", "ratio_quirk", "resize", "target_size", "workers")},
        "crop_folder": str(folder.resolve()),
        "crops": len(metadata),
        "skipped": len(skipped),
        "skipped_files": int((skipped["box_id"] == "").sum()),
        "skipped_boxes": int((skipped["box_id"] != "").sum()),
        "skipped_table": str((folder / SKIPPED_FILE).resolve()),
        "skipped_by_reason": {str(k): int(v) for k, v in skipped["reason"].value_counts().sort_index().items()},
        "skipped_examples": {
            str(reason): rows["path"].head(examples).tolist() for reason, rows in skipped.groupby("reason", sort=True)
        },
        "splits": per_split,
        "crops_per_category": {name: int(per_category.get(i, 0)) for i, name in enumerate(names)},
        "multiplier_counts": {
            axis: {f"{m:g}": int((metadata[f"mult_{axis[0]}"] == m).sum()) for m in sorted(MULTIPLIER_VALUES)}
            for axis in ("width", "height")
        },
        "elapsed_s": info["elapsed_s"],
        "crops_per_s": info["crops_per_s"],
    }
