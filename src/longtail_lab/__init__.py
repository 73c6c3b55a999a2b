"""LongTail Lab: long-tailed and label-scarce deep learning as versioned Kedro pipelines."""

import os

# OpenMP reads this once, when torch loads it, so it is set before anything imports torch: waiting threads
# sleep instead of spinning, which keeps CPU training from collapsing when another process holds a core
# (see ``engine/threads.py`` for the measurements). A value you set yourself is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
