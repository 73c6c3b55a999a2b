"""Per-step CPU timing of the official LTRL code (github.com/fistyee/LTRL) on a CIFAR-100-LT rho=100-sized split.

The official code is NOT part of this repository. Point --repo at your own checkout of it:

    git clone https://github.com/fistyee/LTRL /tmp/official_ltrl      # reference spec: HEAD 56f8eb4
    python benchmarks/official_ltrl_timing.py --repo /tmp/official_ltrl                 # sade, sade_rl, bsce_rl
    python benchmarks/official_ltrl_timing.py --repo /tmp/official_ltrl --steps 40 --configs sade_rl

For each config the script imports the official modules from --repo, builds the data loader, model, loss,
optimizer, LR scheduler and Trainer exactly as the official train.py does from the config JSON, and times the
official Trainer._train_epoch on the CPU for --warmup untimed + --steps timed batches, then stops it.

  config    official config file                                 loss
  sade      configs/sade/config_cifar100_ir100_sade.json         DiverseExpertLoss (SADE baseline)
  sade_rl   configs/sade/config_cifar100_ir100_sade_rl.json      DiverseExpertLoss_RL
  bsce_rl   configs/bsce/config_cifar100_ir100_ce_rl.json        CrossEntropyLoss_RL

Data: synthetic CIFAR-100 pickles (500 random uint8 32x32 images per class) are written to a temporary folder in
the torchvision layout; the official ImbalanceCIFAR100DataLoader subsamples them to the official rho=100 counts
(10,847 images) and feeds them through its own per-sample PIL pipeline (crop+flip+AutoAugment+Cutout, rand=True)
with the config's batch size (128) and DataLoader workers (4; --workers to change).

Epoch state: by default the timed steps are those of a steady-state epoch (epoch 2 onwards): the class-similarity
matrix is computed by the official compute_median_vector/compute_cosine_similarities from synthetic non-negative
features (that epoch-end cost is reported as its own column) and the prediction memory is pre-filled so that about
half of the samples count as correctly classified, so the KR mask is non-empty and every RL step takes both backward
passes, as in real training. --first-epoch times epoch 1 instead (no similarity matrix: the vectorised
label-smoothing branch; zero memory: KR mask = class-0 samples). Validation is not timed.

Runtime patches (the official files are never edited or copied; everything is undone after each config):
  * CPU: while the official objects are built, torch.Tensor.cuda is the identity and torch.cuda.device_count()
    returns 0 (the losses call .cuda() on constant tensors in __init__; the trainer picks cuda:0 when a GPU is
    visible); during the epoch-end similarity computation torch.zeros(device='cuda') is redirected to the CPU.
    Nothing CUDA-related is left in the timed step.
  * model/loss.py's DiverseExpertLoss.forward has a live pdb.set_trace(): that module's `pdb` is replaced by a stub
    whose set_trace() does nothing (affects only the `sade` baseline).
  * `sade` only: the LTRL trainer always unpacks `loss, kl_loss, memory_rows = criterion(...)`, but the baseline
    DiverseExpertLoss returns one tensor, so LTRL cannot train its own baseline as released. The baseline loss is
    wrapped to return (loss, 0, old memory rows): the trainer then takes its plain `loss.backward()` branch. The
    row still contains the LTRL trainer's extra per-step work (KS feature collection, memory gather/write,
    per-class accuracy loop), which the official SADE repository's trainer does not have.
  * The synthetic pickles do not have CIFAR's md5 sums: torchvision.datasets.cifar.check_integrity only checks
    that the files exist while the datasets are built (nothing is downloaded).
  * pandas >= 3 (Copy-on-Write) rejects the official MetricTracker's writes through `.values[:]` and chained
    assignment: a subclass does the same per-batch DataFrame updates with `.loc` (only when the original fails).
  * Timing only: forward hooks on the model and the loss, optimizer step hooks, a wrapper around
    torch.Tensor.backward, and a data-loader proxy that records batch hand-out times and stops _train_epoch by
    raising after the last timed batch. The trainer's own log lines are dropped (still formatted; --verbose
    shows them); tensorboard is off in the configs, so no stub is needed.

Columns: s/step is the wall time from one batch request of the training loop to the next (data wait included);
img/s = batch size / median s/step. The split columns are per-step means in ms and add up to the mean s/step:
data wait | forward (model) | KS+memory (extra_info, memory gather, per-sample feature collection) | loss |
backward 1 | backward 2 (KR loss) | KC (gradient clones, projection loop, grad write-back) | optimizer step |
metrics+log (loss.item, per-class accuracy loop, MetricTracker, log line + make_grid every 11th step) | other.
epoch-end KS: official median + cosine-similarity loop once per epoch (s), not included in s/step.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib
import io
import json
import logging
import os
import pickle
import random
import statistics
import subprocess
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path

import numpy as np
import torch

CONFIGS = {
    "sade": "configs/sade/config_cifar100_ir100_sade.json",
    "sade_rl": "configs/sade/config_cifar100_ir100_sade_rl.json",
    "bsce_rl": "configs/bsce/config_cifar100_ir100_ce_rl.json",
}
REQUIRED_FILES = (
    "train.py",
    "parse_config.py",
    "trainer/trainer.py",
    "model/loss.py",
    "model/model.py",
    "model/metric.py",
    "data_loader/data_loaders.py",
    "data_loader/cifar_data_loaders.py",
    *CONFIGS.values(),
)
REQUIRED_NAMES = {"model/loss.py": "DiverseExpertLoss_RL", "trainer/trainer.py": "orthogonal_graident"}
OFFICIAL_TOP_LEVEL = ("base", "data_loader", "logger", "model", "parse_config", "train", "trainer", "utils")
SEGMENTS = (
    ("data wait", "data"),
    ("forward", "forward"),
    ("KS+memory", "ks"),
    ("loss", "loss"),
    ("backward 1", "bwd1"),
    ("backward 2", "bwd2"),
    ("KC", "kc"),
    ("optimizer", "opt"),
    ("metrics+log", "post"),
    ("other", "other"),
)


class _Done(Exception):
    """Raised by the data-loader proxy to stop the official _train_epoch after the last timed batch."""


# ----------------------------------------------------------------------------------------------- repo checks


def check_repo(path: str | None) -> Path:
    """The LTRL checkout, or SystemExit with one clear message."""
    how = (
        "pass --repo PATH to a checkout of https://github.com/fistyee/LTRL (git clone https://github.com/fistyee/LTRL)"
    )
    if not path:
        raise SystemExit(f"error: --repo is required: {how}")
    repo = Path(path).expanduser().resolve()
    if not repo.is_dir():
        raise SystemExit(f"error: --repo {path} is not a directory: {how}")
    missing = [f for f in REQUIRED_FILES if not (repo / f).is_file()]
    missing += [
        f"{name} in {f}"
        for f, name in REQUIRED_NAMES.items()
        if (repo / f).is_file() and name not in (repo / f).read_text(errors="replace")
    ]
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise SystemExit(f"error: --repo {path} is not an LTRL checkout (missing {shown}): {how}")
    return repo


def describe_repo(repo: Path) -> str:
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown (not a git checkout)"
    digests = ", ".join(
        f"{f} sha256 {hashlib.sha256((repo / f).read_bytes()).hexdigest()[:12]}"
        for f in ("trainer/trainer.py", "model/loss.py")
    )
    return f"commit {commit}; {digests}"


def import_official(repo: Path) -> types.SimpleNamespace:
    """Import the official modules from the checkout (they use top-level names such as `model` and `utils`)."""
    clash = [name for name in OFFICIAL_TOP_LEVEL if name in sys.modules]
    if clash:
        raise SystemExit(f"error: modules {clash} are already imported; run this script in a fresh interpreter")
    sys.path.insert(0, str(repo))
    write_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # leave the user's checkout untouched (no new __pycache__ files)
    try:
        mods = types.SimpleNamespace(
            data=importlib.import_module("data_loader.data_loaders"),
            loss=importlib.import_module("model.loss"),
            arch=importlib.import_module("model.model"),
            metric=importlib.import_module("model.metric"),
            trainer=importlib.import_module("trainer.trainer"),
            parse_config=importlib.import_module("parse_config"),
            train=importlib.import_module("train"),
            utils=importlib.import_module("utils"),
        )
    finally:
        sys.dont_write_bytecode = write_bytecode
    # model/loss.py: DiverseExpertLoss.forward calls pdb.set_trace(); only that module's `pdb` is replaced.
    mods.loss.pdb = types.SimpleNamespace(set_trace=lambda *a, **k: None)
    patch_metric_tracker(mods)
    return mods


def patch_metric_tracker(mods: types.SimpleNamespace) -> None:
    """pandas >= 3: the official MetricTracker cannot even reset(); use the same DataFrame updates via .loc."""
    base = mods.utils.MetricTracker
    try:
        base("probe")
        return
    except ValueError:
        pass

    class MetricTracker(base):
        def reset(self):
            self._data.loc[:, :] = 0

        def update(self, key, value, n=1):
            if isinstance(value, tuple) and len(value) == 2:
                value, n = value
            if self.writer is not None:
                self.writer.add_scalar(key, value)
            self._data.loc[key, "total"] += value * n
            self._data.loc[key, "counts"] += n
            self._data.loc[key, "average"] = self._data.loc[key, "total"] / self._data.loc[key, "counts"]

    mods.trainer.MetricTracker = MetricTracker


# ----------------------------------------------------------------------------------------------- runtime patches


@contextlib.contextmanager
def patched(*patches: tuple[object, str, object]):
    """Temporarily set attributes: patches are (owner, name, value)."""
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    try:
        for owner, name, value in patches:
            setattr(owner, name, value)
        yield
    finally:
        for owner, name, value in reversed(saved):
            setattr(owner, name, value)


def _cpu_zeros(zeros):
    def wrapper(*args, **kwargs):
        if kwargs.get("device") is not None and torch.device(kwargs["device"]).type == "cuda":
            kwargs["device"] = "cpu"
        return zeros(*args, **kwargs)

    return wrapper


def on_cpu():
    """The official code's .cuda() / device_count() / device='cuda' calls stay on the CPU."""
    return patched(
        (torch.Tensor, "cuda", lambda self, *args, **kwargs: self),
        (torch.cuda, "device_count", lambda: 0),
        (torch, "zeros", _cpu_zeros(torch.zeros)),
    )


