"""Parameter blocks refuse bad values with one message naming the full dotted key and what is allowed.

Every pipeline's block (as configured in conf/base) is tried with hostile values at every key: non-finite
numbers, strings where numbers or lists are expected, booleans where integers are expected, integers that no
array or RNG takes, negative seeds. Each must be a ``ParameterError`` naming the key, never a raw Python error.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
from kedro.config import OmegaConfigLoader

from longtail_lab.errors import ParameterError
from longtail_lab.params import MAX_SEED, Bounds, ParamBlock, Problems, check_kwargs, setting
from tests.fixtures import PROJECT_ROOT

HOSTILE = (math.nan, math.inf, -math.inf, "abc", True, 2**70, [1])


class _Sources:
    """Stands in for the catalog's raw image sources (the blocks check that ``dataset`` names one)."""

    def names(self):
        return ["cifar10", "cifar100"]


def _blocks():
    from longtail_lab.data.fmow.crop_writer import CropParams
    from longtail_lab.pipelines.cifar_lt.parameters import CifarLtParams
    from longtail_lab.pipelines.cifar_lt_rl.parameters import CifarLtRlParams
    from longtail_lab.pipelines.list_splits.parameters import ListSplitsBlock
    from longtail_lab.pipelines.lt_splits.parameters import SplitBlock
    from longtail_lab.pipelines.ntu_lt.parameters import namespace_block as ntu_block
    from longtail_lab.pipelines.seg_labels.parameters import namespace_block as seg_block

    return {
        "cifar_lt": (CifarLtParams, (_Sources(),)),
        "cifar_lt_rl": (CifarLtRlParams, (_Sources(),)),
        "cifar100_lt": (SplitBlock, (_Sources(),)),
        "fmow_crops": (CropParams, ()),
        "imagenet_lt": (ListSplitsBlock, ()),
        "inat18_lt": (ListSplitsBlock, ()),
        "ntu60_xsub": (ntu_block("ntu60_xsub"), ()),
        "nwucla": (ntu_block("nwucla"), ()),
        "cityscapes": (seg_block("cityscapes"), ()),
        "synthia": (seg_block("synthia"), ()),
    }


@pytest.fixture(scope="module")
def base_parameters():
    from longtail_lab import settings

    return OmegaConfigLoader(str(PROJECT_ROOT / "conf"), env="base", **settings.CONFIG_LOADER_ARGS)["parameters"]


