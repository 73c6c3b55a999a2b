"""A run trains on the list it loaded, and refuses a list, summary or checkpoint from another run's split."""

from __future__ import annotations

import numpy as np
import pytest

from longtail_lab.data.lists.format import LabelList
from longtail_lab.data.lists.split_identity import check_checkpoint_split, trained_split_sha
from longtail_lab.errors import DataError


def _list(n: int) -> LabelList:
    return LabelList(tuple(str(i) for i in range(n)), np.zeros(n, dtype=np.int64))


def test_the_split_key_is_the_loaded_lists_content():
    lst = _list(4)
    assert trained_split_sha(lst, {"content_sha256": lst.content_hash()}, "ns") == lst.content_hash()
    assert trained_split_sha(_list(5), {"content_sha256": _list(5).content_hash()}, "ns") != lst.content_hash()


def test_a_summary_of_another_list_is_refused_with_the_pin_that_fixes_it():
    other = _list(3)
    with pytest.raises(DataError) as info:
        trained_split_sha(_list(4), {"content_sha256": other.content_hash(), "total": 3}, "cifar_lt")
    message = str(info.value)
    assert "cifar_lt.split_list (the loaded list: 4 items" in message and "(3 items, sha256" in message
    assert (
        "--load-versions=cifar_lt.split_list:<version>,cifar_lt.split_summary:<version>,"
        "cifar_lt.test_agnostic_lists:<version>" in message
    )


def test_a_checkpoint_of_another_split_is_not_evaluated_against_this_summary():
    lst = _list(4)
    summary = {"content_sha256": lst.content_hash()}
    check_checkpoint_split({"split_sha256": lst.content_hash()}, summary, "ns")
    check_checkpoint_split({}, summary, "ns")  # written before the split was recorded
    with pytest.raises(DataError, match=r"ns.model_checkpoint was trained on the split with sha256 .* pin the"):
        check_checkpoint_split({"split_sha256": _list(2).content_hash()}, summary, "ns")
