"""A list-file dataset as a whole (``dataset_check``, ``class_remap``, ``generated_lists``, ``dataset_summary``):
plain functions on an in-memory folder of lists, no Kedro."""

from __future__ import annotations

import numpy as np
import pytest

from longtail_lab.data.lists.class_remap import ClassRemapParams, remap_lists
from longtail_lab.data.lists.dataset_check import (
    ListCheckParams,
    ListSpec,
    check_list_folder,
    named_list,
    require_entries,
    require_lists,
    short_names,
    train_counts,
)
from longtail_lab.data.lists.dataset_summary import dataset_summary, histogram_counts, list_stats
from longtail_lab.data.lists.format import BOM, LabelList, ListFolder
from longtail_lab.data.lists.generated_lists import (
    AgnosticListsParams,
    GenerateParams,
    LongTailListParams,
    generate_lists,
)
from longtail_lab.data.lists.long_tail import class_profile
from longtail_lab.data.lists.long_tail import test_agnostic_counts as agnostic_counts
from longtail_lab.errors import DataError

NO_FILES = ListCheckParams(files=False)
LENIENT = ListCheckParams(files=False, strict=False)
TRAIN_COUNTS = [8, 4, 2]  # classes 0, 1, 2


def _folder(texts: dict[str, str]) -> ListFolder:
    return ListFolder(texts, {stem: f"lists/{stem}.txt" for stem in texts})


def _lines(folder: str, counts: list[int]) -> str:
    return "".join(f"{folder}/{c}_{k}.png {c}\n" for c, n in enumerate(counts) for k in range(n))


def _lists(train=TRAIN_COUNTS, test=(4, 4, 4)) -> dict[str, LabelList]:
    folder = _folder({"P_train": _lines("train", list(train)), "P_test": _lines("test", list(test))})
    return check_list_folder(folder, short_names(folder.texts, "P_"), 3, NO_FILES, "p.check").lists


# --- names and referenced lists -------------------------------------------------------------------------------------


def test_short_names_drop_the_prefix_only_where_it_starts_the_stem():
    assert short_names(["P_train", "P_test", "extra", "xP_val"], "P_") == {
        "P_train": "train", "P_test": "test", "extra": "extra", "xP_val": "xP_val"
    }  # fmt: skip
    assert short_names(["P_train"], "") == {"P_train": "P_train"}


def test_two_stems_with_one_short_name_are_an_error_naming_both():
    with pytest.raises(DataError) as info:
        short_names(["P_train", "train", "P_test"], "P_")
    message = "list files ['P_train', 'train'] get the same name once the prefix 'P_' is dropped; remove one"
    assert str(info.value) == message


def test_a_referenced_list_missing_from_the_folder_names_the_full_key():
    require_lists(["train", "test"], {"p.lists.train": "train", "p.lists.test": "test"}, "P_")
    with pytest.raises(DataError) as info:
        require_lists(["train", "test"], {"p.lists.train": "train", "p.generate.long_tail.source": "full"}, "P_")
    assert str(info.value) == (
        "parameter 'p.generate.long_tail.source': no list named 'full'; the list folder has ['test', 'train'] "
        "(file names without the prefix 'P_')"
    )


def test_named_list_and_train_counts_name_the_key():
    lists = _lists()
    assert named_list(lists, "test", "p.lists.test") is lists["test"]
    with pytest.raises(DataError, match=r"^parameter 'p\.lists\.train': no list named 'full'; the list folder has \["):
        named_list(lists, "full", "p.lists.train")
    assert train_counts(lists, ListSpec(num_classes=3, train="train"), "p.lists").tolist() == TRAIN_COUNTS
    assert train_counts(lists, ListSpec(num_classes=3), "p.lists") is None
    with pytest.raises(DataError, match=r"^parameter 'p\.lists\.train': no list named 'tr'"):
        train_counts(lists, ListSpec(num_classes=3, train="tr"), "p.lists")


# --- parsing and checking every list --------------------------------------------------------------------------------

BAD_TEST = "test/0_0.png 0\nnot-a-line\ntest/1_0.png 7\ntest/0_0.png 0\n\ntest/2_0.png 2\n"


