"""PYSKL annotation pickles: restricted loading, validation, filtering by a long-tailed list."""

from __future__ import annotations

import os
import pickle
import typing

import numpy as np
import pytest

from longtail_lab.data.skeletons.pyskl import (
    MISSING_MODES,
    AnnotationSet,
    LongTailFilterParams,
    annotation_set,
    dumps_annotations,
    filter_annotations,
    filter_to_long_tail_list,
    loads_annotations,
    read_annotations,
)
from longtail_lab.errors import DataError, ParameterError
from tests.fixtures import SHARED_DATA
from tests.ntu_fixtures import annotation

SAMPLE = SHARED_DATA / "samples" / "pyskl" / "example_ucf101_skeleton.pkl"
NAMES = [f"S001C001P001R001A{a:03d}" for a in range(1, 7)]


def _full(protocol: int = 4) -> bytes:
    anns = [annotation(n, frames=2 + i, seed=i) for i, n in enumerate(NAMES)]
    split = {"xsub_train": NAMES[:4], "xsub_val": NAMES[4:], "xview_train": NAMES[::2]}
    return pickle.dumps({"split": split, "annotations": anns}, protocol=protocol)


def test_real_single_annotation_sample():
    if not SAMPLE.exists():
        pytest.skip(f"{SAMPLE} is absent (shared data not available)")
    loaded = read_annotations(SAMPLE)  # written by numpy 1.x: numpy.core.multiarray._reconstruct
    assert loaded.form == "single" and loaded.split is None
    (ann,) = loaded.annotations
    assert ann["keypoint"].dtype == np.float16 and ann["keypoint"].shape == (2, 163, 17, 2)
    assert ann["keypoint_score"].shape == (2, 163, 17)
    assert (ann["total_frames"], ann["frame_dir"], ann["label"]) == (163, "v_ApplyEyeMakeup_g01_c01", 0)
    wrapped = AnnotationSet([ann], {"train": ["v_ApplyEyeMakeup_g01_c01"]})
    again = loads_annotations(dumps_annotations(wrapped))
    assert again.form == "full" and again.split == {"train": ["v_ApplyEyeMakeup_g01_c01"]}
    np.testing.assert_array_equal(again.annotations[0]["keypoint"], ann["keypoint"])
    assert loads_annotations(dumps_annotations(loaded)).form == "single"


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_full_file_round_trip_over_pickle_protocols(protocol):
    loaded = loads_annotations(_full(protocol), "full.pkl")
    assert loaded.form == "full" and len(loaded) == 6
    assert loaded.split["xsub_val"] == NAMES[4:]
    assert loaded.annotations[2]["keypoint"].shape == (1, 4, 25, 3)
    assert loaded.annotations[2]["keypoint"].dtype == np.float16
    again = loads_annotations(dumps_annotations(loaded))
    for a, b in zip(again.annotations, loaded.annotations, strict=True):
        np.testing.assert_array_equal(a["keypoint"], b["keypoint"])


def test_bare_list_is_accepted():
    loaded = loads_annotations(pickle.dumps([annotation(n) for n in NAMES[:2]]))
    assert loaded.form == "list" and loaded.split is None and loaded.frame_dirs() == NAMES[:2]


class _Hostile:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_hostile_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"annotations": [_Hostile(f"touch {marker}")]}))
    with pytest.raises(
        DataError, match=r"evil\.pkl: refused pickle, nothing was executed .*global '(posix|os)\.system'"
    ):
        read_annotations(path)
    assert not marker.exists()
    for payload in (b"cbuiltins\neval\n(V1+1\ntR.", b"csubprocess\ncall\n(Vls\ntR."):
        with pytest.raises(DataError, match="is not allowed"):
            loads_annotations(payload, "evil.pkl")


def test_codecs_encode_only_for_latin1():
    assert loads_annotations(pickle.dumps([annotation(NAMES[0])], protocol=2)).form == "list"
    with pytest.raises(DataError, match="encoding 'zlib' is not allowed"):
        loads_annotations(b"c_codecs\nencode\n(Vabc\nVzlib\ntR.", "x.pkl")


