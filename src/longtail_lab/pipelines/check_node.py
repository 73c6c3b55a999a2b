"""The first node of every namespaced pipeline: check the whole parameter block before anything is read or written.

``parameter_check_node(namespace, Block)`` reads ``params:<namespace>`` (the whole block, so a typo at any depth
is seen) and the run's ``run_info`` (environment, run id, overrides; added to the catalog by
``hooks.RunInfoHooks``), parses it with ``Block.from_params`` (one error listing every bad key by its full
dotted name) and returns the resolved run configuration: ``Block.run_config()`` plus the namespace and the run
info. Every later node of the pipeline reads that configuration, so none of them runs before the check.
"""

from __future__ import annotations

from collections.abc import Callable

from kedro.pipeline import Node, Pipeline

from longtail_lab.params import ParamBlock


def parameter_check(namespace: str, block: type[ParamBlock]) -> Callable[..., dict]:
    def check_parameters(parameters: dict, run_info: dict, *inputs) -> dict:
        config = block.from_params(parameters, namespace, *inputs)
        return {"namespace": namespace, **config.run_config(namespace), "run": dict(run_info)}

    check_parameters.__doc__ = f"The whole ``{namespace}`` parameter block checked -> the run configuration."
    check_parameters.__qualname__ = check_parameters.__name__
    check_parameters.checks_parameters = True  # hooks.RunInfoHooks runs every such node once before the run
    return check_parameters


def parameter_check_node(namespace: str, block: type[ParamBlock], inputs: tuple[str, ...] = ()) -> Node:
    """``inputs``: catalog entries the block's ``check_inputs`` looks at (handles, not data: nothing is read)."""
    return Node(
        parameter_check(namespace, block),
        [f"params:{namespace}", "run_info", *inputs],
        f"{namespace}.run_config",
        name="check_parameters",
        namespace=namespace,
    )


def checked(
    namespace: str,
    block: type[ParamBlock],
    template: Pipeline,
    inputs: tuple[str, ...] = (),
    check_inputs: tuple[str, ...] = (),
    outputs: tuple[str, ...] = (),
) -> Pipeline:
    """``template`` in ``namespace`` (``inputs`` and ``outputs`` keep their names), after the node that checks
    the namespace's whole parameter block (against ``check_inputs``) and writes its ``run_config``."""
    return Pipeline(
        [
            parameter_check_node(namespace, block, tuple(check_inputs)),
            Pipeline(template, namespace=namespace, inputs=set(inputs), outputs=set(outputs) or None),
        ],
        tags=[namespace],
    )