def test_non_strict_check_drops_the_bad_lines_and_reports_them():
    folder = _folder({"P_train": _lines("train", TRAIN_COUNTS), "P_test": BAD_TEST})
    checked = check_list_folder(folder, short_names(folder.texts, "P_"), 3, LENIENT, "p.check")
    test = checked.lists["test"]
    assert test.items == ("test/0_0.png", "test/2_0.png")
    assert test.labels.tolist() == [0, 2]
    assert test.line_numbers == (1, 6)  # the lines of the file, blank and bad ones counted
    assert test.source == "lists/P_test.txt"
    assert [(p.source, p.line) for p in checked.problems] == [("lists/P_test.txt", n) for n in (2, 3, 4)]
    assert [p.message for p in checked.problems] == [
        "expected '<item> <label>', got 'not-a-line' (no label)",
        "label 7 is not below the number of classes (3)",
        "item 'test/0_0.png' repeats line 1",
    ]
    assert checked.report == {
        "image_root": "None",
        "files_checked": False,
        "decoded": False,
        "lists": {
            "train": {"file": "lists/P_train.txt", "lines": 14, "problems": 0, "lines_left_out": 0},
            "test": {"file": "lists/P_test.txt", "lines": 5, "problems": 3, "lines_left_out": 3},
        },
        "problems": 3,
    }
    assert list(checked.report) == ["image_root", "files_checked", "decoded", "lists", "problems"]
    assert checked.lists["train"].class_counts(3).tolist() == TRAIN_COUNTS


def test_strict_check_stops_with_every_problem_up_to_max_reported():
    folder = _folder({"P_test": BAD_TEST})
    with pytest.raises(DataError) as info:
        check_list_folder(folder, {"P_test": "test"}, 3, NO_FILES, "places_lt.check")
    assert str(info.value) == (
        "3 problem(s) in the list files (places_lt.check.strict: true):\n"
        "  lists/P_test.txt, line 2: expected '<item> <label>', got 'not-a-line' (no label)\n"
        "  lists/P_test.txt, line 3: label 7 is not below the number of classes (3)\n"
        "  lists/P_test.txt, line 4: item 'test/0_0.png' repeats line 1"
    )
    with pytest.raises(DataError) as info:
        check_list_folder(folder, {"P_test": "test"}, 3, ListCheckParams(files=False, max_reported=1), "p.check")
    assert str(info.value).endswith("(p.check.strict: true):\n  lists/P_test.txt, line 2: expected '<item> <label>', "
                                    "got 'not-a-line' (no label)\n  ... and 2 more")  # fmt: skip


def test_a_byte_order_mark_is_stripped_and_recorded(caplog):
    folder = _folder({"P_test": BOM + "test/0_0.png 0\n", "P_train": "train/0_0.png 0\n"})
    checked = check_list_folder(folder, short_names(folder.texts, "P_"), 3, NO_FILES, "p.check")
    assert checked.lists["test"].items == ("test/0_0.png",)
    assert checked.report["lists"]["test"]["bom_stripped"] is True
    assert "bom_stripped" not in checked.report["lists"]["train"]
    assert "lists/P_test.txt: starts with a UTF-8 byte-order mark (BOM); it was ignored" in caplog.text


def test_missing_images_are_problems_when_files_are_checked(tmp_path):
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "0_0.png").write_bytes(b"x")
    folder = ListFolder({"P_test": "test/0_0.png 0\ntest/1_0.png 1\n"}, {"P_test": "t.txt"}, tmp_path)
    params = ListCheckParams(strict=False)
    checked = check_list_folder(folder, {"P_test": "test"}, 3, params, "p.check")
    assert checked.lists["test"].items == ("test/0_0.png",)
    assert [str(p) for p in checked.problems] == [f"t.txt, line 2: image {tmp_path / 'test/1_0.png'} does not exist"]
    assert checked.report["image_root"] == str(tmp_path) and checked.report["files_checked"] is True


@pytest.mark.parametrize(
    ("text", "left"), [("", ""), ("\n\n", ""), ("x.png 9\ny.png 9\n", " left (2 bad line(s) left out)")]
)
def test_a_list_that_trains_must_keep_an_entry(text, left):
    folder = _folder({"P_train": text, "P_test": _lines("test", [1, 1, 1])})
    checked = check_list_folder(folder, short_names(folder.texts, "P_"), 3, LENIENT, "p.check")
    require_entries(checked, {"p.lists.test": "test"})
    with pytest.raises(DataError) as info:
        require_entries(checked, {"p.lists.test": "test", "p.generate.test_agnostic.rank_by": "train"})
    assert str(info.value) == (
        f"lists/P_train.txt: the list 'train' has no entries{left}; parameter 'p.generate.test_agnostic.rank_by' "
        "trains on it or ranks the classes by it, which needs at least one image"
    )


# --- class remap ----------------------------------------------------------------------------------------------------


def test_remap_none_keeps_the_lists_and_records_the_identity():
    lists = _lists()
    out, record = remap_lists(lists, ClassRemapParams(), ListSpec(num_classes=3, train="train"), "p.lists")
    assert out is lists
    assert record == {"mode": "none", "class_map": [0, 1, 2]}


