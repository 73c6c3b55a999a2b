"""Step time of SADE / BSCE with and without reflective learning (RL), and where the time of an RL step goes.

Setting: CIFAR-100-LT rho=100 sized split (10,847 synthetic uint8 images with the exact class counts), batch
128, the LTRL recipe's augmentation (crop+flip, AutoAugment, Cutout 16), the LTRL models (SADE: 3-expert
ResNet-32 with reduced widths and cosine heads; BSCE: ResNet-32 with a linear head), SGD Nesterov.

Two measurements per configuration:

* ``breakdown``: an instrumented copy of the trainer's step (augment, forward + losses, backward, optimiser)
  on ``--steps`` batches after warm-up, with the RL parts timed inside: the two backward passes, the
  gradient projection (flatten + project + write back), soft targets, the review term with its memory
  read/write, and the epoch-end class medians + similarity matrix amortised over the epoch's steps;
* ``trainer``: images/s of one real ``fit`` epoch (the engine's loop, progress off), after one warm-up epoch
  on the same subset, which is what a user gets.

On CPU every op is synchronous, so wall-clock timers around Python calls are exact. On CUDA the breakdown
synchronises around each timed part (it is a profile); the trainer number does not.

    python benchmarks/reflective_step.py                     # all four configurations, CPU
    python benchmarks/reflective_step.py --configs sade_rl --steps 20
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict
from contextlib import contextmanager
from functools import partial

import numpy as np
import torch

from longtail_lab.data.images.arrays import ImageArrays
from longtail_lab.data.images.augment import AugmentParams
from longtail_lab.data.lists.long_tail import class_profile
from longtail_lab.engine.batches import DeviceArrayBatches
from longtail_lab.engine.config import TrainConfig
from longtail_lab.engine.cpu_memory import keep_freed_memory
from longtail_lab.engine.image_training import build_augment, fit_images
from longtail_lab.engine.step import MetricSums, StepContext
from longtail_lab.methods import reflective
from longtail_lab.methods.objectives import build_objective
from longtail_lab.models import build_model, model_signature

CONFIGS = {
    "sade": ("sade", False),
    "sade_rl": ("sade", True),
    "bsce": ("bsce", False),
    "bsce_rl": ("bsce", True),
}
MODELS = {
    "sade": ("resnet32_experts", {"num_experts": 3, "widths": [16, 24, 48], "normed_classifier": True}),
    "bsce": ("resnet32", {"widths": [16, 32, 64], "normed_classifier": False}),
}
LTRL_AUGMENT = AugmentParams(padding=4, autoaugment=True, cutout=16)
OPTIONS = {"sade": {"tau": 2.0}, "bsce": {}}


def cifar100_lt_arrays(seed: int = 0) -> ImageArrays:
    counts = class_profile("exponential", 100, 100, 500)
    labels = np.repeat(np.arange(100), counts)
    images = np.random.default_rng(seed).integers(0, 256, size=(len(labels), 32, 32, 3), dtype=np.uint8)
    return ImageArrays(images, labels, tuple(str(c) for c in range(100)))


class Timer:
    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.totals: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, name: str):
        if self.cuda:
            torch.cuda.synchronize()
        started = time.perf_counter()
        try:
            yield
        finally:
            if self.cuda:
                torch.cuda.synchronize()
            self.totals[name] += time.perf_counter() - started

    def wrap(self, module, name: str, label: str):
        """Time every call of ``module.name`` (a module-level function the objective calls)."""
        original = getattr(module, name)

        def timed(*args, **kwargs):
            with self(label):
                return original(*args, **kwargs)

        setattr(module, name, timed)
        return original


class TimedContext(StepContext):
    """Times each backward pass separately (first = main loss, second = review loss)."""

    def __init__(self, timer: Timer) -> None:
        super().__init__()
        self.timer, self.calls = timer, 0

    def backward(self, loss, **kwargs):
        self.calls += 1
        with self.timer("backward 1" if self.calls == 1 else "backward 2"):
            loss.backward(**kwargs)


def breakdown(train: ImageArrays, config: str, steps: int, warmup: int, batch_size: int, device: torch.device):
    method, rl = CONFIGS[config]
    name, kwargs = MODELS[method]
    torch.manual_seed(0)
    model = build_model(name, 100, **kwargs).to(device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    objective = build_objective(method, train.class_counts(), len(train), OPTIONS[method], rl).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    batches = DeviceArrayBatches(train.images, train.labels, batch_size, build_augment(LTRL_AUGMENT), device, 0)
    timer = Timer(device)
    originals = {}
    if rl:
        for fn, label in (
            ("soft_targets", "soft targets"),
            ("review_loss", "review term"),
            ("project_conflicting", "projection"),
            ("_flat_grads", "projection"),
        ):
            originals[fn] = timer.wrap(reflective, fn, label)
    ctx = TimedContext(timer)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    model.train()
    try:
        if rl:  # steady state: one (short) epoch first, so the memory and the similarity matrix exist
            for i, batch in enumerate(batches.epoch(0)):
                with autocast:
                    loss, _ = objective.loss(model, batch, 0)
                optimizer.zero_grad(set_to_none=True)
                objective.backward(loss, ctx, model)
                optimizer.step()
                if i + 1 >= len(batches):
                    break
            with timer("epoch end (medians + similarity)"):
                objective.on_epoch_end(0, ctx)
            epoch_end = timer.totals.pop("epoch end (medians + similarity)")
            objective.epoch_metrics()
        else:
            epoch_end = 0.0
        per_step: list[float] = []
        sums = MetricSums(device)
        timer.totals.clear()
        iterator = batches.epoch(1)
        for i in range(warmup + steps):
            if i == warmup:
                timer.totals.clear()
                per_step.clear()
            started = time.perf_counter()
            with timer("augment"):
                batch = next(iterator)
            with timer("forward + losses"), autocast:
                loss, metrics = objective.loss(model, batch, 1)
            with timer("backward (all)"):
                ctx.calls = 0
                optimizer.zero_grad(set_to_none=True)
                objective.backward(loss, ctx, model)
            with timer("optimizer"):
                optimizer.step()
            with timer("metrics"):
                sums.add({"loss": loss.detach().float(), **metrics}, len(batch))
            per_step.append(time.perf_counter() - started)
    finally:
        for fn, original in originals.items():
            setattr(reflective, fn, original)
    totals = {k: v / steps for k, v in timer.totals.items()}
    totals["epoch end / step (amortised)"] = epoch_end / len(batches)
    step = statistics.median(per_step)
    return step, totals


def trainer_images_per_s(train: ImageArrays, config: str, batch_size: int, accelerator: str, subset: int):
    method, rl = CONFIGS[config]
    name, kwargs = MODELS[method]
    part = train.subset(np.random.default_rng(0).permutation(len(train))[:subset])
    cfg = TrainConfig(
        epochs=2,
        batch_size=batch_size,
        warmup_epochs=1,
        milestones=(),
        lr=0.01,
        nesterov=True,
        accelerator=accelerator,
        progress=False,
        resume=False,
        log_every=10_000,
    )
    objective = build_objective(method, part.class_counts(), len(part), OPTIONS[method], rl)
    result = fit_images(
        part, partial(build_model, name, 100, **kwargs), objective, LTRL_AUGMENT, cfg, model_signature(name, 100)
    )
    return result.history[-1]["images_per_s"], result.history[-1]["time_s"] / result.history[-1]["steps"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default=",".join(CONFIGS), help=f"comma-separated subset of {list(CONFIGS)}")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--trainer-images", type=int, default=2560, help="images per timed trainer epoch (0: skip)")
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cpu":
        keep_freed_memory()  # what the trainer does on CPU
    train = cifar100_lt_arrays()
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = sorted(set(configs) - set(CONFIGS))
    if unknown:
        parser.error(f"unknown config {unknown[0]!r}; known: {list(CONFIGS)}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}, batch {args.batch_size}")
    rows = []
    for config in configs:
        step, parts = breakdown(train, config, args.steps, args.warmup, args.batch_size, device)
        row = {"config": config, "s/step": step, "img/s": args.batch_size / step, **parts}
        if args.trainer_images:
            row["trainer img/s"], row["trainer s/step"] = trainer_images_per_s(
                train, config, args.batch_size, args.device, args.trainer_images
            )
        rows.append(row)
        print(f"done {config}: {step:.3f} s/step", flush=True)

    print(
        "\n| config | s/step | img/s | trainer img/s | augment | forward + losses | backward 1 | backward 2 |"
        " projection | optimizer | soft targets | review term | epoch end (amortised) | RL extras % of step |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ms = {k: 1000 * v for k, v in r.items() if isinstance(v, float) and k not in ("img/s", "trainer img/s")}
        extras = sum(
            r.get(k, 0.0) for k in ("projection", "soft targets", "review term", "epoch end / step (amortised)")
        )
        print(
            f"| {r['config']} | {r['s/step']:.3f} | {r['img/s']:.0f} | {r.get('trainer img/s', float('nan')):.0f} "
            f"| {ms.get('augment', 0):.0f} | {ms.get('forward + losses', 0):.0f} | {ms.get('backward 1', 0):.0f} "
            f"| {ms.get('backward 2', 0):.0f} | {ms.get('projection', 0):.1f} | {ms.get('optimizer', 0):.1f} "
            f"| {ms.get('soft targets', 0):.2f} | {ms.get('review term', 0):.2f} "
            f"| {ms.get('epoch end / step (amortised)', 0):.2f} | {100 * extras / r['s/step']:.1f} |"
        )
    print("\nTimes in ms per step (medians for s/step; means of the timed steps for the parts). 'backward 1' is the")
    print("main loss's backward (the only one without RL), 'backward 2' the review loss's; 'RL extras' = projection +")
    print("soft targets + review term + amortised epoch end.")


if __name__ == "__main__":
    main()
