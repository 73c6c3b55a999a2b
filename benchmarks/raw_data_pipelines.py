"""Throughput of the two image-heavy raw-data pipelines on generated data of the real sizes.

- fmow_crops: fMoW-rgb-sized JPEG scenes (default 1000x800, 2 boxes each) -> 224x224 context crops,
  for both resize methods and 1 / N worker processes.
- seg_labels: Cityscapes-sized label maps (2048x1024 labelIds PNGs) -> trainId PNGs + pixel counts.

    python benchmarks/raw_data_pipelines.py                    # 200 scenes, 40 label maps
    python benchmarks/raw_data_pipelines.py --scenes 1000 --labels 100 --workers 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from longtail_lab.data.fmow.crop_rule import index_layout
from longtail_lab.data.fmow.crop_writer import CropParams, plan_crops
from longtail_lab.data.segmentation.conversion import ConversionSettings, LabelMapWriter
from longtail_lab.data.segmentation.layouts import discover

CITYSCAPES_IDS = np.array([7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33, 0, 1, 4])


def make_fmow(root: Path, scenes: int, size: tuple[int, int], rng: np.random.Generator) -> None:
    width, height = size
    for i in range(scenes):
        pixels = rng.integers(0, 256, size=(height // 8, width // 8, 3), dtype=np.uint8)
        image = Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR)  # smooth, JPEG-realistic content
        boxes = []
        for j in range(2):
            w, h = (int(v) for v in rng.integers(30, min(width, height) // 2, 2))
            x, y = int(rng.integers(0, width - w)), int(rng.integers(0, height - h))
            boxes.append({"box": [x, y, w, h], "ID": 10 * i + j, "category": "airport", "visible": "True"})
        base = root / "train" / "airport" / f"airport_{i}" / f"airport_{i}_0_rgb"
        base.parent.mkdir(parents=True, exist_ok=True)
        image.save(base.with_suffix(".jpg"), quality=90)
        record = {"img_width": width, "img_height": height, "bounding_boxes": boxes}
        base.with_suffix(".json").write_text(json.dumps(record))


def make_cityscapes(root: Path, labels: int, rng: np.random.Generator) -> None:
    image = Image.new("RGB", (2048, 1024))
    for i in range(labels):
        city = ("aachen", "bochum")[i % 2]
        stem = f"{city}_{i:06d}_000019"
        blocks = rng.choice(CITYSCAPES_IDS, size=(32, 64)).astype(np.uint8)
        label = np.kron(blocks, np.ones((32, 32), dtype=np.uint8))  # 2048x1024 piecewise-constant regions
        for kind, name, img in (
            ("leftImg8bit", f"{stem}_leftImg8bit.png", image),
            ("gtFine", f"{stem}_gtFine_labelIds.png", Image.fromarray(label)),
        ):
            path = root / kind / "train" / city / name
            path.parent.mkdir(parents=True, exist_ok=True)
            img.save(path)


def timed_write(writer, out: Path) -> float:
    out.mkdir()
    started = time.perf_counter()
    writer.write(out, out)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenes", type=int, default=200)
    parser.add_argument("--scene-size", type=int, nargs=2, default=(1000, 800), metavar=("W", "H"))
    parser.add_argument("--labels", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="raw_bench_"))
    rng = np.random.default_rng(0)
    try:
        make_fmow(work / "fmow", args.scenes, tuple(args.scene_size), rng)
        index = index_layout(work / "fmow")
        print(f"fmow_crops: {args.scenes} scenes {args.scene_size[0]}x{args.scene_size[1]}, 2 boxes each")
        print("| resize | workers | crops/s | scenes/s |\n|---|---|---|---|")
        for resize in ("cv2_linear", "pil_bilinear"):
            for workers in sorted({1, args.workers}):
                writer = plan_crops(index, CropParams(splits=("train",), resize=resize, workers=workers))
                out = work / f"crops_{resize}_{workers}"
                seconds = timed_write(writer, out)
                crops = sum(1 for _ in (out / "images").rglob("*.jpg"))
                print(f"| {resize} | {workers} | {crops / seconds:.0f} | {args.scenes / seconds:.0f} |")

        make_cityscapes(work / "cityscapes", args.labels, rng)
        index = discover("cityscapes", work / "cityscapes")
        print(f"\nseg_labels: {args.labels} Cityscapes label maps 2048x1024 -> trainIds + pixel counts")
        print("| workers | ms / label | labels/s |\n|---|---|---|")
        for workers in sorted({1, args.workers}):
            writer = LabelMapWriter(index, ConversionSettings(workers=workers))
            seconds = timed_write(writer, work / f"labels_{workers}")
            print(f"| {workers} | {1000 * seconds / args.labels:.1f} | {args.labels / seconds:.1f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
