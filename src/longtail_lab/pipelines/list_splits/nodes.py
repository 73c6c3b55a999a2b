"""Nodes of ``list_splits``: raw official list files in, checked lists, summaries and new lists out.

Each node reads the namespace's checked block from the run configuration and calls ``data/lists``:
``dataset_check`` (names, checks), ``class_remap``, ``generated_lists`` and ``dataset_summary``.
"""

from __future__ import annotations

import pandas as pd

from longtail_lab.data.lists import generated_lists
from longtail_lab.data.lists.checks import problems_table
from longtail_lab.data.lists.class_remap import remap_lists
from longtail_lab.data.lists.dataset_check import check_list_folder, require_entries, require_lists, short_names
from longtail_lab.data.lists.dataset_summary import dataset_summary, histogram_counts
from longtail_lab.data.lists.format import LabelList, ListFolder
from longtail_lab.errors import DataError
from longtail_lab.evaluation.plots import class_histogram
from longtail_lab.pipelines.list_splits.parameters import ListSplitsBlock


def check_lists(raw: ListFolder, run_config: dict) -> tuple[dict[str, LabelList], pd.DataFrame, dict]:
    """Parse and validate every list file -> (lists by short name, problems table, check report).

    Short names drop ``lists.prefix`` (``Places_LT_train`` -> ``train``). With ``check.strict`` (default)
    any problem stops the run with one error listing the first ``check.max_reported`` of them; otherwise
    the bad lines are left out of the lists and reported in the problems table and the summary. A list that
    trains or ranks classes (``lists.train``, ``generate.long_tail.source``, ``generate.test_agnostic.rank_by``)
    with no entries (left) is an error naming its file. A leading UTF-8 byte-order mark is stripped, logged
    and recorded as ``bom_stripped`` in the list's check report.
    """
    ns, cfg = run_config["namespace"], ListSplitsBlock.from_run_config(run_config)
    if raw.image_root is None and (cfg.check.files or cfg.check.decode):
        raise DataError(
            f"{ns}.check.files / {ns}.check.decode need the images: set `images` of the raw list dataset "
            f"{ns}.raw_list_files, or turn the checks off with --params={ns}.check.files=false"
        )
    names = short_names(raw.texts, cfg.lists.prefix)
    require_lists(names.values(), cfg.referenced_lists(ns), cfg.lists.prefix)
    checked = check_list_folder(raw, names, cfg.lists.num_classes, cfg.check, f"{ns}.check")
    require_entries(checked, cfg.training_lists(ns))
    return checked.lists, problems_table(checked.problems), checked.report


def remap_classes(lists: dict[str, LabelList], run_config: dict) -> tuple[dict[str, LabelList], dict]:
    """Optionally re-index classes by descending training frequency (SADE's Places-LT ``class_map``),
    applied to every list -> (lists, class map record)."""
    ns, cfg = run_config["namespace"], ListSplitsBlock.from_run_config(run_config)
    return remap_lists(lists, cfg.class_remap, cfg.lists, f"{ns}.lists")


def generate_lists(lists: dict[str, LabelList], run_config: dict) -> dict[str, LabelList]:
    """New lists: ``long_tail`` (a long-tailed list from a balanced source list) and the test-agnostic
    distributions (forward-r / uniform / backward-r from a balanced test list, classes ranked by the
    counts of ``rank_by``, by default the training list)."""
    cfg = ListSplitsBlock.from_run_config(run_config)
    return generated_lists.generate_lists(lists, cfg.lists.num_classes, cfg.generate)


def summarise_lists(
    lists: dict[str, LabelList],
    generated: dict[str, LabelList],
    report: dict,
    class_map: dict,
    run_config: dict,
):
    """Summary JSON (every list's totals, training counts and shot groups, generated lists against the
    official ones of the same name) and the class histogram of the training list."""
    ns, cfg = run_config["namespace"], ListSplitsBlock.from_run_config(run_config)
    spec_key = f"{ns}.lists"
    summary = dataset_summary(
        cfg.dataset,
        cfg.lists,
        spec_key,
        lists,
        generated,
        config=cfg.summary_config(),
        check_report=report,
        class_remap=class_map["mode"],
    )
    counts, title = histogram_counts(cfg.dataset, cfg.lists, spec_key, lists)
    return summary, class_histogram(counts, title, by_rank=True)
