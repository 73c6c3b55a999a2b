"""Reflective learning (LTRL, Zhao et al., ECCV 2024) as a plug-in around any classification loss.

- Knowledge review (KR): KL(previous-epoch prediction || current) at temperature T on samples whose
  stored prediction was correct, weight ``review_scale * T^2`` (3 T^2 for SADE, T^2 otherwise).
- Knowledge summary (KS): per-class median features of the previous epoch -> cosine similarity S ->
  soft targets (1 - alpha) onehot(y) + alpha softmax(S[y]); label smoothing in the first epoch.
- Knowledge correction (KC): per parameter tensor, the review gradient's component that conflicts with
  the main gradient is removed before the two are added.

Everything lives on the training device and is vectorised: no host synchronisation per step. The
memory bank, the class centres and the epoch counters are the objective's state, so they are part of
the run checkpoint and a resumed run continues exactly. Two options reproduce the released code's knowledge
review: ``batch_class_temperature`` (on by default: each sample's logits divided by the number of same-label
samples in its mini-batch, the method as it produced the published numbers) and ``first_epoch_zero_memory``
(off by default: in epoch 1 the all-zero memory makes every class-0 sample a "correct" one, pulled towards a
uniform prediction).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from longtail_lab.data.lists.long_tail import shot_groups
from longtail_lab.engine.batches import LabelledBatch
from longtail_lab.engine.step import Objective, StepContext
from longtail_lab.methods.supervised import accuracy_metric
from longtail_lab.models.outputs import ModelOutput
from longtail_lab.params import ParamBlock, Problems, setting


@dataclass(frozen=True, kw_only=True)
class ReflectiveOptions(ParamBlock):
    review: bool = True  # KR
    summary: bool = True  # KS
    correction: bool = True  # KC (needs review)
    temperature: float = setting(2.0, gt=0)
    # None: the loss's review_scale * T^2 (LTRL: 12 for SADE, 4 for BSCE/CE)
    review_weight: float | None = setting(None, ge=0)
    alpha: float = setting(0.01, ge=0, le=1)  # weight of the similarity part of the soft target (LTRL code)
    first_epoch_smoothing: float = setting(0.1, ge=0, le=1)
    # The released code divides each sample's logits by the number of same-label samples in its mini-batch
    # (student and stored prediction) in the review; not in the paper, but what produced the published numbers.
    batch_class_temperature: bool = True
    # The released code reviews against the all-zero memory in epoch 1: every class-0 sample counts as
    # "correct" and is pulled towards a uniform prediction. Off: samples without a stored prediction are skipped.
    first_epoch_zero_memory: bool = False

    @classmethod
    def from_params(cls, params, prefix: str = "reflective_learning") -> ReflectiveOptions:
        return super().from_params(params, prefix)

    def cross_check(self, prefix: str) -> Problems:
        if self.correction and not self.review:
            return [(f"{prefix}.correction", "needs review: true (knowledge correction projects the review gradient)")]
        return []


SHOT_GROUPS = ("many", "medium", "few")


# ------------------------------------------------------------------------------- knowledge review
def batch_class_counts(targets: torch.Tensor, num_classes: int) -> torch.Tensor:
    """n_b(y_i): how many samples of the mini-batch share sample i's label (LTRL's logit divisor)."""
    return torch.bincount(targets, minlength=num_classes)[targets]


def review_loss(
    student: torch.Tensor, teacher: torch.Tensor, targets: torch.Tensor, valid: torch.Tensor, temperature: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mean over kept rows of KL(softmax(teacher/T) || softmax(student/T)) (the caller applies the weight,
    LTRL's T^2 x 3 for SADE or T^2 for single-model losses).

    Kept rows: ``valid`` and argmax(teacher) == target (correctly classified instances). Returns the
    loss (0 with zero gradient when no row is kept), the kept mask and the per-row KL. No host sync.
    """
    keep = valid & (teacher.argmax(1) == targets)
    log_q = F.log_softmax(teacher / temperature, dim=1)
    log_p = F.log_softmax(student / temperature, dim=1)
    kl_rows = (log_q.exp() * (log_q - log_p)).sum(1)
    kept = keep.to(kl_rows.dtype)
    return (kl_rows * kept).sum() / kept.sum().clamp_min(1.0), keep, kl_rows


