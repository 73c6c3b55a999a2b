"""Kedro hooks: what every run knows about itself, overrides that would be silently ignored, node timings."""

from __future__ import annotations

import difflib
import errno
import logging
import os
import sys
import time
from collections.abc import Mapping

from kedro.framework.hooks import hook_impl

import longtail_lab
from longtail_lab.errors import CheckpointError, ConfigurationBusyError, DataError, ParameterError
from longtail_lab.run_versions import RunVersions

log = logging.getLogger(__name__)

# Runtime parameters that are not part of a pipeline's block: the catalog reads them (``${runtime_params:...}``).
CATALOG_SWITCHES = {"download_raw": "download missing CIFAR pickles through torchvision (true/false)"}


def _dotted(params: Mapping, prefix: str = "") -> list[str]:
    out = []
    for key, value in params.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        out += _dotted(value, name) if isinstance(value, Mapping) and value else [name]
    return out


def parameter_blocks(pipeline) -> set[str]:
    """The top-level parameter blocks a pipeline reads (``params:cifar_lt_rl.train`` -> ``cifar_lt_rl``)."""
    return {name.split(":", 1)[1].split(".", 1)[0] for name in pipeline.inputs() if name.startswith("params:")}


def check_runtime_params(runtime_params: Mapping | None, blocks: set[str]) -> None:
    """Refuse ``--params`` keys that no node of this run would read (a typo in the namespace, or a block of
    another pipeline): otherwise the run would go ahead with the defaults."""
    problems = []
    for key in _dotted(runtime_params or {}):
        top = key.split(".", 1)[0]
        if top in blocks or top in CATALOG_SWITCHES:
            continue
        close = difflib.get_close_matches(top, sorted(blocks), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        problems.append(
            (
                key,
                f"(from --params) is not read by this run{hint}; its parameter blocks are "
                f"{', '.join(sorted(blocks)) or '(none)'} and the catalog switches {', '.join(CATALOG_SWITCHES)}",
            )
        )
    if problems:
        raise ParameterError(problems)


def run_info(run_params: Mapping) -> dict:
    """Environment, run id, pipelines and overrides of a run: recorded in its run configuration and metrics."""
    import torch  # here, not at import: settings import this module for every kedro command

    return {
        "run_id": run_params.get("run_id"),
        "env": run_params.get("env"),
        "pipelines": list(run_params.get("pipeline_names") or ["__default__"]),
        "runtime_params": dict(run_params.get("runtime_params") or {}),
        "versions": {
            "longtail_lab": longtail_lab.__version__,
            "kedro": run_params.get("kedro_version"),
            "torch": torch.__version__,
        },
    }


def check_all_blocks(pipeline, catalog) -> None:
    """Run every parameter-check node of the run once, now: a run of several namespaces or pipelines then
    stops before *any* of them writes its run configuration. One error lists the problems of every block."""
    problems = []
    for node in pipeline.nodes:
        if getattr(node.func, "checks_parameters", False):
            try:
                node.func(*(catalog.load(name) for name in node.inputs))
            except ParameterError as exc:
                problems += exc.problems
    if problems:
        raise ParameterError(problems)


class RunInfoHooks:
    """Before any node: refuse overrides nobody reads, put ``run_info`` into the catalog (every pipeline's
    parameter-check node records it in the run configuration) and check every parameter block of the run."""

    @hook_impl
    def before_pipeline_run(self, run_params: dict, pipeline, catalog) -> None:
        check_runtime_params(run_params.get("runtime_params"), parameter_blocks(pipeline))
        catalog["run_info"] = run_info(run_params)
        check_all_blocks(pipeline, catalog)


class RunVersionHooks:
    """Run consistency (``run_versions``): each run loads back exactly the versions it saved, reads its inputs
    at one version, cleans up after killed saves; a failed save is logged with the dataset's name."""

    def __init__(self) -> None:
        self._run: RunVersions | None = None
        self._saving: str | None = None

    @hook_impl
    def before_pipeline_run(self, run_params: dict, pipeline, catalog) -> None:
        self._run = RunVersions(catalog, run_params.get("load_versions"))
        self._run.remove_stale_temporaries(pipeline.datasets())
        self._run.pin_inputs(pipeline.inputs())

    @hook_impl
    def before_dataset_loaded(self, dataset_name: str) -> None:
        if self._run is not None:
            self._run.before_load(dataset_name)

    @hook_impl
    def before_dataset_saved(self, dataset_name: str) -> None:
        self._saving = dataset_name
        if self._run is not None:  # pinned before the save, so that Kedro's check after it agrees
            self._run.on_save(dataset_name)

    @hook_impl
    def after_dataset_saved(self) -> None:
        self._saving = None

    @hook_impl
    def after_pipeline_run(self) -> None:
        self._run = None

    @hook_impl
    def on_pipeline_error(self, error: Exception) -> None:
        # Kedro's error names the dataset's class and path; this line names it as the catalog does
        if self._saving is not None:
            log.error(
                "%s could not be saved: %s. No partial file was left in its place; the outputs saved before are kept.",
                self._saving,
                _root_cause(error),
            )
        self._run, self._saving = None, None


def _root_cause(error: BaseException) -> str:
    while error.__cause__ is not None:
        error = error.__cause__
    return f"{type(error).__name__}: {error}"


class NodeTimingHooks:
    """One log line per finished node with its wall time."""

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


# OS errors of a save that the user fixes outside the project (space, permissions): no traceback helps there.
_USER_FIXABLE_OS_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS)


def _is_bad_input(exc: BaseException) -> bool:
    """Errors whose message names the file, line, parameter or path at fault: bad input (``DataError`` and
    ``ParameterError``), an unusable checkpoint, a configuration busy in another run, a full or read-only disk."""
    if isinstance(exc, DataError | CheckpointError | ConfigurationBusyError):
        return True
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in _USER_FIXABLE_OS_ERRORS:
            return True
        exc = exc.__cause__
    return False


def short_input_errors(previous=sys.excepthook):
    """An excepthook for the ``kedro`` command: bad input (see ``_is_bad_input``) prints its message alone,
    without the 60 lines of pluggy/click traceback above it, because the message already names the file, line
    or parameter at fault. ``LONGTAIL_TRACEBACK=1`` shows the traceback; any other exception is unchanged."""

    def excepthook(exc_type, exc, tb) -> None:
        if _is_bad_input(exc) and os.environ.get("LONGTAIL_TRACEBACK", "") in ("", "0"):
            where = (
                "the run stopped before any node ran; nothing was written"
                if isinstance(exc, ParameterError)
                else "the run stopped; outputs of the nodes that finished are kept"
            )
            print(
                f"\n{exc_type.__name__}: {exc}\n({where}; LONGTAIL_TRACEBACK=1 shows the traceback)",
                file=sys.stderr,
            )
            return
        previous(exc_type, exc, tb)

    return excepthook
