"""Custom Kedro datasets (catalog ``type: longtail_lab.io.<Name>``). Used by the catalog only."""

from longtail_lab.io.checkpoints import RunCheckpointsDataset, TorchCheckpointDataset
from longtail_lab.io.folders import VersionedFolderDataset
from longtail_lab.io.list_files import ListFileDataset, ListFileSetDataset, ListFolderDataset
from longtail_lab.io.sources import ImageSourcesDataset

__all__ = [
    "ImageSourcesDataset",
    "ListFileDataset",
    "ListFileSetDataset",
    "ListFolderDataset",
    "RunCheckpointsDataset",
    "TorchCheckpointDataset",
    "VersionedFolderDataset",
]
