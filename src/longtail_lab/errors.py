"""Errors shared across the project whose messages name what is wrong; light to import (no torch)."""

from __future__ import annotations

from collections.abc import Sequence


class DataError(ValueError):
    """Bad input data: the message names the file, line or parameter at fault."""


class ParameterError(DataError):
    """One or more bad parameters; ``problems`` holds ``(full dotted key, what is wrong)`` pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        self.problems = list(problems)
        lines = [f"parameter '{key}' {message}" for key, message in self.problems]
        if len(lines) == 1:
            text = lines[0]
        else:
            text = f"{len(lines)} bad parameters:\n" + "\n".join(f"  - {line}" for line in lines)
        super().__init__(text)


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: truncated, corrupt, hostile, or made for another model."""


class ConfigurationBusyError(RuntimeError):
    """Another process is training the same configuration (same fingerprint) right now."""


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the message says which checkpoint exists."""
