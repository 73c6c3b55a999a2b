"""fMoW: box records, the context-crop rule and the crop writer (PatchDrop's inputs)."""