def fake_cifar_integrity():
    import torchvision.datasets.cifar as tv_cifar

    return patched((tv_cifar, "check_integrity", lambda fpath, md5=None: os.path.isfile(fpath)))


class BaselineAdapter:
    """LTRL's trainer expects (loss, kl_loss, memory_rows); the SADE baseline loss returns only the loss."""

    def __init__(self, criterion):
        self.criterion = criterion

    def __getattr__(self, name):
        return getattr(self.criterion, name)

    def __call__(self, output_logits, target, extra_info=None):
        loss = self.criterion(output_logits=output_logits, target=target, extra_info=extra_info)
        return loss, 0, extra_info["old_pred"]


# ----------------------------------------------------------------------------------------------- synthetic data


def write_synthetic_cifar100(root: Path, seed: int) -> None:
    """torchvision's cifar-100-python layout: 500 random images per class (train), 1 per class (test)."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True, exist_ok=True)
    for split, per_class in (("train", 500), ("test", 1)):
        labels = np.repeat(np.arange(100), per_class)
        rng.shuffle(labels)
        data = rng.integers(0, 256, size=(len(labels), 3 * 32 * 32), dtype=np.uint8)
        with open(folder / split, "wb") as f:
            pickle.dump({"data": data, "fine_labels": labels.tolist()}, f, protocol=pickle.HIGHEST_PROTOCOL)
    with open(folder / "meta", "wb") as f:
        pickle.dump({"fine_label_names": [f"class_{i:02d}" for i in range(100)]}, f)


# ----------------------------------------------------------------------------------------------- timing


class Clock:
    """Per-step timestamps; a step runs from one batch request of the training loop to the next."""

    def __init__(self):
        self.steps: list[dict] = []
        self._requested = 0.0

    def request(self) -> None:
        now = time.perf_counter()
        if self.steps:
            self.steps[-1]["end"] = now
        self._requested = now

    def got(self, images: int) -> None:
        self.steps.append({"req": self._requested, "got": time.perf_counter(), "images": images, "bwd": []})

    def mark(self, name: str) -> None:
        self.steps[-1][name] = time.perf_counter()


class StoppingLoader:
    """Proxy for the official data loader: records hand-out times and stops after `batches` batches."""

    def __init__(self, loader, batches: int, clock: Clock):
        self._loader, self._batches, self._clock, self._it = loader, batches, clock, None

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def __len__(self):
        return len(self._loader)

    def __iter__(self):
        self._it = iter(self._loader)
        for _ in range(self._batches):
            self._clock.request()
            batch = next(self._it)
            self._clock.got(len(batch[1]))
            yield batch
        self._clock.request()
        raise _Done

    def shutdown(self) -> None:
        if self._it is not None and hasattr(self._it, "_shutdown_workers"):
            self._it._shutdown_workers()
        self._it = None


def segments(step: dict) -> dict[str, float]:
    """Seconds per part of one step; the parts add up to the step time."""
    bwd = step["bwd"]
    b1 = bwd[0][1] - bwd[0][0]
    b2 = sum(end - start for start, end in bwd[1:])
    total = step["end"] - step["req"]
    parts = {
        "data": step["got"] - step["req"],
        "forward": step["fwd1"] - step["fwd0"],
        "ks": step["loss0"] - step["fwd1"],
        "loss": step["loss1"] - step["loss0"],
        "bwd1": b1,
        "bwd2": b2,
        "kc": step["opt0"] - bwd[0][1] - b2,
        "opt": step["opt1"] - step["opt0"],
        "post": step["end"] - step["opt1"],
    }
    parts["other"] = total - sum(parts.values())  # zero_grad, .to(device), `if kl_loss`
    parts["total"] = total
    return parts


def epoch_end_ks(trainer_mod, cls_num_list: list[int], dim: int, seed: int) -> tuple[float, torch.Tensor]:
    """Official epoch-end KS on synthetic features: seconds, and the similarity matrix for the next epoch."""
    gen = torch.Generator().manual_seed(seed)
    feats = torch.rand(sum(cls_num_list), dim, generator=gen).requires_grad_()  # post-ReLU-like, not detached
    rows = iter(feats)
    all_feature = [[next(rows) for _ in range(n)] for n in cls_num_list]
    started = time.perf_counter()
    with on_cpu():
        cos_feature = trainer_mod.compute_cosine_similarities(trainer_mod.compute_median_vector(all_feature))
    return time.perf_counter() - started, cos_feature.detach()


def time_config(name: str, repo: Path, mods: types.SimpleNamespace, args, data_root: Path, work: Path) -> dict:
    config_dict = mods.utils.read_json(repo / CONFIGS[name])
    modification = {"data_loader;args;data_dir": str(data_root), "trainer;save_dir": str(work / "saved" / name)}
    if args.workers is not None:
        modification["data_loader;args;num_workers"] = args.workers
    if args.batch_size is not None:
        modification["data_loader;args;batch_size"] = args.batch_size
    captured = io.StringIO()
    quiet = contextlib.nullcontext() if args.verbose else contextlib.redirect_stdout(captured)
    try:
        with quiet, on_cpu(), fake_cifar_integrity():
            # the same construction as the official train.py main()
            config = mods.parse_config.ConfigParser(config_dict, modification=modification, run_id="")
            data_loader = config.init_obj("data_loader", mods.data)
            valid_data_loader = data_loader.split_validation()
            model = config.init_obj("arch", mods.arch)
            loss_class = getattr(mods.loss, config["loss"]["type"])
            if hasattr(loss_class, "require_num_experts") and loss_class.require_num_experts:
                criterion = config.init_obj(
                    "loss",
                    mods.loss,
                    cls_num_list=data_loader.cls_num_list,
                    num_experts=config["arch"]["args"]["num_experts"],
                )
            else:
                criterion = config.init_obj("loss", mods.loss, cls_num_list=data_loader.cls_num_list)
            metrics = [getattr(mods.metric, met) for met in config["metrics"]]
            optimizer = config.init_obj("optimizer", torch.optim, model.parameters())
            lr_scheduler = mods.train.learing_rate_scheduler(optimizer, config)
            trainer = mods.trainer.Trainer(
                model,
                criterion,
                metrics,
                optimizer,
                config=config,
                data_loader=data_loader,
                valid_data_loader=valid_data_loader,
                lr_scheduler=lr_scheduler,
            )
    except Exception:
        sys.stdout.write(captured.getvalue())
        raise
    if trainer.device.type != "cpu":
        raise RuntimeError(f"official trainer chose {trainer.device}, expected cpu")
    if name == "sade":
        trainer.criterion = BaselineAdapter(trainer.criterion)

    dataset = data_loader.dataset
    batches = args.warmup + args.steps
    if batches > len(data_loader):
        raise SystemExit(f"error: --warmup + --steps = {batches} exceeds the {len(data_loader)} batches of one epoch")

    with torch.no_grad():  # feature size for the synthetic epoch-end KS (eval mode: BN statistics untouched)
        model.eval()
        feat_dim = model(torch.zeros(2, 3, 32, 32))["feat"].shape[-1]
        model.train()
    ks_seconds, cos_feature = epoch_end_ks(mods.trainer, data_loader.cls_num_list, feat_dim, args.seed)
    if args.first_epoch:
        epoch, cos_feature = 1, None
    else:
        epoch = 2
        gen = torch.Generator().manual_seed(args.seed)
        labels = torch.as_tensor(dataset.targets)
        memory = 0.1 * torch.randn(trainer.predictions.shape, generator=gen)
        correct = torch.rand(len(labels), generator=gen) < 0.5
        memory[correct, labels[correct]] += 1.0  # previous-epoch prediction correct for ~half of the samples
        trainer.predictions.copy_(memory)

    clock = Clock()
    loader = StoppingLoader(trainer.data_loader, batches, clock)
    trainer.data_loader = loader
    backward = torch.Tensor.backward

    def timed_backward(self, *a, **k):
        started = time.perf_counter()
        result = backward(self, *a, **k)
        clock.steps[-1]["bwd"].append((started, time.perf_counter()))
        return result

    criterion_module = trainer.criterion.criterion if name == "sade" else trainer.criterion
    handles = [
        model.register_forward_pre_hook(lambda *_: clock.mark("fwd0")),
        model.register_forward_hook(lambda *_: clock.mark("fwd1")),
        criterion_module.register_forward_pre_hook(lambda *_: clock.mark("loss0")),
        criterion_module.register_forward_hook(lambda *_: clock.mark("loss1")),
        optimizer.register_step_pre_hook(lambda *_: clock.mark("opt0")),
        optimizer.register_step_post_hook(lambda *_: clock.mark("opt1")),
    ]
    try:
        with patched((torch.Tensor, "backward", timed_backward)):
            trainer._train_epoch(epoch, cos_feature)
        raise RuntimeError("the official _train_epoch returned before the last timed batch")
    except _Done:
        pass
    finally:
        for handle in handles:
            handle.remove()
        loader.shutdown()

    timed = [segments(step) for step in clock.steps[args.warmup :]]
    median = statistics.median(p["total"] for p in timed)
    return {
        "config": name,
        "loss": config["loss"]["type"],
        "images": len(dataset),
        "batch_size": data_loader.batch_size,
        "workers": data_loader.num_workers,
        "steps": len(timed),
        "two_backward_steps": sum(p["bwd2"] > 0 for p in timed),
        "s_per_step_median": median,
        "s_per_step_mean": statistics.fmean(p["total"] for p in timed),
        "images_per_s": data_loader.batch_size / median,
        "split_ms": {key: 1000 * statistics.fmean(p[key] for p in timed) for _, key in SEGMENTS},
        "epoch_end_ks_s": ks_seconds,
        "steps_per_epoch": len(data_loader),
    }


def markdown(rows: list[dict]) -> str:
    head = ["config", "steps", "s/step (median)", "s/step (mean)", "img/s"]
    head += [f"{label} (ms)" for label, _ in SEGMENTS] + ["epoch-end KS (s/epoch)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["config"], str(r["steps"]), f"{r['s_per_step_median']:.3f}", f"{r['s_per_step_mean']:.3f}"]
        cells.append(f"{r['images_per_s']:.0f}")
        cells += [f"{r['split_ms'][key]:.1f}" for _, key in SEGMENTS]
        cells.append(f"{r['epoch_end_ks_s']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", help="checkout of https://github.com/fistyee/LTRL (not part of this repository)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per config (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (default 2)")
    parser.add_argument("--configs", default="sade,sade_rl,bsce_rl", help=f"comma-separated, from {sorted(CONFIGS)}")
    parser.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: the config's, 4)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the config's (128)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    parser.add_argument("--first-epoch", action="store_true", help="time epoch-1 steps instead of steady state")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--verbose", action="store_true", help="show the official code's prints and log lines")
    args = parser.parse_args()
    repo = check_repo(args.repo)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [c for c in configs if c not in CONFIGS]
    if unknown or not configs:
        parser.error(f"--configs: unknown {unknown}; choose from {sorted(CONFIGS)}")
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be >= 1 and --warmup >= 0")

    # the configs ask for 4 workers; torch warns when that exceeds the CPU count (reported in the header instead)
    warnings.filterwarnings("ignore", message="This DataLoader will create", category=UserWarning)
    logging.basicConfig(level=logging.WARNING)  # before the official ConfigParser's own basicConfig
    if not args.verbose:
        trainer_logger = logging.getLogger("trainer")
        trainer_logger.addHandler(logging.NullHandler())
        trainer_logger.propagate = False
    if args.threads:
        torch.set_num_threads(args.threads)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    mods = import_official(repo)
    rows = []
    with tempfile.TemporaryDirectory(prefix="official_ltrl_timing_") as tmp:
        work = Path(tmp)
        write_synthetic_cifar100(work / "data", args.seed)
        print(f"official LTRL at {repo} ({describe_repo(repo)})")
        print(
            f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, {os.cpu_count()} CPUs; "
            f"{'epoch-1' if args.first_epoch else 'steady-state (epoch >= 2)'} steps, "
            f"{args.warmup} warm-up + {args.steps} timed per config",
            flush=True,
        )
        for name in configs:
            r = time_config(name, repo, mods, args, work / "data", work)
            rows.append(r)
            print(
                f"  {name}: {r['loss']}, {r['images']} images, batch {r['batch_size']}, {r['workers']} workers, "
                f"{r['two_backward_steps']}/{r['steps']} steps with two backward passes, "
                f"{r['s_per_step_median']:.3f} s/step (median)",
                flush=True,
            )
    print()
    print(markdown(rows))
    print(
        "\nsplit columns: per-step means in ms (they add up to the mean s/step); img/s = batch / median s/step; "
        f"epoch-end KS runs once per {rows[0]['steps_per_epoch']}-step epoch and is not in s/step."
    )
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": rows}, indent=2))


if __name__ == "__main__":
    main()
