"""Kedro hooks: one log line per finished node with its wall time."""

from __future__ import annotations

import logging
import time

from kedro.framework.hooks import hook_impl

log = logging.getLogger(__name__)


class NodeTimingHooks:
    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._total = 0
        self._done = 0

    @hook_impl
    def before_pipeline_run(self, pipeline) -> None:
        self._total, self._done = len(pipeline.nodes), 0

    @hook_impl
    def before_node_run(self, node) -> None:
        self._started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node) -> None:
        self._done += 1
        took = time.perf_counter() - self._started.pop(node.name, time.perf_counter())
        log.info("[%d/%d] %s finished in %.1fs", self._done, self._total, node.name, took)
