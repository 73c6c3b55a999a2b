"""fMoW ``*_rgb.json`` records: reading one file and turning its ``bounding_boxes`` into arrays.

Nothing in a record is trusted: a file that cannot be read (I/O error, not UTF-8, not JSON, nested too
deeply for the decoder, not an object with ``bounding_boxes``) raises ``RecordError('unreadable_json')``;
a box entry that cannot be used (missing keys, non-integral or non-finite numbers, values no image can
have, an ID outside int64) is dropped and listed in ``BoxRecords.problems`` as ``bad_box``. Callers turn
both into rows of ``skipped.csv`` naming the file, so one hostile record never stops a crop run.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# Box coordinates and sides beyond this are larger than any image (and keep the window arithmetic far
# from int64 overflow); box IDs must fit int64, the type of the ``box_id`` columns.
MAX_BOX_VALUE = 2**31 - 1
MAX_BOX_ID = 2**63 - 1


class RecordError(ValueError):
    """A JSON record that cannot be used: ``reason`` is the skip reason, the message the detail."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


@dataclass(frozen=True)
class BoxRecords:
    """The usable boxes of one record: ``boxes`` int64 [N, 4] (x, y, w, h), ``ids`` int64 [N],
    ``categories`` (None where the record has none, e.g. the public test set) and ``problems``:
    ``(box id or None, reason, detail)`` for entries that were dropped."""

    boxes: np.ndarray
    ids: np.ndarray
    categories: tuple[str | None, ...]
    problems: tuple[tuple[int | None, str, str], ...] = ()


def read_record(path: str | Path) -> dict:
    """The JSON object of a ``*_rgb.json`` file; ``RecordError('unreadable_json', ...)`` when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
    except RecursionError:
        raise RecordError("unreadable_json", "JSON nested too deeply to decode") from None
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise RecordError("unreadable_json", f"{type(exc).__name__}: {exc}") from None
    if not isinstance(record, dict) or "bounding_boxes" not in record:
        raise RecordError("unreadable_json", "not a JSON object with 'bounding_boxes'")
    return record


def _int_value(value, limit: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value != int(value):
        raise ValueError(f"{what} {value!r} is not an integer")
    if not -limit <= value <= limit:
        raise ValueError(f"{what} {value!r} is out of range (|value| <= {limit})")
    return int(value)


def _usable_id(value) -> int | None:
    """The entry's ID when it can name a skip row (an integer within int64), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and -MAX_BOX_ID <= value <= MAX_BOX_ID:
        return value
    return None


def parse_boxes(record: dict) -> BoxRecords:
    """``bounding_boxes`` as arrays. A single dict is treated as a one-element list (as the baseline does)."""
    entries = record["bounding_boxes"]
    if isinstance(entries, dict):
        entries = [entries]
    if not isinstance(entries, list):
        raise RecordError("unreadable_json", "'bounding_boxes' is neither a list nor an object")
    boxes, ids, categories, problems, seen = [], [], [], [], set()
    for entry in entries:
        box_id = entry.get("ID") if isinstance(entry, dict) else None
        try:
            if not isinstance(entry, dict):
                raise ValueError("entry is not an object")
            box_id = _int_value(entry["ID"], MAX_BOX_ID, "ID")
            box = entry["box"]
            if not isinstance(box, list | tuple) or len(box) != 4:
                raise ValueError(f"box {box!r} is not [x, y, w, h]")
            box = [_int_value(v, MAX_BOX_VALUE, "box value") for v in box]
            category = entry.get("category")
            if category is not None and not isinstance(category, str):
                raise ValueError(f"category {category!r} is not a string")
        except (KeyError, ValueError, OverflowError) as exc:
            detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            problems.append((_usable_id(box_id), "bad_box", detail))
            continue
        if box_id in seen:
            problems.append((box_id, "duplicate_box_id", "the record lists this ID twice; the first is kept"))
            continue
        seen.add(box_id)
        boxes.append(box)
        ids.append(box_id)
        categories.append(category)
    return BoxRecords(
        np.asarray(boxes, dtype=np.int64).reshape(-1, 4),
        np.asarray(ids, dtype=np.int64),
        tuple(categories),
        tuple(problems),
    )
