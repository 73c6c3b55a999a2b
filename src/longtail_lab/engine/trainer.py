"""``fit``: the one training loop, on CPU or CUDA (bf16), one process or DDP spawned inside the call."""

from __future__ import annotations

import dataclasses
import logging
import os
import random
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import torch
from lightning_fabric import Fabric
from torch import nn

from longtail_lab.engine.checkpoints import RunCheckpoints, atomic_save, check_signature, load_weights
from longtail_lab.engine.config import TrainConfig
from longtail_lab.engine.cpu_memory import keep_freed_memory
from longtail_lab.engine.progress import TrainProgress
from longtail_lab.engine.schedule import build_optimizer, build_scheduler, check_param_groups
from longtail_lab.engine.step import MetricSums, Objective, StepContext
from longtail_lab.engine.threads import use_threads
from longtail_lab.errors import NonFiniteLossError

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    model_state: dict
    history: list[dict]
    stats: dict


def resolve_precision(cfg: TrainConfig) -> tuple[bool, str]:
    """(use CUDA, Fabric precision): bf16 autocast on CUDA, fp32 on CPU unless set explicitly."""
    if cfg.accelerator == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("parameter 'train.accelerator' is 'cuda' but no CUDA device is available")
    cuda = torch.cuda.is_available() and cfg.accelerator in ("auto", "cuda", "gpu")
    return cuda, cfg.precision if cfg.precision != "auto" else ("bf16-mixed" if cuda else "32-true")


def make_fabric(cfg: TrainConfig) -> Fabric:
    cuda, precision = resolve_precision(cfg)
    if cfg.devices > 1:
        return Fabric(
            accelerator="cuda" if cuda else "cpu",
            devices=cfg.devices,
            strategy="ddp_spawn",
            precision=precision,
        )
    return Fabric(accelerator="cuda" if cuda else "cpu", devices=1, precision=precision)


def fit(
    make_model: Callable[[], nn.Module],
    make_batches: Callable[[torch.device, int, int], object],
    objective: Objective,
    cfg: TrainConfig,
    signature: dict,
    store: RunCheckpoints | None = None,
    fingerprint: str | None = None,
) -> FitResult:
    """Train ``make_model()`` on ``make_batches(device, rank, world_size)`` with ``objective``.

    With a ``store`` and ``fingerprint``, a checkpoint is written atomically after every epoch and a
    later call with the same fingerprint resumes from it (``cfg.resume``).
    """
    fabric = make_fabric(cfg)
    job = _FitJob(make_model, make_batches, objective, cfg, signature, store, fingerprint)
    if cfg.devices > 1:
        # Spawned workers hand results back through a pipe that the launcher reads only after they
        # exit, so a large result would deadlock: rank 0 writes it to a file and returns the path.
        with tempfile.TemporaryDirectory(prefix="longtail_lab_fit_") as tmp:
            path = fabric.launch(_run_job_to_file, job, os.path.join(tmp, "result.pt"))
            return FitResult(**torch.load(path, weights_only=True))
    return _run_job(fabric, job)


class _FitJob:
    """The arguments of one fit, in a plain object: Fabric's spawn launcher walks dataclass and
    collection arguments (and rejects frozen dataclasses), but passes other objects through as pickles."""

    def __init__(self, *args) -> None:
        self.args = args


def _run_job(fabric: Fabric, job: _FitJob) -> FitResult:
    return _fit(fabric, *job.args)


def _run_job_to_file(fabric: Fabric, job: _FitJob, path: str) -> str:
    result = _run_job(fabric, job)
    if fabric.global_rank == 0:
        atomic_save(dataclasses.asdict(result), path)
    return path


