"""Segmentation: label spaces (ids -> trainIds), dataset layouts and whole-dataset conversion."""
