"""Parse + validate an iNaturalist-2018-sized list file (437,513 lines, 8,142 classes). Target: < 2 s.

Generates an iNat-like list (``train_val2018/<kingdom>/<class>/<hash>.jpg <class>``, long-tailed class
sizes) and, unless ``--no-files``, the 437,513 empty image files it names, then times the parts the
``list_splits`` pipeline runs on it: reading the file, parsing every line, and the checks (labels,
duplicates, paths inside the root, every file exists).

    python benchmarks/list_parse.py                 # in a temporary folder (creates ~437k empty files once)
    python benchmarks/list_parse.py --root /tmp/inat_bench --no-files
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from longtail_lab.data.lists.checks import check_list
from longtail_lab.data.lists.format import scan_list
from longtail_lab.data.lists.long_tail import class_profile

LINES, CLASSES = 437_513, 8_142


def make_list(root: Path, with_files: bool) -> Path:
    path = root / "iNaturalist18_train.txt"
    if path.is_file():
        return path
    counts = class_profile("exponential", CLASSES, 500, 1000)
    counts = np.maximum(np.round(counts * LINES / counts.sum()).astype(np.int64), 1)
    counts[0] += LINES - counts.sum()
    labels = np.repeat(np.arange(CLASSES), counts)
    np.random.default_rng(0).shuffle(labels)
    rng = np.random.default_rng(1)
    kingdoms = ("Plantae", "Insecta", "Aves", "Reptilia", "Mammalia", "Fungi")
    items = [f"train_val2018/{kingdoms[c % 6]}/{c}/{rng.bytes(16).hex()}.jpg" for c in labels.tolist()]
    if with_files:
        images = root / "images"
        for folder in {item.rpartition("/")[0] for item in items}:
            (images / folder).mkdir(parents=True, exist_ok=True)
        for item in items:
            (images / item).touch()
    path.write_text("".join(f"{item} {label}\n" for item, label in zip(items, labels.tolist(), strict=True)))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", type=Path, default=None, help="work folder (kept; reused on the next run)")
    parser.add_argument("--no-files", action="store_true", help="skip the image files and the existence check")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    root = args.root or Path(tempfile.mkdtemp(prefix="list_parse_"))
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    path = make_list(root, not args.no_files)
    print(f"list {path} ({path.stat().st_size / 1e6:.1f} MB) ready in {time.perf_counter() - started:.1f} s")

    image_root = None if args.no_files else root / "images"
    rows = {"read": [], "parse": [], "check": [], "total": []}
    for _ in range(args.reps):
        t0 = time.perf_counter()
        text = path.read_text()
        t1 = time.perf_counter()
        lst, problems = scan_list(text, str(path))
        t2 = time.perf_counter()
        problems += check_list(lst, str(path), CLASSES, image_root, check_files=image_root is not None)
        t3 = time.perf_counter()
        assert len(lst) == LINES and not problems, problems[:3]
        for key, value in zip(rows, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
            rows[key].append(value)
    checks = "labels, duplicates, paths" + ("" if args.no_files else ", file existence")
    print(f"{LINES:,} lines, {CLASSES:,} classes; checks: {checks}; median of {args.reps}")
    print("| part | seconds |\n|---|---|")
    for key, values in rows.items():
        print(f"| {key} | {statistics.median(values):.3f} |")


if __name__ == "__main__":
    main()
