"""``ntu_lt`` and ``ntu_lt_pyskl`` end to end through real Kedro sessions (env ``test``, generated inputs)."""

from __future__ import annotations

import hashlib
import json
import shutil

import pytest

from longtail_lab.data.lists.long_tail import class_profile
from longtail_lab.data.skeletons.pyskl import read_annotations
from longtail_lab.errors import DataError, ParameterError
from tests.fixtures import make_project_copy
from tests.ntu_fixtures import (
    NTU_SPLITS,
    TEST_N_MAX,
    TEST_RATIOS,
    procedure_lists,
    write_ntu_lt_raw,
    write_pyskl_pickles,
)
from tests.pipelines.conftest import outputs_snapshot, run_pipeline, version_names, versioned

NAMESPACES = (*NTU_SPLITS, "nwucla")
LAYERS = ("02_intermediate", "03_primary", "08_reporting")


def _new_project(root):
    project = make_project_copy(root)
    written = write_ntu_lt_raw(project / "data" / "01_raw")
    return project, written


def _snapshot(project) -> dict[str, str]:
    out = outputs_snapshot(project)
    for path in sorted((project / "data" / "test_env" / "03_primary").rglob("*")):
        if path.is_file():
            out[str(path.relative_to(project))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _run_namespace(project, name: str, namespace: str, runtime_params: dict | None = None) -> None:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project)
    with KedroSession.create(project_path=project, env="test", runtime_params=runtime_params or {}) as session:
        session.run(pipeline_names=[name], namespaces=[namespace])


def _written(project) -> list[str]:
    """What a failed run wrote besides run configurations (they are written before any data is read)."""
    return [path for path in _snapshot(project) if "/run_config.json/" not in path]


def _run_configs(project) -> list[str]:
    return sorted(path.split("/")[3] for path in _snapshot(project) if "/run_config.json/" in path)


