"""Every output lands whole or not at all (a full disk mid-save leaves nothing), with the umask's mode."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import matplotlib.figure
import pandas as pd
import pytest
import torch
from fsspec.implementations.local import LocalFileOpener
from kedro.io.core import DatasetError, Version

from longtail_lab.atomic import (
    ORPHAN_AGE_S,
    atomic_folder,
    atomic_write_bytes,
    is_stale,
    remove_stale_temporaries,
    temporary_name,
)
from longtail_lab.data.lists.format import LabelList
from longtail_lab.io import CSVDataset, JSONDataset, ListFileDataset, MatplotlibDataset, TorchCheckpointDataset

VERSION = "2026-01-01T00.00.00.000Z"


def _figure():
    fig = matplotlib.figure.Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    return fig


CASES = {
    "json": (lambda path: JSONDataset(filepath=str(path / "m.json"), version=Version(None, VERSION)), {"a": 1}),
    "csv": (
        lambda path: CSVDataset(filepath=str(path / "t.csv"), version=Version(None, VERSION)),
        pd.DataFrame({"a": range(1000)}),
    ),
    "png": (lambda path: MatplotlibDataset(filepath=str(path / "f.png"), version=Version(None, VERSION)), None),
}


def _disk_full_after(monkeypatch, nbytes: int = 10) -> None:
    """Every local file write puts ``nbytes`` on disk, then fails like a full disk."""

    def write(self, data):
        self.f.write(data[:nbytes])
        self.f.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(LocalFileOpener, "write", write)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_a_full_disk_leaves_no_partial_output_and_names_the_path(tmp_path, monkeypatch, kind):
    make, data = CASES[kind]
    dataset = make(tmp_path)
    final = Path(str(dataset._filepath)) / VERSION / Path(str(dataset._filepath)).name
    _disk_full_after(monkeypatch)
    with pytest.raises(DatasetError) as info:
        dataset.save(_figure() if data is None else data)
    assert "No space left on device while writing" in str(info.value) and str(final) in str(info.value)
    assert not final.exists()
    assert not final.parent.exists()  # no empty version folder: the dataset has no version at all
    assert list(tmp_path.rglob("*.tmp")) == [] and list(tmp_path.rglob(".*")) == []


@pytest.mark.parametrize("kind", sorted(CASES))
def test_outputs_round_trip_with_the_umask_mode(tmp_path, kind):
    make, data = CASES[kind]
    dataset = make(tmp_path)
    old = os.umask(0o022)
    try:
        dataset.save(_figure() if data is None else data)
    finally:
        os.umask(old)
    (path,) = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert path == Path(str(dataset._filepath)) / VERSION / path.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    if kind == "json":
        assert dataset.load() == data
    elif kind == "csv":
        assert dataset.load()["a"].tolist() == list(range(1000))
    else:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_project_written_files_get_the_umask_mode_not_0600(tmp_path):
    old = os.umask(0o027)
    try:
        ListFileDataset(filepath=str(tmp_path / "l.txt"), version=Version(None, VERSION)).save(
            LabelList(["a", "b"], torch.tensor([0, 1]).numpy())
        )
        TorchCheckpointDataset(filepath=str(tmp_path / "m.pt"), version=Version(None, VERSION)).save({"model": {}})
        atomic_write_bytes(tmp_path / "last.pt", b"x")
    finally:
        os.umask(old)
    for name in ("l.txt", "m.pt"):
        assert stat.S_IMODE((tmp_path / name / VERSION / name).stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "last.pt").stat().st_mode) == 0o640


def test_a_failed_folder_save_leaves_nothing(tmp_path):
    final = tmp_path / "lists" / VERSION
    with pytest.raises(OSError, match=f"No space left on device while writing {final}"):
        with atomic_folder(final) as tmp:
            (tmp / "a.txt").write_text("0 1\n")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert not final.exists() and not final.parent.exists()
    with atomic_folder(final) as tmp:
        (tmp / "a.txt").write_text("0 1\n")
    assert (final / "a.txt").read_text() == "0 1\n" and [p.name for p in final.parent.iterdir()] == [VERSION]


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_stale_temporaries_are_those_of_dead_writers(tmp_path):
    version = tmp_path / VERSION
    version.mkdir()
    dead = version / f".m.json.{_dead_pid()}-0123abcd.tmp"
    mine = temporary_name(version / "m.json")
    old_style = version / ".last.pt.k2j3h4g5.tmp"  # mkstemp's name, written by an older version of the project
    fresh_old_style = version / ".last.pt.zzzzzzzz.tmp"
    other = version / ".hidden_user_file"
    for path in (dead, mine, old_style, fresh_old_style, other):
        path.write_bytes(b"x")
    an_hour_ago = time.time() - ORPHAN_AGE_S - 60
    os.utime(old_style, (an_hour_ago, an_hour_ago))
    assert [is_stale(p) for p in (dead, mine, old_style, fresh_old_style, other)] == [True, False, True, False, False]
    assert sorted(remove_stale_temporaries([version])) == sorted([dead, old_style])
    assert sorted(p.name for p in version.iterdir()) == sorted([mine.name, fresh_old_style.name, other.name])


def test_a_version_folder_left_empty_by_a_killed_save_is_removed(tmp_path):
    version = tmp_path / VERSION
    version.mkdir()
    (version / f".m.json.{_dead_pid()}-0123abcd.tmp").write_bytes(b"half")
    remove_stale_temporaries([version])
    assert not version.exists()
