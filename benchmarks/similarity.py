"""Knowledge-summary cost: the class-similarity matrix (and its softmax rows) and the per-class median
features, with random features, for C = 100 (CIFAR-100), 1,000 (ImageNet-LT) and 8,142 (iNaturalist 2018).

The official code builds the C x C cosine matrix with a Python double loop (5,050 / ~5e5 / ~3.3e7 scalar
writes) and the medians with a Python loop; here both are a few batched tensor ops.

    python benchmarks/similarity.py                 # CPU (+ CUDA if available)
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from longtail_lab.data.lists.long_tail import class_profile
from longtail_lab.methods.reflective import class_medians, class_similarity


def timed(fn, device: torch.device, reps: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(reps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--devices", default="cpu,cuda")
    args = parser.parse_args()
    devices = [d for d in args.devices.split(",") if d == "cpu" or (d == "cuda" and torch.cuda.is_available())]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads")
    print("\n| device | classes C | feature dim D | similarity + softmax rows (ms) |")
    print("|---|---|---|---|")
    for dev in devices:
        device = torch.device(dev)
        for classes in (100, 1000, 8142):
            for dim in (48, 2048):
                centres = torch.rand(classes, dim, device=device)  # post-ReLU features are non-negative

                def run(centres=centres):
                    return class_similarity(centres).softmax(1)

                print(f"| {dev} | {classes:,} | {dim} | {1000 * timed(run, device, args.reps):.1f} |", flush=True)
    print("\n| device | training samples N | classes C | D | class medians (ms) |")
    print("|---|---|---|---|---|")
    for dev in devices:
        device = torch.device(dev)
        for total, classes, dim in ((10_847, 100, 48), (115_846, 1000, 48), (115_846, 1000, 512)):
            ratio, n_max = (100, 500) if classes == 100 else (256, 1280)  # CIFAR-100-LT / ImageNet-LT-like
            counts = class_profile("exponential", classes, ratio, n_max)
            labels = torch.repeat_interleave(torch.arange(classes), torch.as_tensor(counts))[:total].to(device)
            labels = labels[torch.randperm(len(labels), device=device)]
            features = torch.rand(len(labels), dim, device=device)
            ms = 1000 * timed(lambda f=features, y=labels, c=classes: class_medians(f, y, c), device, args.reps)
            print(f"| {dev} | {len(labels):,} | {classes:,} | {dim} | {ms:.1f} |", flush=True)


if __name__ == "__main__":
    main()
