"""CPU speed settings of the trainer a user runs, side by side with the official LTRL code, in one window.

Each measurement is one real ``fit`` in a fresh subprocess: SADE or SADE+RL (the LTRL CIFAR models and recipe
augmentation: crop+flip, AutoAugment, Cutout 16; batch 128) on ``--steps`` x 128 images of a CIFAR-100-LT-sized
synthetic split, two epochs; the first warms up (and compiles), s/step = the second epoch's wall time / steps.
Settings (``--settings``):

  default    what a user gets: fp32, num_threads auto
  bf16       train.precision bf16-mixed (CPU autocast)
  compile    train.compile true (torch.compile, inductor); the compile time is reported separately
  threads1   train.num_threads 1
  all_cores  num_threads = all cores (torch's own default)
  passive    all cores with OMP_WAIT_POLICY=PASSIVE (waiting threads sleep instead of spinning)

``--busy`` keeps one core busy with a competing process during every measurement (a shared machine).
``--official /path/to/LTRL`` times the official trainer (``benchmarks/official_ltrl_timing.py``, its own
docstring says how) for the same configurations in the same rounds, interleaved with ours, and prints the ratio
official s/step / ours for every setting. Medians over ``--rounds``.

    python benchmarks/cpu_speed.py --official /tmp/official_ltrl --rounds 3 --steps 12
    python benchmarks/cpu_speed.py --settings default,threads1,all_cores,passive --busy --configs sade_rl
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETTINGS = {
    "default": ({}, {}),
    "bf16": ({"precision": "bf16-mixed"}, {}),
    "compile": ({"compile": True}, {}),
    "threads1": ({"num_threads": 1}, {}),
    "all_cores": ({"num_threads": os.cpu_count() or 1}, {}),
    "passive": ({"num_threads": os.cpu_count() or 1}, {"OMP_WAIT_POLICY": "PASSIVE"}),
}
CONFIGS = ("sade", "sade_rl")


def child(config: str, setting: str, steps: int) -> dict:
    """One measurement (runs in its own process, so OpenMP settings and compile caches start fresh)."""
    from functools import partial

    import numpy as np

    from benchmarks.reflective_step import CONFIGS as METHODS
    from benchmarks.reflective_step import LTRL_AUGMENT, MODELS, OPTIONS, cifar100_lt_arrays
    from longtail_lab.engine.config import TrainConfig
    from longtail_lab.engine.image_training import fit_images
    from longtail_lab.methods.objectives import build_objective
    from longtail_lab.models import build_model, model_signature

    method, reflective = METHODS[config]
    data = cifar100_lt_arrays()
    data = data.subset(np.random.default_rng(0).permutation(len(data))[: steps * 128])
    name, kwargs = MODELS[method]
    cfg = TrainConfig(
        epochs=2, batch_size=128, warmup_epochs=0, milestones=(), accelerator="cpu", progress=False,
        **SETTINGS[setting][0],
    )  # fmt: skip
    objective = build_objective(method, data.class_counts(), len(data), OPTIONS[method], reflective)
    make = partial(build_model, name, 100, **kwargs)
    result = fit_images(data, make, objective, LTRL_AUGMENT, cfg, model_signature(name, 100, **kwargs))
    first, second = result.history
    return {
        "s_per_step": second["time_s"] / second["steps"],
        "first_epoch_extra_s": first["time_s"] - second["time_s"],
        "threads": result.stats["num_threads"],
    }


def run_ours(config: str, setting: str, steps: int) -> dict:
    env = {**os.environ, **SETTINGS[setting][1], "PYTHONPATH": str(HERE.parent)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", config, setting, str(steps)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_official(repo: str, config: str, steps: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "official.json"
        subprocess.run(
            [sys.executable, str(HERE / "official_ltrl_timing.py"), "--repo", repo, "--configs", config,
             "--steps", str(steps), "--json", str(out)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        (row,) = json.loads(out.read_text())["results"]
    return float(row["s_per_step_median"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default=",".join(CONFIGS))
    parser.add_argument("--settings", default="default,bf16,compile,threads1,all_cores")
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--official", help="checkout of github.com/fistyee/LTRL (not part of this repository)")
    parser.add_argument("--busy", action="store_true", help="keep one core busy with another process")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1], int(args.child[2]))))
        return
    configs, settings = args.configs.split(","), args.settings.split(",")
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if args.busy else None
    ours: dict = {(c, s): [] for c in configs for s in settings}
    official: dict = {c: [] for c in configs}
    try:
        for r in range(args.rounds):
            for config in configs:
                if args.official:
                    official[config].append(run_official(args.official, config, args.steps))
                    print(f"round {r + 1} {config} official: {official[config][-1]:.3f} s/step", flush=True)
                for setting in settings:
                    ours[(config, setting)].append(run_ours(config, setting, args.steps))
                    m = ours[(config, setting)][-1]
                    print(f"round {r + 1} {config} {setting}: {m['s_per_step']:.3f} s/step", flush=True)
    finally:
        if busy is not None:
            busy.kill()
    print(f"\n{os.cpu_count()} cores{', one kept busy by another process' if args.busy else ''}; "
          f"median of {args.rounds} rounds, {args.steps} steps of 128 images each\n")  # fmt: skip
    print("| config | setting | ours s/step | threads | first-epoch extra s | official s/step | official / ours |")
    print("|---|---|---|---|---|---|---|")
    for config in configs:
        off = statistics.median(official[config]) if official[config] else None
        for setting in settings:
            runs = ours[(config, setting)]
            step = statistics.median(m["s_per_step"] for m in runs)
            extra = statistics.median(m["first_epoch_extra_s"] for m in runs)
            ratio = f"{off / step:.2f}x" if off else ""
            print(
                f"| {config} | {setting} | {step:.3f} | {runs[-1]['threads']} | {extra:.0f} "
                f"| {'' if off is None else f'{off:.3f}'} | {ratio} |"
            )
    if any(official.values()):
        pairs = {c: zip(official[c], ours[(c, settings[0])], strict=True) for c in configs}
        rounds = "; ".join(
            f"{c}: " + ", ".join(f"{o:.2f}/{m['s_per_step']:.2f}" for o, m in p) for c, p in pairs.items()
        )
        print(f"\nper round (official / ours {settings[0]}, s/step): {rounds}")


if __name__ == "__main__":
    main()
