"""Custom Kedro datasets (catalog ``type: longtail_lab.io.<Name>``). Used by the catalog only."""

from longtail_lab.io.atomic_outputs import CSVDataset, JSONDataset, MatplotlibDataset
from longtail_lab.io.checkpoint_datasets import RunCheckpointsDataset, TorchCheckpointDataset
from longtail_lab.io.fmow import FmowLayoutDataset
from longtail_lab.io.folders import VersionedFolderDataset
from longtail_lab.io.list_files import ListFileDataset, ListFileSetDataset, ListFolderDataset
from longtail_lab.io.segmentation import SegLayoutDataset
from longtail_lab.io.skeletons import NameListDataset, NameListSetDataset, PysklAnnotationsDataset
from longtail_lab.io.sources import ImageSourcesDataset

__all__ = [
    "CSVDataset",
    "JSONDataset",
    "MatplotlibDataset",
    "FmowLayoutDataset",
    "ImageSourcesDataset",
    "ListFileDataset",
    "ListFileSetDataset",
    "ListFolderDataset",
    "NameListDataset",
    "NameListSetDataset",
    "PysklAnnotationsDataset",
    "RunCheckpointsDataset",
    "SegLayoutDataset",
    "TorchCheckpointDataset",
    "VersionedFolderDataset",
]
