"""SADE test-time self-supervised aggregation of experts ("prediction stability maximisation").

The trained multi-expert model is frozen (eval mode, BN frozen). Only E raw weights ``a`` are learned
(initialised to 1/E each, normalised as ``w = softmax(a)``); the aggregated logits are ``sum_k w_k * v_k(x)``.
The loss is minus the mean cosine similarity (``eps=1e-6``) between the softmax of the aggregated logits of
two independent strong views of each unlabelled test image. SGD (momentum 0.9, Nesterov, weight decay 5e-4
on ``a``), batch 128, shuffled, at most 5 epochs; at the end of each epoch training stops if any weight is
below 0.05. The official code rounds the weights to 2 decimals before that check; we compare the unrounded
weights (so e.g. 0.0496 stops here but not there, 0.0504 stops there but not here).

Because the model is frozen and only E scalars are trained, the expert logits of each view do not depend on
``a``: computing every image's two views once per epoch (:class:`ViewLogitsCache`) and running the
optimisation on the cached logits is the same computation as the official per-batch forward passes, with
fresh view draws every epoch, and several test distributions (subsets of the same test images) share the
forward passes of an epoch. Which images are "unlabelled" is the caller's choice: the reference protocol
uses the test set itself (transductive); the official CIFAR script resamples the training pool instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from longtail_lab.engine.predict import BatchTransform, default_device, predict_expert_logits
from longtail_lab.params import MAX_SEED, ParamBlock, Problems, setting
from longtail_lab.progress import StepProgress

# epoch -> (view1, view2) expert logits, each [E, N, C]
ViewSource = Callable[[int], tuple[torch.Tensor, torch.Tensor]]
Indices = Sequence[int] | np.ndarray | torch.Tensor


def aggregate_logits(expert_logits: torch.Tensor, weights: torch.Tensor | Sequence[float]) -> torch.Tensor:
    """``sum_k weights[k] * expert_logits[k]``: [E, N, C] x [E] -> [N, C] (a weighted sum of logits)."""
    w = torch.as_tensor(weights, dtype=expert_logits.dtype, device=expert_logits.device)
    if w.shape != expert_logits.shape[:1]:
        raise ValueError(f"{len(w)} weights for {expert_logits.shape[0]} experts")
    return torch.tensordot(w, expert_logits, dims=1)


class ViewLogitsCache:
    """Expert logits of two independent random views of every image, computed lazily once per epoch.

    ``cache(epoch) -> (view1, view2)``, each [E, N, C] float32 on CPU. The views of epoch ``e`` are drawn from a
    generator seeded with ``(seed, e)``, so they are fresh every epoch, independent of the order in which epochs
    are asked for, and identical when recomputed. ``keep_epochs`` bounds how many epochs stay in memory
    (None: all; each epoch holds 2 x E x N x C floats, 24 MB for CIFAR-100's 10,000 test images).
    """

    def __init__(
        self,
        model: nn.Module,
        images: np.ndarray | torch.Tensor,
        transform: BatchTransform,
        batch_size: int = 512,
        device: torch.device | str | None = None,
        seed: int = 0,
        keep_epochs: int | None = None,
        progress: StepProgress | None = None,
    ) -> None:
        """``progress``: restarted for every epoch's views and advanced per batch of images."""
        if keep_epochs is not None and keep_epochs < 1:
            raise ValueError(f"keep_epochs must be >= 1 or None, got {keep_epochs}")
        self.model = model
        self.device = torch.device(device) if device is not None else default_device()
        if not isinstance(images, torch.Tensor):
            images = torch.from_numpy(np.ascontiguousarray(images))
        self.images = images.to(self.device)  # moved once, shared by every epoch and view
        self.transform = transform
        self.batch_size = batch_size
        self.seed = seed
        self.keep_epochs = keep_epochs
        self.progress = progress
        self.computed: list[int] = []  # epochs in the order they were computed (recomputations included)
        self._views: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def __len__(self) -> int:
        return len(self.images)

    def generator(self, epoch: int) -> torch.Generator:
        state = np.random.SeedSequence([self.seed, epoch]).generate_state(1, dtype=np.uint64)[0]
        return torch.Generator(device=self.device).manual_seed(int(state))

    def __call__(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        if epoch not in self._views:
            gen = self.generator(epoch)
            on_batch = None
            if self.progress is not None:
                self.progress.restart(f"aggregation views, epoch {epoch + 1}", 2 * len(self.images))
                on_batch = self.progress.advance
            views = tuple(
                predict_expert_logits(
                    self.model, self.images, self.batch_size, self.device, self.transform, gen, on_batch=on_batch
                )
                for _ in range(2)
            )
            self._views[epoch] = views
            self.computed.append(epoch)
            while self.keep_epochs is not None and len(self._views) > self.keep_epochs:
                del self._views[next(iter(self._views))]  # oldest first
        return self._views[epoch]


@dataclass
class AggregationResult:
    weights: list[float]  # softmax(a) after the last epoch run: the aggregation weights to evaluate with
    raw_weights: list[float]  # the learned parameter a itself
    epochs_run: int
    stopped_early: bool  # some weight fell below min_weight at the end of an epoch before the last one
    stability: list[float] = field(default_factory=list)  # per epoch: mean cosine(view1, view2) over its samples
    steps: int = 0  # SGD steps taken

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class AggregationOptions(ParamBlock):
    """The optimisation of the expert weights (defaults: SADE's CIFAR test-time configuration)."""

    epochs: int = setting(5, ge=1)
    lr: float = setting(0.1, gt=0)  # 0.025 ImageNet-LT, 0.2 iNat, 0.01 Places
    momentum: float = setting(0.9, ge=0, lt=1)
    nesterov: bool = True
    weight_decay: float = setting(5e-4, ge=0)
    batch_size: int = setting(128, ge=1)
    min_weight: float = setting(0.05, ge=0, lt=1)  # stop after an epoch that ends with a weight below this
    seed: int = setting(0, ge=0, le=MAX_SEED)

    def cross_check(self, prefix: str) -> Problems:
        if self.nesterov and self.momentum == 0:
            return [(f"{prefix}.nesterov", "needs momentum > 0")]
        return []


@dataclass(frozen=True, kw_only=True)
class ViewParams(ParamBlock):
    groups: int = setting(16, ge=1)  # colour-jitter draws per batch of views (= batch size for per-image draws)
    batch_size: int = setting(512, ge=1)  # images per forward pass of the frozen model


# Where the unlabelled images of each test distribution come from.
POOL = Literal["test", "train_reshaped"]


@dataclass(frozen=True, kw_only=True)
class AggregationParams(AggregationOptions):
    """The ``aggregation`` parameter block: the optimisation plus which images and views it learns from.

    ``pools`` lists the unlabelled image pools to learn weights from, each reported on its own:
    ``test`` (default, the paper's transductive protocol): each distribution's own test images, unlabelled;
    ``train_reshaped`` (SADE's released CIFAR script as first published): the balanced *training* set reshaped
    to each test distribution (same profile, ``train_pool_n_max`` images per class at the head, None = the
    balanced per-class size, e.g. 500 for CIFAR-100). Either way the weights are evaluated on the test
    distribution.
    """

    enabled: bool = True
    pools: tuple[POOL, ...] = ("test",)
    train_pool_n_max: int | None = setting(None, ge=1)
    views: ViewParams = ViewParams()

    def cross_check(self, prefix: str) -> Problems:
        problems = super().cross_check(prefix)
        if len(set(self.pools)) != len(self.pools):
            problems.append((f"{prefix}.pools", f"lists a pool twice: {list(self.pools)}"))
        return problems

    def options(self) -> AggregationOptions:
        names = {f.name for f in dataclasses.fields(AggregationOptions)}
        return AggregationOptions(**{k: v for k, v in vars(self).items() if k in names})


def _options(**options) -> AggregationOptions:
    return AggregationOptions.from_params(options, "aggregation")


def _subset_tensor(name: str, indices: Indices, num_images: int | None) -> torch.Tensor:
    """A 1-D int64 CPU index tensor; ``num_images`` None skips the range check (not known yet)."""
    idx = indices if isinstance(indices, torch.Tensor) else torch.as_tensor(np.asarray(indices))
    if idx.ndim != 1:
        raise ValueError(f"aggregation subset {name!r}: expected 1-D indices, got shape {tuple(idx.shape)}")
    if len(idx) == 0:
        raise ValueError(f"aggregation subset {name!r} is empty: no images to learn the expert weights from")
    if idx.dtype == torch.bool or idx.is_floating_point() or idx.is_complex():
        raise ValueError(f"aggregation subset {name!r}: expected integer indices, got {idx.dtype}")
    idx = idx.long().cpu()
    low, high = int(idx.min()), int(idx.max())
    if low < 0 or (num_images is not None and high >= num_images):
        raise ValueError(f"aggregation subset {name!r}: indices must lie in [0, {num_images}), got [{low}, {high}]")
    return idx


class _WeightLearner:
    """The optimisation state of one test distribution: weights, optimiser, shuffling generator, history."""

    def __init__(self, subset: torch.Tensor, num_experts: int, opts: AggregationOptions) -> None:
        self.subset = subset
        self.opts = opts
        self.a = nn.Parameter(torch.full((num_experts,), 1.0 / num_experts))
        self.optimizer = torch.optim.SGD(
            [self.a], lr=opts.lr, momentum=opts.momentum, nesterov=opts.nesterov, weight_decay=opts.weight_decay
        )
        self.shuffle = torch.Generator().manual_seed(opts.seed)
        self.stability: list[float] = []
        self.steps = 0
        self.stopped_early = False
        self.done = False

    def run_epoch(self, view1: torch.Tensor, view2: torch.Tensor) -> None:
        order = self.subset[torch.randperm(len(self.subset), generator=self.shuffle)]
        v1, v2 = view1[:, order], view2[:, order]  # one gather per epoch, then contiguous batches
        bs, total = self.opts.batch_size, torch.zeros(())
        for start in range(0, len(order), bs):
            w = torch.softmax(self.a, dim=0)
            p1 = torch.softmax(aggregate_logits(v1[:, start : start + bs], w), dim=1)
            p2 = torch.softmax(aggregate_logits(v2[:, start : start + bs], w), dim=1)
            cos = F.cosine_similarity(p1, p2, dim=1, eps=1e-6)
            self.optimizer.zero_grad(set_to_none=True)
            (-cos.mean()).backward()
            self.optimizer.step()
            total += cos.detach().sum()
            self.steps += 1
        self.stability.append(float(total) / len(order))
        below = bool((torch.softmax(self.a.detach(), dim=0) < self.opts.min_weight).any())
        last = len(self.stability) == self.opts.epochs
        self.stopped_early = below and not last
        self.done = below or last

    def result(self) -> AggregationResult:
        a = self.a.detach()
        return AggregationResult(
            weights=torch.softmax(a, dim=0).tolist(),
            raw_weights=a.tolist(),
            epochs_run=len(self.stability),
            stopped_early=self.stopped_early,
            stability=list(self.stability),
            steps=self.steps,
        )


@contextmanager
def _one_cpu_thread() -> Iterator[None]:
    """The optimisation is hundreds of tiny ops ([E, 128, C]): intra-op threads only add fork/join latency,
    and on a busy machine each parallel region can wait a whole scheduler slice (measured: 16 ms instead of
    10 us for one softmax on 2 contended cores). Run it single-threaded and restore the setting after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def aggregate_all(cache: ViewSource, subsets: Mapping[str, Indices], **options) -> dict[str, AggregationResult]:
    """Learn one set of expert weights per test distribution; ``subsets`` maps a name to image indices.

    Every distribution starts from fresh weights (1/E each) and is optimised independently (its own SGD state and
    shuffling, seeded with ``seed``); the result for a name equals ``learn_expert_weights(cache, indices)``.
    The distributions advance epoch by epoch in lockstep, so ``cache(epoch)`` is asked for epochs in increasing
    order and a cache that keeps a single epoch computes each epoch's views once. ``options``: the keyword
    arguments of :func:`learn_expert_weights`.
    """
    opts = _options(**options)
    if not subsets:
        return {}
    # check the subsets before the (expensive) first views; the size check once the number of images is known
    num_images = len(cache) if hasattr(cache, "__len__") else None
    checked = {name: _subset_tensor(name, idx, num_images) for name, idx in subsets.items()}
    learners: dict[str, _WeightLearner] = {}
    for epoch in range(opts.epochs):
        view1, view2 = cache(epoch)
        if view1.ndim != 3 or view1.shape != view2.shape:
            raise ValueError(f"views must be two [E, N, C] tensors of one shape, got {view1.shape} and {view2.shape}")
        if not learners:
            learners = {
                name: _WeightLearner(_subset_tensor(name, idx, view1.shape[1]), view1.shape[0], opts)
                for name, idx in checked.items()
            }
        view1, view2 = view1.cpu(), view2.cpu()  # the weights are learned on CPU (no-op for a ViewLogitsCache)
        with _one_cpu_thread():
            for learner in learners.values():
                if not learner.done:
                    learner.run_epoch(view1, view2)
        if all(learner.done for learner in learners.values()):
            break
    return {name: learner.result() for name, learner in learners.items()}


def learn_expert_weights(cache: ViewSource, subset_indices: Indices, **options) -> AggregationResult:
    """SADE's test-time aggregation weights for the images ``subset_indices`` of the cached views.

    ``cache(epoch) -> (view1, view2)`` expert logits [E, N, C] (e.g. a :class:`ViewLogitsCache`). Defaults are the
    official CIFAR settings (lr 0.1; 0.025 ImageNet-LT, 0.2 iNat, 0.01 Places). Training stops after the first
    epoch that ends with some weight below ``min_weight`` (unrounded); the weights returned are those after it.
    ``options`` (defaults): epochs 5, lr 0.1, momentum 0.9, nesterov True, weight_decay 5e-4, batch_size 128,
    min_weight 0.05, seed 0.
    """
    return aggregate_all(cache, {"subset_indices": subset_indices}, **options)["subset_indices"]
