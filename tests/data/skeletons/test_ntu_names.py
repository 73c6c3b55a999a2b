"""Sample-name lists and the BRL long-tailed selection, on generated lists and the official ones."""

from __future__ import annotations

import hashlib
import typing

import numpy as np
import pytest

from longtail_lab.data.lists.long_tail import class_profile
from longtail_lab.data.skeletons.ntu_names import (
    PROFILE_TAGS,
    SHORT_CLASS_MODES,
    LongTailListsParams,
    NtuName,
    filter_views,
    format_names,
    list_name,
    long_tail_lists,
    long_tail_names,
    names_from_sequence,
    ntu_fields,
    nwucla_fields,
    parse_names,
    read_names,
    validate_long_tail_list,
)
from longtail_lab.errors import DataError, ParameterError
from tests.fixtures import SHARED_DATA
from tests.ntu_fixtures import ntu_full_names, nwucla_names, write_names

NTU_FULL = SHARED_DATA / "splits" / "ntu_full"
NTU60_LT = SHARED_DATA / "splits" / "ntu60_lt"

# Official NTU-120 LT lists (firework8/BRL data/NTU120_LT/): sha256 of the file content, number of names.
NTU120_OFFICIAL = {
    "NTU120_xset_exp_10": ("4eac40d4b0403a8ed1f37c11192d55ac484367f28e8ab43c8521d652de518998", 18771),
    "NTU120_xset_exp_50": ("06bc03b7b60cfff7477020595236bff64651e93dbd8aa915c7431e867f2cb3bb", 12069),
    "NTU120_xset_exp_100": ("cb849477aefd71aa500f9c32f74486f7caa4ef3aa949acadf2c3664eb1353554", 10378),
    "NTU120_xsub_exp_10": ("3d1058b7817640a5c7a3079f716d1a11a5052834d13f31d63642d921ee31741f", 28182),
    "NTU120_xsub_exp_50": ("9eb339922064ab63039d63912c9943de13a9145a0bde6da8b5285adab3a0d76c", 18137),
    "NTU120_xsub_exp_100": ("7978b035e9a24c2b431fa5d7fe7de394e6763b82b33c42177e82949823447348", 15600),
}
NTU60_TOTALS = {10: 14142, 50: 9150, 100: 7892}


def _brl_reference(names: list[str], num_classes: int, ratio: float, n_max: int) -> list[str]:
    """BRL's imblance_gentxt written out plainly: python lists per class, one seeded legacy RNG."""
    per_class = [[] for _ in range(num_classes)]
    for name in names:
        per_class[int(name[17:20]) - 1].append(name)
    rng = np.random.RandomState(0)
    out = []
    for c in range(num_classes):
        n = int(n_max * (1 / ratio) ** (c / (num_classes - 1.0)))
        rng.shuffle(per_class[c])
        out.extend(per_class[c][:n])
    return out


# --- names ----------------------------------------------------------------------------------------


def test_ntu_fields_and_label():
    fields = ntu_fields("S017C003P020R002A120")
    assert fields == NtuName(17, 3, 20, 2, 120)
    assert fields.label == 119
    assert ntu_fields("S001C001P001R001A001").label == 0


@pytest.mark.parametrize(
    "name", ["S001C001P001R001A1", "s001C001P001R001A001", "S001C004P001R001A001", "S001C001P001R003A001",
             "S001C001P001R001A000", "S001C001P001R001A121", "S001C001P001R001A001.skeleton"]
)  # fmt: skip
def test_bad_ntu_names_are_rejected(name):
    with pytest.raises(ValueError):
        ntu_fields(name)


@pytest.mark.parametrize(
    "name", ["S001C001P001R001A1", "S001C004P001R001A001", "S001C001P001R000A001", "S001C001P001R001A121",
             "S001C001P001R001A0011", "S001C001P001R001A0x1", "T001C001P001R001A001"]
)  # fmt: skip
def test_list_with_one_bad_name_reports_its_line(name):
    good = ntu_full_names(60)[:5]
    assert parse_names("\n".join(good)).labels.tolist() == [0, 1, 2, 3, 4]  # the vectorised pass
    with pytest.raises(DataError, match=r"l\.txt, line 4: "):
        parse_names("\n".join(good[:3] + [name] + good[3:]), source="l.txt")


