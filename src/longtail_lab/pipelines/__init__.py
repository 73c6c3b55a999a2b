"""One package per runnable pipeline: ``nodes.py`` (thin functions) and ``pipeline.py`` (wiring). The registry
(``pipeline_registry.py``) also runs the list datasets and the families by name."""
