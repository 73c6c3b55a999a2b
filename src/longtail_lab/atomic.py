"""Files and folders that appear whole or not at all, and the temporaries a killed process leaves behind.

Every output of the project is written under a hidden temporary name in its final folder, flushed to disk,
then renamed into place: a crash, a kill or a full disk leaves the old state (no file, or the previous one),
never a truncated file. Temporaries are named ``.<final name>.<pid>-<token>.tmp`` (files) and
``.<final name>.<pid>-<token>.partial`` (folders), so that a later run can tell a temporary whose writer is
dead (removed, and logged) from one that a run working right now is still writing (left alone).

New files get the mode the user's umask gives (``0644`` for the usual ``022``), as ``open()`` would, not
``mkstemp``'s ``0600``: a colleague sharing the project folder can read every output.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

# A temporary without a recognisable writer (named by an older version of the project) counts as stale
# once it is this old: no single write of the project takes an hour.
ORPHAN_AGE_S = 3600.0

_TEMPORARY = re.compile(r"^\.(?P<final>.+)\.(?P<pid>\d+)-(?P<token>[0-9a-f]{8})\.(?P<kind>tmp|partial)$")
_OLD_TEMPORARY = re.compile(r"^\.(?P<final>.+?)\.(?:[A-Za-z0-9_]+\.tmp|partial)$")


def file_mode() -> int:
    """The mode ``open()`` would give a new file: 0o666 minus the process umask."""
    mask = os.umask(0)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return 0o666 & ~mask


def temporary_name(final: Path, kind: str = "tmp") -> Path:
    """A fresh hidden name beside ``final`` that records this process (``kind``: ``tmp`` or ``partial``)."""
    return final.with_name(f".{final.name}.{os.getpid()}-{secrets.token_hex(4)}.{kind}")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be opened for fsync
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def naming_path(exc: OSError, path: Path, what: str = "writing") -> OSError:
    """The same OS error with the path in its message (``[Errno 28] No space left on device`` alone names
    nothing). Returned, to be raised ``from`` the original."""
    reason = exc.strerror or str(exc)
    hint = "; free some space and run again" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    return type(exc)(exc.errno, f"{reason} while {what} {path} (nothing was written there{hint})")


def write_file_atomically(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call ``write(temporary_path)``, fsync the result, give it the umask's mode and rename it to ``path``.

    On any failure the temporary is removed and ``path`` is untouched; an ``OSError`` names ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and str(path) not in str(exc):
            raise naming_path(exc, path) from exc
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """``data`` into ``path`` through ``write_file_atomically``: readers see the old file or the new one."""
    write_file_atomically(path, lambda tmp: tmp.write_bytes(data))


@contextlib.contextmanager
def atomic_folder(final: str | Path) -> Iterator[Path]:
    """Yield a hidden temporary folder beside ``final``; on a clean exit it is renamed to ``final``, on an
    error it is removed (with the version folder above it when that folder is left empty)."""
    final = Path(final)
    if final.exists():
        raise FileExistsError(f"{final}: exists already; versions are never overwritten")
    created_parent = not final.parent.exists()
    tmp = temporary_name(final, "partial")
    tmp.mkdir(parents=True)
    try:
        yield tmp
        os.rename(tmp, final)
    except BaseException as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if created_parent:
            with contextlib.suppress(OSError):
                final.parent.rmdir()  # only when empty
        if isinstance(exc, OSError) and str(final) not in str(exc):
            raise naming_path(exc, final) from exc
        raise
    _fsync_dir(final.parent)


def _writer_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a live process of another user
        return True
    return True


def is_stale(path: Path, now: float | None = None) -> bool:
    """Whether ``path`` is a temporary of this project whose writer is gone."""
    match = _TEMPORARY.match(path.name)
    if match:
        return not _writer_alive(int(match["pid"]))
    if _OLD_TEMPORARY.match(path.name):
        try:
            age = (now or time.time()) - path.lstat().st_mtime
        except FileNotFoundError:
            return False
        return age > ORPHAN_AGE_S
    return False


def remove_stale_temporaries(folders: list[Path]) -> list[Path]:
    """Remove the stale temporaries directly inside each of ``folders`` (and a version folder a killed save
    left empty). Returns what was removed; a temporary of a live writer is left alone."""
    removed = []
    for folder in folders:
        if not folder.is_dir():
            continue
        before = len(removed)
        for entry in sorted(folder.iterdir()):
            if not entry.name.startswith(".") or not is_stale(entry):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
        if len(removed) > before and not any(folder.iterdir()):
            with contextlib.suppress(OSError):
                folder.rmdir()
    return removed
