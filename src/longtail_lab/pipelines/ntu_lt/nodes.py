"""Nodes that turn a full training list of skeleton sample names into long-tailed lists."""

from __future__ import annotations

from longtail_lab.data.arrays import DataError
from longtail_lab.data.ntu_names import SampleNames, long_tail_lists
from longtail_lab.evaluation.plots import long_tail_profiles
from longtail_lab.params import reject_unknown_keys

LT_KEYS = {
    "num_classes",
    "imbalance_ratios",
    "n_max",
    "list_prefix",
    "profile",
    "seed",
    "short_classes",
    "use_official_lists",
    "views",
}
REQUIRED = ("num_classes", "imbalance_ratios", "n_max", "list_prefix")


def make_long_tail_lists(
    full: SampleNames, official: dict[str, SampleNames], ntu_lt: dict
) -> tuple[dict[str, SampleNames], dict]:
    """Full training list (+ optional official lists) -> ({list name: names}, summary)."""
    reject_unknown_keys(ntu_lt, LT_KEYS, "ntu_lt", DataError)
    missing = [k for k in REQUIRED if ntu_lt.get(k) is None]
    if missing:
        raise DataError(f"parameter 'ntu_lt.{missing[0]}' is required")
    use_official = ntu_lt.get("use_official_lists", False)
    if not isinstance(use_official, bool):
        raise DataError(f"parameter 'ntu_lt.use_official_lists' must be true or false, got {use_official!r}")
    return long_tail_lists(
        full,
        official,
        num_classes=int(ntu_lt["num_classes"]),
        imbalance_ratios=list(ntu_lt["imbalance_ratios"]),
        n_max=int(ntu_lt["n_max"]),
        list_prefix=str(ntu_lt["list_prefix"]),
        profile=ntu_lt.get("profile", "exponential"),
        seed=int(ntu_lt.get("seed", 0)),
        short_classes=ntu_lt.get("short_classes", "error"),
        use_official_lists=use_official,
        views=ntu_lt.get("views"),
    )


def plot_long_tail_lists(summary: dict):
    counts = {name: entry["class_counts"] for name, entry in summary["lists"].items()}
    origins = sorted({entry["origin"] for entry in summary["lists"].values()})
    title = f"{summary['list_prefix']} long-tailed lists ({', '.join(origins)}; n_max {summary['n_max']})"
    return long_tail_profiles(counts, title)