def _root_cause(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


def _summary(project, ns, version=None) -> dict:
    return json.loads(
        versioned(project / "data" / "test_env" / "02_intermediate" / ns / "lt_summary.json", version).read_text()
    )


def _lists_folder(project, ns, version=None):
    return versioned(project / "data" / "test_env" / "02_intermediate" / ns / "lt_lists", version)


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    project, written = _new_project(tmp_path_factory.mktemp("ntu_lt") / "project")
    run_pipeline(project, "ntu_lt")
    return project, written


@pytest.mark.parametrize("ns", NAMESPACES)
def test_lists_summary_and_histogram(ran, ns):
    project, written = ran
    prefix, num_classes = NTU_SPLITS[ns][:2] if ns in NTU_SPLITS else ("NW_UCLA", 10)
    ratios = TEST_RATIOS if ns in NTU_SPLITS else (10,)
    folder = _lists_folder(project, ns)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{prefix}_exp_{r}.txt" for r in ratios)
    summary = _summary(project, ns)
    raw = project / "data" / "01_raw" / ("ntu" if ns in NTU_SPLITS else "nwucla") / f"{prefix}_train.txt"
    assert summary["source"]["file"] == str(raw)
    assert summary["source"]["sha256"] == hashlib.sha256(raw.read_bytes()).hexdigest()
    assert summary["source"]["dropped_by_view"] == (120 if ns == "nwucla" else 0)
    for ratio in ratios:
        name = f"{prefix}_exp_{ratio}"
        data = (folder / f"{name}.txt").read_bytes()
        assert not data.endswith(b"\n")
        expected = class_profile("exponential", num_classes, ratio, TEST_N_MAX[ns])
        entry = summary["lists"][name]
        assert entry["class_counts"] == entry["requested_counts"] == expected.tolist()
        assert entry["total"] == int(expected.sum()) == data.count(b"\n") + 1
        assert (entry["head_count"], entry["tail_count"]) == (TEST_N_MAX[ns], int(expected[-1]))
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
        if ns.startswith("ntu60"):  # consumed as given: byte-identical to the raw official list
            official = project / "data" / "01_raw" / "ntu" / "NTU60_LT" / f"{name}.txt"
            assert data == official.read_bytes()
            assert entry["origin"] == "official" and entry["validation"]["counts_match_profile"] is True
            assert entry["procedure"]["identical"] is False
        else:
            full = written["full"][ns]
            dataset = "nwucla" if ns == "nwucla" else "ntu"
            names = full if ns != "nwucla" else [n for n in full if not n.endswith("_v03")]
            generated = procedure_lists(names, num_classes, prefix, TEST_N_MAX[ns], (ratio,), dataset)[name]
            assert data.decode().split("\n") == generated
            assert entry["origin"] == "procedure"
            assert ("official" in entry) == (name == "NTU120_xsub_exp_10")
    if ns == "ntu120_xsub":
        assert summary["lists"]["NTU120_xsub_exp_10"]["official"]["identical"] is True
    png = versioned(project / "data" / "test_env" / "08_reporting" / ns / "lt_class_histogram.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_pyskl_pickles_restricted_to_the_lists(ran, tmp_path):
    project, written = ran
    copy = tmp_path / "project"
    shutil.copytree(project, copy)
    write_pyskl_pickles(copy / "data" / "01_raw", written["full"])
    run_pipeline(copy, "ntu_lt_pyskl")
    for ns in NTU_SPLITS:
        protocol = ns.split("_")[1]
        lt_name = f"{NTU_SPLITS[ns][0]}_exp_10"
        lt = (_lists_folder(copy, ns) / f"{lt_name}.txt").read_text().split("\n")
        out = read_annotations(versioned(copy / "data" / "test_env" / "03_primary" / ns / "lt_3danno.pkl"))
        train = written["full"][ns]
        assert out.split[f"{protocol}_train"] == [n for n in train if n in set(lt)]  # split order kept
        assert len(out.split[f"{protocol}_val"]) == 3
        assert set(out.frame_dirs()) == set(lt) | set(out.split[f"{protocol}_val"])
        assert all(a["label"] == int(a["frame_dir"][-3:]) - 1 for a in out.annotations)
        report = json.loads(
            versioned(copy / "data" / "test_env" / "08_reporting" / ns / "lt_annotations_report.json").read_text()
        )
        assert (report["list_name"], report["listed"], report["kept_from_list"]) == (lt_name, len(lt), len(lt))
        assert report["missing_from_annotations"] == []
        assert report["annotations_out"] == len(lt) + 3


def test_pyskl_missing_names_error_or_reported_skip(ran, tmp_path):
    project, written = ran
    copy = tmp_path / "project"
    shutil.copytree(project, copy)
    lt = (_lists_folder(copy, "ntu60_xsub") / "NTU60_xsub_exp_10.txt").read_text().split("\n")
    full = dict(written["full"])
    full["ntu60_xsub"] = [n for n in full["ntu60_xsub"] if n != lt[3]]
    write_pyskl_pickles(copy / "data" / "01_raw", full)
    with pytest.raises(DataError, match=rf"NTU60_xsub_exp_10\.txt: 1 name\(s\) are not in split 'xsub_train'.*{lt[3]}"):
        _run_namespace(copy, "ntu_lt_pyskl", "ntu60_xsub")
    assert not any(p.is_file() for p in (copy / "data" / "test_env" / "03_primary").rglob("*"))
    _run_namespace(copy, "ntu_lt_pyskl", "ntu60_xsub", {"ntu60_xsub": {"ntu_lt_pyskl": {"on_missing": "skip"}}})
    report = json.loads(
        versioned(copy / "data" / "test_env" / "08_reporting" / "ntu60_xsub" / "lt_annotations_report.json").read_text()
    )
    assert report["missing_from_annotations"] == [lt[3]] and report["kept_from_list"] == len(lt) - 1


def test_rerun_adds_a_version_and_leaves_the_first_untouched(ran, tmp_path):
    project, _ = ran
    copy = tmp_path / "project"
    shutil.copytree(project, copy)
    (first,) = version_names(copy)
    before = _snapshot(copy)
    run_pipeline(copy, "ntu_lt")
    (second,) = version_names(copy) - {first}
    after = _snapshot(copy)
    assert {k: v for k, v in after.items() if k in before} == before  # first version untouched
    for ns in NAMESPACES:
        a, b = _lists_folder(copy, ns, first), _lists_folder(copy, ns, second)
        assert {p.name: p.read_bytes() for p in a.iterdir()} == {p.name: p.read_bytes() for p in b.iterdir()}


def test_malformed_name_in_line_7_fails_naming_file_and_line_and_writes_nothing(tmp_path):
    project, written = _new_project(tmp_path / "project")
    raw = project / "data" / "01_raw" / "ntu" / "NTU120_xset_train.txt"
    lines = raw.read_text().split("\n")
    lines[6] = "S004C001P001R001A01x"
    raw.write_text("\n".join(lines))
    with pytest.raises(
        Exception, match=r"NTU120_xset_train\.txt, line 7: 'S004C001P001R001A01x' is not an NTU"
    ) as info:
        _run_namespace(project, "ntu_lt", "ntu120_xset")
    assert isinstance(_root_cause(info.value), DataError)  # Kedro wraps the load error in DatasetErrors
    assert _written(project) == [] and _run_configs(project) == ["ntu120_xset"]
    with pytest.raises(Exception, match=r"NTU120_xset_train\.txt, line 7"):
        run_pipeline(project, "ntu_lt")
    assert not [p for p in _written(project) if "ntu120_xset" in p]


def test_ntu60_without_official_lists_explains_and_can_generate(tmp_path):
    project, written = _new_project(tmp_path / "project")
    shutil.rmtree(project / "data" / "01_raw" / "ntu" / "NTU60_LT")
    with pytest.raises(
        DataError, match=r"NTU60_xview_exp_2\.txt was not found .*ntu60_xview\.ntu_lt\.use_official_lists: false"
    ):
        _run_namespace(project, "ntu_lt", "ntu60_xview")
    assert _written(project) == []
    _run_namespace(project, "ntu_lt", "ntu60_xview", {"ntu60_xview": {"ntu_lt": {"use_official_lists": False}}})
    summary = _summary(project, "ntu60_xview")
    entry = summary["lists"]["NTU60_xview_exp_10"]
    assert entry["origin"] == "procedure" and "official" not in entry
    assert entry["class_counts"] == class_profile("exponential", 60, 10, 20).tolist()
    assert summary["n_max"] == 20  # the sibling keys of conf/test are kept


@pytest.fixture(scope="module")
def clean_project(tmp_path_factory):
    """Raw lists and pickles, no outputs: the runs against it must fail and write nothing."""
    project, written = _new_project(tmp_path_factory.mktemp("ntu_clean") / "project")
    write_pyskl_pickles(project / "data" / "01_raw", written["full"])
    return project


LT_KEYS = "num_classes, imbalance_ratios, n_max, list_prefix, profile, seed, short_classes, use_official_lists, views"


@pytest.mark.parametrize("pipeline", ["ntu_lt", "ntu_lt_pyskl"])
@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (  # (1) an unknown key at the top of the namespace block
            {"ntu60_xsub": {"ntu_ltt": {}}},
            ("ntu60_xsub.ntu_ltt", "is unknown (did you mean 'ntu_lt'?); known keys: ntu_lt, ntu_lt_pyskl"),
        ),
        (  # (2) an unknown nested key, in the sub-block of the *other* pipeline: both check the whole block
            {"ntu120_xset": {"ntu_lt_pyskl": {"on_misssing": "skip"}}},
            (
                "ntu120_xset.ntu_lt_pyskl.on_misssing",
                "is unknown (did you mean 'on_missing'?); known keys: list, split, keep_splits, on_missing",
            ),
        ),
        (  # (3) a wrong type
            {"ntu60_xsub": {"ntu_lt": {"use_official_lists": "no"}}},
            ("ntu60_xsub.ntu_lt.use_official_lists", "must be true or false, got 'no'"),
        ),
        (
            {"ntu120_xsub": {"ntu_lt": {"imbalance_ratios": [10, 10.0]}}},
            ("ntu120_xsub.ntu_lt.imbalance_ratios", "lists a ratio twice ([10, 10.0]), got [10, 10.0]"),
        ),
        (
            {"ntu60_xview": {"ntu_lt": {"views": [1, 2]}}},
            ("ntu60_xview.ntu_lt.views", "applies to NW-UCLA only; set it to null, got [1, 2]"),
        ),
    ],
)
def test_bad_parameter_names_the_full_key_and_nothing_is_written(clean_project, pipeline, params, problem):
    with pytest.raises(ParameterError) as info:
        run_pipeline(clean_project, pipeline, params)
    assert info.value.problems == [problem]
    assert str(info.value) == f"parameter '{problem[0]}' {problem[1]}"
    assert _snapshot(clean_project) == {}


