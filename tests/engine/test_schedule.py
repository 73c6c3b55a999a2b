"""Learning-rate schedule and the typed training settings."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from longtail_lab.engine.config import TrainConfig
from longtail_lab.engine.schedule import build_optimizer, build_scheduler, check_param_groups, lr_factor
from longtail_lab.errors import ParameterError


@pytest.mark.parametrize("epoch", range(5))
def test_warmup_is_linear_from_one_fifth(epoch):
    assert lr_factor(epoch, 200, 5, "multistep", [160, 180]) == pytest.approx((1 + epoch) / 5)


@pytest.mark.parametrize(
    ("epoch", "expected"),
    [(5, 1.0), (100, 1.0), (159, 1.0), (160, 0.1), (179, 0.1), (180, 0.01), (199, 0.01)],
)
def test_multistep_decays_at_each_milestone(epoch, expected):
    assert lr_factor(epoch, 200, 5, "multistep", [160, 180], gamma=0.1) == pytest.approx(expected)


def test_cosine_starts_at_one_after_warmup_and_ends_near_zero():
    factors = [lr_factor(e, 200, 5, "cosine") for e in range(200)]
    assert factors[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    assert factors[5] == pytest.approx(1.0)
    assert factors[-1] < 1e-3
    after_warmup = factors[5:]
    assert all(a >= b for a, b in zip(after_warmup, after_warmup[1:], strict=False))
    # half way through the cosine part the factor is one half
    assert lr_factor(5 + 195 // 2, 200, 5, "cosine") == pytest.approx(0.5 * (1 + math.cos(math.pi * 97 / 195)))


def test_constant_schedule_is_one_after_warmup():
    assert [lr_factor(e, 10, 2, "constant") for e in range(4)] == pytest.approx([0.5, 1.0, 1.0, 1.0])


def test_no_warmup_starts_at_full_rate():
    assert lr_factor(0, 10, 0, "multistep", [5]) == 1.0
    assert lr_factor(5, 10, 0, "multistep", [5]) == pytest.approx(0.1)


@pytest.mark.parametrize("epoch", [0, 4, 10])
def test_unknown_schedule_names_the_parameter_in_and_after_warmup(epoch):
    with pytest.raises(ValueError, match=r"train\.schedule.*'step_decay'"):
        lr_factor(epoch, 20, 5, "step_decay")


def first_group_lrs(opt, sched, steps: int) -> list[float]:
    """The first group's lr at each of ``steps`` optimiser + scheduler steps."""
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def one_group(*shapes):
    return [{"params": [torch.nn.Parameter(torch.zeros(s)) for s in shapes or (1,)]}]


def settings(**values) -> TrainConfig:
    """A TrainConfig with ``values`` set directly (no cross-checks: schedules at their edges)."""
    return dataclasses.replace(TrainConfig(), **values)


def test_build_scheduler_validates_the_name_before_any_epoch():
    opt = build_optimizer(settings(lr=0.1, weight_decay=0.0), one_group())
    # epoch 0 is inside the warm-up, so only the up-front check can catch the bad name
    with pytest.raises(ValueError, match=r"train\.schedule"):
        build_scheduler(opt, settings(epochs=10, warmup_epochs=5, schedule="linear"))


def test_scheduler_steps_the_optimizer_lr_per_epoch():
    cfg = settings(lr=0.2, nesterov=True, epochs=6, warmup_epochs=2, milestones=(3, 5))
    opt = build_optimizer(cfg, one_group())
    sched = build_scheduler(opt, cfg)
    lrs = first_group_lrs(opt, sched, 6)
    assert lrs == pytest.approx([0.1, 0.2, 0.2, 0.02, 0.02, 0.002])
    assert opt.param_groups[0]["nesterov"] is True
    assert opt.param_groups[0]["weight_decay"] == 5e-4


def test_train_config_from_params_reads_values():
    cfg = TrainConfig.from_params(
        {"epochs": 3, "lr": 0.05, "milestones": [2, 3], "schedule": "cosine", "warmup_epochs": 1}
    )
    assert cfg.epochs == 3
    assert cfg.lr == 0.05
    assert cfg.milestones == (2, 3)
    assert cfg.schedule == "cosine"
    assert cfg.batch_size == TrainConfig().batch_size
    assert cfg.to_dict()["milestones"] == [2, 3]


def test_train_config_unknown_key_names_it():
    with pytest.raises(ValueError, match=r"'train\.learning_rate'"):
        TrainConfig.from_params({"epochs": 3, "learning_rate": 0.1})


def test_train_config_unknown_key_uses_the_prefix():
    with pytest.raises(ValueError, match=r"'cifar_lt\.train\.epoch'"):
        TrainConfig.from_params({"epoch": 3}, prefix="cifar_lt.train")


@pytest.mark.parametrize("key", ["epochs", "batch_size"])
def test_train_config_rejects_zero(key):
    with pytest.raises(ValueError, match=rf"'train\.{key}' must be an integer >= 1, got 0"):
        TrainConfig.from_params({key: 0, "warmup_epochs": 0, "milestones": []})


