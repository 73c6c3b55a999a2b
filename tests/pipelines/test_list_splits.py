"""``list_splits`` (imagenet_lt, places_lt, inat18_lt) through real Kedro sessions on generated lists."""

from __future__ import annotations

import json

import numpy as np
import pytest

from longtail_lab.data.lists.format import read_list
from longtail_lab.data.lists.long_tail import class_profile
from longtail_lab.data.lists.long_tail import test_agnostic_counts as agnostic_counts
from longtail_lab.errors import DataError, ParameterError
from tests.fixtures import make_project_copy
from tests.list_fixtures import LAYOUTS, NUM_CLASSES, TEST_PER_CLASS, TRAIN_COUNTS, write_all_list_datasets
from tests.pipelines.conftest import outputs_snapshot, run_pipeline, version_names, versioned

NAMESPACES = tuple(LAYOUTS)


@pytest.fixture(scope="module")
def list_project(tmp_path_factory):
    project = make_project_copy(tmp_path_factory.mktemp("lists") / "project")
    write_all_list_datasets(project)
    run_pipeline(project, "list_splits")
    return project


def _out(project, ns, layer, name):
    return versioned(project / "data" / "test_env" / layer / ns / name)


def _summary(project, ns):
    return json.loads(_out(project, ns, "08_reporting", "list_summary.json").read_text())


@pytest.mark.parametrize("ns", NAMESPACES)
def test_summary_counts_and_shot_groups(list_project, ns):
    summary = _summary(list_project, ns)
    assert summary["num_classes"] == NUM_CLASSES
    assert summary["train"]["class_counts"] == TRAIN_COUNTS
    # many > 100, medium 20..100, few < 20
    assert summary["train"]["shot_group_sizes"] == {"many": 0, "medium": 4, "few": 8}
    assert summary["lists"]["train"]["total"] == sum(TRAIN_COUNTS)
    assert summary["check"]["problems"] == 0
    assert summary["check"]["files_checked"] is True
    assert summary["check"]["decoded"] is (ns == "imagenet_lt")  # conf/test turns decoding on there
    png = _out(list_project, ns, "08_reporting", "class_histogram.png").read_bytes()
    assert png.startswith(b"\x89PNG")


@pytest.mark.parametrize("ns", ["imagenet_lt", "places_lt"])
def test_generated_test_agnostic_lists_follow_the_formula(list_project, ns):
    folder = _out(list_project, ns, "02_intermediate", "generated_lists")
    test = read_list(_out(list_project, ns, "02_intermediate", "lists") / "test.txt")
    train = np.asarray(TRAIN_COUNTS) if ns == "imagenet_lt" else np.sort(TRAIN_COUNTS)[::-1]
    for name, direction, ratio in [("forward5", "forward", 5), ("backward2", "backward", 2), ("uniform", "uniform", 1)]:
        lst = read_list(folder / f"{name}.txt", NUM_CLASSES)
        expected = agnostic_counts(train, ratio, TEST_PER_CLASS, direction)
        assert lst.class_counts(NUM_CLASSES).tolist() == expected.tolist(), name
        assert set(lst.items) <= set(test.items)  # drawn from the balanced test list
        assert len(set(lst.items)) == len(lst)


def test_inat_official_factors_are_applied(list_project):
    folder = _out(list_project, "inat18_lt", "02_intermediate", "generated_lists")
    assert sorted(p.stem for p in folder.iterdir()) == ["backward2", "backward3", "forward2", "forward3", "uniform"]
    forward3 = read_list(folder / "forward3.txt", NUM_CLASSES).class_counts(NUM_CLASSES)
    expected = agnostic_counts(np.asarray(TRAIN_COUNTS), 3, 3, "forward", factor=0.3333)
    assert forward3.tolist() == expected.tolist()


def test_long_tail_generation_from_a_list(list_project):
    lst = read_list(_out(list_project, "imagenet_lt", "02_intermediate", "generated_lists") / "long_tail.txt")
    assert lst.class_counts(NUM_CLASSES).tolist() == class_profile("exponential", NUM_CLASSES, 4, 8).tolist()
    assert lst.labels.tolist() == sorted(lst.labels.tolist())  # grouped class by class, head first


def test_places_frequency_remap(list_project):
    record = json.loads(_out(list_project, "places_lt", "02_intermediate", "class_map.json").read_text())
    class_map = np.asarray(record["class_map"])
    assert record["mode"] == "frequency" and record["tie_break"] == "class_id"
    assert sorted(class_map.tolist()) == list(range(NUM_CLASSES))
    train = read_list(_out(list_project, "places_lt", "02_intermediate", "lists") / "train.txt")
    counts = train.class_counts(NUM_CLASSES)
    assert (np.diff(counts) <= 0).all()  # class 0 is now the most frequent
    assert counts.tolist() == sorted(TRAIN_COUNTS, reverse=True)
    # ties (classes 2/3 and 8/9 have equal counts) keep their original order
    assert class_map[2] < class_map[3] and class_map[8] < class_map[9]
    identity = json.loads(_out(list_project, "imagenet_lt", "02_intermediate", "class_map.json").read_text())
    assert identity == {"mode": "none", "class_map": list(range(NUM_CLASSES))}


