"""SADE / RIDE multi-expert CIFAR ResNet-32: both implementations of the expert part and their equivalence."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from longtail_lab.models import MODELS, build_model
from longtail_lab.models.experts_cifar import (
    DEFAULT_EXPERT_IMPL,
    EXPERT_IMPLS,
    ExpertResNetCifar,
    GroupedBasicBlock,
    GroupedShortcutA,
    grouped_state_to_loop,
    loop_state_to_grouped,
)
from longtail_lab.models.heads import NormedLinear
from longtail_lab.models.outputs import ModelOutput
from longtail_lab.models.resnet_cifar import BasicBlock, ShortcutA

TINY = (4, 8, 8)


def tiny(impl: str, num_experts: int = 3, num_classes: int = 10, **kwargs) -> ExpertResNetCifar:
    return ExpertResNetCifar(num_classes, num_experts, blocks=2, widths=TINY, expert_impl=impl, **kwargs)


def images(n: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def pair(num_experts: int = 3, normed: bool = True, seed: int = 0) -> tuple[ExpertResNetCifar, ExpertResNetCifar]:
    """A loop model with randomised BN parameters/buffers and a grouped model loaded from it."""
    torch.manual_seed(seed)
    loop = tiny("loop", num_experts, normed_classifier=normed)
    with torch.no_grad():
        for m in loop.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.3, 0.3)
                m.running_var.uniform_(0.5, 2.0)
    grouped = tiny("grouped", num_experts, normed_classifier=normed)
    grouped.load_state_dict(loop_state_to_grouped(loop.state_dict()))
    return loop, grouped


@pytest.mark.parametrize("impl", EXPERT_IMPLS)
@pytest.mark.parametrize("num_experts", [1, 3])
def test_output_shapes_and_logits_are_the_expert_mean(impl, num_experts):
    model = tiny(impl, num_experts, num_classes=7).eval()
    assert model.num_experts == num_experts and model.num_classes == 7
    x = images(5)
    with torch.no_grad():
        logits = model(x)
        out = model(x, details=True)
    assert isinstance(out, ModelOutput)
    assert logits.shape == (5, 7)
    assert out.logits.shape == (5, 7)
    assert out.expert_logits.shape == (num_experts, 5, 7)
    assert out.features.shape == (5, TINY[2])
    torch.testing.assert_close(out.logits, out.expert_logits.mean(0))
    torch.testing.assert_close(logits, out.logits)
    if num_experts > 1:  # experts are independently initialised, so they disagree
        assert (out.expert_logits[0] - out.expert_logits[1]).abs().max() > 1e-3


def test_full_size_architecture_follows_sade():
    model = build_model("resnet32_experts", 100, expert_impl="loop")
    assert model.conv1.out_channels == 16 and len(model.layer1) == 5
    assert len(model.layer2s) == len(model.layer3s) == len(model.linears) == 3
    for layer2, layer3, head in zip(model.layer2s, model.layer3s, model.linears, strict=True):
        assert len(layer2) == len(layer3) == 5
        assert layer2[0].conv1.stride == (2, 2) and layer2[0].conv1.out_channels == 24
        assert layer3[0].conv1.stride == (2, 2) and layer3[-1].conv2.out_channels == 48
        assert isinstance(head, NormedLinear) and head.weight.shape == (48, 100) and head.scale == 30.0
    assert sum(isinstance(m, BasicBlock) for m in model.modules()) == 5 + 2 * 5 * 3
    assert sum(isinstance(m, ShortcutA) for m in model.modules()) == 2 * 3
    assert len(list(model.parameters())) == 216  # SADE's ~216 parameter tensors

    grouped = build_model("resnet32_experts", 100, expert_impl="grouped")
    block = grouped.layer2[0]
    assert isinstance(block, GroupedBasicBlock) and isinstance(block.shortcut, GroupedShortcutA)
    assert block.conv1.groups == 3 and block.conv1.in_channels == 48 and block.conv1.out_channels == 72
    assert grouped.layer3[-1].bn2.num_features == 3 * 48
    assert grouped.head.weight.shape == (3, 48, 100)


def test_parameter_count_is_the_same_for_both_implementations():
    counts = {
        impl: sum(p.numel() for p in build_model("resnet32_experts", 100, expert_impl=impl).parameters())
        for impl in EXPERT_IMPLS
    }
    assert counts["loop"] == counts["grouped"] == 783_856
    full = {
        impl: sum(
            p.numel() for p in build_model("resnet32_experts", 100, widths=[16, 32, 64], expert_impl=impl).parameters()
        )
        for impl in EXPERT_IMPLS
    }
    assert full["loop"] == full["grouped"] > counts["loop"]


@pytest.mark.parametrize("scale", [30.0, 4.0])
@pytest.mark.parametrize("impl", EXPERT_IMPLS)
def test_cosine_head_logits_are_bounded_by_scale(impl, scale):
    model = tiny(impl, scale=scale).eval()
    with torch.no_grad():
        out = model(images(16) * 3, details=True)
    assert out.expert_logits.abs().max() <= scale + 1e-4
    assert out.expert_logits.abs().max() > 0.05 * scale


@pytest.mark.parametrize("normed", [True, False])
@pytest.mark.parametrize("num_experts", [1, 3])
@pytest.mark.parametrize("train", [False, True])
def test_loop_and_grouped_compute_the_same_function(normed, num_experts, train):
    loop, grouped = pair(num_experts, normed)
    loop.train(train)
    grouped.train(train)
    x = images(8, seed=1)
    a, b = loop(x, details=True), grouped(x, details=True)
    for u, v in zip(a, b, strict=True):
        torch.testing.assert_close(u, v, atol=1e-5, rtol=1e-5)
    assert a.logits.abs().max() > 0.1  # not trivially equal
    if train:  # the BN running statistics moved identically, too
        converted = loop_state_to_grouped(loop.state_dict())
        for key, value in grouped.state_dict().items():
            torch.testing.assert_close(value, converted[key], atol=1e-6, rtol=1e-5)
    # and the gradients agree, once mapped to the same layout
    F.cross_entropy(a.logits, torch.arange(8) % 10).backward()
    F.cross_entropy(b.logits, torch.arange(8) % 10).backward()
    loop_grads = loop_state_to_grouped({n: p.grad for n, p in loop.named_parameters()})
    for name, p in grouped.named_parameters():
        torch.testing.assert_close(p.grad, loop_grads[name], atol=1e-5, rtol=1e-4)


def test_state_dict_conversion_round_trips():
    loop, grouped = pair(3, normed=False)
    state = grouped_state_to_loop(grouped.state_dict(), 3)
    assert state.keys() == loop.state_dict().keys()
    for key, value in loop.state_dict().items():
        assert torch.equal(state[key], value), key


def test_grouped_shortcut_pads_each_expert_separately():
    x = torch.randn(2, 3 * 4, 8, 8)  # 3 experts x 4 channels
    grouped = GroupedShortcutA(4, 8, 3)
    for inp in (x, x.contiguous(memory_format=torch.channels_last)):
        out = grouped(inp)
        assert out.shape == (2, 24, 4, 4)
        for k in range(3):
            torch.testing.assert_close(out[:, 8 * k : 8 * k + 8], ShortcutA(4, 8)(x[:, 4 * k : 4 * k + 4]))
    assert grouped(x.contiguous(memory_format=torch.channels_last)).is_contiguous(memory_format=torch.channels_last)


def test_features_are_the_expert_average():
    torch.manual_seed(0)
    model = tiny("grouped").eval()
    x = images(4)
    with torch.no_grad():
        out = model(x, details=True)
        shared = model.layer1(F.relu(model.bn1(model.conv1(x))))
        per_expert = model.layer3(model.layer2(torch.cat([shared] * 3, 1))).mean((2, 3)).view(4, 3, TINY[2])
        # the logits are the cosine of each expert's own feature with its own head
        cosine = 30.0 * F.normalize(per_expert[:, 1], dim=1) @ F.normalize(model.head.weight[1], dim=0)
    torch.testing.assert_close(out.features, per_expert.mean(1))
    torch.testing.assert_close(out.expert_logits[1], cosine)
    assert (per_expert[:, 0] - per_expert[:, 2]).abs().max() > 1e-3  # the average is of different features


@pytest.mark.parametrize("impl", EXPERT_IMPLS)
def test_gradients_reach_every_expert(impl):
    torch.manual_seed(0)
    model = tiny(impl, num_classes=5).train()
    F.cross_entropy(model(images(8)), torch.arange(8) % 5).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    experts = (
        [(model.layer2s[k], model.layer3s[k], model.linears[k]) for k in range(3)]
        if impl == "loop"
        else [(model.layer2[0].conv1.weight.grad[8 * k : 8 * (k + 1)], model.head.weight.grad[k]) for k in range(3)]
    )
    for k, parts in enumerate(experts):
        if impl == "loop":
            grads = [p.grad for part in parts for p in part.parameters()]
        else:
            grads = list(parts)
        assert sum(g.abs().sum() for g in grads) > 0, f"expert {k} got no gradient"


def test_grouped_init_matches_per_expert_kaiming_normal():
    torch.manual_seed(0)
    model = ExpertResNetCifar(10, 3, blocks=1, widths=(16, 64, 64), expert_impl="grouped")
    conv = model.layer3[0].conv2  # [3*64, 64, 3, 3], groups=3
    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(conv.weight)
    assert fan_in == 64 * 9  # the per-expert fan, not E times it
    for k in range(3):
        std = conv.weight[64 * k : 64 * (k + 1)].std().item()
        assert std == pytest.approx((2 / fan_in) ** 0.5, rel=0.05)
    # each expert's NormedLinear columns have unit norm and differ between experts
    torch.testing.assert_close(model.head.weight.norm(dim=1), torch.ones(3, 10))
    assert not torch.allclose(model.head.weight[0], model.head.weight[1])
    # the plain linear head: Kaiming normal per expert (fan_in = D) and nn.Linear's bias bound 1/sqrt(D)
    linear = ExpertResNetCifar(400, 3, blocks=1, widths=(16, 64, 64), normed_classifier=False, expert_impl="grouped")
    for k in range(3):
        assert linear.head.weight[k].std().item() == pytest.approx((2 / 64) ** 0.5, rel=0.05)
    assert linear.head.bias.abs().max() <= 1 / 64**0.5
    assert linear.head.bias.std() > 0.5 / 64**0.5 / 3**0.5


def test_unknown_expert_impl_names_the_parameter():
    with pytest.raises(ValueError, match=r"model\.expert_impl.*'vmap'"):
        build_model("resnet32_experts", 10, expert_impl="vmap")


def test_registry_builds_the_default_model():
    assert "resnet32_experts" in MODELS
    model = build_model("resnet32_experts", 100, widths=[4, 8, 8])  # a list, as from YAML
    assert isinstance(model, ExpertResNetCifar)
    assert model.expert_impl == DEFAULT_EXPERT_IMPL and model.num_experts == 3 and model.num_classes == 100
    with torch.no_grad():
        assert model.eval()(images(2)).shape == (2, 100)


@pytest.mark.parametrize("impl", EXPERT_IMPLS)
def test_bf16_autocast_and_channels_last(impl):
    loop, grouped = pair(3)
    model = {"loop": loop, "grouped": grouped}[impl].train()
    reference = model(images(4), details=True)
    model = model.to(memory_format=torch.channels_last)
    x = images(4).contiguous(memory_format=torch.channels_last)
    out = model(x, details=True)
    for u, v in zip(out, reference, strict=True):
        torch.testing.assert_close(u, v, atol=1e-4, rtol=1e-4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(x, details=True)
    assert out.expert_logits.shape == (3, 4, 10) and out.features.shape == (4, TINY[2])
    assert all(torch.isfinite(t).all() for t in out)
    torch.testing.assert_close(out.logits.float(), reference.logits, atol=0.5, rtol=0.05)
    F.cross_entropy(out.logits.float(), torch.arange(4)).backward()
    assert all(p.grad is not None for p in model.parameters())
