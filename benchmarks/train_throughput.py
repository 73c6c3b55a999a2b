"""Training throughput of the engine: ResNet-32 on a CIFAR-100-LT-sized split (10,847 images, 100 classes).

Measures images/s of full training epochs (device-side augmentation, forward, backward, SGD step) on the
CPU and, when present, on CUDA (bf16 autocast, channels_last). Data are synthetic uint8 images with the
exact CIFAR-100-LT rho=100 class counts; throughput does not depend on pixel values.

    python benchmarks/train_throughput.py                # CPU (+ CUDA if available), 1 timed epoch each
    python benchmarks/train_throughput.py --epochs 2 --devices cpu
"""

from __future__ import annotations

import argparse
import logging
import time
from functools import partial

import numpy as np
import torch

from longtail_lab.data.images.arrays import ImageArrays
from longtail_lab.data.images.augment import AugmentParams
from longtail_lab.data.lists.long_tail import class_profile
from longtail_lab.engine.config import TrainConfig
from longtail_lab.engine.image_training import build_augment, fit_images
from longtail_lab.methods.losses import build_loss
from longtail_lab.methods.supervised import SupervisedObjective
from longtail_lab.models import build_model, model_signature

AUGMENTS = {
    "crop+flip": {"padding": 4},
    "crop+flip+autoaugment+cutout": {"padding": 4, "autoaugment": True, "cutout": 16},
}


def cifar100_lt_arrays(seed: int = 0) -> ImageArrays:
    counts = class_profile("exponential", 100, 100, 500)
    labels = np.repeat(np.arange(100), counts)
    images = np.random.default_rng(seed).integers(0, 256, size=(len(labels), 32, 32, 3), dtype=np.uint8)
    return ImageArrays(images, labels, tuple(str(c) for c in range(100)))


def measure(train: ImageArrays, accelerator: str, augment: dict, loss: str, epochs: int, batch_size: int) -> dict:
    cfg = TrainConfig(
        epochs=epochs + 1,
        batch_size=batch_size,
        warmup_epochs=1,
        milestones=(),
        accelerator=accelerator,
        progress=False,
        resume=False,
        log_every=10_000,
    )
    objective = SupervisedObjective(build_loss(loss, train.class_counts()))
    signature = model_signature("resnet32", 100)
    started = time.perf_counter()
    settings = AugmentParams.from_params(augment, "augment")
    result = fit_images(train, partial(build_model, "resnet32", 100), objective, settings, cfg, signature)
    total = time.perf_counter() - started
    timed = result.history[1:]  # the first epoch includes start-up (allocator, cuDNN autotuning)
    seconds = sum(r["time_s"] for r in timed)
    steps = sum(r["steps"] for r in timed)
    images = sum(r["images"] for r in timed)
    return {
        "device": result.stats["device"],
        "precision": result.stats["precision"],
        "images_per_s": images / seconds,
        "s_per_step": seconds / steps,
        "wall_s": total,
    }


def augment_ms_per_batch(train: ImageArrays, augment: dict, batch_size: int, device: str, reps: int = 30) -> float:
    """Milliseconds per batch of the device-side augmentation alone (no model)."""
    transform = build_augment(AugmentParams.from_params(augment, "augment"))
    images = torch.from_numpy(train.images[: batch_size * 4]).to(device)
    gen = torch.Generator(device=device).manual_seed(0)
    transform(images[:batch_size], gen)
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for i in range(reps):
        start = (i % 4) * batch_size
        transform(images[start : start + batch_size], gen)
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - started) / reps * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per configuration (after one warm-up)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--devices", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    accelerators = (
        ["cpu"]
        if args.devices == "cpu"
        else ["cuda"]
        if args.devices == "cuda"
        else (["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"])
    )
    train = cifar100_lt_arrays()
    print(
        f"ResNet-32, CIFAR-100-LT rho=100 sized split: {len(train)} images, batch {args.batch_size}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
    )
    header = f"{'device':<8} {'precision':<11} {'augmentation':<30} {'loss':<17} {'img/s':>8} {'s/step':>8}"
    print("\naugmentation alone (ms per batch):")
    for accelerator in accelerators:
        for aug_name, augment in AUGMENTS.items():
            ms = augment_ms_per_batch(train, augment, args.batch_size, accelerator)
            print(f"  {accelerator:<6} {aug_name:<30} {ms:8.2f} ms")
    print()
    print(header)
    print("-" * len(header))
    for accelerator in accelerators:
        for aug_name, augment in AUGMENTS.items():
            for loss in ("ce", "balanced_softmax"):
                r = measure(train, accelerator, augment, loss, args.epochs, args.batch_size)
                print(
                    f"{r['device']:<8} {r['precision']:<11} {aug_name:<30} {loss:<17} "
                    f"{r['images_per_s']:>8.0f} {r['s_per_step']:>8.3f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