def test_truncated_pickle(tmp_path):
    with pytest.raises(DataError, match=r"cut\.pkl: truncated or corrupt pickle"):
        loads_annotations(_full()[:-40], "cut.pkl")
    with pytest.raises(DataError, match="does not exist"):
        read_annotations(tmp_path / "none.pkl")


def _bad(**changes):
    ann = annotation(NAMES[1], frames=3)
    ann.update(changes)
    return [annotation(NAMES[0]), ann]


@pytest.mark.parametrize(
    "anns,message",
    [
        ([annotation(NAMES[0]), {"frame_dir": NAMES[1], "label": 0}], r"annotation 1 \(.*A002\): missing key"),
        (_bad(keypoint=np.zeros((3, 25, 3))), r"annotation 1 \(.*\): 'keypoint' must be an array \[M, T, V, C\]"),
        (_bad(total_frames=4), r"annotation 1 .*'total_frames' is 4 but keypoint has T=3"),
        (_bad(label=-1), r"annotation 1 \(.*A002\): 'label' must be an int >= 0"),
        (_bad(label=True), r"annotation 1 \(.*A002\): 'label' must be an int >= 0"),
        (_bad(frame_dir=""), r"annotation 1: 'frame_dir' must be a non-empty string"),
        (
            _bad(keypoint_score=np.zeros((1, 3, 24))),
            r"annotation 1 .*'keypoint_score' shape \(1, 3, 24\) != keypoint \[M, T, V\] \(1, 3, 25\)",
        ),
        (_bad(frame_dir=NAMES[0]), r"annotation 1 .*frame_dir repeats annotation 0"),
        ([annotation(NAMES[0]), 7], r"annotation 1: expected a dict, got int"),
    ],
)
def test_bad_annotations_name_file_and_index(anns, message):
    with pytest.raises(DataError, match=r"bad\.pkl, " + message):
        annotation_set(anns, "bad.pkl")


def test_bad_top_level_and_split():
    with pytest.raises(DataError, match="expected a dict or list"):
        annotation_set("text", "bad.pkl")
    with pytest.raises(DataError, match="'split' must be a dict"):
        annotation_set({"split": [1], "annotations": []}, "bad.pkl")
    with pytest.raises(DataError, match="non-string entry"):
        annotation_set({"split": {"train": [1]}, "annotations": []}, "bad.pkl")


def test_filter_by_list_within_a_split():
    full = loads_annotations(_full(), "full.pkl")
    wanted = [NAMES[3], NAMES[0]]
    out, report = filter_annotations(full, wanted, split="xsub_train", keep_splits=["xsub_val"], list_source="lt.txt")
    assert out.split == {"xsub_train": [NAMES[0], NAMES[3]], "xsub_val": NAMES[4:]}  # split order kept
    assert out.frame_dirs() == [NAMES[0], NAMES[3], NAMES[4], NAMES[5]]
    assert report["kept_from_list"] == 2 and report["missing_from_annotations"] == []
    assert (report["annotations_in"], report["annotations_out"]) == (6, 4)
    assert loads_annotations(dumps_annotations(out)).split == out.split


def test_filter_missing_names_error_or_reported_skip():
    full = loads_annotations(_full(), "full.pkl")
    wanted = [NAMES[0], NAMES[5], "S009C001P001R001A001"]  # A006 is a val sample, the last one is unknown
    with pytest.raises(DataError, match=r"lt\.txt: 2 name\(s\) are not in split 'xsub_train' of full\.pkl"):
        filter_annotations(full, wanted, split="xsub_train", list_source="lt.txt")
    out, report = filter_annotations(full, wanted, split="xsub_train", on_missing="skip")
    assert report["missing_from_annotations"] == [NAMES[5], "S009C001P001R001A001"]
    assert out.split == {"xsub_train": [NAMES[0]]} and out.frame_dirs() == [NAMES[0]]


