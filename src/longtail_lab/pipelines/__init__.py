"""One package per runnable pipeline: ``nodes.py`` (thin functions) and ``pipeline.py`` (wiring)."""