def _leaves(value, path=()):
    """(path, value) of every scalar and list in a parameter tree; list items get an int in the path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
        return
    yield path, value
    if isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, (*path, i))


def _dotted(namespace, path):
    key = namespace
    for part in path:
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    return key


def _replaced(tree, path, value):
    tree = copy.deepcopy(tree)
    node = tree
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return tree


def _must_refuse(original, bad, key) -> bool:
    if isinstance(bad, float):  # nan, inf, -inf: never a parameter value
        return True
    if isinstance(bad, str):
        return not isinstance(original, str)
    if isinstance(bad, bool):
        return not isinstance(original, bool)
    if isinstance(bad, list):
        return not isinstance(original, list)
    if bad == -1:
        return key.rsplit(".", 1)[-1] == "seed"
    return False  # 2**70: a float may take it, an integer must not (see the mechanism's tests), never a raw error


@pytest.mark.parametrize("namespace", list(_blocks()))
def test_hostile_values_in_every_pipeline_block_are_parameter_errors(base_parameters, namespace):
    block, inputs = _blocks()[namespace]
    base = base_parameters[namespace]
    block.from_params(base, namespace, *inputs).run_config(namespace)  # the configured block is valid
    wrong = []
    for path, original in _leaves(base):
        key = _dotted(namespace, path)
        for bad in (*HOSTILE, -1):
            try:
                block.from_params(_replaced(base, path, bad), namespace, *inputs).run_config(namespace)
            except ParameterError as exc:
                named = [k for k, _ in exc.problems if k.startswith(key) or key.startswith(k)]
                if _must_refuse(original, bad, key) and not named:
                    wrong.append(f"{key}={bad!r}: the error names {[k for k, _ in exc.problems]}")
            except Exception as exc:  # noqa: BLE001 - what the test is about
                wrong.append(f"{key}={bad!r}: raw {type(exc).__name__}: {exc}")
            else:
                if _must_refuse(original, bad, key):
                    wrong.append(f"{key}={bad!r}: accepted")
    assert not wrong, "\n".join(wrong)


# ------------------------------------------------------------------------------------------ the mechanism
@dataclass(frozen=True, kw_only=True)
class _Block(ParamBlock):
    count: int = setting(1, ge=1)
    rate: float = setting(0.5, gt=0)
    seed: int = 0  # no bounds written: a seed gets the range numpy and torch accept
    sampler_seed: int | None = None
    weights: dict[str, float] = None  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("params", "key", "message"),
    [
        ({"count": 2**63}, "b.count", "must be an integer >= 1 that fits in 64 bits, got 9223372036854775808"),
        ({"count": -(2**70)}, "b.count", "must be an integer >= 1"),
        ({"rate": 10**400}, "b.rate", "must be a finite number > 0, got 1000"),
        ({"seed": -1}, "b.seed", "must be an integer seed, 0 <= seed < 2**32 (at most 4294967295), got -1"),
        ({"seed": 2**32}, "b.seed", "must be an integer seed, 0 <= seed < 2**32 (at most 4294967295), got 4294967296"),
        ({"sampler_seed": -5}, "b.sampler_seed", "0 <= seed < 2**32 (at most 4294967295) or null, got -5"),
        ({"seed": True}, "b.seed", "must be an integer seed, 0 <= seed < 2**32 (at most 4294967295), got True"),
        ({"count": True}, "b.count", "must be an integer >= 1, got True"),
        ({"count": "3"}, "b.count", "must be an integer >= 1, got '3'"),
        ({"rate": "0.1"}, "b.rate", "must be a finite number > 0, got '0.1'"),
        ({"weights": {3: 0.5}}, "b.weights", "must be a mapping with string keys, got the key 3"),
        ({"weights": {"a": math.nan}}, "b.weights.a", "must be a finite number, got nan"),
    ],
)
def test_the_mechanism_names_the_key_and_what_is_allowed(params, key, message):
    with pytest.raises(ParameterError) as info:
        _Block.from_params(params, "b")
    assert [k for k, _ in info.value.problems] == [key]
    assert message in str(info.value)


def test_seed_bounds_accept_the_whole_range():
    assert _Block.from_params({"seed": MAX_SEED, "sampler_seed": 0}, "b").seed == 2**32 - 1


def _builder(num_classes: int, widths: Annotated[tuple[int, int, int], Bounds(ge=1)] = (1, 2, 3), seed: int = 0):
    return num_classes, widths, seed


@pytest.mark.parametrize(
    ("kwargs", "key", "message"),
    [
        ({"widths": [4, 8]}, "m.widths", "must be a list of 3: [an integer, an integer, an integer], got [4, 8]"),
        ({"widths": [4, -8, 8]}, "m.widths[1]", "must be an integer >= 1, got -8"),
        ({"widths": "abc"}, "m.widths", "must be a list of 3: [an integer, an integer, an integer], got 'abc'"),
        ({"seed": -1}, "m.seed", "0 <= seed < 2**32"),
    ],
)
def test_keyword_arguments_carry_bounds_from_annotations(kwargs, key, message):
    problems: Problems = []
    assert check_kwargs(_builder, kwargs, "m", problems, ("num_classes",)) is None
    assert [k for k, _ in problems] == [key] and message in problems[0][1]


def test_annotated_any_is_unchecked():
    problems: Problems = []
    assert check_kwargs(lambda x: x, {"x": "anything"}, "m", problems) == {"x": "anything"}
    assert check_kwargs(_any_builder, {"x": [1]}, "m", problems) == {"x": [1]} and not problems


def _any_builder(x: Annotated[Any, "note"] = None):
    return x


# -------------------------------------------------------------------- model and loss options of the pipelines
def _cifar_lt(base_parameters, **overrides):
    from longtail_lab.params import merge
    from longtail_lab.pipelines.cifar_lt.parameters import CifarLtParams

    return CifarLtParams.from_params(merge(base_parameters["cifar_lt"], overrides), "cifar_lt", _Sources())


@pytest.mark.parametrize(
    ("model", "key", "message"),
    [
        (
            {"widths": [16, 32]},
            "cifar_lt.model.widths",
            "must be a list of 3: [an integer, an integer, an integer], got [16, 32]",
        ),
        ({"widths": [16, 0, 64]}, "cifar_lt.model.widths[1]", "must be an integer >= 1, got 0"),
        ({"blocks": 0}, "cifar_lt.model.blocks", "must be an integer >= 1, got 0"),
        ({"scale": -30.0}, "cifar_lt.model.scale", "must be a finite number > 0, got -30.0"),
        ({"name": [1]}, "cifar_lt.model.name", "must be one of resnet32, resnet32_experts, got [1]"),
        ({"name": {"a": 1}}, "cifar_lt.model.name", "must be one of resnet32, resnet32_experts, got {'a': 1}"),
    ],
)
def test_model_options_are_checked_before_the_run_with_the_full_key(base_parameters, model, key, message):
    with pytest.raises(ParameterError) as info:
        _cifar_lt(base_parameters, model=model)
    assert [k for k, _ in info.value.problems] == [key]
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("overrides", "key", "message"),
    [
        ({"method_options": {"sade": {"tau": -1}}}, "cifar_lt_rl.method_options.sade.tau", "finite number >= 0"),
        ({"models": {"sade": {"num_experts": 0}}}, "cifar_lt_rl.models.sade.num_experts", "an integer >= 1, got 0"),
        ({"models": {"sade": {"expert_impl": "fast"}}}, "cifar_lt_rl.models.sade.expert_impl", "one of 'grouped'"),
    ],
)
def test_method_and_expert_options_are_checked_with_the_full_key(base_parameters, overrides, key, message):
    from longtail_lab.params import merge
    from longtail_lab.pipelines.cifar_lt_rl.parameters import CifarLtRlParams

    with pytest.raises(ParameterError) as info:
        CifarLtRlParams.from_params(merge(base_parameters["cifar_lt_rl"], overrides), "cifar_lt_rl", _Sources())
    assert key in [k for k, _ in info.value.problems]
    assert message in str(info.value)


def test_a_class_count_no_array_can_hold_is_refused_before_the_run(base_parameters):
    from longtail_lab.params import merge
    from longtail_lab.pipelines.list_splits.parameters import ListSplitsBlock

    params = merge(base_parameters["imagenet_lt"], {"lists": {"num_classes": 2**40}})
    with pytest.raises(ParameterError) as info:
        ListSplitsBlock.from_params(params, "imagenet_lt")
    assert info.value.problems == [
        ("imagenet_lt.lists.num_classes", "must be an integer >= 1 and <= 1000000, got 1099511627776")
    ]