def test_nwucla_block_has_no_pyskl_settings_and_ten_classes(clean_project):
    params = {"nwucla": {"ntu_lt": {"ratio": 5, "num_classes": 12}, "ntu_lt_pyskl": {"list": "NW_UCLA_exp_10"}}}
    with pytest.raises(ParameterError) as info:
        _run_namespace(clean_project, "ntu_lt", "nwucla", params)
    assert info.value.problems == [
        ("nwucla.ntu_lt_pyskl", "is unknown (did you mean 'ntu_lt'?); known keys: ntu_lt"),
        ("nwucla.ntu_lt.ratio", f"is unknown; known keys: {LT_KEYS}"),
    ]
    with pytest.raises(ParameterError, match=r"^parameter 'nwucla\.ntu_lt\.num_classes' must be 10 \(the NW-UCLA"):
        _run_namespace(clean_project, "ntu_lt", "nwucla", {"nwucla": {"ntu_lt": {"num_classes": 12}}})
    assert _snapshot(clean_project) == {}


def test_every_bad_key_of_every_namespace_in_one_error(clean_project):
    params = {
        "ntu60_xsub": {"ntu_lt": {"n_max": "20", "seed": -1}, "ntu_lt_pyskl": {"keep_splits": "xsub_val"}},
        "nwucla": {"ntu_lt": {"profile": "linear"}},
    }
    with pytest.raises(ParameterError) as info:
        run_pipeline(clean_project, "ntu_lt", params)
    assert info.value.problems == [
        ("ntu60_xsub.ntu_lt.n_max", "must be an integer >= 1, got '20'"),
        ("ntu60_xsub.ntu_lt.seed", "must be an integer seed, 0 <= seed < 2**32 (at most 4294967295), got -1"),
        ("ntu60_xsub.ntu_lt_pyskl.keep_splits", "must be a list of strings, got 'xsub_val'"),
        ("nwucla.ntu_lt.profile", "must be one of 'exponential', 'step', got 'linear'"),
    ]
    assert str(info.value).startswith("4 bad parameters:\n  - parameter 'ntu60_xsub.ntu_lt.n_max' must be")
    assert _snapshot(clean_project) == {}


