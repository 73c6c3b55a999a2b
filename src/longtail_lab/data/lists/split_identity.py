"""Which split a model was trained on: the content hash of the list a run actually loaded.

A run's ``split_list`` and ``split_summary`` normally come from the same split node of the same run. A user
can pin either to an older version (``--load-versions``), or evaluate a pinned older checkpoint; then the list
the model sees, the summary that ranks the shot groups and the checkpoint could describe three different
splits. These checks refuse such a mix with one message that says how to pin consistently.
"""

from __future__ import annotations

from longtail_lab.data.lists.format import LabelList
from longtail_lab.errors import DataError


def _pin_hint(namespace: str) -> str:
    names = ("split_list", "split_summary", "test_agnostic_lists")
    return ",".join(f"{namespace}.{name}:<version>" for name in names)


def trained_split_sha(split_list: LabelList, split_summary: dict, namespace: str) -> str:
    """The SHA-256 of the loaded list's content (the resume key's split); refuses a summary of another list."""
    sha = split_list.content_hash()
    described = split_summary.get("content_sha256")
    if described != sha:
        raise DataError(
            f"{namespace}.split_list (the loaded list: {len(split_list.items)} items, sha256 {sha[:12]}) is not "
            f"the list {namespace}.split_summary describes ({split_summary.get('total', '?')} items, sha256 "
            f"{str(described)[:12]}): the two come from different runs. To train on an older split, pin every "
            f"output of its split node to that run's version: --load-versions={_pin_hint(namespace)}"
        )
    return sha


def check_checkpoint_split(checkpoint: dict, split_summary: dict, namespace: str) -> None:
    """Refuse to evaluate a model trained on another split than ``split_summary`` (its shot groups and
    test-agnostic ranking would be another split's). Checkpoints written before the split was recorded pass."""
    trained = checkpoint.get("split_sha256")
    described = split_summary.get("content_sha256")
    if trained is not None and trained != described:
        raise DataError(
            f"{namespace}.model_checkpoint was trained on the split with sha256 {str(trained)[:12]}, but "
            f"{namespace}.split_summary describes sha256 {str(described)[:12]}: pin the checkpoint and the split "
            f"outputs of one run together (--load-versions={namespace}.model_checkpoint:<version>,"
            f"{_pin_hint(namespace)})"
        )
