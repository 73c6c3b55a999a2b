"""Pure data functions (no Kedro, no training), one sub-package per modality:

- ``images``: in-memory arrays, CIFAR pickles, image folders (in memory or file-backed), device-side augmentation;
- ``lists``: the ImageNet-LT list format and its checks, long-tail profiles and selection, splits, test-agnostic
  lists, the checks and summaries of whole list datasets;
- ``skeletons``: NTU / NW-UCLA sample names and BRL's long-tailed lists, ``.skeleton`` files, PYSKL pickles,
  modalities;
- ``fmow``: box records, PatchDrop's context-crop rule and the crop writer;
- ``segmentation``: label spaces, dataset layouts, whole-dataset conversion.

``file_names`` (non-UTF-8 file names) is shared by the modalities that walk folders.
"""
