"""One run reads only its own results: the load versions of a run's versioned datasets, fixed.

Kedro loads the newest version on disk. When two runs of one pipeline overlap, the earlier run would load the
later run's ``split_list``, ``split_summary`` or ``model_checkpoint`` as soon as that run has saved them, and
both would finish without an error. ``RunVersions`` pins, inside one run:

- every versioned dataset the run *saves* to the version it saved (the run's save version);
- every versioned dataset the run *reads* without producing it to the newest version at its first read (the
  run's inputs at start, for the inputs of the whole pipeline), so that all nodes of the run see one version;
- nothing the user pinned with ``--load-versions``: that pin wins.

It also removes the temporaries that a killed save of one of the run's datasets left behind (files and folders
named by ``longtail_lab.atomic``, whose writing process is gone) and logs what it removed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from kedro.io.core import AbstractVersionedDataset, DatasetError, Version

from longtail_lab.atomic import remove_stale_temporaries

log = logging.getLogger(__name__)


class RunVersions:
    """The version bookkeeping of one run over its catalog (see the module docstring)."""

    def __init__(self, catalog, user_pins: Mapping[str, str] | None = None) -> None:
        self.catalog = catalog
        self.user_pins = dict(user_pins or {})
        self.pinned: dict[str, str] = {}

    def _versioned(self, name: str) -> AbstractVersionedDataset | None:
        if name.startswith("params:") or name == "parameters":
            return None
        try:
            dataset = self.catalog.get(name)
        except DatasetError:
            return None
        if isinstance(dataset, AbstractVersionedDataset) and dataset._version is not None:
            return dataset
        return None

    def _pin(self, name: str, dataset: AbstractVersionedDataset, version: str) -> None:
        # Kedro keeps the pinned load version in ``_version`` (what ``--load-versions`` sets); there is no
        # public setter on a dataset the catalog has already built.
        dataset._version = Version(version, dataset._version.save)
        dataset._clear_version_cache()
        self.pinned[name] = version

    def pin_inputs(self, names: Iterable[str]) -> None:
        """Fix the newest version now of each versioned input of the whole pipeline (not produced by it)."""
        for name in sorted(names):
            self.before_load(name)
        if self.pinned:
            log.info(
                "inputs read at the versions current at the start of the run: %s",
                ", ".join(f"{n}@{v}" for n, v in sorted(self.pinned.items())),
            )

    def before_load(self, name: str) -> None:
        """First read of a dataset this run has not saved: keep the version found now for the whole run."""
        if name in self.pinned or name in self.user_pins:
            return
        dataset = self._versioned(name)
        if dataset is None or dataset._version.load is not None:
            return
        try:
            version = dataset.resolve_load_version()
        except DatasetError:  # no version yet: the load itself will say so
            return
        if version is not None:
            self._pin(name, dataset, version)

    def on_save(self, name: str) -> None:
        """The run saves ``name``: its later loads in this run read exactly that version."""
        if name in self.user_pins:
            return
        dataset = self._versioned(name)
        if dataset is not None:
            self._pin(name, dataset, dataset.resolve_save_version())

    def remove_stale_temporaries(self, names: Iterable[str]) -> None:
        """Remove what killed saves of these datasets left (their writers are gone) and say so."""
        for name in sorted(names):
            if name.startswith("params:") or name == "parameters":
                continue
            try:
                dataset = self.catalog.get(name)
            except DatasetError:
                continue
            folders = getattr(dataset, "stale_temporary_folders", None)
            if folders is None:
                continue
            removed = remove_stale_temporaries(folders())
            if removed:
                log.warning(
                    "%s: removed %d temporary file(s) or folder(s) that a killed run left half-written: %s",
                    name,
                    len(removed),
                    ", ".join(str(p) for p in removed),
                )