def test_data_dependent_errors_name_the_full_key(ran, tmp_path):
    project, _ = _new_project(tmp_path / "project")
    with pytest.raises(DataError, match=r"27 class\(es\) have fewer names .*label 0: 23 < 30.*lower ntu120_xsub\.ntu_lt"
                       r"\.n_max, or set ntu120_xsub\.ntu_lt\.short_classes: keep_all"):  # fmt: skip
        _run_namespace(project, "ntu_lt", "ntu120_xsub", {"ntu120_xsub": {"ntu_lt": {"n_max": 30}}})
    assert _written(project) == []
    copy = tmp_path / "copy"
    shutil.copytree(ran[0], copy)
    write_pyskl_pickles(copy / "data" / "01_raw", ran[1]["full"])
    with pytest.raises(DataError, match=r"^parameter 'ntu60_xsub\.ntu_lt_pyskl\.list': 'NTU60_xsub_exp_7' is not one"):
        _run_namespace(
            copy, "ntu_lt_pyskl", "ntu60_xsub", {"ntu60_xsub": {"ntu_lt_pyskl": {"list": "NTU60_xsub_exp_7"}}}
        )


def test_both_pipelines_in_one_run_share_the_check_and_its_run_config(ran, tmp_path):
    project, written = ran
    copy = tmp_path / "project"
    shutil.copytree(project, copy)
    write_pyskl_pickles(copy / "data" / "01_raw", written["full"])
    before = version_names(copy)
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(copy)
    with KedroSession.create(project_path=copy, env="test") as session:
        session.run(pipeline_names=["ntu_lt", "ntu_lt_pyskl"])
    (version,) = version_names(copy) - before
    for ns in NAMESPACES:
        config = json.loads(
            versioned(copy / "data/test_env/02_intermediate" / ns / "run_config.json", version).read_text()
        )
        assert config["run"]["pipelines"] == ["ntu_lt", "ntu_lt_pyskl"]
        assert list(config) == ["namespace", "ntu_lt", *(["ntu_lt_pyskl"] if ns != "nwucla" else []), "run"]
    report = versioned(copy / "data/test_env/08_reporting/ntu60_xsub/lt_annotations_report.json", version)
    assert json.loads(report.read_text())["list_name"] == "NTU60_xsub_exp_10"


@pytest.mark.parametrize("name", ["ntu_lt", "ntu_lt_pyskl"])
def test_every_dataset_is_persisted_with_a_viz_layer(name):
    """Every input and output resolves to a file dataset of the catalog with a kedro-viz layer; outputs are
    versioned."""
    from kedro.framework.project import pipelines
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project
    from kedro.io import MemoryDataset

    from tests.fixtures import PROJECT_ROOT

    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(project_path=PROJECT_ROOT, env="base") as session:
        catalog = session.load_context().catalog
    pipeline = pipelines[name]
    names = [d for d in pipeline.datasets() if not d.startswith("params:") and d != "run_info"]
    assert len(names) >= 12
    for dataset_name in names:
        dataset = catalog.get(dataset_name)
        assert dataset is not None and not isinstance(dataset, MemoryDataset), dataset_name
        layer = dataset.metadata["kedro-viz"]["layer"]
        if dataset_name in pipeline.outputs():
            assert layer in {"intermediate", "primary", "reporting"}, dataset_name
            assert dataset._version is not None, dataset_name
        else:
            assert layer in {"raw", "intermediate"}, dataset_name
