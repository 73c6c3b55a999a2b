"""Checking a PNG byte stream before torchvision decodes it.

torchvision's ``decode_png`` (0.29 and earlier) turns a libpng error raised while reading the rows (an IDAT
CRC error, a broken zlib stream, too little image data, a bad row filter) into a segmentation fault that
kills the whole Python process, naming no file. ``check_png`` finds every one of those faults in pure Python
first (chunk CRCs, the IHDR fields, the decompressed size of the IDAT stream, every row's filter byte) and
raises ``ValueError`` instead, so a corrupt label is a reported skip. It also refuses images larger than
Pillow's decompression-bomb limit before anything is inflated. Cost: one zlib pass over the file.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
from PIL import Image

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# colour type -> (channels, allowed bit depths)
COLOUR_TYPES = {0: (1, (1, 2, 4, 8, 16)), 2: (3, (8, 16)), 3: (1, (1, 2, 4, 8)), 4: (2, (8, 16)), 6: (4, (8, 16))}
ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
MAX_FILTER = 4  # None, Sub, Up, Average, Paeth


def _chunks(data: bytes):
    pos = len(SIGNATURE)
    while pos < len(data):
        if pos + 12 > len(data):
            raise ValueError(f"truncated PNG: a chunk header at byte {pos} is cut off")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        end = pos + 8 + length
        if length > 2**31 - 1 or end + 4 > len(data):
            raise ValueError(f"truncated PNG: chunk {kind!r} at byte {pos} runs past the end of the file")
        body = data[pos + 8 : end]
        if zlib.crc32(kind + body) & 0xFFFFFFFF != struct.unpack(">I", data[end : end + 4])[0]:
            raise ValueError(f"corrupt PNG: CRC error in chunk {kind!r} at byte {pos}")
        yield kind, body
        if kind == b"IEND":
            return
        pos = end + 4


def _rows(width: int, height: int, bits_per_pixel: int, interlaced: bool) -> list[tuple[int, int]]:
    """(rows, bytes per row without the filter byte) of every (non-empty) pass."""
    passes = ADAM7 if interlaced else ((0, 0, 1, 1),)
    out = []
    for x0, y0, dx, dy in passes:
        w, h = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if w > 0 and h > 0:
            out.append((h, -(-(w * bits_per_pixel) // 8)))
    return out


def check_png(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG that libpng can read to the end; ``ValueError`` naming the fault otherwise."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG file (no PNG signature)")
    header, idat, seen_idat, ended_idat, palette = None, [], False, False, False
    for kind, body in _chunks(data):
        if header is None:
            if kind != b"IHDR" or len(body) != 13:
                raise ValueError("corrupt PNG: the first chunk is not a 13-byte IHDR")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            if ended_idat:
                raise ValueError("corrupt PNG: IDAT chunks are not consecutive")
            seen_idat = True
            idat.append(body)
        else:
            ended_idat = seen_idat
            palette |= kind == b"PLTE"
    if header is None:
        raise ValueError("truncated PNG: no IHDR chunk")
    width, height, depth, colour, compression, filtering, interlace = header
    channels, depths = COLOUR_TYPES.get(colour, (0, ()))
    if not (0 < width < 2**31 and 0 < height < 2**31) or depth not in depths or compression or filtering:
        raise ValueError(f"corrupt PNG: invalid header ({width}x{height}, bit depth {depth}, colour type {colour})")
    if interlace not in (0, 1) or (colour == 3 and not palette):
        raise ValueError("corrupt PNG: unknown interlace method or a palette image without PLTE")
    limit = Image.MAX_IMAGE_PIXELS
    if limit and width * height > 2 * limit:
        raise ValueError(f"image of {width}x{height} pixels exceeds the decompression-bomb limit of {2 * limit} pixels")
    rows = _rows(width, height, depth * channels, interlace == 1)
    expected = sum(h * (1 + n) for h, n in rows)
    inflate = zlib.decompressobj()
    try:
        raw = inflate.decompress(b"".join(idat), expected)
    except zlib.error as exc:
        raise ValueError(f"corrupt PNG: image data does not inflate ({exc})") from None
    if len(raw) < expected:
        raise ValueError(f"truncated PNG: {len(raw)} bytes of image data, {width}x{height} needs {expected}")
    start = 0
    for h, n in rows:
        filters = np.frombuffer(raw, dtype=np.uint8, count=h * (1 + n), offset=start)[:: 1 + n]
        if filters.max() > MAX_FILTER:
            raise ValueError(f"corrupt PNG: row filter type {int(filters.max())} (0-{MAX_FILTER} exist)")
        start += h * (1 + n)
    return width, height
