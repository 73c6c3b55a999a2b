"""SADE / RIDE multi-expert CIFAR ResNet-32: shared stem + layer1, per-expert layer2/layer3/classifier.

Two implementations of the per-expert part compute the same function (see ``loop_state_to_grouped``):

* ``"loop"``: one ``nn.Sequential`` stack per expert in ``nn.ModuleList``\\ s, run one after the other
  (the layout of SADE's ``expert_resnet_cifar.py``: ``layer2s``, ``layer3s``, ``linears``);
* ``"grouped"``: all experts at once. The shared layer1 output is repeated E times along the channels and
  every per-expert convolution becomes one grouped convolution (``groups=E``); BatchNorm over E*w channels
  is per-channel, hence per-expert; the option-A shortcut pads each expert's channel block separately; the
  E classifier heads are one batched matrix product.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn

from longtail_lab.models.heads import classifier
from longtail_lab.models.outputs import ModelOutput
from longtail_lab.models.resnet_cifar import Blocks, Scale, Widths, init_weights, make_stage
from longtail_lab.params import Bounds

ExpertImpl = Literal["grouped", "loop"]
EXPERT_IMPLS = get_args(ExpertImpl)
# benchmarks/expert_impl.py, CPU (2 threads, fp32, batch 128, CIFAR-100, channels_last input), forward+backward:
# loop 369 ms vs grouped 436 ms (1 thread: 700 vs 824 ms). oneDNN's grouped convolutions with 24/48 channels per
# group are slower than three dense ones. The loop layout also has SADE's state-dict keys.
DEFAULT_EXPERT_IMPL = "loop"


def _is_channels_last(x: torch.Tensor) -> bool:
    return x.dim() == 4 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


class GroupedShortcutA(nn.Module):
    """Option-A shortcut for E experts stacked along the channels: subsample by 2, zero-pad each expert's block."""

    def __init__(self, in_planes: int, planes: int, num_experts: int) -> None:
        super().__init__()
        self.in_planes, self.planes, self.num_experts = in_planes, planes, num_experts
        self.pad = (planes - in_planes) // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        channels_last = _is_channels_last(x)
        x = x[:, :, ::2, ::2]
        b, _, h, w = x.shape
        e, c, p = self.num_experts, self.in_planes, self.planes
        if channels_last:  # pad the innermost (channel) dimension and keep the channels_last layout
            y = F.pad(x.permute(0, 2, 3, 1).reshape(b, h, w, e, c), (self.pad, self.pad))
            return y.reshape(b, h, w, e * p).permute(0, 3, 1, 2)
        y = F.pad(x.reshape(b, e, c, h, w), (0, 0, 0, 0, self.pad, self.pad))
        return y.reshape(b, e * p, h, w)


class GroupedBasicBlock(nn.Module):
    """E independent BasicBlocks as grouped convolutions on [B, E*planes, H, W]."""

    def __init__(self, in_planes: int, planes: int, stride: int, num_experts: int) -> None:
        super().__init__()
        e = num_experts
        self.conv1 = nn.Conv2d(e * in_planes, e * planes, 3, stride, 1, groups=e, bias=False)
        self.bn1 = nn.BatchNorm2d(e * planes)
        self.conv2 = nn.Conv2d(e * planes, e * planes, 3, 1, 1, groups=e, bias=False)
        self.bn2 = nn.BatchNorm2d(e * planes)
        needs_shortcut = stride != 1 or in_planes != planes
        self.shortcut = GroupedShortcutA(in_planes, planes, e) if needs_shortcut else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def make_grouped_stage(in_planes: int, planes: int, blocks: int, stride: int, num_experts: int) -> nn.Sequential:
    layers = [GroupedBasicBlock(in_planes, planes, stride, num_experts)]
    layers += [GroupedBasicBlock(planes, planes, 1, num_experts) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


class GroupedClassifier(nn.Module):
    """E classifier heads applied at once: features [B, E, D] -> logits [E, B, C].

    ``normed=True``: E ``NormedLinear`` heads, weight [E, D, C] (each expert's weight as NormedLinear stores
    it), logits = scale * cosine. ``normed=False``: E ``nn.Linear`` heads, weight [E, C, D] and bias [E, C].
    """

    def __init__(self, num_experts: int, in_features: int, num_classes: int, normed: bool, scale: float) -> None:
        super().__init__()
        self.normed, self.scale = normed, scale
        e, d, c = num_experts, in_features, num_classes
        if normed:
            self.weight = nn.Parameter(torch.empty(e, d, c))
            self.register_parameter("bias", None)
        else:
            self.weight = nn.Parameter(torch.empty(e, c, d))
            self.bias = nn.Parameter(torch.empty(e, c))
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        for k in range(self.weight.shape[0]):  # per expert, exactly as the loop version initialises each head
            if self.normed:  # NormedLinear: uniform(-1, 1), then unit-norm columns
                self.weight[k].uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5)
            else:  # init_weights() on an nn.Linear: Kaiming-normal weight (fan_in = D), default bias
                nn.init.kaiming_normal_(self.weight[k])
                bound = 1 / math.sqrt(self.weight.shape[2])
                self.bias[k].uniform_(-bound, bound)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        f = features.transpose(0, 1)  # [E, B, D]
        if self.normed:
            return self.scale * torch.matmul(F.normalize(f, dim=2), F.normalize(self.weight, dim=1))
        return torch.baddbmm(self.bias.unsqueeze(1), f, self.weight.transpose(1, 2))


