"""Real-data comparison on the CIFAR-10 JPEGs: SADE vs SADE+RL vs BSCE vs BSCE+RL on CIFAR-10-LT rho=100.

Each configuration is one ``cifar_lt_rl`` run through a real Kedro session in a throw-away copy of the
project (the archive is extracted once into it), with the same short CPU schedule for all: the ``sade``
recipe's augmentation (crop, flip, rotation 15), ``--epochs`` epochs, 1 warm-up epoch, cosine decay,
batch 128, lr 0.1. Test-agnostic lists with n_max 1000 (the whole CIFAR-10 test set is the uniform one).
Prints a markdown table of the metrics each run wrote.

    python benchmarks/real_cifar10_comparison.py --archive ../shared/data/cifar10-jpg.tar.gz --epochs 10
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "sade": ("sade", False, {}),
    "sade_rl": ("sade", True, {}),
    "bsce": ("bsce", False, {}),
    "bsce_rl": ("bsce", True, {}),
    # the released code's knowledge review (logits / per-batch class counts, epoch-1 zero memory)
    "sade_rl_quirks": ("sade", True, {"official_quirks": True}),
    "bsce_rl_quirks": ("bsce", True, {"official_quirks": True}),
}
DEFAULT_CONFIGS = "sade,sade_rl,bsce,bsce_rl"


def latest(path: Path) -> Path:
    return sorted(p for p in path.iterdir() if p.is_dir())[-1] / path.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--configs", default=DEFAULT_CONFIGS, help=f"comma-separated subset of {list(CONFIGS)}")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the project copy here (default: temp)")
    args = parser.parse_args()
    if not args.archive.is_file():
        parser.error(f"{args.archive} not found (the CIFAR-10 JPEG archive of the shared data folder)")
    os.environ["KEDRO_DISABLE_TELEMETRY"] = "true"
    sys.path.insert(0, str(ROOT))
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from tests.fixtures import make_project_copy

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="longtail_lab_real_"))
    project = workdir / "project"
    if not project.exists():
        make_project_copy(project)
        with tarfile.open(args.archive) as tar:
            tar.extractall(project / "data" / "01_raw" / "cifar10-jpg", filter="data")
    bootstrap_project(project)
    rows = []
    for config in [c for c in args.configs.split(",") if c]:
        method, reflective, options = CONFIGS[config]
        params = {
            "cifar_lt_rl": {
                "dataset": "cifar10_jpg",
                "method": method,
                "reflective": reflective,
                "reflective_learning": options,
                "recipe": "sade",
                "test_agnostic": {"n_max": 1000},
                "train": {"epochs": args.epochs, "warmup_epochs": 1, "schedule": "cosine", "log_every": 25},
            }
        }
        started = time.perf_counter()
        with KedroSession.create(project_path=project, env="base", runtime_params=params) as session:
            session.run(pipeline_names=["cifar_lt_rl"])
        wall = time.perf_counter() - started
        metrics = json.loads(latest(project / "data/08_reporting/cifar_lt_rl/metrics.json").read_text())
        rows.append((config, metrics, wall))
        print(f"{config}: top-1 {metrics['top1']:.4f} ({wall:.0f} s)", flush=True)

    print(f"\nCIFAR-10-LT rho=100 (JPEGs), {args.epochs} epochs, sade recipe augmentation, cosine, CPU\n")
    print(
        "| config | top-1 (equal weights) | many | medium | few | aggregated uniform | f50 | f10 | b10 | b50 |"
        " f50 agg | b50 agg | uniform weights | train s | img/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for config, m, _ in rows:
        ta, tg = m["test_agnostic"], m.get("test_agnostic_aggregated", {})
        w = m.get("expert_weights", {}).get("uniform")

        def f(v):
            return "n/a" if v is None else f"{v:.3f}"

        print(
            f"| {config} | {f(m['top1'])} | {f(m['many'])} | {f(m['medium'])} | {f(m['few'])} "
            f"| {f(m.get('aggregated', {}).get('top1'))} | {f(ta.get('forward50'))} | {f(ta.get('forward10'))} "
            f"| {f(ta.get('backward10'))} | {f(ta.get('backward50'))} | {f(tg.get('forward50'))} "
            f"| {f(tg.get('backward50'))} | {'n/a' if w is None else [round(x, 2) for x in w]} "
            f"| {m['train']['train_time_s']:.0f} | {m['train']['images_per_s']:.0f} |"
        )


if __name__ == "__main__":
    main()
