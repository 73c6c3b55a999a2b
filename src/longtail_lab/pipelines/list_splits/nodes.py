"""Nodes of ``list_splits``: raw official list files in, checked lists, summaries and new lists out."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from longtail_lab.data.lists.checks import check_list, problems_table
from longtail_lab.data.lists.format import BOM, LabelList, ListFolder, scan_list
from longtail_lab.data.lists.long_tail import frequency_class_map, shot_groups
from longtail_lab.data.lists.splits import compare_class_counts, long_tail_from_list, relabel, test_agnostic_lists
from longtail_lab.errors import DataError
from longtail_lab.evaluation.plots import class_histogram
from longtail_lab.pipelines.list_splits.parameters import ListSpec, ListSplitsBlock

log = logging.getLogger(__name__)


def _named(lists: dict[str, LabelList], name: str, parameter: str) -> LabelList:
    if name not in lists:
        raise DataError(f"parameter '{parameter}': no list named {name!r}; the list folder has {sorted(lists)}")
    return lists[name]


def _train_counts(lists: dict[str, LabelList], spec: ListSpec, prefix: str) -> np.ndarray | None:
    if spec.train is None:
        return None
    return _named(lists, spec.train, f"{prefix}.lists.train").class_counts(spec.num_classes)


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
    spec, opts = cfg.lists, cfg.check
    num_classes, prefix = spec.num_classes, spec.prefix
    if raw.image_root is None and (opts.files or opts.decode):
        raise DataError(
            f"{ns}.check.files / {ns}.check.decode need the images: set `images` of the raw list dataset "
            f"{ns}.raw_list_files, or turn the checks off with --params={ns}.check.files=false"
        )
    names = {stem: stem[len(prefix) :] if prefix and stem.startswith(prefix) else stem for stem in raw.texts}
    if len(set(names.values())) < len(names):
        clash = sorted(stem for stem in names if list(names.values()).count(names[stem]) > 1)
        raise DataError(f"list files {clash} get the same name once the prefix {prefix!r} is dropped; remove one")
    for parameter, name in cfg.referenced_lists(ns).items():
        if name not in names.values():
            raise DataError(
                f"parameter '{parameter}': no list named {name!r}; the list folder has "
                f"{sorted(names.values())} (file names without the prefix {prefix!r})"
            )

    parsed, problems = {}, []
    report = {"image_root": str(raw.image_root), "files_checked": opts.files, "decoded": opts.decode, "lists": {}}
    for stem, text in raw.texts.items():
        name, source = names[stem], raw.sources[stem]
        lst, found = scan_list(text, source)
        found += check_list(
            lst,
            source,
            num_classes,
            raw.image_root,
            opts.files,
            opts.decode,
            opts.workers,
            progress=lambda done, total, s=source: log.info("%s: decoded %d / %d", s, done, total),
        )
        found.sort(key=lambda problem: problem.line)
        bad_lines = {p.line for p in found}
        if bad_lines:
            keep = [i for i in range(len(lst)) if lst.line_of(i) not in bad_lines]
            lines_kept = tuple(lst.line_of(i) for i in keep)
            lst = LabelList(tuple(lst.items[i] for i in keep), lst.labels[keep], lines_kept, lst.source)
        parsed[name] = lst
        problems += found
        lines = len(lst) + len(bad_lines)
        report["lists"][name] = {
            "file": source,
            "lines": lines,
            "problems": len(found),
            "lines_left_out": len(bad_lines),
        }
        if text.startswith(BOM):
            report["lists"][name]["bom_stripped"] = True
        log.info("%s: %d lines, %d problem(s)", source, lines, len(found))

    if problems and opts.strict:
        shown = opts.max_reported
        listing = "\n".join(f"  {p}" for p in problems[:shown])
        more = f"\n  ... and {len(problems) - shown} more" if len(problems) > shown else ""
        raise DataError(f"{len(problems)} problem(s) in the list files ({ns}.check.strict: true):\n{listing}{more}")
    for parameter, name in _training_lists(cfg, ns).items():
        if len(parsed[name]) == 0:
            entry = report["lists"][name]
            left = f" left ({entry['lines_left_out']} bad line(s) left out)" if entry["lines_left_out"] else ""
            raise DataError(
                f"{entry['file']}: the list {name!r} has no entries{left}; parameter '{parameter}' trains on it or "
                f"ranks the classes by it, which needs at least one image"
            )
    report["problems"] = len(problems)
    return parsed, problems_table(problems), report


def _training_lists(cfg: ListSplitsBlock, ns: str) -> dict[str, str]:
    """Full parameter key -> name of every list of the folder whose class counts drive a result."""
    gen, keys = cfg.generate, {f"{ns}.lists.train": cfg.lists.train}
    if gen.long_tail is not None:
        keys[f"{ns}.generate.long_tail.source"] = gen.long_tail.source
    if gen.test_agnostic is not None and gen.test_agnostic.rank_by != "long_tail":
        keys[f"{ns}.generate.test_agnostic.rank_by"] = gen.test_agnostic.rank_by or cfg.lists.train
    return {key: name for key, name in keys.items() if name is not None}


def remap_classes(lists: dict[str, LabelList], run_config: dict) -> tuple[dict[str, LabelList], dict]:
    """Optionally re-index classes by descending training frequency (SADE's Places-LT ``class_map``),
    applied to every list -> (lists, class map record)."""
    ns, cfg = run_config["namespace"], ListSplitsBlock.from_run_config(run_config)
    remap = cfg.class_remap
    if remap.mode == "none":
        return lists, {"mode": "none", "class_map": list(range(cfg.lists.num_classes))}
    class_map = frequency_class_map(_train_counts(lists, cfg.lists, ns), remap.tie_break)
    record = {
        "mode": remap.mode,
        "tie_break": remap.tie_break,
        "class_map": class_map.tolist(),
        "note": "class_map[original label] = new label",
    }
    return {name: relabel(lst, class_map) for name, lst in lists.items()}, record


def generate_lists(lists: dict[str, LabelList], run_config: dict) -> dict[str, LabelList]:
    """New lists: ``long_tail`` (a long-tailed list from a balanced source list) and the test-agnostic
    distributions (forward-r / uniform / backward-r from a balanced test list, classes ranked by the
    counts of ``rank_by``, by default the training list)."""
    cfg = ListSplitsBlock.from_run_config(run_config)
    num_classes, lt, ta = cfg.lists.num_classes, cfg.generate.long_tail, cfg.generate.test_agnostic
    out: dict[str, LabelList] = {}
    if lt is not None:
        out["long_tail"] = long_tail_from_list(
            lists[lt.source], num_classes, lt.profile, float(lt.imbalance_ratio), lt.n_max, lt.seed
        )
    if ta is not None:
        available = lists | out
        counts = available[ta.rank_by].class_counts(num_classes)
        out |= test_agnostic_lists(
            available[ta.source], counts, [float(r) for r in ta.ratios], ta.n_max, ta.seed, ta.factors
        )
    return out


def _list_stats(lst: LabelList, num_classes: int) -> dict:
    counts = lst.class_counts(num_classes)
    return {
        "total": len(lst),
        "classes_present": int((counts > 0).sum()),
        "max_count": int(counts.max()),
        "min_count": int(counts.min()),
        "content_sha256": lst.content_hash(),
    }


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
    spec = cfg.lists
    num_classes = spec.num_classes
    counts = _train_counts(lists, spec, ns)
    summary = {
        "dataset": cfg.dataset,
        "num_classes": num_classes,
        "config": cfg.summary_config(),
        "check": report,
        "class_remap": class_map["mode"],
        "lists": {name: _list_stats(lst, num_classes) for name, lst in sorted(lists.items())},
    }
    if counts is not None:
        groups = shot_groups(counts)
        summary["train"] = {
            "list": spec.train,
            "class_counts": counts.tolist(),
            "shot_thresholds": {"many": "> 100", "medium": "20-100", "few": "< 20"},
            "shot_group_sizes": {k: len(v) for k, v in groups.items()},
            "shot_groups": groups,
        }
    summary["generated"] = {}
    for name, lst in sorted(generated.items()):
        entry = _list_stats(lst, num_classes)
        if name in lists and counts is not None:
            entry["vs_official"] = compare_class_counts(lst, lists[name], counts)
        summary["generated"][name] = entry
    shown = spec.train or spec.test or min(lists)
    shown_counts = _named(lists, shown, f"{ns}.lists.train").class_counts(num_classes)
    title = f"{cfg.dataset}: list '{shown}' ({int(shown_counts.sum())} images, {num_classes} classes)"
    return summary, class_histogram(shown_counts, title, by_rank=True)