def test_checked_lists_keep_every_line(list_project):
    folder = _out(list_project, "imagenet_lt", "02_intermediate", "lists")
    raw = list_project / "data" / "01_raw" / "imagenet_lt" / "lists"
    for name in ("train", "val", "test"):
        assert read_list(folder / f"{name}.txt").items == read_list(raw / f"ImageNet_LT_{name}.txt").items


def test_each_dataset_runs_alone_and_adds_a_version(list_project):
    before = outputs_snapshot(list_project)
    first = version_names(list_project)
    run_pipeline(list_project, "places_lt")
    new = version_names(list_project) - first
    assert len(new) == 1
    after = outputs_snapshot(list_project)
    assert all(after[path] == digest for path, digest in before.items())  # nothing overwritten
    (version,) = new
    written = {path.split("/")[3] for path in after if version in path}  # data/test_env/<layer>/<ns>/...
    assert written == {"places_lt"}


def _broken_project(tmp_path, mutate):
    project = make_project_copy(tmp_path / "project")
    write_all_list_datasets(project)
    mutate(project / "data" / "01_raw" / "places_lt")
    return project


def test_bad_lines_stop_the_run_with_every_problem_and_nothing_written(tmp_path):
    def mutate(root):
        path = root / "lists" / "Places_LT_train.txt"
        lines = path.read_text().splitlines()
        lines[4] = "train/c00/missing.png 0"
        lines[9] = lines[9].rsplit(" ", 1)[0] + " 99"
        path.write_text("\n".join(lines) + "\n")

    project = _broken_project(tmp_path, mutate)
    with pytest.raises(DataError) as info:
        run_pipeline(project, "places_lt")
    message = str(info.value)
    train_file = project / "data" / "01_raw" / "places_lt" / "lists" / "Places_LT_train.txt"
    assert message.startswith("2 problem(s) in the list files (places_lt.check.strict: true)")
    assert f"{train_file}, line 5: image" in message and "missing.png does not exist" in message
    assert f"{train_file}, line 10: label 99 is not below the number of classes (12)" in message
    assert _only_run_config(project)  # the checked parameters are recorded before the lists are read


def test_non_strict_run_leaves_bad_lines_out_and_reports_them(tmp_path):
    def mutate(root):
        path = root / "lists" / "Places_LT_val.txt"
        path.write_text(path.read_text() + "val/c00/ghost.png 0\nnot-a-line\n")

    project = _broken_project(tmp_path, mutate)
    run_pipeline(project, "places_lt", {"places_lt": {"check": {"strict": False}}})
    problems = _out(project, "places_lt", "08_reporting", "list_problems.csv").read_text().splitlines()
    assert problems[0] == "source,line,problem"
    assert [row.split(",")[1] for row in problems[1:]] == ["37", "38"]
    summary = _summary(project, "places_lt")
    assert summary["check"]["lists"]["val"] | {"file": None} == {
        "file": None,
        "lines": 38,
        "problems": 2,
        "lines_left_out": 2,
    }
    assert summary["lists"]["val"]["total"] == 36


def _only_run_config(project) -> bool:
    written = list(outputs_snapshot(project))
    return len(written) == 1 and written[0].startswith("data/test_env/02_intermediate/places_lt/run_config.json/")


@pytest.fixture(scope="module")
def clean_project(tmp_path_factory):
    """A project with every list dataset and no outputs; the runs against it must fail and write nothing."""
    project = make_project_copy(tmp_path_factory.mktemp("lists_clean") / "project")
    write_all_list_datasets(project)
    return project