def test_nwucla_fields_map_the_ten_actions_to_labels():
    labels = [nwucla_fields(f"a{a:02d}_s01_e00_v01").label for a in (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)]
    assert labels == list(range(10))
    assert nwucla_fields("a12_s10_e04_v03").view == 3
    for bad in ("a07_s01_e00_v01", "a10_s01_e00_v01", "a01_s01_e00_v04", "a1_s01_e00_v01"):
        with pytest.raises(ValueError):
            nwucla_fields(bad)


def test_parse_tolerates_trailing_newline_crlf_and_blank_lines():
    text = "S001C001P001R001A002\r\nS001C001P001R001A001\n\nS002C001P001R001A060\n"
    parsed = parse_names(text, source="x.txt")
    assert parsed.names == ("S001C001P001R001A002", "S001C001P001R001A001", "S002C001P001R001A060")
    assert parsed.labels.tolist() == [1, 0, 59]
    assert parsed.line_numbers == (1, 2, 4)
    assert parsed.text() == "S001C001P001R001A002\nS001C001P001R001A001\nS002C001P001R001A060"
    assert parsed.content_sha256() == hashlib.sha256(parsed.text().encode()).hexdigest()


def test_malformed_name_names_file_and_line():
    lines = ntu_full_names(60)[:10]
    lines[6] = "S001C001P001R001X001"
    with pytest.raises(DataError, match=r"lists/a\.txt, line 7: 'S001C001P001R001X001' is not an NTU sample name"):
        parse_names("\n".join(lines), source="lists/a.txt")


def test_action_outside_num_classes_names_the_line():
    text = "S001C001P001R001A001\nS001C001P001R001A061"
    assert len(parse_names(text, num_classes=61)) == 2
    with pytest.raises(DataError, match=r"f\.txt, line 2: S001C001P001R001A061 has label 60, not below num_classes=60"):
        parse_names(text, source="f.txt", num_classes=60)


def test_repeated_name_is_an_error():
    with pytest.raises(DataError, match=r"line 3: S001C001P001R001A001 repeats line 1"):
        parse_names("S001C001P001R001A001\nS001C001P001R001A002\nS001C001P001R001A001", source="f")


def test_read_names_records_file_hash_and_rejects_binary(tmp_path):
    path = write_names(tmp_path / "l.txt", ["S001C001P001R001A001", "S001C001P001R001A002"], trailing_newline=True)
    parsed = read_names(path)
    assert parsed.file_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert parsed.source == str(path)
    (tmp_path / "b.txt").write_bytes(b"S001C001P001R001A001\n\xff\xfe")
    with pytest.raises(DataError, match=r"b\.txt, line 2: not an ASCII"):
        read_names(tmp_path / "b.txt")
    with pytest.raises(DataError, match="does not exist"):
        read_names(tmp_path / "missing.txt")


def test_format_names_has_no_trailing_newline():
    assert format_names(["a", "b"]) == "a\nb"
    assert list_name("NTU120_xsub", "exponential", 100) == "NTU120_xsub_exp_100"
    assert list_name("NTU60_xview", "step", 10.0) == "NTU60_xview_step_10"


# --- long-tailed selection ----------------------------------------------------------------------


def test_selection_matches_the_plain_brl_procedure_and_the_profile():
    names = ntu_full_names(120)
    full = names_from_sequence(names)
    for ratio in (2, 10):
        lt, info = long_tail_names(full, 120, "exponential", ratio, 20, seed=0)
        assert list(lt.names) == _brl_reference(names, 120, ratio, 20)
        expected = class_profile("exponential", 120, ratio, 20)
        assert lt.class_counts(120).tolist() == expected.tolist() == info["requested_counts"]
        assert (np.diff(lt.labels) >= 0).all()  # grouped by class, ascending
        assert info["short_classes"] == []


