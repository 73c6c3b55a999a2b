"""Nodes of ``list_splits``: raw official list files in, checked lists, summaries and new lists out."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from longtail_lab.data.arrays import DataError
from longtail_lab.data.list_checks import check_list, problems_table
from longtail_lab.data.list_files import LabelList, ListFolder, scan_list
from longtail_lab.data.long_tail import TIE_BREAKS, class_profile, frequency_class_map, shot_groups, test_agnostic_name
from longtail_lab.data.splits import compare_class_counts, long_tail_from_list, relabel, test_agnostic_lists
from longtail_lab.evaluation.plots import class_histogram
from longtail_lab.params import reject_unknown_keys

log = logging.getLogger(__name__)

LIST_KEYS = {"prefix", "num_classes", "train", "test"}
CHECK_KEYS = {"files", "decode", "strict", "workers", "max_reported"}
REMAP_KEYS = {"mode", "tie_break"}
REMAP_MODES = ("none", "frequency")
GENERATE_KEYS = {"long_tail", "test_agnostic"}
LONG_TAIL_KEYS = {"source", "profile", "imbalance_ratio", "n_max", "seed"}
AGNOSTIC_KEYS = {"source", "rank_by", "ratios", "n_max", "seed", "factors"}


def _keys(params: dict | None, known: set[str], prefix: str) -> dict:
    if params is not None and not isinstance(params, dict):
        raise DataError(f"parameter '{prefix}' must be a mapping, got {params!r}")
    reject_unknown_keys(params or {}, known, prefix, DataError)
    return dict(params or {})


def _named(lists: dict[str, LabelList], name: str, parameter: str) -> LabelList:
    if name not in lists:
        raise DataError(f"parameter '{parameter}': no list named {name!r}; the list folder has {sorted(lists)}")
    return lists[name]


def resolve_list_config(lists: dict, check: dict, class_remap: dict, generate: dict) -> dict:
    """Every parameter checked and completed with its default before any data is read, so a typo fails
    the run before anything is written."""
    spec, opts, remap, gen = (
        _keys(lists, LIST_KEYS, "lists"),
        _keys(check, CHECK_KEYS, "check"),
        _keys(class_remap, REMAP_KEYS, "class_remap"),
        _keys(generate, GENERATE_KEYS, "generate"),
    )
    if not isinstance(spec.get("num_classes"), int) or spec["num_classes"] < 1:
        raise DataError(f"parameter 'lists.num_classes' must be a positive integer, got {spec.get('num_classes')!r}")
    spec.setdefault("prefix", "")
    spec.setdefault("train", None)
    spec.setdefault("test", None)
    for key, default in (("files", True), ("decode", False), ("strict", True)):
        opts[key] = opts.get(key, default)
        if not isinstance(opts[key], bool):
            raise DataError(f"parameter 'check.{key}' must be true or false, got {opts[key]!r}")
    opts.setdefault("workers", 4)
    opts.setdefault("max_reported", 20)
    remap.setdefault("mode", "none")
    remap.setdefault("tie_break", "class_id")
    if remap["mode"] not in REMAP_MODES:
        raise DataError(f"parameter 'class_remap.mode': unknown mode {remap['mode']!r}; choose one of {REMAP_MODES}")
    if remap["tie_break"] not in TIE_BREAKS:
        raise DataError(
            f"parameter 'class_remap.tie_break': unknown value {remap['tie_break']!r}; choose one of {TIE_BREAKS}"
        )
    if remap["mode"] != "none" and spec["train"] is None:
        raise DataError("class_remap.mode 'frequency' ranks classes by training counts: set lists.train")
    if gen.get("long_tail"):
        lt = _keys(gen["long_tail"], LONG_TAIL_KEYS, "generate.long_tail")
        if "imbalance_ratio" not in lt:
            raise DataError("parameter 'generate.long_tail.imbalance_ratio' is required")
        class_profile(
            lt.get("profile", "exponential"),
            spec["num_classes"],
            float(lt["imbalance_ratio"]),
            int(lt.get("n_max") or 1_000_000),
        )  # checks profile and ratio now
        gen["long_tail"] = {"source": "train", "profile": "exponential", "n_max": None, "seed": 0} | lt
    if gen.get("test_agnostic"):
        ta = {
            "source": spec["test"] or "test",
            "rank_by": spec["train"],
            "ratios": [50, 25, 10, 5, 2],
            "n_max": 50,
            "seed": 0,
            "factors": {},
        } | _keys(gen["test_agnostic"], AGNOSTIC_KEYS, "generate.test_agnostic")
        if ta["rank_by"] is None:
            raise DataError(
                "generate.test_agnostic ranks classes by training frequency: set lists.train or "
                "generate.test_agnostic.rank_by"
            )
        names = {test_agnostic_name(d, float(r)) for r in ta["ratios"] for d in ("forward", "backward")}
        unknown = set(ta["factors"] or {}) - names
        if unknown:
            raise DataError(
                f"parameter 'generate.test_agnostic.factors': no test distribution named "
                f"{sorted(unknown)} among the ratios {ta['ratios']}"
            )
        gen["test_agnostic"] = ta
    return {"lists": spec, "check": opts, "class_remap": remap, "generate": gen}


def _referenced_lists(config: dict) -> dict[str, str]:
    """parameter -> list name, for every list the configuration names (generated names excluded)."""
    spec, gen = config["lists"], config["generate"]
    names = {f"lists.{key}": spec[key] for key in ("train", "test") if spec[key] is not None}
    if gen.get("long_tail"):
        names["generate.long_tail.source"] = gen["long_tail"]["source"]
    if gen.get("test_agnostic"):
        for key in ("source", "rank_by"):
            if gen["test_agnostic"][key] != "long_tail":
                names[f"generate.test_agnostic.{key}"] = gen["test_agnostic"][key]
    return names


def _train_counts(lists: dict[str, LabelList], spec: dict) -> np.ndarray | None:
    train = spec["train"]
    return None if train is None else _named(lists, train, "lists.train").class_counts(spec["num_classes"])


def check_lists(raw: ListFolder, config: dict) -> tuple[dict[str, LabelList], pd.DataFrame, dict]:
    """Parse and validate every list file -> (lists by short name, problems table, check report).

    Short names drop ``lists.prefix`` (``Places_LT_train`` -> ``train``). With ``check.strict`` (default)
    any problem stops the run with one error listing the first ``check.max_reported`` of them; otherwise
    the bad lines are left out of the lists and reported in the problems table and the summary.
    """
    spec, opts = config["lists"], config["check"]
    num_classes, prefix = spec["num_classes"], spec["prefix"]
    if raw.image_root is None and (opts["files"] or opts["decode"]):
        raise DataError(
            "check.files / check.decode need the images: set `images` of the raw list dataset, or turn "
            "the checks off with --params=<namespace>.check.files=false"
        )
    names = {stem: stem[len(prefix) :] if prefix and stem.startswith(prefix) else stem for stem in raw.texts}
    if len(set(names.values())) < len(names):
        clash = sorted(stem for stem in names if list(names.values()).count(names[stem]) > 1)
        raise DataError(f"list files {clash} get the same name once the prefix {prefix!r} is dropped; remove one")
    for parameter, name in _referenced_lists(config).items():
        if name not in names.values():
            raise DataError(
                f"parameter '{parameter}': no list named {name!r}; the list folder has "
                f"{sorted(names.values())} (file names without the prefix {prefix!r})"
            )

    parsed, problems = {}, []
    report = {"image_root": str(raw.image_root), "files_checked": opts["files"], "decoded": opts["decode"], "lists": {}}
    for stem, text in raw.texts.items():
        name, source = names[stem], raw.sources[stem]
        lst, found = scan_list(text, source)
        found += check_list(
            lst,
            source,
            num_classes,
            raw.image_root,
            opts["files"],
            opts["decode"],
            int(opts["workers"]),
            progress=lambda done, total, s=source: log.info("%s: decoded %d / %d", s, done, total),
        )
        found.sort(key=lambda problem: problem.line)
        bad_lines = {p.line for p in found}
        if bad_lines:
            keep = [i for i in range(len(lst)) if lst.line_of(i) not in bad_lines]
            lst = LabelList(tuple(lst.items[i] for i in keep), lst.labels[keep], tuple(lst.line_of(i) for i in keep))
        parsed[name] = lst
        problems += found
        lines = len(lst) + len(bad_lines)
        report["lists"][name] = {
            "file": source,
            "lines": lines,
            "problems": len(found),
            "lines_left_out": len(bad_lines),
        }
        log.info("%s: %d lines, %d problem(s)", source, lines, len(found))

    if problems and opts["strict"]:
        shown = int(opts["max_reported"])
        listing = "\n".join(f"  {p}" for p in problems[:shown])
        more = f"\n  ... and {len(problems) - shown} more" if len(problems) > shown else ""
        raise DataError(f"{len(problems)} problem(s) in the list files (check.strict: true):\n{listing}{more}")
    report["problems"] = len(problems)
    return parsed, problems_table(problems), report


def remap_classes(lists: dict[str, LabelList], config: dict) -> tuple[dict[str, LabelList], dict]:
    """Optionally re-index classes by descending training frequency (SADE's Places-LT ``class_map``),
    applied to every list -> (lists, class map record)."""
    spec, remap = config["lists"], config["class_remap"]
    if remap["mode"] == "none":
        return lists, {"mode": "none", "class_map": list(range(spec["num_classes"]))}
    class_map = frequency_class_map(_train_counts(lists, spec), remap["tie_break"])
    record = {
        "mode": remap["mode"],
        "tie_break": remap["tie_break"],
        "class_map": class_map.tolist(),
        "note": "class_map[original label] = new label",
    }
    return {name: relabel(lst, class_map) for name, lst in lists.items()}, record


def generate_lists(lists: dict[str, LabelList], config: dict) -> dict[str, LabelList]:
    """New lists: ``long_tail`` (a long-tailed list from a balanced source list) and the test-agnostic
    distributions (forward-r / uniform / backward-r from a balanced test list, classes ranked by the
    counts of ``rank_by``, by default the training list)."""
    num_classes, gen = config["lists"]["num_classes"], config["generate"]
    out: dict[str, LabelList] = {}
    if gen.get("long_tail"):
        lt = gen["long_tail"]
        out["long_tail"] = long_tail_from_list(
            lists[lt["source"]], num_classes, lt["profile"], float(lt["imbalance_ratio"]), lt["n_max"], int(lt["seed"])
        )
    if gen.get("test_agnostic"):
        ta, available = gen["test_agnostic"], lists | out
        counts = available[ta["rank_by"]].class_counts(num_classes)
        out |= test_agnostic_lists(
            available[ta["source"]],
            counts,
            [float(r) for r in ta["ratios"]],
            int(ta["n_max"]),
            int(ta["seed"]),
            ta["factors"],
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
    config: dict,
    dataset: str,
):
    """Summary JSON (every list's totals, training counts and shot groups, generated lists against the
    official ones of the same name) and the class histogram of the training list."""
    spec = config["lists"]
    num_classes = spec["num_classes"]
    counts = _train_counts(lists, spec)
    summary = {
        "dataset": dataset,
        "num_classes": num_classes,
        "config": config,
        "check": report,
        "class_remap": class_map["mode"],
        "lists": {name: _list_stats(lst, num_classes) for name, lst in sorted(lists.items())},
    }
    if counts is not None:
        groups = shot_groups(counts)
        summary["train"] = {
            "list": spec["train"],
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
    shown = spec.get("train") or spec.get("test") or min(lists)
    shown_counts = _named(lists, shown, "lists.train").class_counts(num_classes)
    title = f"{dataset}: list '{shown}' ({int(shown_counts.sum())} images, {num_classes} classes)"
    return summary, class_histogram(shown_counts, title, by_rank=True)
