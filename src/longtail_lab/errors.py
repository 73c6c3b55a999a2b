"""Errors shared across the project whose messages name what is wrong; light to import (no torch)."""


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used: truncated, corrupt, hostile, or made for another model."""


class ConfigurationBusyError(RuntimeError):
    """Another process is training the same configuration (same fingerprint) right now."""
