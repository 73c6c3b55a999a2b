"""Suite-wide settings: tests write only under temporary folders and never phone home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Before anything imports kedro: its logging config is read once, at import. The project's conf/logging.yml
# (used when the working directory is the project) appends to ./info.log; the tests log to the console only.
os.environ["KEDRO_LOGGING_CONFIG"] = str(Path(__file__).with_name("logging.yml"))
os.environ["KEDRO_DISABLE_TELEMETRY"] = "true"


@pytest.fixture(autouse=True)
def _work_in_a_temporary_folder(tmp_path_factory, monkeypatch):
    """kedro-viz's run hooks write ``.viz/`` into the current Kedro project: keep the working directory (and so
    anything written relative to it) inside a temporary folder."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
