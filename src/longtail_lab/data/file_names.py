"""File names that are not UTF-8: found, and written so that a table or a message can hold them.

On POSIX, Python holds the undecodable bytes of a file name as surrogates; such a name cannot be written to a
UTF-8 CSV or JSON file. Readers skip these files (a reported skip) and name them with ``printable``.
"""

from __future__ import annotations

import os
from pathlib import Path


def is_utf8(name: str | Path) -> bool:
    """False for a name with bytes that are not UTF-8."""
    try:
        str(name).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(path: str | Path) -> str:
    """The path with its undecodable bytes written as ``\\xNN``."""
    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")
