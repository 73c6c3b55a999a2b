"""Skeletons: NTU / NW-UCLA sample names and long-tailed lists, ``.skeleton`` parsing, PYSKL pickles, modalities."""
