"""Raw NTU ``.skeleton`` parsing: the real sample, generated multi-body files, broken files."""

from __future__ import annotations

import numpy as np
import pytest

from longtail_lab.data.skeletons.ntu_skeleton import parse_skeleton, read_skeleton, skeleton_annotation
from longtail_lab.errors import DataError
from tests.fixtures import SHARED_DATA
from tests.ntu_fixtures import skeleton_text

SAMPLE = SHARED_DATA / "samples" / "ntu" / "S001C001P001R001A001.skeleton"


def _xyz(offset: float) -> np.ndarray:
    return (np.arange(75, dtype=np.float64).reshape(25, 3) * 0.01 + offset).round(4)


def _two_bodies_text() -> str:
    a, b = "72057594037931101", "72057594037931200"
    return skeleton_text(
        [
            [(a, _xyz(0.0))],
            [(a, _xyz(0.1)), (b, _xyz(5.0))],
            [],
            [(b, _xyz(5.5))],
        ]
    )


def test_real_sample():
    if not SAMPLE.exists():
        pytest.skip(f"{SAMPLE} is absent (shared data not available)")
    sk = read_skeleton(SAMPLE)
    assert sk.joints.shape == (1, 103, 25, 3)
    assert sk.joints.dtype == np.float32
    assert sk.body_ids == ("72057594037931101",)
    assert sk.present.all()
    np.testing.assert_allclose(sk.joints[0, 0, 0], [0.2181153, 0.1725972, 3.785547], rtol=1e-6)
    assert 3.0 < float(sk.joints[0, :, :, 2].mean()) < 4.5  # camera-space depth in metres
    ann = skeleton_annotation(sk, "S001C001P001R001A001")
    assert (ann["label"], ann["total_frames"], ann["keypoint"].shape) == (0, 103, (1, 103, 25, 3))


def test_two_bodies_ordered_by_first_appearance_with_zero_gaps():
    sk = parse_skeleton(_two_bodies_text(), "two.skeleton")
    assert sk.body_ids == ("72057594037931101", "72057594037931200")
    assert sk.joints.shape == (2, 4, 25, 3)
    assert sk.present.tolist() == [[True, True, False, False], [False, True, False, True]]
    np.testing.assert_allclose(sk.joints[0, 1], _xyz(0.1), atol=1e-6)
    np.testing.assert_allclose(sk.joints[1, 3], _xyz(5.5), atol=1e-6)
    assert not sk.joints[1, 0].any() and not sk.joints[:, 2].any()


def test_annotation_keeps_the_bodies_with_most_motion():
    bodies = ("1", "2", "3")
    frames = [[(b, _xyz(0.0) * (1 + t * int(b))) for b in bodies] for t in range(3)]
    sk = parse_skeleton(skeleton_text(frames), "three.skeleton")
    ann = skeleton_annotation(sk, "S001C001P001R001A042", max_bodies=2)
    assert ann["label"] == 41
    assert ann["keypoint"].shape == (2, 3, 25, 3)
    np.testing.assert_array_equal(ann["keypoint"], sk.joints[[2, 1]])  # body 3 moves most, then body 2
    with pytest.raises(DataError, match="three.skeleton.*not an NTU sample name"):
        skeleton_annotation(sk, "clip_001")


def test_zero_frames_and_empty_frames():
    sk = parse_skeleton("0\n", "empty")
    assert sk.joints.shape == (0, 0, 25, 3)
    sk = parse_skeleton("2\n0\n0\n", "no bodies")
    assert sk.joints.shape == (0, 2, 25, 3)


def _lines() -> list[str]:
    return _two_bodies_text().split("\r\n")


def _broken(edit) -> str:
    lines = _lines()
    edit(lines)
    return "\n".join(lines)


@pytest.mark.parametrize(
    "edit,message",
    [
        (lambda ls: ls.__setitem__(0, "four"), r"line 1: expected the frame count \(an integer\), got 'four'"),
        (lambda ls: ls.__setitem__(1, "-1"), r"line 2: the body count of frame 1 is negative"),
        (lambda ls: ls.__setitem__(2, "72057594037931101 0 1"), r"line 3: body line has 3 fields, expected 10"),
        (lambda ls: ls.__setitem__(3, "20"), r"line 4: body 72057594037931101 has 20 joints, expected 25"),
        (lambda ls: ls.__setitem__(10, ls[10] + " 7"), r"line 11: joint line has 13 fields, expected 12"),
        (lambda ls: ls.__setitem__(12, ls[12].replace("250.1", "nan?")), r"line 13: joint line has a non-numeric"),
        (lambda ls: ls.__setitem__(12, "inf 0 1 2 3 4 5 6 7 8 9 2"), r"line 13: joint coordinate is not finite"),
        (lambda ls: ls.__setitem__(57, ls[2]), r"line 58: body 72057594037931101 appears twice in frame 2"),
        (lambda ls: ls.append("garbage"), r"line 115: unexpected content after the last of 4 frames"),
    ],
)  # fmt: skip
def test_malformed_files_name_the_line(edit, message):
    with pytest.raises(DataError, match=r"bad\.skeleton, " + message):
        parse_skeleton(_broken(edit), "bad.skeleton")


def test_truncated_files():
    lines = _lines()
    with pytest.raises(
        DataError,
        match=r"bad\.skeleton, line 41: file is truncated inside the joints of body 72057594037931101, frame 2",
    ):
        parse_skeleton("\n".join(lines[:40]), "bad.skeleton")
    with pytest.raises(DataError, match=r"line 85: file is truncated: expected the body count of frame 3"):
        parse_skeleton("\n".join(lines[:84]), "bad.skeleton")


def test_read_skeleton_rejects_binary_and_missing_files(tmp_path):
    path = tmp_path / "x.skeleton"
    path.write_bytes(b"1\n\x00\xff")
    with pytest.raises(DataError, match=r"x\.skeleton: not an NTU \.skeleton text file"):
        read_skeleton(path)
    with pytest.raises(DataError, match="does not exist"):
        read_skeleton(tmp_path / "missing.skeleton")
