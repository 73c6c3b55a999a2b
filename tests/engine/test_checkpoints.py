"""Atomic checkpoint files, loading errors, model signatures and run fingerprints."""

from __future__ import annotations

import pytest
import torch

from longtail_lab.engine.checkpoints import (
    CheckpointError,
    RunCheckpoints,
    atomic_save,
    check_signature,
    fingerprint,
    load_checkpoint,
)
from longtail_lab.models import model_signature


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_atomic_save_replaces_content_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "run" / "last.pt"
    atomic_save({"model": {"w": torch.ones(3)}, "epoch": 1}, path)
    atomic_save({"model": {"w": torch.full((3,), 7.0)}, "epoch": 2}, path)
    loaded = load_checkpoint(path)
    assert loaded["epoch"] == 2
    assert torch.equal(loaded["model"]["w"], torch.full((3,), 7.0))
    assert _leftovers(path.parent) == ["last.pt"]


def test_atomic_save_failure_keeps_old_file_and_removes_temp(tmp_path):
    path = tmp_path / "last.pt"
    atomic_save({"model": {}, "epoch": 1}, path)
    before = path.read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - pickling a lambda fails inside torch.save
        atomic_save({"model": {}, "fn": lambda: 0}, path)
    assert path.read_bytes() == before
    assert _leftovers(tmp_path) == ["last.pt"]


def test_load_checkpoint_truncated_names_the_path(tmp_path):
    path = tmp_path / "last.pt"
    atomic_save({"model": {"w": torch.randn(64, 64)}, "epoch": 3}, path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_load_checkpoint_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "nope.pt")


def test_load_checkpoint_without_model_entry(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"weights": torch.ones(1)}, path)
    with pytest.raises(CheckpointError, match="no 'model' entry") as info:
        load_checkpoint(path)
    assert str(path) in str(info.value)


def test_run_checkpoints_round_trip(tmp_path):
    store = RunCheckpoints(tmp_path / "runs")
    assert store.load("abc") is None
    written = store.save("abc", {"model": {"b": torch.arange(4)}, "epoch": 5})
    assert written == tmp_path / "runs" / "abc" / "last.pt"
    assert store.path("abc") == written
    assert store.load("abc")["epoch"] == 5
    assert store.load("other") is None


SIG = model_signature("resnet32", 10, widths=[4, 8, 8], normed_classifier=False)


def test_check_signature_accepts_the_same_model():
    check_signature({"model_signature": dict(SIG)}, SIG, "ckpt")


@pytest.mark.parametrize(
    ("found", "pattern"),
    [
        (model_signature("resnet56", 10, widths=[4, 8, 8], normed_classifier=False), "'resnet56'"),
        (model_signature("resnet32", 100, widths=[4, 8, 8], normed_classifier=False), "100 classes"),
        (model_signature("resnet32", 10, widths=[16, 32, 64], normed_classifier=False), "model options"),
        (model_signature("resnet32", 10, widths=[4, 8, 8], normed_classifier=True), "model options"),
    ],
)
def test_check_signature_refuses_another_model(found, pattern):
    with pytest.raises(CheckpointError, match=pattern) as info:
        check_signature({"model_signature": found}, SIG, "runs/x/last.pt")
    assert str(info.value).startswith("runs/x/last.pt")


def test_check_signature_requires_a_signature():
    with pytest.raises(CheckpointError, match="no model signature"):
        check_signature({"model": {}}, SIG, "ckpt")


def test_model_signature_sorts_kwargs():
    a = model_signature("resnet32", 10, widths=[4, 8, 8], scale=30.0)
    b = model_signature("resnet32", 10, scale=30.0, widths=[4, 8, 8])
    assert a == b
    assert list(a["kwargs"]) == ["scale", "widths"]


def test_fingerprint_is_stable_across_key_order():
    a = {"dataset": "cifar100", "train": {"lr": 0.1, "epochs": 2}, "loss": "ce"}
    b = {"loss": "ce", "train": {"epochs": 2, "lr": 0.1}, "dataset": "cifar100"}
    assert fingerprint(a) == fingerprint(b)
    assert len(fingerprint(a)) == 16
    int(fingerprint(a), 16)


@pytest.mark.parametrize(
    "change",
    [
        {"loss": "balanced_softmax"},
        {"train": {"lr": 0.2, "epochs": 2}},
        {"train": {"lr": 0.1, "epochs": 3}},
        {"dataset": "cifar10"},
    ],
)
def test_fingerprint_differs_for_different_values(change):
    base = {"dataset": "cifar100", "train": {"lr": 0.1, "epochs": 2}, "loss": "ce"}
    assert fingerprint({**base, **change}) != fingerprint(base)


def test_a_checkpoint_of_another_dataset_names_both_datasets():
    found = {"model_signature": {"name": "resnet32", "num_classes": 10, "kwargs": {}}, "dataset": "cifar10"}
    expected = {"name": "resnet32", "num_classes": 100, "kwargs": {}}
    with pytest.raises(CheckpointError, match=r"10 classes, trained on cifar10, but 'resnet32' with 100 classes was "
                       r"asked for \(dataset cifar100\)"):  # fmt: skip
        check_signature(found, expected, "model_checkpoint", "cifar100")


class _RunsCode:
    """Pickles as a call of ``os.system``: what a hostile checkpoint holds."""

    def __reduce__(self):
        import os

        return (os.system, ("touch hostile-code-ran",))


def test_a_hostile_checkpoint_is_refused_as_such_and_never_suggests_the_unsafe_option(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "last.pt"
    torch.save({"model": {}, "payload": _RunsCode()}, path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message and "refuses to load" in message and "posix.system" in message
    assert "weights_only" not in message and "truncated" not in message
    assert not (tmp_path / "hostile-code-ran").exists()


def test_weights_that_do_not_fit_their_own_signature_name_the_file_and_the_tensors(tmp_path):
    from longtail_lab.engine.checkpoints import load_weights

    module = torch.nn.Sequential(torch.nn.Linear(4, 3))
    state = {"0.weight": torch.zeros(5, 4), "0.bias": torch.zeros(5)}
    with pytest.raises(CheckpointError) as info:
        load_weights(module, state, tmp_path / "model.pt")
    message = str(info.value)
    assert str(tmp_path / "model.pt") in message
    assert "2 tensor(s) of another shape: 0.weight (5, 4) (the model has (3, 4))" in message
    assert "size mismatch" not in message
    with pytest.raises(CheckpointError, match=r"1 tensor\(s\) missing: 0.bias; 1 tensor\(s\) unexpected: extra"):
        load_weights(module, {"0.weight": torch.zeros(3, 4), "extra": torch.zeros(1)}, "model_checkpoint")
    load_weights(module, {"0.weight": torch.ones(3, 4), "0.bias": torch.ones(3)}, "model_checkpoint")
    assert torch.equal(module[0].weight, torch.ones(3, 4))


def test_one_configuration_is_trained_by_one_process_at_a_time(tmp_path):
    from longtail_lab.engine.checkpoints import ConfigurationBusyError

    store = RunCheckpoints(tmp_path)
    with store.claim("abc"):
        with pytest.raises(ConfigurationBusyError, match=r"process \d+ .* is training this configuration"):
            with store.claim("abc"):
                pass
        with store.claim("other"):  # another configuration is free
            pass
    with store.claim("abc"):  # released when the first run is done
        pass