def test_fractional_milestones_follow_the_number_of_epochs():
    for epochs, expected in ((400, (200, 320, 360)), (30, (15, 24, 27)), (10, (5, 8, 9))):
        cfg = TrainConfig.from_params({"epochs": epochs, "milestones": [0.5, 0.8, 0.9], "warmup_epochs": 1})
        assert cfg.milestones == expected and cfg.to_dict()["milestones"] == list(expected)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"epochs": "three"}, r"'train.epochs' must be an integer >= 1, got 'three'"),
        ({"lr": -1}, r"'train.lr' must be a finite number > 0, got -1"),
        ({"lr": float("nan")}, r"'train.lr' must be a finite number > 0, got nan"),
        ({"seed": -1}, r"'train.seed' must be an integer seed, 0 <= seed < 2\*\*32 \(at most 4294967295\), got -1"),
        ({"num_threads": 0}, r"'train.num_threads' must be an integer >= 1 or one of 'auto', got 0"),
        (
            {"schedule": "step"},
            r"'train.schedule' must be one of 'multistep', 'cosine', 'poly', 'constant', got 'step'",
        ),
        ({"optimizer": "rmsprop"}, r"'train.optimizer' must be one of 'sgd', 'adam', 'adamw', got 'rmsprop'"),
        ({"interval": "iter"}, r"'train.interval' must be one of 'epoch', 'step', got 'iter'"),
        ({"optimizer": "adam", "nesterov": True}, r"'train.nesterov' is an SGD setting; train.optimizer is 'adam'"),
        ({"betas": [0.9]}, r"'train.betas'"),
        ({"milestones": "abc"}, r"'train.milestones' must be a list of integers or finite numbers, each > 0"),
        ({"epochs": 30, "milestones": [160, 180]}, r"'train.milestones' must fall inside the 30-epoch run"),
        ({"epochs": 4, "milestones": [1]}, r"'train.warmup_epochs' = 5 does not fit a 4-epoch run"),
    ],
)
def test_train_config_names_each_bad_key_and_what_is_allowed(params, message):
    with pytest.raises(ParameterError, match=message):
        TrainConfig.from_params(params)


def test_lr_alone_is_reported_not_with_the_warmup():
    """One message per bad key: a bad lr does not drag warmup_epochs into the message."""
    with pytest.raises(ParameterError) as info:
        TrainConfig.from_params({"lr": -1})
    assert [key for key, _ in info.value.problems] == ["train.lr"]


def test_train_config_rejects_non_positive_lr():
    with pytest.raises(ValueError, match=r"train\.lr"):
        TrainConfig.from_params({"lr": 0.0})


def test_poly_decays_from_one_to_zero_with_its_power():
    factors = [lr_factor(t, 100, 0, "poly", power=0.9) for t in range(100)]
    assert factors[0] == 1.0 and factors[50] == pytest.approx(0.5**0.9) and factors[99] == pytest.approx(0.01**0.9)
    assert all(a > b for a, b in zip(factors, factors[1:], strict=False))
    assert lr_factor(100, 100, 0, "poly") == 0.0  # never negative past the end


def test_per_step_schedule_scales_warmup_and_milestones_by_the_steps_per_epoch():
    cfg = settings(lr=1.0, epochs=3, warmup_epochs=1, milestones=(2,), interval="step")
    opt = build_optimizer(cfg, one_group())
    sched = build_scheduler(opt, cfg, steps_per_epoch=4)
    lrs = first_group_lrs(opt, sched, 12)
    assert lrs == pytest.approx([0.25, 0.5, 0.75, 1.0] + [1.0] * 4 + [0.1] * 4)


def test_per_step_poly_reaches_the_end_of_the_run_not_of_the_epoch():
    cfg = settings(lr=0.01, epochs=2, warmup_epochs=0, schedule="poly", power=1.0, interval="step")
    opt = build_optimizer(cfg, one_group())
    sched = build_scheduler(opt, cfg, steps_per_epoch=5)
    lrs = first_group_lrs(opt, sched, 10)
    assert lrs == pytest.approx([0.01 * (1 - t / 10) for t in range(10)])


@pytest.mark.parametrize(
    ("name", "kind"), [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)]
)
def test_optimizer_by_name_keeps_each_groups_lr_multiplier_through_the_schedule(name, kind):
    backbone, decoder = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(3))
    groups = [{"params": [backbone]}, {"params": [decoder], "lr_mult": 10.0, "weight_decay": 0.0}]
    cfg = settings(optimizer=name, lr=0.01, betas=(0.8, 0.99), epochs=4, warmup_epochs=0, milestones=(2,))
    opt = build_optimizer(cfg, groups)
    assert isinstance(opt, kind)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.01, 0.1])
    assert [g["weight_decay"] for g in opt.param_groups] == [cfg.weight_decay, 0.0]
    if name != "sgd":
        assert opt.param_groups[0]["betas"] == (0.8, 0.99)
    sched = build_scheduler(opt, cfg)
    for _ in range(2):
        opt.step()
        sched.step()
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.001, 0.01])


def test_settings_added_later_leave_the_fingerprint_of_older_runs_alone():
    cfg = TrainConfig.from_params({"epochs": 3, "warmup_epochs": 1, "milestones": [2]})
    assert not {"optimizer", "betas", "interval", "power"} & set(cfg.fingerprint_dict())
    adam = TrainConfig.from_params({"epochs": 3, "warmup_epochs": 1, "milestones": [2], "optimizer": "adam"})
    assert adam.fingerprint_dict()["optimizer"] == "adam"


def test_parameter_groups_must_cover_every_trainable_parameter_once():
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    check_param_groups(model, [{"params": list(model[0].parameters())}, {"params": list(model[1].parameters())}])
    with pytest.raises(ValueError, match=r"leave out \['1.weight', '1.bias'\] and repeat none"):
        check_param_groups(model, [{"params": list(model[0].parameters())}])
    with pytest.raises(ValueError, match=r"leave out none and repeat \['0.weight', '0.bias'\]"):
        check_param_groups(model, [{"params": list(model.parameters())}, {"params": list(model[0].parameters())}])
    model[1].requires_grad_(False)  # frozen parameters may stay out
    check_param_groups(model, [{"params": list(model[0].parameters())}])
