"""Pure data functions: readers, long-tail profiles and selection, list files, device-side augmentation."""
