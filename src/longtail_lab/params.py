"""Checks shared by everything that reads a parameter block (no Kedro here)."""

from __future__ import annotations

from collections.abc import Iterable


def reject_unknown_keys(params: dict, known: Iterable[str], prefix: str, error: type[Exception] = ValueError) -> None:
    """Raise ``error`` naming the first key of ``params`` that is not in ``known`` (e.g. a typo)."""
    known = sorted(known)
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise error(f"parameter '{prefix}.{unknown[0]}' is unknown; known: {known}")