# ------------------------------------------------------------------------------ knowledge summary
def class_medians(features: torch.Tensor, labels: torch.Tensor, num_classes: int, chunk: int = 256) -> torch.Tensor:
    """Coordinate-wise (lower) median feature of every class, [C, D]; zeros for a class with no sample.

    Vectorised: per column, sort the values, then stable-sort by label, so each class's values are a
    sorted segment; the median is the segment's element (n - 1) // 2 (``torch.median`` convention).
    Columns are processed in chunks to bound memory on large sets.
    """
    counts = torch.bincount(labels, minlength=num_classes)
    starts = torch.cumsum(counts, 0) - counts
    pos = (starts + (counts - 1).clamp_min(0) // 2).clamp_max(max(len(labels) - 1, 0))
    out = torch.zeros(num_classes, features.shape[1], dtype=features.dtype, device=features.device)
    if len(labels) == 0:
        return out
    for c0 in range(0, features.shape[1], chunk):
        values, order = torch.sort(features[:, c0 : c0 + chunk], dim=0)
        by_label = labels[order]  # [N, d] labels in value order
        _, regroup = torch.sort(by_label, dim=0, stable=True)
        in_class_sorted = values.gather(0, regroup)
        out[:, c0 : c0 + chunk] = in_class_sorted[pos]
    return out * (counts > 0).unsqueeze(1).to(out.dtype)


def class_similarity(centres: torch.Tensor) -> torch.Tensor:
    """S[c, c'] = clamp(cos(m_c, m_c'), -1, 1), one matrix product."""
    unit = F.normalize(centres.float(), dim=1)
    return (unit @ unit.T).clamp_(-1.0, 1.0)


def soft_targets(
    targets: torch.Tensor, num_classes: int, similarity_rows: torch.Tensor | None, alpha: float, smoothing: float
) -> torch.Tensor:
    """(1 - alpha) onehot(y) + alpha * P[y] with P = softmax(S, dim=1); label smoothing when P is None."""
    onehot = F.one_hot(targets, num_classes).float()
    if similarity_rows is None:
        return onehot * (1.0 - smoothing) + smoothing / num_classes
    return onehot * (1.0 - alpha) + alpha * similarity_rows[targets]


# --------------------------------------------------------------------------- knowledge correction
def project_conflicting(main: torch.Tensor, review: torch.Tensor, segments: torch.Tensor, count: int):
    """Per segment (parameter tensor): main + review, minus review's component along main when they conflict.

    ``main``/``review`` are flat gradients, ``segments`` the parameter index of every element. Returns the
    corrected flat gradient and the per-segment conflict mask. Branch-free (``torch.where``): no host sync.
    """
    dot = torch.zeros(count, dtype=main.dtype, device=main.device).index_add_(0, segments, main * review)
    sq = torch.zeros(count, dtype=main.dtype, device=main.device).index_add_(0, segments, main * main)
    conflict = dot < 0
    coef = torch.where(conflict, dot / sq.clamp_min(torch.finfo(sq.dtype).tiny), torch.zeros_like(dot))
    return main + review - coef[segments] * main, conflict


def _flat_grads(params: list[nn.Parameter]) -> torch.Tensor:
    return torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1).float() for p in params])


