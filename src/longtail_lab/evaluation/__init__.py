"""Metrics (shot groups, test-agnostic, calibration), tables and plots. No Kedro, no training."""
