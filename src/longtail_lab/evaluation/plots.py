"""Figures for splits and evaluations (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

GROUP_COLORS = {"many": "tab:blue", "medium": "tab:orange", "few": "tab:red"}


def class_histogram(class_counts: Sequence[int], title: str):
    counts = np.asarray(class_counts)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    colors = ["tab:blue" if c > 100 else "tab:orange" if c >= 20 else "tab:red" for c in counts]
    ax.bar(np.arange(len(counts)), counts, width=1.0, color=colors)
    ax.set_xlabel("class id")
    ax.set_ylabel("training images")
    ax.set_yscale("log")
    ax.set_title(title)
    for name, color in GROUP_COLORS.items():
        ax.bar([], [], color=color, label=name)
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def accuracy_vs_frequency(per_class: pd.DataFrame, title: str):
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, color in GROUP_COLORS.items():
        rows = per_class[per_class["shot_group"] == name]
        ax.scatter(rows["train_count"], rows["accuracy"], s=12, color=color, label=name)
    ax.set_xscale("log")
    ax.set_xlabel("training images of the class (log)")
    ax.set_ylabel("test accuracy of the class")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig


def expert_accuracy_by_group(by_model: dict[str, dict], title: str):
    """Grouped bars: accuracy of each expert (and ensembles) on all / many / medium / few-shot classes."""
    groups = ("top1", "many", "medium", "few")
    names = list(by_model)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(groups))
    for i, name in enumerate(names):
        values = [by_model[name].get(g) for g in groups]
        heights = [np.nan if v is None else v for v in values]
        ax.bar(x + (i - (len(names) - 1) / 2) * width, heights, width, label=name)
    ax.set_xticks(x, ["all", "many", "medium", "few"])
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