# ------------------------------------------------------------------------------------- objective
class ReflectiveObjective(Objective):
    """``base_loss(output, targets)`` plus KR / KS / KC on a training split of ``num_samples``."""

    shown_epoch_metrics = ("review_loss", "review_kept")

    def __init__(
        self,
        base_loss: nn.Module,
        num_samples: int,
        num_classes: int,
        options: ReflectiveOptions,
        class_counts: Sequence[int] | None = None,
    ) -> None:
        """``class_counts`` (the training counts) split the review diagnostics by shot group (many / medium / few)."""
        self.base_loss = base_loss
        self.options = options
        # Knowledge correction needs the two gradients before DDP averages them: it all-reduces itself.
        self.reduces_gradients_itself = options.review and options.correction
        self.num_samples, self.num_classes = num_samples, num_classes
        self.review_weight = (
            options.review_weight
            if options.review_weight is not None
            else getattr(base_loss, "review_scale", 1.0) * options.temperature**2
        )
        if options.correction and not options.review:
            raise ValueError("parameter 'reflective_learning.correction' needs 'review': true (it corrects KR)")
        # shot group of every class (0 many, 1 medium, 2 few), for the per-group review diagnostics
        self.group_of = torch.zeros(num_classes, dtype=torch.long)
        if class_counts is not None:
            for g, name in enumerate(SHOT_GROUPS):
                self.group_of[shot_groups(np.asarray(class_counts))[name]] = g
        self.group_sizes = torch.bincount(self.group_of, minlength=len(SHOT_GROUPS)).tolist()
        self.device = torch.device("cpu")
        self.memory = torch.zeros(num_samples, num_classes)  # previous-epoch logits per training sample
        self.has_memory = torch.zeros(num_samples, dtype=torch.bool)
        self.written = torch.zeros(num_samples, dtype=torch.bool)  # visited in the current epoch
        self.features: torch.Tensor | None = None  # [N, D] this epoch's features, allocated at first use
        self.labels = torch.zeros(num_samples, dtype=torch.long)
        self.centres: torch.Tensor | None = None  # [C, D] previous epoch's class medians
        self.similarity_rows: torch.Tensor | None = None  # softmax(S, dim=1), derived from centres
        self._parts: tuple[torch.Tensor, torch.Tensor] | None = None
        self._segments: torch.Tensor | None = None
        self._stats = torch.zeros(4)  # review loss sum, kept samples, samples, conflicting tensors (sum of fractions)
        self._group_stats = torch.zeros(3, len(SHOT_GROUPS))  # per shot group: review loss of kept rows, kept, seen
        self._steps = 0

    # ---- state
    def to(self, device: torch.device) -> ReflectiveObjective:
        self.device = torch.device(device)
        self.base_loss = self.base_loss.to(device)
        # copy=True: DDP-spawned ranks receive this object through shared-memory pickling, so on the CPU a
        # no-op ``.to`` would leave every rank writing into the same memory bank.
        names = ("memory", "has_memory", "written", "features", "labels", "centres", "similarity_rows", "_stats")
        for name in (*names, "_group_stats", "group_of"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, value.to(device, copy=True))
        return self

    def state_dict(self) -> dict:
        state = {"memory": self.memory, "has_memory": self.has_memory}
        if self.centres is not None:
            state["centres"] = self.centres
        return {k: v.detach().cpu().clone() for k, v in state.items()}

    def load_state_dict(self, state: dict) -> None:
        if tuple(state["memory"].shape) != (self.num_samples, self.num_classes):
            raise ValueError(
                f"reflective memory of shape {tuple(state['memory'].shape)} does not fit a split of "
                f"{self.num_samples} samples and {self.num_classes} classes"
            )
        self.memory = state["memory"].to(self.device)
        self.has_memory = state["has_memory"].to(self.device)
        self.centres = state["centres"].to(self.device) if "centres" in state else None
        self.similarity_rows = None if self.centres is None else class_similarity(self.centres).softmax(1)

    # ---- step
    def loss(self, model, batch: LabelledBatch, epoch):
        opts = self.options
        images, targets, indices = batch.inputs, batch.targets, batch.indices
        output: ModelOutput = model(images, details=True)
        if opts.summary:
            target = soft_targets(
                targets, self.num_classes, self.similarity_rows, opts.alpha, opts.first_epoch_smoothing
            )
        else:
            target = targets
        main = self.base_loss(output, target)
        logits = output.logits.float()
        if opts.review:
            if opts.batch_class_temperature:
                logits = logits / batch_class_counts(targets, self.num_classes).unsqueeze(1)
            valid = (
                torch.ones_like(targets, dtype=torch.bool) if opts.first_epoch_zero_memory else self.has_memory[indices]
            )
            kr, keep, kl_rows = review_loss(logits, self.memory[indices], targets, valid, opts.temperature)
            kr = kr * self.review_weight
            self.memory[indices] = logits.detach()
            size = torch.full((), float(len(targets)), device=kr.device)
            self._stats[:3] += torch.stack([kr.detach() * size, keep.sum().float(), size])
            kept = keep.float()
            group = self.group_of[targets]
            rows = torch.stack([kl_rows.detach().float() * kept * self.review_weight, kept, torch.ones_like(kept)])
            self._group_stats.index_add_(1, group, rows)
        else:
            kr = torch.zeros((), device=main.device)
        self.written[indices] = True
        if opts.summary:
            features = output.features.detach().float()
            if self.features is None:
                self.features = torch.zeros(self.num_samples, features.shape[1], device=features.device)
            self.features[indices] = features
            self.labels[indices] = targets
        self._parts = (main, kr)
        return main + kr, accuracy_metric(output.logits, targets)

    def backward(self, loss: torch.Tensor, ctx: StepContext, model: nn.Module) -> None:
        main, kr = self._parts
        self._parts = None
        if not (self.options.review and self.options.correction):
            ctx.backward(main + kr)
            return
        params = [p for p in model.parameters() if p.requires_grad]
        # The loop runs this step under ``ctx.no_sync()`` (see ``reduces_gradients_itself``): two local
        # backward passes, then one all-reduce of both flat gradients.
        ctx.backward(main, retain_graph=True)
        x = _flat_grads(params)
        for p in params:
            p.grad = None
        ctx.backward(kr)
        y = _flat_grads(params)
        if ctx.world_size > 1:
            x, y = ctx.all_reduce(torch.stack([x, y]), op="mean")
        if self._segments is None or self._segments.numel() != x.numel():
            sizes = torch.tensor([p.numel() for p in params], device=x.device)
            self._segments = torch.repeat_interleave(torch.arange(len(params), device=x.device), sizes)
        g, conflict = project_conflicting(x, y, self._segments, len(params))
        self._stats[3] += conflict.float().mean()
        self._steps += 1
        for p, chunk in zip(params, g.split([p.numel() for p in params]), strict=True):
            p.grad = chunk.view_as(p).to(p.dtype)

    # ---- epoch
    def on_epoch_end(self, epoch: int, ctx: StepContext) -> None:
        if ctx.world_size > 1:
            self._merge_ranks(ctx)
        self.has_memory |= self.written
        if self.options.summary and self.features is not None:
            seen = self.written
            self.centres = class_medians(self.features[seen], self.labels[seen], self.num_classes)
            self.similarity_rows = class_similarity(self.centres).softmax(1)
        self.written.zero_()

    def _merge_ranks(self, ctx: StepContext) -> None:
        """Every rank wrote the rows of its shard: sum the written rows so all ranks hold the full banks."""
        mask = self.written.float()
        count = ctx.all_reduce(mask.clone())
        rows = count > 0
        if self.options.review:
            merged = ctx.all_reduce(self.memory * mask.unsqueeze(1))
            self.memory = torch.where(rows.unsqueeze(1), merged, self.memory)
        if self.options.summary and self.features is not None:
            self.features = ctx.all_reduce(self.features * mask.unsqueeze(1))
            self.labels = ctx.all_reduce(self.labels * self.written.long())
        self.written = rows

    def epoch_metrics(self) -> dict:
        """Diagnostics of the epoch just finished (one host sync per epoch), then reset."""
        kr_sum, kept, seen, conflict = self._stats.tolist()
        (loss_g, kept_g, seen_g) = self._group_stats.tolist()
        steps = max(self._steps, 1)
        self._stats.zero_()
        self._group_stats.zero_()
        self._steps = 0
        out = {}
        if self.options.review:
            out["review_loss"] = kr_sum / max(seen, 1)
            out["review_kept"] = kept / max(seen, 1)
            # per shot group: the share of its samples in the review term, and their mean review loss (NaN
            # when the group has no class or no kept sample)
            for g, name in enumerate(SHOT_GROUPS):
                out[f"review_kept_{name}"] = kept_g[g] / seen_g[g] if seen_g[g] else math.nan
                out[f"review_loss_{name}"] = loss_g[g] / kept_g[g] if kept_g[g] else math.nan
        if self.options.review and self.options.correction:
            out["conflicting_tensors"] = conflict / steps
        return out
