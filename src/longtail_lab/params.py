"""Parameter blocks: frozen dataclasses parsed once, every problem named by its full dotted key (no Kedro here).

A block declares its keys as dataclass fields with type annotations; :meth:`ParamBlock.from_params` checks a
parameter dict against them and raises one :class:`ParameterError` that lists *every* bad key with its full
name (``cifar_lt_rl.train.epochs``, including the namespace) and what is allowed:

- a key the block does not declare, at any depth (a typo), with the known keys;
- a value of the wrong type (``'three'`` for an integer, a string for a list, ``true`` for a number, a mapping
  key that is not a string), a non-finite number (NaN, inf), an integer outside 64 bits, a value outside its
  bounds (``setting(ge=1)``, or ``Annotated[int, Bounds(ge=1)]`` in a builder's signature) or not among its
  choices (``Literal[...]``);
- a seed outside ``0 <= seed < 2**32`` (what numpy and torch accept): every integer key named ``seed`` or
  ``*_seed`` gets that range, whether or not its block wrote bounds;
- whatever the block's own :meth:`ParamBlock.cross_check` finds across keys (e.g. milestones that do not fit).

Supported annotations: ``bool``, ``int`` (``true`` refused), ``float`` (ints accepted, NaN/inf refused), ``str``,
``Literal[...]``, ``X | None``, unions, ``tuple[X, ...]``, ``tuple[X, Y]``, ``list[X]``/``Sequence[X]``,
``dict[str, X]``, ``Any``, ``Annotated[X, Bounds(...)]`` and nested blocks. A value that passes is already of
the declared type, so nothing downstream converts parameters by hand (no ``int(...)``, ``list(...)``).
:func:`check_kwargs` applies the same rules to a function's keyword arguments (model and loss options are checked
against their builders' signatures, whose annotations may carry ``Bounds``).
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
import math
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Annotated, Any, Literal, Union

from longtail_lab.errors import ParameterError

Problems = list[tuple[str, str]]
RUN_CONFIG_EXTRAS = ("namespace", "run")  # what a run configuration holds besides its settings
MAX_SEED = 2**32 - 1  # numpy's legacy RNG and torch generators take seeds in [0, 2**32 - 1]
SEED_BOUNDS = {"ge": 0, "le": MAX_SEED}
INT64 = (-(2**63), 2**63 - 1)  # what numpy, torch and the C code under them take as an integer
MAX_CLASSES = 1_000_000  # bound of a ``num_classes`` key: per-class arrays are allocated from it (iNat-2018: 8142)


@dataclasses.dataclass(frozen=True)
class Bounds:
    """Numeric bounds in an annotation, for keyword arguments checked by :func:`check_kwargs` (a builder's
    ``widths: Annotated[tuple[int, int, int], Bounds(ge=1)]``); block fields use :func:`setting` instead."""

    ge: Any = None
    gt: Any = None
    le: Any = None
    lt: Any = None

    def as_dict(self) -> dict:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}


def _unwrap(tp: Any, bounds: dict) -> tuple[Any, dict]:
    """``Annotated[X, Bounds(...)]`` -> (X, the bounds merged under ``bounds``); other annotations unchanged."""
    while typing.get_origin(tp) is Annotated:
        tp, *extras = typing.get_args(tp)
        for extra in extras:
            if isinstance(extra, Bounds):
                bounds = {**extra.as_dict(), **bounds}
    return tp, bounds


def is_seed_key(key: str) -> bool:
    """A key named ``seed`` or ``*_seed`` (the last part of a dotted key)."""
    name = key.rsplit(".", 1)[-1]
    return name == "seed" or name.endswith("_seed")


def _takes_int(tp: Any) -> bool:
    return tp is int or (typing.get_origin(tp) in (Union, types.UnionType) and int in typing.get_args(tp))


def setting(default: Any = dataclasses.MISSING, *, ge=None, gt=None, le=None, lt=None, **kwargs) -> Any:
    """A dataclass field with numeric bounds (applied to the value, or to each element of a list)."""
    bounds = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if v is not None}
    if isinstance(default, list | dict | set):
        raise TypeError("use a tuple (or default_factory) for a mutable default")
    return dataclasses.field(default=default, metadata={"bounds": bounds}, **kwargs)


def unknown_key_message(key: str, known: Iterable[str]) -> str:
    """'is unknown (did you mean 'epochs'?); known keys: ...' for a key that is not among ``known``."""
    known = list(known)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"is unknown{hint}; known keys: {', '.join(known) or '(none)'}"


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _bounds_text(bounds: dict) -> str:
    signs = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    return " and ".join(f"{signs[k]} {v}" for k, v in bounds.items())


def describe(tp: Any, bounds: dict | None = None) -> str:
    """What a value of annotation ``tp`` must be, in words ("an integer >= 1", "true or false", ...)."""
    tp, bounds = _unwrap(tp, bounds or {})
    suffix = f" {_bounds_text(bounds)}" if bounds else ""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is Any:
        return "any value"
    if tp is bool:
        return "true or false"
    if tp is int:
        if bounds == SEED_BOUNDS:
            return f"an integer seed, 0 <= seed < 2**32 (at most {MAX_SEED})"
        return "an integer" + suffix
    if tp is float:
        return "a finite number" + suffix
    if tp is str:
        return "a string"
    if tp is type(None):
        return "null"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (Union, types.UnionType):
        parts = [describe(a, bounds) for a in args if a is not type(None)]
        text = " or ".join(parts)
        return text + " or null" if type(None) in args else text
    if origin in (tuple, list, Sequence) or tp in (tuple, list):
        if origin is tuple and args and args[-1] is not Ellipsis:
            return f"a list of {len(args)}: [{', '.join(describe(a) for a in args)}]"
        if not args:
            return "a list"
        parts = describe(args[0]).split(" or ")
        plural = " or ".join(f"{p.split(' ', 1)[1]}s" if p.startswith(("a ", "an ")) else p for p in parts)
        return f"a list of {plural}" + (f", each {_bounds_text(bounds)}" if bounds else "")
    if origin in (dict, Mapping) or tp is dict:
        return "a mapping"
    if dataclasses.is_dataclass(tp):
        return f"a mapping with keys {', '.join(f.name for f in dataclasses.fields(tp))}"
    return getattr(tp, "__name__", str(tp))


def _in_bounds(value: float, bounds: dict) -> bool:
    return all({"ge": value >= b, "gt": value > b, "le": value <= b, "lt": value < b}[k] for k, b in bounds.items())


def parse_value(value: Any, tp: Any, key: str, problems: Problems, bounds: dict | None = None) -> Any:
    """``value`` checked against annotation ``tp``; problems are appended (the return value is then unusable)."""
    tp, bounds = _unwrap(tp, bounds or {})
    if is_seed_key(key) and _takes_int(tp):
        bounds = {**SEED_BOUNDS, **bounds}
    origin, args = typing.get_origin(tp), typing.get_args(tp)

    def bad(what: str | None = None) -> None:
        problems.append((key, f"must be {what or describe(tp, bounds)}, got {value!r}"))

    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            return bad()
        blocks = [a for a in args if dataclasses.is_dataclass(a)]
        if isinstance(value, Mapping) and len(blocks) == 1:  # e.g. ``Block | None``: report the keys inside
            return parse_block(blocks[0], value, key, problems)
        for option in (a for a in args if a is not type(None)):
            trial: Problems = []
            parsed = parse_value(value, option, key, trial, bounds)
            if not trial:
                return parsed
        return bad()
    if origin is Literal:
        if any(value == a and type(value) is type(a) for a in args):
            return value
        return bad()
    if tp is bool:
        return value if isinstance(value, bool) else bad()
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return bad()
        if not INT64[0] <= value <= INT64[1] and bounds != SEED_BOUNDS:
            return bad(f"{describe(tp, bounds)} that fits in 64 bits")
        return value if _in_bounds(value, bounds) else bad()
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return bad()
        try:
            number = float(value)  # an int beyond the float range raises here
        except OverflowError:
            return bad()
        return number if math.isfinite(number) and _in_bounds(value, bounds) else bad()
    if tp is str:
        return value if isinstance(value, str) else bad()
    if origin in (tuple, list, Sequence) or tp in (tuple, list):
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
            return bad()
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                return bad()
            items = [
                parse_value(v, a, f"{key}[{i}]", problems, bounds)
                for i, (v, a) in enumerate(zip(value, args, strict=True))
            ]
        else:
            item_tp = args[0] if args else Any
            items = [parse_value(v, item_tp, f"{key}[{i}]", problems, bounds) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple or tp is tuple else items
    if origin in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            return bad()
        value_tp = args[1] if len(args) == 2 else Any
        for k in value:
            if not isinstance(k, str):
                problems.append((key, f"must be a mapping with string keys, got the key {k!r} in {value!r}"))
                return None
        return {k: parse_value(v, value_tp, _join(key, k), problems) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return parse_block(tp, value, key, problems)
    raise TypeError(f"{key}: unsupported annotation {tp!r}")


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def parse_block(
    cls: type, params: Any, prefix: str, problems: Problems, partial: bool = False, keep_going: bool = False
) -> Any:
    """An instance of the dataclass ``cls`` from ``params`` (``None`` = empty), or ``None`` when it has problems.

    ``keep_going``: with problems, still return the block built from the keys that parsed (defaults for the others,
    not normalized) so that checks against the pipeline's inputs can be reported in the same error.

    ``partial``: check only the keys present (types, unknown keys) and return the checked dict instead of an
    instance; for overrides that are merged with defaults before the full parse (e.g. a recipe's ``train``).
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        problems.append((prefix, f"must be a mapping with keys {', '.join(fields)}, got {params!r}"))
        return None
    before = len(problems)
    for key in params:
        if key not in fields:
            problems.append((_join(prefix, str(key)), unknown_key_message(str(key), fields)))
    hints = _hints(cls)
    values, failed = {}, []
    for name, f in fields.items():
        if name in params:
            count = len(problems)
            values[name] = parse_value(
                params[name], hints[name], _join(prefix, name), problems, f.metadata.get("bounds")
            )
            if len(problems) > count:
                failed.append(name)
                del values[name]  # the default (if any) stands in, so the checks across keys still run
        elif not partial and _required(f):
            problems.append((_join(prefix, name), f"is required ({describe(hints[name])})"))
            failed.append(name)
    if partial:
        return values if len(problems) == before else None
    if any(_required(fields[name]) for name in failed):
        return None
    block = cls(**values)
    if isinstance(block, ParamBlock):
        # a check across keys saw the defaults of the keys that failed: keep only what concerns the others
        failed_keys = tuple(_join(prefix, name) for name in failed)
        problems.extend((k, m) for k, m in block.cross_check(prefix) if not (failed_keys and k.startswith(failed_keys)))
    if len(problems) > before:
        return block if keep_going else None
    return block.normalized() if isinstance(block, ParamBlock) else block


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


class ParamBlock:
    """Mixin for frozen dataclasses that are parameter blocks (see the module docstring)."""

    @classmethod
    def from_params(cls, params: Any, prefix: str, *inputs: Any):
        """Parse ``params`` (a dict from the configuration) or raise one ``ParameterError`` naming every bad key;
        with ``inputs``, the block's ``check_inputs`` against them is part of the same error."""
        problems: Problems = []
        block = parse_block(cls, params, prefix, problems, keep_going=True)
        if block is not None and inputs:
            failed = tuple(key for key, _ in problems)
            more = block.check_inputs(prefix, *inputs)
            problems += [(key, m) for key, m in more if not (failed and key.startswith(failed))]
        if problems:
            raise ParameterError(problems)
        return block

    def cross_check(self, prefix: str) -> Problems:
        """Checks across keys, after every key parsed; return ``(full key, message)`` pairs. (Not ``check``:
        a block may have a key of that name, e.g. ``list_splits``' ``check``.)"""
        return []

    def check_inputs(self, prefix: str, *inputs: Any) -> Problems:
        """Checks against what the pipeline reads (e.g. that ``dataset`` names a raw source), before reading it."""
        return []

    def normalized(self):
        """The block with derived values resolved (e.g. milestone fractions to epochs), after ``check`` passed."""
        return self

    def to_dict(self) -> dict:
        """Plain JSON-able values (tuples become lists)."""
        return _plain(dataclasses.asdict(self))

    def run_config(self, namespace: str) -> dict:
        """The resolved settings a pipeline runs with (saved as its ``run_config``); default: ``to_dict()``."""
        return self.to_dict()

    @classmethod
    def from_run_config(cls, run_config: Mapping):
        """The block back from a saved run configuration (``{namespace, run, **settings}``)."""
        settings = {k: v for k, v in run_config.items() if k not in RUN_CONFIG_EXTRAS}
        return cls.from_params(settings, str(run_config.get("namespace", "run_config")))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def check_kwargs(func: Callable, params: Any, prefix: str, problems: Problems, skip: Iterable[str] = ()) -> dict | None:
    """``params`` as keyword arguments of ``func``: unknown names and wrong types (from ``func``'s annotations)
    become problems; returns the checked dict, or ``None`` when it has problems."""
    if params is None:
        params = {}
    skip = set(skip)
    signature = inspect.signature(func)
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    accepted = [n for n, p in signature.parameters.items() if n not in skip and p.kind in kinds]
    if not isinstance(params, Mapping):
        problems.append((prefix, f"must be a mapping with keys {', '.join(accepted)}, got {params!r}"))
        return None
    before = len(problems)
    hints = typing.get_type_hints(func, include_extras=True)
    out = {}
    for key, value in params.items():
        if key not in accepted:
            problems.append((_join(prefix, str(key)), unknown_key_message(str(key), accepted)))
            continue
        out[key] = parse_value(value, hints.get(key, Any), _join(prefix, key), problems)
    return out if len(problems) == before else None


def merge(base: Mapping | None, override: Mapping | None) -> dict:
    """``override`` deep-merged over ``base`` (nested mappings merged key by key, anything else replaced)."""
    out = dict(base or {})
    for key, value in (override or {}).items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