def test_step_profile_and_seed():
    full = names_from_sequence(ntu_full_names(60))
    lt, _ = long_tail_names(full, 60, "step", 10, 20)
    assert lt.class_counts(60).tolist() == [20] * 30 + [2] * 30
    other, _ = long_tail_names(full, 60, "step", 10, 20, seed=1)
    assert other.class_counts(60).tolist() == lt.class_counts(60).tolist()
    assert other.names != lt.names


def test_short_classes_error_by_default_keep_all_is_the_official_behaviour():
    names = ntu_full_names(60)  # class a has 22 + a % 7 names: A007 has 22 (label 6), A001 has 23
    full = names_from_sequence(names)
    with pytest.raises(DataError, match=r"class\(es\) have fewer names.*label 0: 23 < 26.*short_classes: keep_all"):
        long_tail_names(full, 60, "exponential", 2, 26)
    lt, info = long_tail_names(full, 60, "exponential", 2, 26, short_classes="keep_all")
    requested = class_profile("exponential", 60, 2, 26)
    available = full.class_counts(60)
    assert lt.class_counts(60).tolist() == np.minimum(requested, available).tolist()
    assert info["short_classes"] == np.flatnonzero(available < requested).tolist()
    assert list(lt.names) == _brl_reference(names, 60, 2, 26)  # BRL keeps all names of a short class
    with pytest.raises(DataError, match="short_classes"):
        long_tail_names(full, 60, "exponential", 2, 20, short_classes="truncate")


