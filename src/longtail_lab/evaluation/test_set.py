"""A trained classifier on its test set: the model back from its checkpoint, batched test predictions with
progress, and the rows of each test-agnostic list (what every long-tail training pipeline evaluates with)."""

from __future__ import annotations

import torch
from torch import nn

from longtail_lab.data.images.arrays import ImageArrays, LabelledItems
from longtail_lab.data.images.sources import ImageSources
from longtail_lab.data.lists.format import LabelList
from longtail_lab.data.lists.split_identity import check_checkpoint_split
from longtail_lab.data.lists.splits import list_rows
from longtail_lab.engine.checkpoints import load_trained_model
from longtail_lab.engine.predict import predict_expert_logits, predict_logits
from longtail_lab.evaluation.report import ordered
from longtail_lab.progress import StepProgress


def trained_model_and_test(
    sources: ImageSources,
    checkpoint: dict,
    split_summary: dict,
    model_params: dict,
    dataset: str,
    namespace: str,
    in_memory: bool = True,
) -> tuple[nn.Module, LabelledItems]:
    """(the checkpoint's model, the dataset's test part); refuses a checkpoint trained on another split than
    ``split_summary`` or made for another model, class count or dataset."""
    check_checkpoint_split(checkpoint, split_summary, namespace)
    test = sources.load(dataset, in_memory).test
    return load_trained_model(checkpoint, model_params, test.num_classes, dataset), test


def test_logits(
    net: nn.Module, test: LabelledItems, batch_size: int, namespace: str, experts: bool = False, workers: int = 4
) -> torch.Tensor:
    """Logits [N, C] of the whole test set, or per-expert logits [E, N, C] with ``experts``; in memory or from
    files (DataLoader workers), with a progress bar."""
    images = test.images if isinstance(test, ImageArrays) else test
    predict = predict_expert_logits if experts else predict_logits
    with StepProgress(f"{namespace}: predicting the test set", len(test)) as progress:
        return predict(net, images, batch_size, on_batch=progress.advance, workers=workers)


def test_subsets(test: LabelledItems, lists: dict[str, LabelList]) -> dict:
    """name -> test rows of every test-agnostic list, in the report's order."""
    return ordered(list_rows(test, lists))
