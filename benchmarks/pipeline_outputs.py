"""Fingerprints of every pipeline's outputs on generated fixtures, to show that a refactoring changed nothing.

Runs ``lt_splits``, ``places_lt``, ``imagenet_lt``, ``inat18_lt``, ``ntu_lt``, ``cifar_lt`` and ``cifar_lt_rl``
(``--env test``) in a throw-away project on the tests' generated fixtures (tiny CIFAR-10/100 pickles, list
datasets, NTU name lists) and writes one JSON: the SHA-256 of every output file (version folders dropped from the
paths), the content of every ``metrics.json``, the model weights' SHA-256 and the training histories without
their timings. ``--compare A B`` prints what differs between two such files.

    # in a clone of the old commit, with this script copied there (PYTHONPATH=src: that clone's code, not the installed)
    PYTHONPATH=src python benchmarks/pipeline_outputs.py /tmp/before.json
    python benchmarks/pipeline_outputs.py /tmp/after.json
    python benchmarks/pipeline_outputs.py --compare /tmp/before.json /tmp/after.json
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fixtures live in tests/, not in the package

PIPELINES = ("lt_splits", "places_lt", "imagenet_lt", "inat18_lt", "ntu_lt", "cifar_lt", "cifar_lt_rl")
TIMINGS = ("time_s", "images_per_s", "train_time_s", "run_id")  # what differs between any two runs


def _key(path: Path, base: Path) -> str:
    rel = path.relative_to(base).parts  # drop the version folder of <name>/<timestamp>/<name>
    kept = [p for i, p in enumerate(rel) if not (0 < i < len(rel) - 1 and rel[i + 1] == rel[i - 1])]
    return "/".join(kept)


def _entry(path: Path, project: Path):
    import pandas as pd
    import torch

    if path.suffix == ".json":  # content, with the throw-away project's path made neutral
        return json.loads(path.read_text().replace(str(project), "<project>"))
    if path.suffix == ".pt":
        weights = torch.load(path, weights_only=True)["model"]
        digest = hashlib.sha256()
        for name in sorted(weights):
            digest.update(name.encode() + weights[name].numpy().tobytes())
        return {"weights_sha256": digest.hexdigest()}
    if path.name == "training_history.csv":
        table = pd.read_csv(path)
        return table.drop(columns=[c for c in TIMINGS if c in table]).to_dict("list")
    if path.name == ".lock":
        return "lock"
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(out: Path, pipelines: tuple[str, ...]) -> None:
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from tests.fixtures import make_project_copy, write_tiny_cifar10, write_tiny_cifar100
    from tests.list_fixtures import write_all_list_datasets
    from tests.ntu_fixtures import write_ntu_lt_raw

    project = make_project_copy(Path(tempfile.mkdtemp(prefix="pipeline_outputs_")) / "project")
    raw = project / "data" / "01_raw"
    write_tiny_cifar100(raw, train_per_class=30, test_per_class=10)
    write_tiny_cifar10(raw, train_per_class=30, test_per_class=10)
    write_all_list_datasets(project)
    write_ntu_lt_raw(raw)
    bootstrap_project(project)
    os.chdir(project)
    for name in pipelines:
        started = time.perf_counter()
        with KedroSession.create(project_path=project, env="test") as session:
            session.run(pipeline_names=[name])
        print(f"{name}: {time.perf_counter() - started:.1f} s", flush=True)
    base = project / "data" / "test_env"
    result = {_key(p, base): _entry(p, project) for p in sorted(base.rglob("*")) if p.is_file()}
    out.write_text(json.dumps(result, indent=1, sort_keys=True, default=str))
    print(f"{len(result)} outputs -> {out} (project {project})")


def _diff(a, b, path: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        lines = []
        for key in sorted(set(a) | set(b)):
            if key not in b:
                lines.append(f"{path}.{key}: only before")
            elif key not in a:
                lines.append(f"{path}.{key}: new, {str(b[key])[:70]}")
            elif key not in TIMINGS:
                lines += _diff(a[key], b[key], f"{path}.{key}")
        return lines
    return [] if a == b else [f"{path}: {str(a)[:60]} -> {str(b)[:60]}"]


def compare(before: Path, after: Path) -> None:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    out = io.StringIO()
    same = 0
    for key in sorted(set(a) | set(b)):
        lines = _diff(a.get(key), b.get(key), key) if key in a and key in b else [f"{key}: only in one file"]
        if lines:
            print("\n".join(lines), file=out)
        else:
            same += 1
    print(out.getvalue() + f"{same} of {len(set(a) | set(b))} outputs identical (timings and run ids ignored)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, help="JSON file to write")
    parser.add_argument("--pipelines", default=",".join(PIPELINES))
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = parser.parse_args()
    if args.compare:
        compare(*args.compare)
    elif args.out:
        run(args.out, tuple(args.pipelines.split(",")))
    else:
        parser.error("give an output file or --compare BEFORE AFTER")
