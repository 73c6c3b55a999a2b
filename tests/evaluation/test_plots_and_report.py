"""Figures (their content, not only that they render) and what reports hold beside the metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.colors import to_hex

from longtail_lab.evaluation.plots import GROUP_COLORS, agnostic_accuracy, class_histogram, training_curves
from longtail_lab.evaluation.report import in_distribution_order, ordered, provenance, rounded


def test_class_histogram_legend_has_one_swatch_per_group_in_its_colour():
    """The legend used to show three blue swatches for blue/orange/red bars."""
    fig = class_histogram([500, 200, 50, 30, 10, 5], "title")
    (ax,) = fig.axes
    legend = ax.get_legend()
    labels = [t.get_text() for t in legend.get_texts()]
    colours = [to_hex(h.get_facecolor()) for h in legend.legend_handles]
    assert labels == ["many", "medium", "few"]
    assert colours == [to_hex(GROUP_COLORS[g]) for g in labels]
    bars = [to_hex(p.get_facecolor()) for p in ax.patches]
    assert bars == [to_hex(GROUP_COLORS[g]) for g in ("many", "many", "medium", "medium", "few", "few")]


def test_training_curves_show_the_review_terms_of_a_reflective_run():
    history = pd.DataFrame(
        {
            "epoch": [1, 2, 3],
            "loss": [3.0, 2.0, 1.5],
            "train_acc": [0.2, 0.4, 0.5],
            "lr": [0.1, 0.1, 0.01],
            "review_loss": [0.0, 0.5, 0.4],
            "review_kept": [0.0, 0.3, 0.5],
            "review_kept_many": [0.0, 0.4, 0.6],
            "review_kept_medium": [0.0, 0.2, 0.4],
            "review_kept_few": [math.nan, math.nan, math.nan],  # no few-shot class: not drawn
        }
    )
    fig = training_curves(history, "run")
    assert [ax.get_title() for ax in fig.axes[:4]] == [
        "training loss",
        "training accuracy",
        "learning rate",
        "knowledge review",
    ]
    kept_axis = fig.axes[4]  # the review panel's twin axis
    assert [line.get_label() for line in kept_axis.get_lines()] == ["kept, all (right)", "kept, many", "kept, medium"]
    plain = training_curves(history[["epoch", "loss", "train_acc", "lr"]], "run")
    assert len(plain.axes) == 3


def test_test_agnostic_plot_keeps_the_head_to_tail_order():
    table = pd.DataFrame(
        {
            "distribution": ["forward5", "uniform", "backward5"],
            "top1_equal_weights": [0.5, 0.4, 0.3],
            "top1_aggregated": [0.6, 0.4, 0.2],
            "top1_aggregated_train_reshaped": [0.6, 0.3, 0.2],
        }
    )
    fig = agnostic_accuracy(table, "t")
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["forward5", "uniform", "backward5"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "equal expert weights",
        "learned weights (test pool)",
        "learned weights (train_reshaped pool)",
    ]
    assert np.allclose(ax.get_lines()[0].get_ydata(), [0.5, 0.4, 0.3])
    single = agnostic_accuracy(table[["distribution", "top1_equal_weights"]], "t").axes[0]
    assert single.get_legend() is None and len([ln for ln in single.get_lines() if ln.get_marker() == "o"]) == 1


def test_distributions_go_from_head_heavy_to_tail_heavy():
    names = ["backward2", "uniform", "forward2", "backward50", "forward50", "forward3", "backward10"]
    assert in_distribution_order(names) == [
        "forward50",
        "forward3",
        "forward2",
        "uniform",
        "backward2",
        "backward10",
        "backward50",
    ]
    assert list(ordered({"uniform": 1, "backward5": 2, "forward5": 3})) == ["forward5", "uniform", "backward5"]


def test_reports_round_to_four_significant_digits():
    assert rounded({"a": 0.398123456, "b": [1234.5678, 0.000123456], "n": None, "f": True, "i": 3}) == {
        "a": 0.3981,
        "b": [1235.0, 0.0001235],
        "n": None,
        "f": True,
        "i": 3,
    }
    assert math.isnan(rounded(math.nan))
    frame = rounded(pd.DataFrame({"x": [0.123456, math.nan], "name": ["a", "b"]}))
    assert frame["x"].iloc[0] == 0.1235 and math.isnan(frame["x"].iloc[1]) and list(frame["name"]) == ["a", "b"]


def test_provenance_names_the_environment_split_and_run():
    run_config = {
        "dataset": "cifar100",
        "split": {"profile": "exponential", "imbalance_ratio": 100.0, "n_max": None, "seed": 0},
        "test_agnostic": {"ratios": [50.0], "n_max": 100, "seed": 0},
        "run": {"env": "test", "run_id": "2026-12-01T00.00.00.000Z", "runtime_params": {"x": 1}},
    }
    out = provenance(run_config, {"total": 10847, "content_sha256": "ab"}, {"fingerprint": "f" * 16})
    assert out["kedro_env"] == "test" and out["dataset"] == "cifar100" and out["fingerprint"] == "f" * 16
    assert out["split"] == {**run_config["split"], "total": 10847, "content_sha256": "ab"}
    assert out["test_agnostic_settings"] == run_config["test_agnostic"] and out["run"]["runtime_params"] == {"x": 1}


def test_summary_line_rounds_and_names_empty_shot_groups():
    from longtail_lab.evaluation.report import summary_line

    line = summary_line({"top1": 0.12150000001, "many": None, "medium": 0.0, "few": 0.1350000003973643})
    assert line == "top-1 0.1215 many n/a (no class) medium 0.0000 few 0.1350"
    assert summary_line({"top1": 0.5, "ece": 0.03125}, ("top1", "ece")) == "top-1 0.5000 ECE 0.0312"


def test_a_one_epoch_run_shows_its_points_on_whole_epoch_ticks():
    history = pd.DataFrame(
        {"epoch": [1], "loss": [4.6], "train_acc": [0.01], "lr": [0.1], "review_loss": [0.0], "review_kept": [0.3]}
    )
    fig = training_curves(history, "one epoch")
    assert [list(ax.get_xticks()) for ax in fig.axes[:4]] == [[1]] * 4
    review, kept = fig.axes[3].lines[0], fig.axes[4].lines[0]
    assert review.get_marker() != "None" and kept.get_marker() != "None"  # a single point stays visible
    many = pd.DataFrame({"epoch": range(1, 31), "loss": range(30), "train_acc": [0.5] * 30, "lr": [0.1] * 30})
    ticks = training_curves(many, "thirty").axes[0].get_xticks()
    assert all(float(t).is_integer() for t in ticks)