class ExpertResNetCifar(nn.Module):
    """``forward(x) -> logits`` (mean over experts); ``forward(x, details=True) -> ModelOutput``."""

    num_experts = 3

    def __init__(
        self,
        num_classes: int,
        num_experts: int = 3,
        blocks: int = 5,
        widths: Sequence[int] = (16, 24, 48),
        normed_classifier: bool = True,
        scale: float = 30.0,
        expert_impl: str = DEFAULT_EXPERT_IMPL,
    ) -> None:
        super().__init__()
        if expert_impl not in EXPERT_IMPLS:
            raise ValueError(
                f"parameter 'model.expert_impl': unknown expert implementation {expert_impl!r}; "
                f"known: {sorted(EXPERT_IMPLS)}"
            )
        if num_experts < 1:
            raise ValueError(f"parameter 'model.num_experts': must be >= 1, got {num_experts}")
        w1, w2, w3 = (int(w) for w in widths)
        for name, (w_in, w_out) in {"layer2": (w1, w2), "layer3": (w2, w3)}.items():
            if w_out < w_in or (w_out - w_in) % 2:
                raise ValueError(f"parameter 'model.widths': option-A shortcut of {name} needs an even increase")
        self.num_classes, self.num_experts, self.expert_impl = num_classes, num_experts, expert_impl
        self.feature_dim = w3
        self.conv1 = nn.Conv2d(3, w1, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w1)
        self.layer1 = make_stage(w1, w1, blocks, 1)
        if expert_impl == "loop":
            self.layer2s = nn.ModuleList(make_stage(w1, w2, blocks, 2) for _ in range(num_experts))
            self.layer3s = nn.ModuleList(make_stage(w2, w3, blocks, 2) for _ in range(num_experts))
            self.linears = nn.ModuleList(
                classifier(w3, num_classes, normed_classifier, scale) for _ in range(num_experts)
            )
            init_weights(self)
        else:
            self.layer2 = make_grouped_stage(w1, w2, blocks, 2, num_experts)
            self.layer3 = make_grouped_stage(w2, w3, blocks, 2, num_experts)
            self.head = GroupedClassifier(num_experts, w3, num_classes, normed_classifier, scale)
            # Kaiming normal with mode fan_in: a grouped weight [E*out, in, k, k] has fan_in = in*k*k, the
            # per-expert fan, so this draws every expert's filters from the loop version's distribution.
            init_weights(self)  # the head is not an nn.Linear; it was initialised per expert above

    def _experts(self, shared: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Shared layer1 output -> (expert logits [E, B, C], expert features [E, B, D])."""
        if self.expert_impl == "loop":
            feats, logits = [], []
            for layer2, layer3, linear in zip(self.layer2s, self.layer3s, self.linears, strict=True):
                f = F.adaptive_avg_pool2d(layer3(layer2(shared)), 1).flatten(1)
                feats.append(f)
                logits.append(linear(f))
            return torch.stack(logits), torch.stack(feats)
        e = self.num_experts
        x = torch.cat([shared] * e, dim=1) if e > 1 else shared  # cat keeps channels_last (repeat does not)
        x = self.layer3(self.layer2(x))
        feats = F.adaptive_avg_pool2d(x, 1).flatten(1).view(x.shape[0], e, self.feature_dim)  # [B, E, D]
        return self.head(feats), feats.transpose(0, 1)

    def forward(self, x: torch.Tensor, details: bool = False) -> torch.Tensor | ModelOutput:
        shared = self.layer1(F.relu(self.bn1(self.conv1(x))))
        expert_logits, expert_feats = self._experts(shared)
        logits = expert_logits.mean(0)
        return ModelOutput(logits, expert_logits, expert_feats.mean(0)) if details else logits


_EXPERT_KEY = re.compile(r"^(layer2s|layer3s|linears)\.(\d+)\.(.+)$")
_GROUPED_PREFIX = {"layer2s": "layer2", "layer3s": "layer3", "linears": "head"}


def loop_state_to_grouped(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """State dict of ``expert_impl="loop"`` -> the same function for ``expert_impl="grouped"``.

    Per-expert convolution weights and BatchNorm parameters/buffers are concatenated along the output
    channels (expert-major, matching ``groups=E``); head weights are stacked along a new leading expert
    dimension. ``num_batches_tracked`` is the same for all experts; the first one is kept.
    """
    out: dict[str, torch.Tensor] = {}
    per_expert: dict[str, dict[int, torch.Tensor]] = {}
    for key, value in state_dict.items():
        m = _EXPERT_KEY.match(key)
        if m is None:
            out[key] = value
            continue
        group, index, rest = m.groups()
        per_expert.setdefault(f"{_GROUPED_PREFIX[group]}.{rest}", {})[int(index)] = value
    for key, tensors in per_expert.items():
        values = [tensors[k] for k in sorted(tensors)]
        if sorted(tensors) != list(range(len(values))):
            raise ValueError(f"experts of {key!r} are not numbered 0..E-1: {sorted(tensors)}")
        if key.startswith("head."):
            out[key] = torch.stack(values)
        elif values[0].dim() == 0:
            out[key] = values[0].clone()
        else:
            out[key] = torch.cat(values)
    return out


def grouped_state_to_loop(state_dict: Mapping[str, torch.Tensor], num_experts: int) -> dict[str, torch.Tensor]:
    """Inverse of ``loop_state_to_grouped``."""
    inverse = {v: k for k, v in _GROUPED_PREFIX.items()}
    out: dict[str, torch.Tensor] = {}
    for key, value in state_dict.items():
        prefix, _, rest = key.partition(".")
        if prefix not in inverse:
            out[key] = value
            continue
        if prefix == "head":
            parts = value.unbind(0)
        elif value.dim() == 0:
            parts = [value.clone() for _ in range(num_experts)]
        else:
            parts = value.chunk(num_experts, dim=0)
        for k, part in enumerate(parts):
            out[f"{inverse[prefix]}.{k}.{rest}"] = part.clone()
    return out


def resnet32_experts(
    num_classes: int,
    num_experts: Annotated[int, Bounds(ge=1)] = 3,
    widths: Widths = (16, 24, 48),
    normed_classifier: bool = True,
    scale: Scale = 30.0,
    expert_impl: ExpertImpl = DEFAULT_EXPERT_IMPL,
    blocks: Blocks = 5,
) -> ExpertResNetCifar:
    """SADE's CIFAR ``ResNet32Model``: 3 experts, ``reduce_dimension=true`` widths, NormedLinear x30. ``blocks``
    < 5 (BasicBlocks per stage) makes a shallower network for smoke runs; the papers' numbers are for 5."""
    if blocks < 1:
        raise ValueError(f"parameter 'model.blocks' must be >= 1, got {blocks}")
    return ExpertResNetCifar(num_classes, num_experts, blocks, tuple(widths), normed_classifier, scale, expert_impl)
