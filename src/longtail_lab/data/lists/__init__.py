"""List files: the ImageNet-LT format and its checks, long-tail profiles and selection, splits, test-agnostic sets."""
