"""Model registry, the CIFAR ResNet-32 and its heads."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from longtail_lab.models import MODELS, build_model, model_signature
from longtail_lab.models.heads import NormedLinear
from longtail_lab.models.resnet_cifar import BasicBlock, ShortcutA


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"model\.name.*'resnet18'.*\['resnet32', 'resnet32_experts'\]"):
        build_model("resnet18", 10)


def test_registry_knows_resnet32():
    assert "resnet32" in MODELS


def test_resnet32_has_three_stages_of_five_basic_blocks():
    model = build_model("resnet32", 10)
    assert [len(stage) for stage in (model.layer1, model.layer2, model.layer3)] == [5, 5, 5]
    assert sum(isinstance(m, BasicBlock) for m in model.modules()) == 15
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 31  # 6n + 1 convolutions plus the classifier = 32 weighted layers
    # option-A shortcuts have no parameters and appear only where the shape changes
    assert sum(isinstance(m, ShortcutA) for m in model.modules()) == 2


def test_resnet32_default_parameter_count():
    model = build_model("resnet32", 100)
    # the well-known ~0.46M parameters of the CIFAR-100 ResNet-32
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(470_000, rel=0.03)


@pytest.mark.parametrize("num_classes", [10, 100])
def test_output_shape_and_widths(num_classes):
    model = build_model("resnet32", num_classes, widths=(4, 8, 8)).eval()
    assert model.conv1.out_channels == 4
    assert model.layer1[-1].conv2.out_channels == 4
    assert model.layer2[0].conv1.out_channels == 8
    assert model.layer2[0].conv1.stride == (2, 2)
    assert model.layer3[-1].conv2.out_channels == 8
    assert model.fc.in_features == 8
    assert model.num_classes == num_classes
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert model(x).shape == (3, num_classes)
        assert model.features(x).shape == (3, 8)


@pytest.mark.parametrize("scale", [30.0, 5.0])
def test_normed_classifier_logits_are_bounded_by_scale(scale):
    model = build_model("resnet32", 7, widths=(4, 8, 8), normed_classifier=True, scale=scale).eval()
    assert isinstance(model.fc, NormedLinear)
    assert model.fc.weight.shape == (8, 7)
    torch.manual_seed(0)
    with torch.no_grad():
        logits = model(torch.randn(16, 3, 32, 32) * 3)
    assert logits.shape == (16, 7)
    assert logits.abs().max() <= scale + 1e-4
    assert logits.abs().max() > 0


def test_normed_linear_is_scaled_cosine():
    head = NormedLinear(4, 2, scale=10.0)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]]))
    x = torch.tensor([[3.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    expected = torch.tensor([[10.0, 0.0], [10 / 2**0.5, 10 / 2**0.5]])
    assert torch.allclose(head(x), expected, atol=1e-5)


def test_shortcut_a_subsamples_and_zero_pads_channels():
    x = torch.arange(2 * 4 * 4 * 4, dtype=torch.float32).view(2, 4, 4, 4)
    out = ShortcutA(4, 8)(x)
    assert out.shape == (2, 8, 2, 2)
    assert torch.equal(out[:, 2:6], x[:, :, ::2, ::2])
    assert out[:, :2].abs().sum() == 0 and out[:, 6:].abs().sum() == 0


def test_model_signature_records_name_classes_and_kwargs():
    sig = model_signature("resnet32", 10, widths=[4, 8, 8])
    assert sig == {"name": "resnet32", "num_classes": 10, "kwargs": {"widths": [4, 8, 8]}}