def test_nwucla_lt_counts_and_view_filter():
    names = [f"a{a:02d}_s{s:02d}_e{e:02d}_v{v:02d}" for a in (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
             for s in range(1, 11) for e in range(6) for v in (1, 2, 3)]  # fmt: skip
    full = names_from_sequence(names, "nwucla")
    train, dropped = filter_views(full, [1, 2])
    assert (len(train), dropped) == (1200, 600)
    assert all(n.endswith(("_v01", "_v02")) for n in train.names)
    lt, _ = long_tail_names(train, 10, "exponential", 10, 100)
    assert lt.class_counts(10).tolist() == [100, 77, 59, 46, 35, 27, 21, 16, 12, 10]
    assert len(lt) == 403


def test_validate_given_list():
    full = names_from_sequence(ntu_full_names(60))
    lt, info = long_tail_names(full, 60, "exponential", 10, 20)
    checks = validate_long_tail_list(lt, full, info["requested_counts"])
    assert checks == {
        "names_in_full_list": True,
        "duplicates": 0,
        "counts_match_profile": True,
        "grouped_by_class": True,
    }
    stranger = list(lt.names)
    stranger[4] = "S009C001P001R001A001"
    with pytest.raises(DataError, match=r"g\.txt, line 5: S009C001P001R001A001 is not in the full list"):
        validate_long_tail_list(names_from_sequence(stranger, source="g.txt"), full, info["requested_counts"])
    with pytest.raises(DataError, match=r"label 0 has 19 names but the profile gives 20"):
        validate_long_tail_list(names_from_sequence(lt.names[1:]), full, info["requested_counts"])
    shuffled = names_from_sequence(lt.names[::-1])
    assert validate_long_tail_list(shuffled, full, info["requested_counts"])["grouped_by_class"] is False


def _lists(full, official, **kw):
    args = dict(num_classes=60, imbalance_ratios=[2, 10], n_max=20, list_prefix="NTU60_xsub")
    return long_tail_lists(full, official, **{**args, **kw})


def test_long_tail_lists_consume_official_lists_and_report_the_procedure():
    full = names_from_sequence(ntu_full_names(60))
    official = {}
    for ratio in (2, 5, 10):
        reordered = names_from_sequence(list(full.names)[::-1])
        official[f"NTU60_xsub_exp_{ratio}"] = long_tail_names(reordered, 60, "exponential", ratio, 20)[0]
    lists, summary = _lists(full, official, use_official_lists=True)
    assert lists["NTU60_xsub_exp_10"] is official["NTU60_xsub_exp_10"]
    entry = summary["lists"]["NTU60_xsub_exp_10"]
    assert entry["origin"] == "official"
    assert entry["validation"]["counts_match_profile"] is True
    assert entry["procedure"]["identical"] is False
    assert entry["class_counts"] == class_profile("exponential", 60, 10, 20).tolist()
    assert (entry["head_count"], entry["tail_count"]) == (20, 2)
    assert summary["official_lists_unused"] == ["NTU60_xsub_exp_5"]

    generated, summary = _lists(full, official)
    assert summary["lists"]["NTU60_xsub_exp_2"]["origin"] == "procedure"
    assert summary["lists"]["NTU60_xsub_exp_2"]["official"]["identical"] is False
    assert generated["NTU60_xsub_exp_2"].names != official["NTU60_xsub_exp_2"].names

    with pytest.raises(DataError, match=r"NTU60_xsub_exp_2\.txt was not found.*use_official_lists: false"):
        _lists(full, {}, use_official_lists=True)
    with pytest.raises(DataError, match="listed twice"):
        _lists(full, {}, imbalance_ratios=[10, 10.0])
    with pytest.raises(DataError, match="'views' applies to NW-UCLA only"):
        _lists(full, {}, views=[1, 2])
    # ``block`` names the parameter block in every message (as the pipeline calls it)
    with pytest.raises(DataError, match=r"^parameter 'ntu60_xsub\.ntu_lt\.views' applies to NW-UCLA only"):
        _lists(full, {}, views=[1, 2], block="ntu60_xsub.ntu_lt")
    with pytest.raises(
        DataError, match=r"'ntu60_xsub\.ntu_lt\.use_official_lists' is true .* ntu60_xsub\.ntu_lt\.use_"
    ):
        _lists(full, {}, use_official_lists=True, block="ntu60_xsub.ntu_lt")
    with pytest.raises(DataError, match=r"lower ntu60_xsub\.ntu_lt\.n_max, or set ntu60_xsub\.ntu_lt\.short_classes"):
        _lists(full, {}, n_max=40, block="ntu60_xsub.ntu_lt")


def test_long_tail_lists_params_name_every_bad_key():
    prefix = "ntu60_xsub.ntu_lt"
    with pytest.raises(ParameterError) as info:
        LongTailListsParams.from_params(
            {"num_classes": "60", "imbalance_ratios": [10, "x"], "n_max": 0, "list_prefix": "P", "ratio": 5}, prefix
        )
    assert [key for key, _ in info.value.problems] == [
        f"{prefix}.ratio", f"{prefix}.num_classes", f"{prefix}.imbalance_ratios[1]", f"{prefix}.n_max"
    ]  # fmt: skip
    assert "did you mean" not in str(info.value) and "known keys: num_classes, imbalance_ratios" in str(info.value)
    for ratios, message in [
        ([], "must list at least one ratio"),
        ([10, 10.0], r"lists a ratio twice \(\[10, 10\.0\]\)"),
        ([10, 100], r"does not fit: class \d+ gets 0 samples with n_max=20 and imbalance_ratio=100"),
    ]:
        params = {"num_classes": 60, "imbalance_ratios": ratios, "n_max": 20, "list_prefix": "P"}
        with pytest.raises(ParameterError, match=rf"^parameter '{prefix}\.imbalance_ratios' {message}"):
            LongTailListsParams.from_params(params, prefix)


def test_long_tail_lists_params_keep_integer_ratios_and_the_defaults():
    params = {"num_classes": 60, "imbalance_ratios": [10, 2.5], "n_max": 20, "list_prefix": "P"}
    block = LongTailListsParams.from_params(params, "ntu60_xsub.ntu_lt")
    assert block.kwargs() == {
        "num_classes": 60, "imbalance_ratios": [10, 2.5], "n_max": 20, "list_prefix": "P", "profile": "exponential",
        "seed": 0, "short_classes": "error", "use_official_lists": False, "views": None,
    }  # fmt: skip
    assert type(block.kwargs()["imbalance_ratios"][0]) is int  # the summary keeps 10, not 10.0
    hints = typing.get_type_hints(LongTailListsParams)
    assert typing.get_args(hints["profile"]) == tuple(PROFILE_TAGS)
    assert typing.get_args(hints["short_classes"]) == SHORT_CLASS_MODES


def test_long_tail_lists_reject_a_full_list_with_too_many_classes():
    full = names_from_sequence(ntu_full_names(61))
    with pytest.raises(DataError, match=r"has label 60, not below num_classes=60"):
        _lists(full, {})


def test_nwucla_lists_from_a_mixed_view_list():
    full = names_from_sequence(nwucla_names(), "nwucla")
    lists, summary = long_tail_lists(
        full, {}, num_classes=10, imbalance_ratios=[10], n_max=10, list_prefix="NW_UCLA", views=[1, 2]
    )
    assert summary["source"]["dropped_by_view"] == 120
    assert lists["NW_UCLA_exp_10"].class_counts(10).tolist() == [10, 7, 5, 4, 3, 2, 2, 1, 1, 1]


# --- the official lists (../shared/data) ---------------------------------------------------------


def _shared(path):
    if not path.exists():
        pytest.skip(f"{path} is absent (shared data not available)")
    return path


@pytest.mark.parametrize("split,n_max", [("xset", 400), ("xsub", 600)])
def test_procedure_reproduces_the_official_ntu120_lists_exactly(split, n_max):
    full = read_names(_shared(NTU_FULL / f"NTU120_{split}_train.txt"), num_classes=120)
    assert len(full) == {"xset": 54468, "xsub": 63026}[split]
    for ratio in (10, 50, 100):
        lt, info = long_tail_names(full, 120, "exponential", ratio, n_max, seed=0)
        digest, count = NTU120_OFFICIAL[f"NTU120_{split}_exp_{ratio}"]
        assert len(lt) == count
        assert hashlib.sha256("\n".join(lt.names).encode()).hexdigest() == digest
        assert lt.content_sha256() == digest
        assert info["short_classes"] == []


@pytest.mark.parametrize("split", ["xsub", "xview"])
def test_ntu60_procedure_gives_the_official_counts(split):
    full = read_names(_shared(NTU_FULL / f"NTU60_{split}_train.txt"), num_classes=60)
    assert len(full) == {"xsub": 40091, "xview": 37646}[split]
    for ratio, total in NTU60_TOTALS.items():
        lt, _ = long_tail_names(full, 60, "exponential", ratio, 600)
        assert len(lt) == total
        assert lt.class_counts(60)[[0, -1]].tolist() == [600, 600 // ratio]


def test_official_ntu60_lists_are_consumed_as_given_and_validated():
    full = read_names(_shared(NTU_FULL / "NTU60_xsub_train.txt"), num_classes=60)
    official = {p.stem: read_names(p, num_classes=60) for p in sorted(_shared(NTU60_LT).glob("*.txt"))}
    lists, summary = _lists(full, official, imbalance_ratios=[10, 50, 100], n_max=600, use_official_lists=True)
    for ratio, total in NTU60_TOTALS.items():
        name = f"NTU60_xsub_exp_{ratio}"
        raw = (NTU60_LT / f"{name}.txt").read_bytes()
        assert not raw.endswith(b"\n")
        assert lists[name].text().encode() == raw  # written back byte for byte
        assert (lists[name].labels == [int(n[17:20]) - 1 for n in lists[name].names]).all()
        entry = summary["lists"][name]
        assert entry["total"] == total
        assert entry["validation"] == {
            "names_in_full_list": True, "duplicates": 0, "counts_match_profile": True, "grouped_by_class": True
        }  # fmt: skip
        assert entry["procedure"]["identical"] is False  # the procedure does not give the official members
        assert 0 < entry["procedure"]["shared_names"] < total
