"""Throw-away Kedro projects with tiny official-format CIFAR layouts, run through real sessions."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.fixtures import make_project_copy, write_tiny_cifar10, write_tiny_cifar100

os.environ["KEDRO_DISABLE_TELEMETRY"] = "true"

# The test-agnostic distributions of conf/test (ratios [5, 2], n_max 10): name -> (direction, ratio).
AGNOSTIC = {
    "forward5": ("forward", 5),
    "forward2": ("forward", 2),
    "uniform": ("uniform", None),
    "backward5": ("backward", 5),
    "backward2": ("backward", 2),
}

OUTPUT_LAYERS = ("02_intermediate", "03_primary", "06_models", "07_model_output", "08_reporting")


def new_project(root: Path, cifar10: bool = False) -> Path:
    project = make_project_copy(root)
    raw = project / "data" / "01_raw"
    write_tiny_cifar100(raw, train_per_class=30, test_per_class=10)
    if cifar10:
        write_tiny_cifar10(raw, train_per_class=30, test_per_class=10)
    return project


def run_pipeline(project: Path, name: str, runtime_params: dict | None = None) -> None:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project)
    with KedroSession.create(project_path=project, env="test", runtime_params=runtime_params or {}) as session:
        session.run(pipeline_names=[name])


def outputs_snapshot(project: Path) -> dict[str, str]:
    """sha256 of every file the pipelines may write (everything under data/ but the raw layer)."""
    out = {}
    for layer in OUTPUT_LAYERS:
        for path in sorted((project / "data" / "test_env" / layer).rglob("*")):
            if path.is_file():
                out[str(path.relative_to(project))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def version_names(project: Path) -> set[str]:
    """Timestamps of all version folders of versioned outputs (``<path>/<timestamp>/<file>``)."""
    names = set()
    for layer in OUTPUT_LAYERS:
        for path in (project / "data" / "test_env" / layer).rglob("*"):
            if path.is_dir() and (path / path.parent.name).exists():
                names.add(path.name)
    return names


def versioned(path: Path, version: str | None = None) -> Path:
    """The file of ``version`` (default: the only version) of the versioned dataset at ``path``."""
    versions = sorted(p.name for p in path.iterdir() if p.is_dir())
    if version is None:
        assert len(versions) == 1, f"{path}: expected one version, found {versions}"
        version = versions[0]
    assert version in versions, f"{path}: no version {version}, found {versions}"
    return path / version / path.name


@pytest.fixture
def project_factory(tmp_path):
    def make(cifar10: bool = False, name: str = "project") -> Path:
        return new_project(tmp_path / name, cifar10=cifar10)

    return make