BLOCK_KEYS = "dataset, lists, check, class_remap, generate"


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (  # (1) unknown key at the top of the namespace block
            {"datasett": "Places"},
            ("places_lt.datasett", f"is unknown (did you mean 'dataset'?); known keys: {BLOCK_KEYS}"),
        ),
        (  # (2) unknown nested key
            {"check": {"strictt": False}},
            (
                "places_lt.check.strictt",
                "is unknown (did you mean 'strict'?); known keys: files, decode, strict, workers, max_reported",
            ),
        ),
        (  # ... two levels down, under an optional sub-block
            {"generate": {"test_agnostic": {"ratio": [5]}}},
            (
                "places_lt.generate.test_agnostic.ratio",
                "is unknown (did you mean 'ratios'?); known keys: source, rank_by, ratios, n_max, seed, factors",
            ),
        ),
        ({"check": {"strict": "no"}}, ("places_lt.check.strict", "must be true or false, got 'no'")),  # (3) a type
        (
            {"lists": {"num_classes": 0}},
            ("places_lt.lists.num_classes", "must be an integer >= 1 and <= 1000000, got 0"),
        ),
        (
            {"class_remap": {"mode": "alphabetical"}},
            ("places_lt.class_remap.mode", "must be one of 'none', 'frequency', got 'alphabetical'"),
        ),  # fmt: skip
        (
            {"generate": {"test_agnostic": {"factors": {"forward7": 0.1}}}},
            (
                "places_lt.generate.test_agnostic.factors",
                "names no test distribution among the ratios [5, 2]: ['forward7']",
            ),
        ),
        (
            {"lists": {"train": None}, "generate": {"test_agnostic": {"rank_by": "test"}}},
            ("places_lt.class_remap.mode", "'frequency' ranks classes by training counts: set places_lt.lists.train"),
        ),
    ],
)
def test_bad_parameter_names_the_full_key_and_nothing_is_written(clean_project, params, problem):
    with pytest.raises(ParameterError) as info:
        run_pipeline(clean_project, "places_lt", {"places_lt": params})
    assert info.value.problems == [problem]
    assert str(info.value) == f"parameter '{problem[0]}' {problem[1]}"
    assert outputs_snapshot(clean_project) == {}


def test_every_bad_key_of_every_namespace_in_one_error(clean_project):
    params = {
        "places_lt": {"lists": {"num_classes": "12"}, "check": {"strict": "no", "speed": 1}},
        "inat18_lt": {"generate": {"long_tail": {"imbalance_ratio": 0.5}}},
    }
    with pytest.raises(ParameterError) as info:
        run_pipeline(clean_project, "list_splits", params)
    assert info.value.problems == [
        ("inat18_lt.generate.long_tail.imbalance_ratio", "must be an integer >= 1 or a finite number >= 1, got 0.5"),
        ("places_lt.lists.num_classes", "must be an integer >= 1 and <= 1000000, got '12'"),
        ("places_lt.check.speed", "is unknown; known keys: files, decode, strict, workers, max_reported"),
        ("places_lt.check.strict", "must be true or false, got 'no'"),
    ]
    assert str(info.value).startswith("4 bad parameters:\n  - parameter 'inat18_lt.generate.long_tail.imbalance_ratio'")
    assert outputs_snapshot(clean_project) == {}  # not even imagenet_lt, whose block is fine, wrote anything


def test_a_list_name_missing_from_the_folder_names_the_full_key(tmp_path):
    project = _broken_project(tmp_path, lambda root: None)
    with pytest.raises(DataError, match=r"^parameter 'places_lt\.lists\.train': no list named 'training'; the list"):
        run_pipeline(project, "places_lt", {"places_lt": {"lists": {"train": "training"}}})
    assert _only_run_config(project)


def test_run_config_records_the_resolved_block(list_project):
    first = min(version_names(list_project))  # the run of the fixture (a later test adds a places_lt run)
    folder = list_project / "data" / "test_env"
    config = json.loads(versioned(folder / "02_intermediate/places_lt/run_config.json", first).read_text())
    summary = json.loads(versioned(folder / "08_reporting/places_lt/list_summary.json", first).read_text())
    assert (config["namespace"], config["dataset"], config["run"]["env"]) == ("places_lt", "Places-LT", "test")
    assert config["check"] == {"files": True, "decode": False, "strict": True, "workers": 4, "max_reported": 20}
    # the defaults that depend on other keys are explicit (lists.test, lists.train)
    assert config["generate"]["test_agnostic"] == {
        "source": "test", "rank_by": "train", "ratios": [5, 2], "n_max": 6, "seed": 0, "factors": {}
    }  # fmt: skip
    keys = ("lists", "check", "class_remap", "generate")
    assert summary["config"] == {key: config[key] for key in keys}


def test_two_files_with_one_short_name_are_an_error():
    from longtail_lab.data.lists.format import ListFolder
    from longtail_lab.pipelines.list_splits.nodes import check_lists
    from longtail_lab.pipelines.list_splits.parameters import ListSplitsBlock

    raw = ListFolder({"Places_LT_train": "a.png 0\n", "train": "b.png 0\n"}, {"Places_LT_train": "x", "train": "y"})
    params = {
        "dataset": "P",
        "lists": {"prefix": "Places_LT_", "num_classes": 2, "train": "train"},
        "check": {"files": False},
    }
    config = {"namespace": "places_lt", **ListSplitsBlock.from_params(params, "places_lt").run_config("places_lt")}
    with pytest.raises(DataError, match=r"\['Places_LT_train', 'train'\] get the same name"):
        check_lists(raw, config)
