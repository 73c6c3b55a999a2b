"""Images: in-memory arrays, CIFAR pickles, image folders, file-backed datasets, device-side augmentation."""
