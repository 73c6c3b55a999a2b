"""Skeleton-benchmark inputs that used to pass or crash without a location: other scripts' digits in sample
names and counts, a byte-order mark, an empty full list, labels beyond int64 in annotation pickles."""

from __future__ import annotations

import logging
import pickle

import pytest

from longtail_lab.data.skeletons.ntu_names import long_tail_lists, names_from_sequence, ntu_fields, read_names
from longtail_lab.data.skeletons.ntu_skeleton import parse_skeleton
from longtail_lab.data.skeletons.pyskl import loads_annotations
from longtail_lab.errors import DataError
from tests.ntu_fixtures import annotation, skeleton_text

NAME = "S001C001P001R001A001"


@pytest.mark.parametrize("digit", ["\u0661", "\uff11", "\u0967"])  # Arabic-Indic, fullwidth, Devanagari one
def test_sample_names_take_ascii_digits_only(digit):
    name = NAME[:-1] + digit  # int() reads it as A001
    with pytest.raises(ValueError, match="is not an NTU sample name"):
        ntu_fields(name)
    with pytest.raises(DataError, match=r"^<names>, line 2: '.*' is not an NTU sample name"):
        names_from_sequence(["S001C001P001R001A002", name])
    with pytest.raises(DataError, match=r"line 1: '.*' is not an NW-UCLA sample name"):
        names_from_sequence([f"a0{digit}_s01_e01_v01"], dataset="nwucla")


def test_a_name_list_with_a_bom_is_read_and_the_bom_reported(tmp_path, caplog):
    path = tmp_path / "NTU60_xsub.txt"
    path.write_bytes(b"\xef\xbb\xbf" + f"{NAME}\nS001C001P001R001A002".encode())
    with caplog.at_level(logging.WARNING):
        names = read_names(path)
    assert names.names == (NAME, "S001C001P001R001A002") and names.labels.tolist() == [0, 1]
    assert f"{path}: starts with a UTF-8 byte-order mark (BOM); it was ignored" in caplog.text


def test_an_empty_full_training_list_is_refused_naming_its_file(tmp_path):
    path = tmp_path / "NTU60_xsub_full.txt"
    path.write_text("\n")
    full = read_names(path)
    with pytest.raises(DataError, match=rf"^{path}: the full training list has no names; nothing to draw"):
        long_tail_lists(
            full, {}, num_classes=60, imbalance_ratios=[2], n_max=2, list_prefix="NTU60_xsub", short_classes="keep_all"
        )


@pytest.mark.parametrize("count", ["+1", "\u0661", "1_0"])
def test_skeleton_counts_take_ascii_digits_only(count):
    lines = skeleton_text([[("72057594037931101", [[0.0, 0.0, 1.0]] * 25)]]).split("\r\n")
    assert lines[0] == "1" and lines[1] == "1"
    lines[1] = count  # the body count of frame 1
    with pytest.raises(DataError, match=r"^bad\.skeleton, line 2: expected the body count of frame 1 \(an integer\)"):
        parse_skeleton("\n".join(lines), "bad.skeleton")


def test_an_annotation_label_beyond_any_class_is_an_error_naming_the_annotation():
    ann = annotation(NAME)
    ann["label"] = 2**70
    with pytest.raises(DataError, match=r"^x\.pkl, annotation 0 \(S001C001P001R001A001\): 'label' must be an int >= 0"):
        loads_annotations(pickle.dumps([ann]), "x.pkl")