def test_filter_without_split_restricts_every_split_entry():
    full = loads_annotations(_full(), "full.pkl")
    out, _ = filter_annotations(full, [NAMES[0], NAMES[4]])
    assert out.frame_dirs() == [NAMES[0], NAMES[4]]
    assert out.split == {"xsub_train": [NAMES[0]], "xsub_val": [NAMES[4]], "xview_train": [NAMES[0], NAMES[4]]}


def test_filter_checks_labels_and_parameters():
    full = loads_annotations(_full(), "full.pkl")
    with pytest.raises(DataError, match=r"annotation 1 \(.*A002\): label 1 but lt\.txt gives .*A002 label 5"):
        filter_annotations(full, [NAMES[1]], split="xsub_train", list_source="lt.txt", expected_labels=[5])
    with pytest.raises(DataError, match="no split 'xset_train'"):
        filter_annotations(full, NAMES[:1], split="xset_train")
    with pytest.raises(DataError, match="has no split 'xset_val'"):
        filter_annotations(full, NAMES[:1], split="xsub_train", keep_splits=["xset_val"])
    with pytest.raises(DataError, match="on_missing"):
        filter_annotations(full, NAMES[:1], on_missing="ignore")
    block = "ntu60_xsub.ntu_lt_pyskl"
    with pytest.raises(DataError, match=r"^parameter 'ntu60_xsub\.ntu_lt_pyskl\.keep_splits': full\.pkl has no split"):
        filter_annotations(full, NAMES[:1], split="xsub_train", keep_splits=["xset_val"], block=block)
    with pytest.raises(DataError, match=r"set ntu60_xsub\.ntu_lt_pyskl\.on_missing: skip"):
        filter_annotations(full, ["S001C001P001R001A009"], split="xsub_train", block=block)


def test_filter_to_a_long_tail_list_by_its_name_with_typed_settings():
    from longtail_lab.data.skeletons.ntu_names import names_from_sequence

    full = loads_annotations(_full(), "full.pkl")
    lists = {"NTU60_xsub_exp_10": names_from_sequence([NAMES[3], NAMES[0]], source="lt.txt")}
    params = LongTailFilterParams(list="NTU60_xsub_exp_10", split="xsub_train", keep_splits=("xsub_val",))
    out, report = filter_to_long_tail_list(full, lists, params, block="ntu60_xsub.ntu_lt_pyskl")
    assert out.split == {"xsub_train": [NAMES[0], NAMES[3]], "xsub_val": NAMES[4:]}
    assert (report["list_name"], report["list"], report["kept_from_list"]) == ("NTU60_xsub_exp_10", "lt.txt", 2)
    assert report["list_sha256"] == lists["NTU60_xsub_exp_10"].content_sha256()
    unknown = LongTailFilterParams(list="NTU60_xsub_exp_5")
    with pytest.raises(DataError) as info:
        filter_to_long_tail_list(full, lists, unknown, block="ntu60_xsub.ntu_lt_pyskl")
    assert str(info.value) == (
        "parameter 'ntu60_xsub.ntu_lt_pyskl.list': 'NTU60_xsub_exp_5' is not one of the ntu_lt lists "
        "['NTU60_xsub_exp_10']"
    )


def test_filter_params_name_every_bad_key():
    prefix = "ntu60_xsub.ntu_lt_pyskl"
    with pytest.raises(ParameterError) as info:
        LongTailFilterParams.from_params({"lst": "x", "keep_splits": "xsub_val", "on_missing": "ignore"}, prefix)
    assert info.value.problems == [
        (f"{prefix}.lst", "is unknown (did you mean 'list'?); known keys: list, split, keep_splits, on_missing"),
        (f"{prefix}.list", "is required (a string)"),
        (f"{prefix}.keep_splits", "must be a list of strings, got 'xsub_val'"),
        (f"{prefix}.on_missing", "must be one of 'error', 'skip', got 'ignore'"),
    ]
    params = LongTailFilterParams.from_params({"list": "L", "keep_splits": ["xsub_val"]}, prefix)
    assert params.to_dict() == {"list": "L", "split": None, "keep_splits": ["xsub_val"], "on_missing": "error"}
    assert typing.get_args(typing.get_type_hints(LongTailFilterParams)["on_missing"]) == MISSING_MODES
