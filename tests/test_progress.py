"""Progress as a user at a terminal sees it: rich bars on a forced-terminal console, for every long-running step."""

from __future__ import annotations

import io
import logging
from functools import partial

import pytest
import torch
from rich.console import Console

import longtail_lab.progress as progress_module
from longtail_lab.data.images.augment import AugmentParams
from longtail_lab.engine.config import TrainConfig
from longtail_lab.engine.image_training import fit_images
from longtail_lab.engine.predict import predict_logits
from longtail_lab.engine.progress import TrainProgress
from longtail_lab.methods.losses import CrossEntropy
from longtail_lab.methods.supervised import SupervisedObjective
from longtail_lab.models import build_model, model_signature
from longtail_lab.progress import StepProgress
from tests.fixtures import tiny_cifar


def terminal() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=True, width=120), out


@pytest.fixture
def tty(monkeypatch):
    """Every progress display in the process draws on one forced-terminal console; returns its text so far."""
    console, out = terminal()
    monkeypatch.setattr(progress_module, "terminal_console", lambda requested=None: console)
    return out


def test_train_progress_on_a_terminal_survives_every_epoch():
    """The bar's text column reads the task's ``epochs`` field; ``reset`` used to drop it (KeyError: 'epochs')."""
    console, out = terminal()
    with TrainProgress(3, 10, console=console) as progress:
        assert progress.rich
        for epoch in range(3):
            progress.start_epoch(epoch)
            for step in range(1, 11):
                progress.advance(step)
            progress.update(epoch, 10, {"loss": 1.25, "train_acc": 0.5}, 123.0)
    text = out.getvalue()
    assert "epoch 1/3" in text and "epoch 3/3" in text
    assert "loss 1.2500 acc 0.500 123 img/s" in text


def test_plain_progress_logs_at_its_interval_and_at_the_end(caplog):
    caplog.set_level(logging.INFO, logger="longtail_lab.progress")
    with StepProgress("work", 4, console=Console(file=io.StringIO()), interval_s=0.0) as bar:
        assert bar.console is None  # not a terminal: plain lines
        bar.advance(2)
        bar.advance(2)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("work: 2/4") and lines[1].startswith("work: 4/4") and len(lines) == 2


def test_a_training_run_draws_its_bar_on_a_terminal(tty):
    train, _ = tiny_cifar(10, train_per_class=8, test_per_class=1)
    cfg = TrainConfig(epochs=2, batch_size=32, warmup_epochs=0, milestones=(), accelerator="cpu", log_every=1)
    make = partial(build_model, "resnet32", 10, widths=(4, 8, 8), blocks=1)
    sig = model_signature("resnet32", 10, widths=[4, 8, 8], blocks=1)
    result = fit_images(train, make, SupervisedObjective(CrossEntropy()), AugmentParams(padding=4), cfg, sig)
    assert len(result.history) == 2
    text = tty.getvalue()
    assert "epoch 1/2" in text and "epoch 2/2" in text and "img/s" in text


def test_prediction_reports_its_batches(tty):
    _, test = tiny_cifar(10, train_per_class=1, test_per_class=6)
    model = build_model("resnet32", 10, widths=(4, 8, 8), blocks=1)
    with StepProgress("predicting", len(test)) as bar:
        logits = predict_logits(model, test.images, batch_size=16, device=torch.device("cpu"), on_batch=bar.advance)
    assert logits.shape == (60, 10) and bar.completed == 60
    assert "predicting" in tty.getvalue() and "60/60" in tty.getvalue()


def test_fmow_crops_draw_their_bar_on_a_terminal(tty, tmp_path):
    from longtail_lab.data.fmow.crop_rule import index_layout
    from longtail_lab.data.fmow.crop_writer import CropParams, plan_crops
    from tests.fmow_fixtures import write_fmow_tree

    write_fmow_tree(tmp_path / "fmow")
    folder, final = tmp_path / "out" / "tmp", tmp_path / "out" / "final"
    folder.mkdir(parents=True)
    plan_crops(index_layout(tmp_path / "fmow"), CropParams(workers=1)).write(folder, final)
    text = tty.getvalue()
    assert "fmow crops (images)" in text and "crops/s" in text


def test_segmentation_labels_draw_their_bar_on_a_terminal(tty, tmp_path):
    from longtail_lab.data.segmentation.conversion import ConversionSettings, LabelMapWriter
    from longtail_lab.data.segmentation.layouts import discover
    from tests.seg_fixtures import write_cityscapes

    write_cityscapes(tmp_path / "cityscapes")
    out = tmp_path / "out"
    out.mkdir()
    LabelMapWriter(discover("cityscapes", tmp_path / "cityscapes"), ConversionSettings(workers=1)).write(out, out)
    assert "cityscapes: converting label images" in tty.getvalue()
