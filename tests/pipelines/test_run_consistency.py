"""Runs that cannot swap results: each run loads back its own versions; resume is keyed on the list loaded.

Through real Kedro sessions of ``cifar_lt`` (env ``test``). An overlapping run is simulated deterministically:
just before this run saves its split, "another run" saves a newer version of the same datasets (the split of
an earlier run with another imbalance ratio, copied under a later timestamp), exactly what Kedro would load
next without the run-consistency hook.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from longtail_lab.errors import DataError
from longtail_lab.io.atomic_outputs import JSONDataset
from longtail_lab.io.list_files import ListFileDataset, ListFileSetDataset
from tests.pipelines.conftest import new_project, run_pipeline, version_names, versioned

NS = "cifar_lt"
LATER = "2999-01-01T00.00.00.000Z"  # sorts after any real run: Kedro takes it for the newest version


def _out(project: Path, rel: str, version: str | None = None) -> Path:
    return versioned(project / "data" / "test_env" / rel, version)


def _metrics(project: Path, version: str) -> dict:
    return json.loads(_out(project, f"08_reporting/{NS}/metrics.json", version).read_text())


def _summary(project: Path, version: str) -> dict:
    return json.loads(_out(project, f"02_intermediate/{NS}/split_summary.json", version).read_text())


def _another_run_saves_meanwhile(monkeypatch, cls, source_version: str) -> None:
    """Just before each save of ``cls``, "another run" saves that dataset's ``source_version`` under the later
    version ``LATER`` (what happens when a run started later reaches the same node first)."""
    original = cls.save

    def save(self, data):
        folder = Path(str(self._filepath))
        source = folder / source_version
        if source.is_dir() and not (folder / LATER).exists():
            shutil.copytree(source, folder / LATER)
        original(self, data)

    monkeypatch.setattr(cls, "save", save)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> tuple[Path, str]:
    """A project with one finished run at imbalance ratio 5 (its version is returned)."""
    project = new_project(tmp_path_factory.mktemp("consistency") / "project")
    run_pipeline(project, "cifar_lt", {NS: {"split": {"imbalance_ratio": 5}}})
    (ratio5,) = version_names(project)
    return project, ratio5


def test_an_overlapping_run_cannot_swap_the_split(project, monkeypatch):
    project, ratio5 = project
    for cls in (ListFileDataset, JSONDataset, ListFileSetDataset):
        _another_run_saves_meanwhile(monkeypatch, cls, ratio5)
    before = version_names(project)
    run_pipeline(project, "cifar_lt")  # conf/test: imbalance ratio 10
    (own,) = version_names(project) - before - {LATER}
    metrics, summary = _metrics(project, own), _summary(project, own)
    assert summary["imbalance_ratio"] == 10 and metrics["imbalance_ratio"] == 10
    checkpoint = torch.load(_out(project, f"06_models/{NS}/model.pt", own), weights_only=True)
    assert checkpoint["class_counts"] == summary["class_counts"]  # trained on its own list, not ratio 5's
    assert checkpoint["split_sha256"] == summary["content_sha256"]
    assert metrics["split"]["content_sha256"] == summary["content_sha256"]
    assert _summary(project, LATER)["imbalance_ratio"] == 5  # "the other run's" newer version was there
    for folder in list((project / "data" / "test_env").rglob(LATER)):
        shutil.rmtree(folder)


def test_resume_follows_the_loaded_list_not_the_fresh_summary(project):
    project, ratio5 = project
    first = _metrics(project, ratio5)
    before = version_names(project)
    # this run's split settings (ratio 10) differ from the pinned list's: a pin of the list alone is refused
    with pytest.raises(DataError, match=r"cifar_lt.split_list .* is not the list cifar_lt.split_summary describes"):
        with_pins(project, {f"{NS}.split_list": ratio5})
    # pinning the whole split of the ratio-5 run trains on that list: the ratio-5 run's finished checkpoint
    pins = {f"{NS}.{name}": ratio5 for name in ("split_list", "split_summary", "test_agnostic_lists")}
    with_pins(project, pins)
    new = sorted(version_names(project) - before)[-1]
    metrics = _metrics(project, new)
    assert metrics["fingerprint"] == first["fingerprint"]
    assert metrics["train"]["resumed_from_epoch"] == metrics["train"]["epochs"]  # finished: nothing retrained
    assert metrics["imbalance_ratio"] == 5 and metrics["top1"] == first["top1"]


def with_pins(project: Path, load_versions: dict) -> None:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project)
    with KedroSession.create(project_path=project, env="test") as session:
        session.run(pipeline_names=[NS], load_versions=load_versions)


def test_stale_temporaries_of_killed_runs_are_removed_and_live_ones_kept(project, caplog):
    project, ratio5 = project
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    metrics_dir = project / "data" / "test_env" / "08_reporting" / NS / "metrics.json"
    stale_file = metrics_dir / ratio5 / f".metrics.json.{dead.pid}-0123abcd.tmp"
    stale_folder = (
        project
        / "data"
        / "test_env"
        / "02_intermediate"
        / NS
        / "test_agnostic"
        / (f".2026-01-01T00.00.00.000Z.{dead.pid}-0123abcd.partial")
    )
    live_file = metrics_dir / ratio5 / f".metrics.json.{os.getpid()}-0123abcd.tmp"
    fingerprint = _metrics(project, ratio5)["fingerprint"]  # the configuration the run below claims
    checkpoint_dir = project / "data" / "test_env" / "06_models" / NS / "runs" / fingerprint
    stale_checkpoint = checkpoint_dir / f".last.pt.{dead.pid}-0123abcd.tmp"
    for path in (stale_file, live_file, stale_checkpoint):
        path.write_bytes(b"half a file")
    stale_folder.mkdir()
    (stale_folder / "uniform.txt").write_text("0 1\n")
    with caplog.at_level(logging.WARNING):
        run_pipeline(project, "cifar_lt", {NS: {"split": {"imbalance_ratio": 5}}})
    assert not stale_file.exists() and not stale_folder.exists() and not stale_checkpoint.exists()
    assert live_file.exists()  # its writer (this process) is alive
    live_file.unlink()
    logged = caplog.text
    assert "cifar_lt.metrics: removed 1 temporary" in logged and str(stale_file) in logged
    assert "cifar_lt.test_agnostic_lists: removed 1 temporary" in logged
    assert f"removed 1 temporary file(s) a killed run left in {checkpoint_dir}" in logged


def test_a_full_disk_while_saving_names_the_dataset_and_leaves_no_partial_file(project, monkeypatch, caplog):
    import errno

    from fsspec.implementations.local import LocalFileOpener
    from kedro.io.core import DatasetError

    project, ratio5 = project
    original = LocalFileOpener.write

    def write(self, data):
        if "metrics.json" in str(self.path):
            self.f.write(data[:10])
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(self, data)

    monkeypatch.setattr(LocalFileOpener, "write", write)
    metrics_root = project / "data" / "test_env" / "08_reporting" / NS / "metrics.json"
    before = sorted(p.name for p in metrics_root.iterdir())
    with caplog.at_level(logging.ERROR), pytest.raises(DatasetError) as info:
        run_pipeline(project, "cifar_lt", {NS: {"split": {"imbalance_ratio": 5}}})
    assert "No space left on device while writing" in str(info.value) and str(metrics_root) in str(info.value)
    assert "cifar_lt.metrics could not be saved: OSError" in caplog.text
    assert sorted(p.name for p in metrics_root.iterdir()) == before  # no version folder, no partial file
    assert not [p for p in metrics_root.rglob(".*")]


@pytest.mark.slow
def test_two_overlapping_kedro_runs_keep_their_own_results(tmp_path):
    """The issue's reproduction: two ``kedro run`` processes of one pipeline started 0.2 s apart."""
    project = new_project(tmp_path / "project")
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "true"}
    command = [sys.executable, "-m", "kedro", "run", "--env", "test", "--pipelines", NS]
    first = subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    second = subprocess.Popen(
        [*command, "--params", f"{NS}.split.imbalance_ratio=5"],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    outputs = [p.communicate(timeout=600)[0].decode() for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    versions = sorted(version_names(project))
    assert len(versions) == 2
    ratios = set()
    for version in versions:
        summary, metrics = _summary(project, version), _metrics(project, version)
        run_config = json.loads(_out(project, f"02_intermediate/{NS}/run_config.json", version).read_text())
        wanted = run_config["split"]["imbalance_ratio"]
        assert summary["imbalance_ratio"] == metrics["imbalance_ratio"] == wanted
        assert metrics["split"]["content_sha256"] == summary["content_sha256"]
        ratios.add(wanted)
    assert ratios == {5, 10}
