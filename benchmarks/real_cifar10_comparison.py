"""Real data: SADE vs SADE+RL vs BSCE vs BSCE+RL on CIFAR-10-LT (rho = 100) from the CIFAR-10 JPEGs, several seeds.

Every run is one ``cifar_lt_rl`` run through a real Kedro session (a subprocess) in a throw-away copy of the
project; the archive is extracted once and shared. All runs use the same short CPU schedule: the ``sade`` recipe's
augmentation (crop, flip, rotation 15), ``--epochs`` epochs, 1 warm-up epoch, cosine decay, batch 128, lr 0.1;
the split keeps ``--n-max`` images in the head class (CIFAR-10 has 5,000: the reduction is what makes 30+ epochs
of four methods and two seeds fit a CPU); ``--widths half`` halves the network widths for the same reason.
Test-time aggregation learns weights on two pools (the test lists' own images, and the training set reshaped to
each distribution as in SADE's released CIFAR script). ``--workers`` runs go in parallel, each with
``--threads`` CPU threads (2 x 1 thread beats 1 x 2 threads on 2 cores), each worker in its own project copy.

Prints the mean and spread (max - min) over seeds per configuration, then the knowledge-review diagnostics per
epoch (review loss and share of samples kept, by shot group) with and without the per-batch class-count
temperature, and writes everything to ``--out`` (JSON).

    python benchmarks/real_cifar10_comparison.py --archive ../shared/data/cifar10-jpg.tar.gz --epochs 30
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# name -> (method, reflective, reflective_learning options)
CONFIGS = {
    "sade": ("sade", False, {}),
    "sade_rl": ("sade", True, {}),
    "bsce": ("bsce", False, {}),
    "bsce_rl": ("bsce", True, {}),
    # the review without the released code's per-batch class-count temperature (the diagnostics' comparison)
    "sade_rl_no_temperature": ("sade", True, {"batch_class_temperature": False}),
    "bsce_rl_no_temperature": ("bsce", True, {"batch_class_temperature": False}),
}
WIDTHS = {
    "full": {"sade": [16, 24, 48], "bsce": [16, 32, 64]},  # the LTRL CIFAR models
    "half": {"sade": [8, 12, 24], "bsce": [8, 16, 32]},
}
SHOWN = ("forward50", "forward10", "uniform", "backward10", "backward50")


def run_params(config: str, seed: int, args) -> dict:
    method, reflective, options = CONFIGS[config]
    return {
        "cifar_lt_rl": {
            "dataset": "cifar10_jpg",
            "method": method,
            "reflective": reflective,
            "reflective_learning": options,
            "recipe": "sade",
            "split": {"imbalance_ratio": 100, "n_max": args.n_max},
            "test_agnostic": {"ratios": [50, 10], "n_max": args.test_n_max},
            "model": {"widths": WIDTHS[args.widths][method]},
            "train": {
                "epochs": args.epochs, "warmup_epochs": 1, "schedule": "cosine", "seed": seed,
                "num_threads": args.threads, "log_every": 10,
            },
            "aggregation": {"pools": ["test", "train_reshaped"], "train_pool_n_max": args.test_n_max},
        }
    }  # fmt: skip


def latest(path: Path) -> Path:
    return sorted(p for p in path.iterdir() if p.is_dir())[-1] / path.name


def child(project: Path, params_json: str) -> None:
    """One run in this process (called through the command line by ``run_one``)."""
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project)
    with KedroSession.create(project_path=project, env="base", runtime_params=json.loads(params_json)) as session:
        session.run(pipeline_names=["cifar_lt_rl"])


def run_one(project: Path, config: str, seed: int, args, log_dir: Path) -> dict:
    params = run_params(config, seed, args)
    started = time.perf_counter()
    with open(log_dir / f"{config}_seed{seed}.log", "w") as log:
        subprocess.run(
            [sys.executable, __file__, "--child", str(project), json.dumps(params)],
            stdout=log, stderr=subprocess.STDOUT, check=True, env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"},
        )  # fmt: skip
    out = project / "data"
    metrics = json.loads(latest(out / "08_reporting/cifar_lt_rl/metrics.json").read_text())
    history = latest(out / "07_model_output/cifar_lt_rl/training_history.csv").read_text()
    wall = time.perf_counter() - started
    print(f"{config} seed {seed}: top-1 {metrics['top1']:.4f} ({wall:.0f} s)", flush=True)
    return {"config": config, "seed": seed, "metrics": metrics, "history_csv": history, "wall_s": wall}


def make_projects(workdir: Path, archive: Path, workers: int) -> list[Path]:
    from tests.fixtures import make_project_copy

    images = workdir / "cifar10-jpg"
    if not images.exists():
        with tarfile.open(archive) as tar:
            tar.extractall(images, filter="data")
    projects = []
    for k in range(workers):
        project = workdir / f"project{k}"
        if not project.exists():
            make_project_copy(project)
            (project / "data" / "01_raw" / "cifar10-jpg").symlink_to(images, target_is_directory=True)
        projects.append(project)
    return projects


def spread(values: list[float | None]) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.fmean(values):.3f} ± {(max(values) - min(values)) / 2:.3f}"


def report(results: list[dict], args) -> None:
    by_config: dict[str, list[dict]] = {}
    for r in results:
        by_config.setdefault(r["config"], []).append(r["metrics"])
    print(
        f"\nCIFAR-10-LT rho=100 from the JPEGs, n_max {args.n_max}, {args.widths} widths, {args.epochs} epochs "
        f"(sade recipe augmentation, 1 warm-up epoch, cosine), seeds {args.seeds}; mean ± half-range over seeds\n"
    )
    head = "| config | top-1 | many | medium | few | " + " | ".join(SHOWN) + " |"
    print(head + "\n" + "|---" * (head.count("|") - 1) + "|")
    for config, runs in by_config.items():
        cells = [spread([m[g] for m in runs]) for g in ("top1", "many", "medium", "few")]
        cells += [spread([m["test_agnostic"].get(d) for m in runs]) for d in SHOWN]
        print(f"| {config} | " + " | ".join(cells) + " |")
    print("\ntest-time aggregation (SADE): top-1 with learned weights, per pool; uniform weights (mean over seeds)\n")
    head = "| config | pool | " + " | ".join(SHOWN) + " | uniform weights |"
    print(head + "\n" + "|---" * (head.count("|") - 1) + "|")
    for config, runs in by_config.items():
        for pool, suffix in (("test", ""), ("train_reshaped", "_train_reshaped")):
            if f"test_agnostic_aggregated{suffix}" not in runs[0]:
                continue
            cells = [spread([m[f"test_agnostic_aggregated{suffix}"].get(d) for m in runs]) for d in SHOWN]
            weights = [m[f"expert_weights{suffix}"]["uniform"] for m in runs]
            mean_w = [round(statistics.fmean(w[k] for w in weights), 2) for k in range(len(weights[0]))]
            print(f"| {config} | {pool} | " + " | ".join(cells) + f" | {mean_w} |")
    print("\ntraining: images/s and wall time per run")
    for r in results:
        print(
            f"  {r['config']} seed {r['seed']}: {r['metrics']['train']['images_per_s']:.0f} img/s, {r['wall_s']:.0f} s"
        )


def review_table(results: list[dict], epochs: list[int]) -> None:
    import io

    import pandas as pd

    print("\nknowledge review per epoch (seed of the first run of each config): loss / share kept, by shot group\n")
    print("| config | epoch | review loss | kept all | kept many | kept medium | kept few | train acc |")
    print("|---|---|---|---|---|---|---|---|")
    seen = set()
    for r in results:
        if "_rl" not in r["config"] or r["config"] in seen:
            continue
        seen.add(r["config"])
        history = pd.read_csv(io.StringIO(r["history_csv"])).set_index("epoch")
        for e in [e for e in epochs if e in history.index]:
            h = history.loc[e]
            print(
                f"| {r['config']} | {e} | {h['review_loss']:.3f} | {h['review_kept']:.2f} "
                f"| {h['review_kept_many']:.2f} | {h['review_kept_medium']:.2f} | {h['review_kept_few']:.2f} "
                f"| {h['train_acc']:.2f} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "data" / "cifar10-jpg.tar.gz")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--n-max", type=int, default=1000, help="head-class images of the split (CIFAR-10: <= 5000)")
    parser.add_argument("--test-n-max", type=int, default=200, help="per-class images of the test-agnostic lists")
    parser.add_argument("--widths", choices=sorted(WIDTHS), default="half")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--configs", default="sade,sade_rl,bsce,bsce_rl", help=f"comma-separated from {list(CONFIGS)}")
    parser.add_argument("--extra-seed0", default="sade_rl_no_temperature,bsce_rl_no_temperature",
                        help="configs run for the first seed only (diagnostics)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None, help="keep the projects here (default: temp)")
    parser.add_argument("--out", type=Path, default=Path("real_cifar10_comparison.json"))
    parser.add_argument("--report", type=Path, nargs="+", help="print the tables of earlier --out files (merged)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.child:
        child(Path(args.child[0]), args.child[1])
        return
    if args.report:  # e.g. more seeds run later into another file: one table over all of them
        saved = [json.loads(path.read_text()) for path in args.report]
        for key in ("epochs", "n_max", "widths"):
            setattr(args, key, saved[0]["args"][key])
        results = sorted((r for s in saved for r in s["runs"]), key=lambda r: r["seed"])
        args.seeds = ",".join(sorted({str(r["seed"]) for r in results}, key=int))
        report(results, args)
        review_table(results, [1, 2, 5, 10, 20, int(args.epochs)])
        return
    if not args.archive.is_file():
        parser.error(f"{args.archive} not found (the CIFAR-10 JPEG archive of the shared data folder)")
    seeds = [int(s) for s in args.seeds.split(",")]
    jobs = [(c, s) for s in seeds for c in args.configs.split(",") if c]
    jobs += [(c, seeds[0]) for c in args.extra_seed0.split(",") if c]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="longtail_lab_real_"))
    workdir.mkdir(parents=True, exist_ok=True)
    projects = make_projects(workdir, args.archive, args.workers)
    print(f"{len(jobs)} runs in {workdir}, {args.workers} at a time; logs in {workdir}/logs", flush=True)
    (workdir / "logs").mkdir(exist_ok=True)
    free = list(projects)

    def work(job):
        project = free.pop()
        try:
            return run_one(project, *job, args, workdir / "logs")
        finally:
            free.append(project)

    with ThreadPoolExecutor(args.workers) as pool:
        results = list(pool.map(work, jobs))
    args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "runs": results}, indent=1))
    report(results, args)
    review_table(results, [1, 2, 5, 10, 20, args.epochs])


if __name__ == "__main__":
    main()
