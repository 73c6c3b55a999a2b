"""Figures for splits and evaluations.

Every figure is a ``matplotlib.figure.Figure`` made without pyplot: no backend is chosen or switched at import
(a notebook keeps its inline backend), nothing accumulates in pyplot's figure registry, and the catalog's
``MatplotlibDataset`` saves the figure as a PNG.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator

GROUP_COLORS = {"many": "tab:blue", "medium": "tab:orange", "few": "tab:red"}


def _figure(figsize: tuple[float, float], **subplots):
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(**subplots)


def class_histogram(class_counts: Sequence[int], title: str, by_rank: bool = False):
    """Images per class, coloured by shot group; ``by_rank`` sorts the classes by descending count."""
    counts = np.asarray(class_counts)
    if by_rank:
        counts = np.sort(counts)[::-1]
    fig, ax = _figure((8, 3.5))
    colors = np.where(
        counts > 100, GROUP_COLORS["many"], np.where(counts >= 20, GROUP_COLORS["medium"], GROUP_COLORS["few"])
    )
    ax.bar(np.arange(len(counts)), counts, width=1.0, color=colors)
    ax.set_xlabel("class rank (most images first)" if by_rank else "class id")
    ax.set_ylabel("training images")
    ax.set_yscale("log")
    _plain_log_ticks(ax.yaxis)
    ax.set_title(title)
    handles = [Patch(color=color, label=name) for name, color in GROUP_COLORS.items()]
    ax.legend(handles=handles, loc="upper right")
    fig.tight_layout()
    return fig


def _plain_log_ticks(axis) -> None:
    """Tick labels of a log axis as plain numbers (5, 20, 500) instead of 2x10^1; minor ticks at 2 and 5 only."""
    axis.set_minor_locator(LogLocator(subs=(2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda value, _: f"{value:g}"))


def accuracy_vs_frequency(per_class: pd.DataFrame, title: str):
    fig, ax = _figure((6, 4))
    for name, color in GROUP_COLORS.items():
        rows = per_class[per_class["shot_group"] == name]
        ax.scatter(rows["train_count"], rows["accuracy"], s=12, color=color, label=name)
    ax.set_xscale("log")
    _plain_log_ticks(ax.xaxis)
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
    fig, ax = _figure((7, 3.8))
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


def fmow_crop_overview(crops_per_category: dict[str, int], multiplier_counts: dict[str, dict[str, int]], title: str):
    """Left: labelled crops per fMoW category (label order). Right: boxes per context multiplier, per axis."""
    fig, (ax_cat, ax_mult) = _figure((13, 4.2), ncols=2, gridspec_kw={"width_ratios": [3, 1]})
    names = list(crops_per_category)
    ax_cat.bar(np.arange(len(names)), [crops_per_category[n] for n in names], width=0.8, color="tab:blue")
    ax_cat.set_xticks(np.arange(len(names)), names, rotation=90, fontsize=6)
    ax_cat.set_ylabel("labelled crops")
    ax_cat.set_title(title)
    bands = sorted({m for counts in multiplier_counts.values() for m in counts}, key=float)
    x = np.arange(len(bands))
    for i, (axis, counts) in enumerate(multiplier_counts.items()):
        ax_mult.bar(x + (i - 0.5) * 0.4, [counts.get(b, 0) for b in bands], 0.4, label=axis)
    ax_mult.set_xticks(x, bands)
    ax_mult.set_xlabel("context multiplier")
    ax_mult.set_ylabel("crops")
    ax_mult.legend(fontsize=8)
    fig.tight_layout()
    return fig


def class_pixel_frequencies(names: Sequence[str], pixels: Sequence[int], title: str):
    """Bars of pixels per segmentation class (log scale); classes without pixels are marked "absent"."""
    counts = np.asarray(pixels, dtype=np.int64)
    fig, ax = _figure((max(6.0, 0.4 * len(counts) + 2), 4))
    x = np.arange(len(counts))
    ax.bar(x, np.where(counts > 0, counts, np.nan), color="tab:blue")
    ax.set_xticks(x, list(names), rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("labelled pixels")
    if counts.any():
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.5)  # bars start below one pixel, so small classes stay visible
        style = {"rotation": 90, "ha": "center", "va": "bottom", "fontsize": 7, "color": "tab:red"}
        for i in np.flatnonzero(counts == 0):  # x in data, y in axes units: stays inside the log axis
            ax.text(i, 0.02, "absent", transform=ax.get_xaxis_transform(), **style)
    else:
        ax.text(0.5, 0.5, "no labelled pixels", transform=ax.transAxes, ha="center", va="center")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def long_tail_profiles(counts_by_list: dict[str, Sequence[int]], title: str, ylabel: str = "training samples"):
    """Samples per class of several long-tailed lists of one dataset (one step line each, log scale)."""
    fig, ax = _figure((8, 3.8))
    for name, counts in counts_by_list.items():
        counts = np.asarray(counts)
        ax.step(np.arange(len(counts)), np.where(counts > 0, counts, np.nan), where="mid", label=name)
    ax.set_xlabel("class id (label)")
    ax.set_ylabel(ylabel)
    ax.set_yscale("log")
    _plain_log_ticks(ax.yaxis)
    ax.set_title(title)
    if counts_by_list:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def training_curves(history: pd.DataFrame, title: str):
    """Per epoch: training loss, training accuracy, learning rate (log) and, for reflective runs, the review
    term (loss and the share of samples kept, overall and by shot group)."""
    review = [c for c in ("review_loss", "review_kept") if c in history.columns and history[c].notna().any()]
    panels = 4 if review else 3
    fig, axes = _figure((4.0 * panels, 3.4), ncols=panels)
    epochs = history["epoch"]
    axes[0].plot(epochs, history["loss"], marker="o", ms=3)
    axes[0].set(title="training loss", xlabel="epoch")
    axes[1].plot(epochs, history["train_acc"], marker="o", ms=3, color="tab:green")
    axes[1].set(title="training accuracy", xlabel="epoch", ylim=(0, 1))
    axes[2].plot(epochs, history["lr"], marker="o", ms=3, color="tab:purple")
    axes[2].set(title="learning rate", xlabel="epoch", yscale="log")
    if review:
        ax = axes[3]
        ax.plot(epochs, history["review_loss"], color="black", marker="o", ms=3, label="review loss (left)")
        ax.set(title="knowledge review", xlabel="epoch", ylabel="review loss")
        kept = ax.twinx()
        kept.plot(epochs, history["review_kept"], color="grey", ls="--", marker=".", label="kept, all (right)")
        for group, color in GROUP_COLORS.items():
            column = f"review_kept_{group}"
            if column in history.columns and history[column].notna().any():
                kept.plot(epochs, history[column], color=color, ls="--", marker=".", label=f"kept, {group}")
        kept.set(ylabel="share of samples in the review", ylim=(0, 1))
        lines = ax.get_legend_handles_labels()[0] + kept.get_legend_handles_labels()[0]
        ax.legend(lines, [line.get_label() for line in lines], fontsize=7, loc="lower right")
    for ax in axes:  # whole epochs only (a short run otherwise gets ticks at 0.96, 0.98, ...)
        if len(epochs) <= 10:
            ax.set_xticks(list(epochs))
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def agnostic_accuracy(table: pd.DataFrame, title: str, columns: Sequence[str] | None = None):
    """Top-1 per test distribution, in the table's row order (forward50 ... uniform ... backward50): one line
    per accuracy column (e.g. equal expert weights and learned aggregation weights)."""
    columns = list(columns or [c for c in table.columns if c.startswith("top1")])
    fig, ax = _figure((max(6.0, 0.6 * len(table) + 2), 3.8))
    x = np.arange(len(table))
    for column in columns:
        ax.plot(x, table[column], marker="o", label=_accuracy_label(column))
    ax.set_xticks(x, list(table["distribution"]), rotation=45, ha="right")
    if "uniform" in set(table["distribution"]):
        ax.axvline(list(table["distribution"]).index("uniform"), color="grey", lw=0.8, ls=":")
    ax.set(xlabel="test distribution (head-heavy ... uniform ... tail-heavy)", ylabel="top-1 accuracy", title=title)
    ax.set_ylim(0, 1)
    if len(columns) > 1:  # one model, one line: the axis label says it all
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def _accuracy_label(column: str) -> str:
    """'top1_aggregated_train_reshaped' -> 'learned weights (train_reshaped pool)'; unknown names stay."""
    if column == "top1_equal_weights":
        return "equal expert weights"
    if column.startswith("top1_aggregated"):
        pool = column.removeprefix("top1_aggregated").lstrip("_") or "test"
        return f"learned weights ({pool} pool)"
    return column