class FabricStepContext(StepContext):
    """``StepContext`` over a Fabric run: its backward (precision plugin + DDP), no_sync and all_reduce."""

    def __init__(self, fabric: Fabric, model: nn.Module) -> None:
        super().__init__(fabric.backward)
        self.fabric, self.model = fabric, model
        self.world_size = fabric.world_size

    def no_sync(self):
        return self.fabric.no_backward_sync(self.model, enabled=self.world_size > 1)

    def all_reduce(self, tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
        if self.world_size == 1:
            return tensor
        return self.fabric.all_reduce(tensor, reduce_op=op)


def _rng_state(device: torch.device) -> dict:
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": list(random.getstate()[1]) + [random.getstate()[0]],
    }
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))
    *internal, version = state["python"]
    random.setstate((version, tuple(internal), None))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def _fit(fabric, make_model, make_batches, objective, cfg, signature, store, fingerprint) -> FitResult:
    fabric.seed_everything(cfg.seed, verbose=False)
    device = fabric.device
    if device.type == "cpu":
        keep_freed_memory()
        use_threads(cfg.num_threads, fabric.world_size)
    module = make_model()
    if device.type == "cuda" and cfg.channels_last:
        module = module.to(memory_format=torch.channels_last)
    objective = objective.to(device)
    groups = objective.param_groups(module)
    check_param_groups(module, groups)
    optimizer = build_optimizer(cfg, groups)
    # checkpoints always hold ``module``'s own state dict (no compile wrapper prefixes)
    model, optimizer = fabric.setup(torch.compile(module) if cfg.compile else module, optimizer)
    batches = make_batches(device, fabric.global_rank, fabric.world_size)
    scheduler = build_scheduler(optimizer, cfg, len(batches))

    start_epoch, history = 0, []
    checkpoint = store.load(fingerprint) if (store is not None and fingerprint and cfg.resume) else None
    if checkpoint is not None:
        check_signature(checkpoint, signature, str(store.path(fingerprint)))
        load_weights(module, checkpoint["model"], store.path(fingerprint))
        optimizer.load_state_dict(checkpoint["optimizer"])
        scheduler.load_state_dict(checkpoint["scheduler"])
        objective.load_state_dict(checkpoint["objective"])
        batches.load_state_dict(checkpoint["batches"])
        _set_rng_state(checkpoint["rng"], device)
        start_epoch, history = int(checkpoint["epoch"]), list(checkpoint["history"])
        log.info("resuming from %s at epoch %d/%d", store.path(fingerprint), start_epoch, cfg.epochs)
    path = store.path(fingerprint) if (store is not None and fingerprint) else None
    saved_epoch = start_epoch if checkpoint is not None else None  # the epoch of the checkpoint on disk

    is_main = fabric.global_rank == 0
    ctx = FabricStepContext(fabric, model)
    with TrainProgress(cfg.epochs, len(batches), enabled=cfg.progress and is_main) as progress:
        for epoch in range(start_epoch, cfg.epochs):
            note = partial(_checkpoint_note, path, saved_epoch, epoch, cfg.resume)
            lr = optimizer.param_groups[0]["lr"]  # the epoch's (first) lr, also with a per-step schedule
            record = _train_epoch(
                fabric, ctx, model, optimizer, scheduler, objective, batches, epoch, cfg, progress, note
            )
            record["lr"] = lr
            if cfg.interval == "epoch":
                scheduler.step()
            objective.on_epoch_end(epoch, ctx)
            extra = objective.epoch_metrics()
            record.update(extra)
            history.append(record)
            progress.end_epoch(record, hidden=set(extra) - set(objective.shown_epoch_metrics))
            if store is not None and fingerprint and is_main:
                store.save(
                    fingerprint,
                    {
                        "format": 1,
                        "epoch": epoch + 1,
                        "fingerprint": fingerprint,
                        "model_signature": signature,
                        "config": cfg.to_dict(),
                        "model": module.state_dict(),
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "objective": objective.state_dict(),
                        "batches": batches.state_dict(),
                        "rng": _rng_state(device),
                        "history": history,
                    },
                )
            saved_epoch = epoch + 1 if path is not None else None  # rank 0 saved it (the ranks step together)

    state = {k: v.detach().cpu().clone() for k, v in module.state_dict().items()}
    run_time = sum(r["time_s"] for r in history)
    images = sum(r["images"] for r in history)
    stats = {
        "epochs": cfg.epochs,
        "resumed_from_epoch": start_epoch,
        "train_time_s": run_time,
        "images_per_s": images / run_time if run_time > 0 else 0.0,
        "device": str(device),
        "precision": resolve_precision(cfg)[1],
        "world_size": fabric.world_size,
        "num_threads": torch.get_num_threads() if device.type == "cpu" else None,
        "compiled": cfg.compile,
    }
    return FitResult(state, history, stats)


