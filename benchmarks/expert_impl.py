"""Speed of the two implementations of the SADE 3-expert ResNet-32 (``expert_impl="loop"`` vs ``"grouped"``).

Batch 128 of 32x32 CIFAR-100 inputs in channels_last layout (what the trainer's augmentation produces).
Columns: train-mode forward (with autograd), train-mode forward+backward (cross-entropy on the mean logits,
gradients zeroed each step, no optimiser step), eval-mode forward under no_grad, and training img/s
(batch / forward+backward). On CUDA: bf16 autocast and a channels_last model, as in the trainer.

The variants are interleaved in one process (loop, grouped, grouped, loop, ...) and each number is the
median over rounds, so that CPU contention from other processes affects both alike.

    python benchmarks/expert_impl.py                      # CPU (+ CUDA if available)
    python benchmarks/expert_impl.py --devices cpu --rounds 12 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from longtail_lab.models import build_model
from longtail_lab.models.experts_cifar import EXPERT_IMPLS, loop_state_to_grouped


def build_pair(num_classes: int, num_experts: int, widths: tuple[int, ...], device: str) -> dict:
    """Both implementations with the same weights (the grouped one loaded from the loop one)."""
    torch.manual_seed(0)
    kwargs = {"num_experts": num_experts, "widths": widths}
    loop = build_model("resnet32_experts", num_classes, expert_impl="loop", **kwargs)
    grouped = build_model("resnet32_experts", num_classes, expert_impl="grouped", **kwargs)
    grouped.load_state_dict(loop_state_to_grouped(loop.state_dict()))
    models = {"loop": loop, "grouped": grouped}
    for name, model in models.items():
        model = model.to(device)
        if device == "cuda":  # the trainer converts the model on CUDA only; inputs are channels_last everywhere
            model = model.to(memory_format=torch.channels_last)
        models[name] = model
    return models


def step_fns(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, device: str) -> dict[str, Callable]:
    autocast = torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda")

    def forward() -> None:
        model.train()
        with autocast:
            model(x)

    def forward_backward() -> None:
        model.train()
        model.zero_grad(set_to_none=True)
        with autocast:
            loss = F.cross_entropy(model(x).float(), y)
        loss.backward()

    @torch.no_grad()
    def eval_forward() -> None:
        model.eval()
        with autocast:
            model(x)

    return {"fwd": forward, "fwd+bwd": forward_backward, "eval fwd": eval_forward}


def time_ms(fn: Callable, iters: int, device: str) -> float:
    if device == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(iters):
        fn()
    if device == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - started) / iters * 1000


def measure(device: str, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    models = build_pair(args.num_classes, args.num_experts, tuple(args.widths), device)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch_size, 3, 32, 32, generator=gen).to(device)
    x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, args.num_classes, (args.batch_size,), generator=gen).to(device)
    fns = {name: step_fns(model, x, y, device) for name, model in models.items()}
    for name in models:  # warm-up: allocator, oneDNN/cuDNN kernel selection
        for fn in fns[name].values():
            for _ in range(args.warmup):
                fn()
    samples: dict[str, dict[str, list[float]]] = {n: {k: [] for k in fns[n]} for n in models}
    order = list(models)
    for r in range(args.rounds):
        for name in order if r % 2 == 0 else order[::-1]:  # alternate who goes first
            for kind, fn in fns[name].items():
                samples[name][kind].append(time_ms(fn, args.iters, device))
    return {n: {k: statistics.median(v) for k, v in kinds.items()} for n, kinds in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--num-classes", type=int, default=100)
    parser.add_argument("--num-experts", type=int, default=3)
    parser.add_argument("--widths", type=int, nargs=3, default=[16, 24, 48], help="SADE reduce_dimension=true")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds; the median is reported")
    parser.add_argument("--iters", type=int, default=3, help="steps per timed sample")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--devices", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = {"auto": ["cpu"] + (["cuda"] if torch.cuda.is_available() else []), "cpu": ["cpu"], "cuda": ["cuda"]}
    print(
        f"ResNet-32 x {args.num_experts} experts, widths {tuple(args.widths)}, {args.num_classes} classes, "
        f"batch {args.batch_size}, torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
        f"median of {args.rounds} interleaved rounds x {args.iters} steps\n"
    )
    print("| device | precision | impl | fwd ms | fwd+bwd ms | eval fwd ms | train img/s |")
    print("|---|---|---|---:|---:|---:|---:|")
    for device in devices[args.devices]:
        result = measure(device, args)
        precision = "bf16 autocast" if device == "cuda" else "fp32"
        for impl in sorted(result, key=EXPERT_IMPLS.index):
            r = result[impl]
            print(
                f"| {device} | {precision} | {impl} | {r['fwd']:.1f} | {r['fwd+bwd']:.1f} | {r['eval fwd']:.1f} "
                f"| {args.batch_size / r['fwd+bwd'] * 1000:.0f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
