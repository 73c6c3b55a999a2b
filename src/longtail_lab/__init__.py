"""LongTail Lab: long-tailed and label-scarce deep learning as versioned Kedro pipelines."""

__version__ = "0.1.0"
