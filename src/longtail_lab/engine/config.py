"""Typed training settings built from a parameters dict; unknown keys are an error naming the key."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 200
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    warmup_epochs: int = 5
    schedule: str = "multistep"  # multistep | cosine | constant
    milestones: tuple[int, ...] = (160, 180)
    gamma: float = 0.1
    seed: int = 0
    accelerator: str = "auto"  # auto | cpu | cuda
    devices: int = 1  # > 1: DDP spawned inside the training node
    precision: str = "auto"  # auto = bf16-mixed on CUDA, 32-true on CPU
    channels_last: bool = True  # used on CUDA only
    log_every: int = 50  # steps between progress refreshes (the only host syncs inside an epoch)
    resume: bool = True
    progress: bool = True

    @classmethod
    def from_params(cls, params: dict, prefix: str = "train") -> TrainConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - names)
        if unknown:
            raise ValueError(f"parameter '{prefix}.{unknown[0]}' is not a training setting; known: {sorted(names)}")
        values = dict(params)
        if "milestones" in values:
            values["milestones"] = tuple(int(m) for m in values["milestones"])
        cfg = cls(**values)
        for name in ("epochs", "batch_size", "devices", "log_every"):
            if int(getattr(cfg, name)) < 1:
                raise ValueError(f"parameter '{prefix}.{name}' must be >= 1, got {getattr(cfg, name)}")
        if cfg.warmup_epochs < 0 or cfg.lr <= 0:
            raise ValueError(f"parameters '{prefix}.warmup_epochs' must be >= 0 and '{prefix}.lr' > 0")
        return cfg

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["milestones"] = list(self.milestones)
        return out