def test_remap_by_frequency_relabels_every_list_and_breaks_ties_by_class_id():
    lists = _lists(train=(2, 8, 2))
    spec = ListSpec(num_classes=3, train="train")
    out, record = remap_lists(lists, ClassRemapParams(mode="frequency"), spec, "p.lists")
    assert record == {
        "mode": "frequency",
        "tie_break": "class_id",
        "class_map": [1, 0, 2],
        "note": "class_map[original label] = new label",
    }
    assert out["train"].class_counts(3).tolist() == [8, 2, 2]
    assert out["test"].items == lists["test"].items and out["test"].line_numbers == lists["test"].line_numbers
    assert out["test"].labels.tolist() == np.asarray([1, 0, 2])[lists["test"].labels].tolist()
    with pytest.raises(DataError, match=r"^parameter 'p\.lists\.train': no list named 'tr'"):
        remap_lists(lists, ClassRemapParams(mode="frequency"), ListSpec(num_classes=3, train="tr"), "p.lists")


# --- generated lists ------------------------------------------------------------------------------------------------


def _generated(**settings):
    return generate_lists(_lists(train=(8, 8, 8)), 3, GenerateParams(**settings))


def test_generate_nothing_without_settings():
    assert _generated() == {}


def test_generate_a_long_tailed_list_and_test_agnostic_lists_ranked_by_it():
    lt = LongTailListParams(source="train", imbalance_ratio=4, n_max=8)
    ta = AgnosticListsParams(source="test", rank_by="long_tail", ratios=(2,), n_max=4)
    out = _generated(long_tail=lt, test_agnostic=ta)
    assert sorted(out) == ["backward2", "forward2", "long_tail", "uniform"]
    assert out["long_tail"].class_counts(3).tolist() == class_profile("exponential", 3, 4, 8).tolist()
    ranked = out["long_tail"].class_counts(3)
    for name, direction in [("forward2", "forward"), ("backward2", "backward")]:
        expected = agnostic_counts(ranked, 2, 4, direction)
        assert out[name].class_counts(3).tolist() == expected.tolist()
    assert out["uniform"].class_counts(3).tolist() == [4, 4, 4]


def test_generate_applies_the_official_factors():
    ta = AgnosticListsParams(source="test", rank_by="train", ratios=(3,), n_max=4, factors={"forward3": 0.5})
    out = _generated(test_agnostic=ta)
    expected = agnostic_counts(np.asarray([8, 8, 8]), 3, 4, "forward", factor=0.5)
    assert out["forward3"].class_counts(3).tolist() == expected.tolist()


# --- summary --------------------------------------------------------------------------------------------------------


def test_list_stats():
    lst = LabelList(("a", "b", "c"), np.asarray([0, 0, 2]))
    assert list_stats(lst, 4) | {"content_sha256": None} == {
        "total": 3, "classes_present": 2, "max_count": 2, "min_count": 0, "content_sha256": None
    }  # fmt: skip
    assert list_stats(lst, 4)["content_sha256"] == lst.content_hash()


def test_summary_records_the_training_counts_and_compares_generated_lists_with_official_ones():
    lists = _lists()
    generated = {"test": lists["test"], "uniform": lists["test"]}
    spec = ListSpec(num_classes=3, train="train", test="test")
    summary = dataset_summary(
        "Tiny", spec, "p.lists", lists, generated, config={"k": 1}, check_report={"problems": 0}, class_remap="none"
    )
    assert list(summary) == ["dataset", "num_classes", "config", "check", "class_remap", "lists", "train", "generated"]
    assert (summary["dataset"], summary["num_classes"], summary["config"]) == ("Tiny", 3, {"k": 1})
    assert list(summary["lists"]) == ["test", "train"]
    assert summary["train"] == {
        "list": "train",
        "class_counts": TRAIN_COUNTS,
        "shot_thresholds": {"many": "> 100", "medium": "20-100", "few": "< 20"},
        "shot_group_sizes": {"many": 0, "medium": 0, "few": 3},
        "shot_groups": {"many": [], "medium": [], "few": [0, 1, 2]},
    }
    assert summary["generated"]["test"]["vs_official"]["classes_differing"] == 0  # the official list itself
    assert "vs_official" not in summary["generated"]["uniform"]  # no official list of that name
    no_train = dataset_summary(
        "Tiny", ListSpec(num_classes=3, test="test"), "p.lists", lists, generated,
        config={}, check_report={}, class_remap="none",
    )  # fmt: skip
    assert "train" not in no_train and "vs_official" not in no_train["generated"]["test"]


def test_histogram_shows_the_training_list_else_the_test_list_else_the_first():
    lists = _lists()
    counts, title = histogram_counts("Tiny", ListSpec(num_classes=3, train="train"), "p.lists", lists)
    assert counts.tolist() == TRAIN_COUNTS and title == "Tiny: list 'train' (14 images, 3 classes)"
    counts, title = histogram_counts("Tiny", ListSpec(num_classes=3, test="test"), "p.lists", lists)
    assert counts.tolist() == [4, 4, 4] and title == "Tiny: list 'test' (12 images, 3 classes)"
    _, title = histogram_counts("Tiny", ListSpec(num_classes=3), "p.lists", lists)
    assert title.startswith("Tiny: list 'test'")
