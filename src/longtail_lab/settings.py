"""Kedro project settings (wiring only)."""

from kedro.config import OmegaConfigLoader

from longtail_lab.hooks import NodeTimingHooks

HOOKS = (NodeTimingHooks(),)

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Deep-merge an environment (e.g. conf/test) over conf/base instead of replacing whole top-level keys.
    "merge_strategy": {"parameters": "soft"},
}