def _train_epoch(fabric, ctx, model, optimizer, scheduler, objective, batches, epoch, cfg, progress, note) -> dict:
    model.train()
    progress.start_epoch(epoch)
    device = fabric.device
    sums = MetricSums(device)
    first_bad = torch.full((), -1, device=device, dtype=torch.long)
    per_step = cfg.interval == "step"
    seen, step, global_step = 0, 0, epoch * len(batches)
    started = last_sync = time.perf_counter()
    for step, batch in enumerate(batches.epoch(epoch), start=1):
        with ctx.no_sync() if objective.reduces_gradients_itself else nullcontext():
            with fabric.autocast():
                loss, metrics = objective.loss(model, batch, epoch)
            optimizer.zero_grad(set_to_none=True)
            objective.backward(loss, ctx, model)
        optimizer.step()
        if per_step:
            scheduler.step()
        objective.on_step_end(global_step, epoch, model, ctx)
        global_step += 1
        loss = loss.detach().float()
        first_bad = torch.where((first_bad < 0) & ~torch.isfinite(loss), step, first_bad)
        size = len(batch)
        sums.add({"loss": loss, **metrics}, size)
        seen += size
        progress.advance(step)
        now = time.perf_counter()
        # the only host syncs inside an epoch: every ``log_every`` steps, or after ``log_interval_s`` seconds
        if step % cfg.log_every == 0 or now - last_sync >= cfg.log_interval_s:
            last_sync = now
            _raise_if_bad(first_bad, epoch, note)
            progress.update(epoch, step, sums.means(), seen / max(now - started, 1e-9))
    _raise_if_bad(first_bad, epoch, note)
    took = time.perf_counter() - started
    images = seen * fabric.world_size  # ranks see equal shards (to within one sample)
    return {
        "epoch": epoch + 1,
        **sums.means(),
        "images": images,
        "steps": step,
        "time_s": took,
        "images_per_s": images / took if took > 0 else 0.0,
    }


def _checkpoint_note(path: Path | None, saved_epoch: int | None, epoch: int, resume: bool) -> str:
    """What is on disk for this configuration when the run stops in 0-based ``epoch``, in words: only what is
    true (a run without a store saves nothing; a first epoch that did not finish saved nothing)."""
    if path is None:
        return "no checkpoint exists (this run saves none)"
    if saved_epoch is not None:
        return f"the last good checkpoint {path} (end of epoch {saved_epoch}) was kept"
    if path.exists():  # train.resume false: an earlier run's file, replaced only at the end of this run's epoch 1
        why = "train.resume is false" if not resume else "it appeared during this run"
        return f"this run saved no checkpoint; {path} is an earlier run's (not resumed: {why}), left as it was"
    return f"no checkpoint exists: epoch {epoch + 1} did not finish, so nothing was saved to {path}"


def _raise_if_bad(first_bad: torch.Tensor, epoch: int, note: Callable[[], str]) -> None:
    bad = int(first_bad.item())
    if bad >= 0:
        raise NonFiniteLossError(
            f"non-finite loss at epoch {epoch + 1}, step {bad}; the run stopped and {note()}. "
            f"Lower the learning rate (train.lr) or check the data."
        )
