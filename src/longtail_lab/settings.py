"""Kedro project settings (wiring only)."""

import sys
import warnings

from kedro.config import OmegaConfigLoader

from longtail_lab.hooks import NodeTimingHooks, RunInfoHooks, RunVersionHooks, short_input_errors

# pluggy calls the last registered first: RunInfoHooks checks the parameters before RunVersionHooks touches files.
HOOKS = (RunVersionHooks(), RunInfoHooks(), NodeTimingHooks())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Deep-merge an environment (e.g. conf/test) over conf/base instead of replacing whole top-level keys.
    "merge_strategy": {"parameters": "soft"},
}

# Kedro 1.7's config loader registers its resolvers with an API that omegaconf 2.4 deprecates: every command
# printed this warning (about 36 lines) once per loader. Kedro imports this module before it builds a loader.
warnings.filterwarnings("ignore", message=r"register_new_resolver\(\) is deprecated", category=UserWarning)

# `kedro run` with bad parameters: print the one error that names every bad key, not a traceback through Kedro.
sys.excepthook = short_input_errors(sys.excepthook)
