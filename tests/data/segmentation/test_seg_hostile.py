"""Hostile segmentation label files: each one a reported skip naming the file, never a crashed run."""

from __future__ import annotations

import json
import os
import shutil
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from longtail_lab.data.segmentation.conversion import ConversionSettings, LabelMapWriter
from longtail_lab.data.segmentation.layouts import decode_label, discover
from longtail_lab.errors import DataError
from tests.seg_fixtures import H, W, write_gtav, write_synthia

ROW = W * 6  # bytes of one 16-bit RGB row


def _chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def _png16(raw: bytes, width: int = W, height: int = H, idat_crc: int | None = None, stream: bytes | None = None):
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    idat = zlib.compress(raw) if stream is None else stream
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat, idat_crc) + _chunk(b"IEND", b"")


GOOD_ROWS = b"".join(b"\x00" + bytes(ROW) for _ in range(H))
# Each of these made torchvision's decode_png kill the Python process (segmentation fault).
CORRUPT = {
    "short_data": (_png16(GOOD_ROWS[:50]), "truncated PNG: 50 bytes of image data, 16x8 needs 776"),
    "idat_crc": (_png16(GOOD_ROWS, idat_crc=1234), "CRC error in chunk b'IDAT'"),
    "bad_filter": (_png16(b"".join(b"\x07" + bytes(ROW) for _ in range(H))), "row filter type 7"),
    "not_zlib": (_png16(b"", stream=b"garbage-not-zlib"), "image data does not inflate"),
    "bomb": (_png16(GOOD_ROWS, 60000, 60000), "exceeds the decompression-bomb limit"),
    "cut": (_png16(GOOD_ROWS)[:45], "runs past the end of the file"),
}


@pytest.mark.parametrize("name", CORRUPT)
def test_a_corrupt_synthia_label_is_a_data_error_naming_the_file(tmp_path, name):
    data, words = CORRUPT[name]
    path = tmp_path / "GT" / "LABELS" / "0000009.png"
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    with pytest.raises(DataError) as info:
        decode_label("synthia", path)
    assert str(info.value).startswith(f"{path}: cannot decode label image (")
    assert words in str(info.value)


def test_corrupt_synthia_labels_are_skips_and_the_good_ones_are_converted(tmp_path):
    root, out = tmp_path / "synthia", tmp_path / "out"
    write_synthia(root)
    for n, (data, _) in enumerate(CORRUPT.values()):
        Image.fromarray(np.zeros((H, W, 3), dtype=np.uint8)).save(root / "RGB" / f"900000{n}.png")
        (root / "GT" / "LABELS" / f"900000{n}.png").write_bytes(data)
    out.mkdir()
    LabelMapWriter(discover("synthia", root), ConversionSettings(workers=2)).write(out, out)
    report = json.loads((out / "report.json").read_text())
    assert report["converted"] == 2 and report["skipped"] == len(CORRUPT)
    skipped = {s["label"]: s["reason"] for s in report["skipped_files"]}
    for n, (_, words) in enumerate(CORRUPT.values()):
        reason = skipped[f"GT/LABELS/900000{n}.png"]
        assert reason.startswith(f"{root}/GT/LABELS/900000{n}.png: cannot decode label image") and words in reason


def test_an_image_name_that_is_not_utf8_is_a_skip_not_a_crash_when_the_tables_are_written(tmp_path):
    root, out = tmp_path / "gtav", tmp_path / "out"
    write_gtav(root)
    for sub in ("images", "labels"):
        shutil.copy(root / sub / "00001.png", os.fsencode(root / sub) + b"/bad_\xff.png")
    index = discover("gtav", root)
    assert [(s.image, s.label) for s in index.bad_names] == [("images/bad_\\xff.png", "labels/bad_\\xff.png")]
    assert index.orphan_labels == ()
    out.mkdir()
    LabelMapWriter(index, ConversionSettings(workers=1)).write(out, out)
    report = json.loads((out / "report.json").read_text())
    assert (report["images_found"], report["converted"], report["skipped"]) == (3, 2, 1)
    assert report["skipped_files"] == [
        {"image": "images/bad_\\xff.png", "label": "labels/bad_\\xff.png", "reason": "file name is not valid UTF-8"}
    ]
    assert (out / "index.csv").read_text().count("\n") == 3  # header + the two good labels
    with pytest.raises(DataError, match=r"gtav/images/bad_\\xff\.png: image file name is not valid UTF-8$"):
        LabelMapWriter(index, ConversionSettings(on_bad_label="error")).write(tmp_path, tmp_path)
