"""Tiny skeleton-benchmark inputs in the official formats (name lists, .skeleton text, PYSKL pickles)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from longtail_lab.data.skeletons.ntu_names import list_name, long_tail_names, names_from_sequence

# The long-tailed lists the test environment asks for (conf/test/parameters_ntu_lt.yml).
TEST_RATIOS = (2, 10)
TEST_N_MAX = {"ntu60_xsub": 20, "ntu60_xview": 20, "ntu120_xsub": 20, "ntu120_xset": 16, "nwucla": 10}
NTU_SPLITS = {  # namespace -> (list prefix, classes, first setup of its fixture names)
    "ntu60_xsub": ("NTU60_xsub", 60, 1),
    "ntu60_xview": ("NTU60_xview", 60, 4),
    "ntu120_xsub": ("NTU120_xsub", 120, 1),
    "ntu120_xset": ("NTU120_xset", 120, 4),
}


def ntu_full_names(num_classes: int, combos: int = 30, base: int = 22, first_setup: int = 1) -> list[str]:
    """Official-order NTU names (S, C, P, R ascending, then A); class a has ``base + a % 7`` names."""
    per_class = [base + (a % 7) for a in range(1, num_classes + 1)]
    if max(per_class) > combos:
        raise ValueError("more names per class than setup/camera/performer/replication combinations")
    names = []
    for k in range(combos):
        setup, camera = first_setup + k // 12, 1 + (k // 4) % 3
        performer, replication = 1 + (k // 2) % 2, 1 + k % 2
        for action in range(1, num_classes + 1):
            if k < per_class[action - 1]:
                names.append(f"S{setup:03d}C{camera:03d}P{performer:03d}R{replication:03d}A{action:03d}")
    return names


def nwucla_names(seed: int = 0) -> list[str]:
    """NW-UCLA-style names over the three views, in a shuffled order (like BRL's data_dict)."""
    actions = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
    names = [
        f"a{a:02d}_s{s:02d}_e{e:02d}_v{v:02d}"
        for a in actions
        for s in range(1, 5)
        for e in range(3)
        for v in (1, 2, 3)
    ]
    order = np.random.default_rng(seed).permutation(len(names))
    return [names[i] for i in order]


def write_names(path: Path, names, trailing_newline: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join(names) + ("\n" if trailing_newline else "")).encode())
    return path


def procedure_lists(names, num_classes, prefix, n_max, ratios=TEST_RATIOS, dataset="ntu", shuffle_seed=None):
    """The BRL procedure on ``names`` (optionally shuffled first: same counts, other members)."""
    names = list(names)
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(len(names))
        names = [names[i] for i in order]
    full = names_from_sequence(names, dataset)
    return {
        list_name(prefix, "exponential", r): list(long_tail_names(full, num_classes, "exponential", r, n_max)[0].names)
        for r in ratios
    }


def write_ntu_lt_raw(raw: Path) -> dict:
    """Everything ``ntu_lt --env test`` reads, under ``<project>/data/01_raw``.

    NTU-60: full lists plus "official" LT lists made from a shuffled copy (the counts of the procedure,
    other members, as with the real NTU-60 lists). NTU-120 xsub: an official list for ratio 10 that the
    procedure reproduces. Returns {namespace: full names} and the official lists written.
    """
    written = {"full": {}, "official": {}}
    for ns, (prefix, classes, first_setup) in NTU_SPLITS.items():
        names = ntu_full_names(classes, first_setup=first_setup)
        write_names(raw / "ntu" / f"{prefix}_train.txt", names)
        written["full"][ns] = names
        if classes == 60:
            lists = procedure_lists(names, classes, prefix, TEST_N_MAX[ns], shuffle_seed=1)
        elif ns == "ntu120_xsub":
            lists = procedure_lists(names, classes, prefix, TEST_N_MAX[ns], ratios=(10,))
        else:
            continue
        for stem, lst in lists.items():
            write_names(raw / "ntu" / f"NTU{classes}_LT" / f"{stem}.txt", lst)
        written["official"][ns] = lists
    names = nwucla_names()
    write_names(raw / "nwucla" / "NW_UCLA_train.txt", names, trailing_newline=True)
    written["full"]["nwucla"] = names
    return written


def skeleton_text(frames: list[list[tuple[str, np.ndarray]]]) -> str:
    """NTU ``.skeleton`` text; ``frames[t]`` lists (bodyID, xyz [25, 3]) of the bodies in frame t."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body_id, xyz in bodies:
            lines.append(f"{body_id} 0 1 1 1 1 0 0.01 0.02 2")
            lines.append(str(len(xyz)))
            for x, y, z in np.asarray(xyz).tolist():
                lines.append(f"{x:.7g} {y:.7g} {z:.7g} 250.1 190.2 1000.3 500.4 -0.2 0.05 0.96 -0.12 2")
    return "\r\n".join(lines) + "\r\n"


def annotation(name: str, frames: int = 3, bodies: int = 1, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "frame_dir": name,
        "label": int(name[-3:]) - 1,
        "keypoint": rng.normal(size=(bodies, frames, 25, 3)).astype(np.float16),
        "total_frames": frames,
    }


def write_pyskl_pickles(raw: Path, full: dict[str, list[str]]) -> dict[str, dict]:
    """ntu60_3danno.pkl / ntu120_3danno.pkl: the fixture training names of both protocols as
    ``<protocol>_train`` plus a few test names per protocol as ``<protocol>_val``."""
    out = {}
    for version, protocols in ((60, ("xsub", "xview")), (120, ("xsub", "xset"))):
        split, anns = {}, []
        for protocol in protocols:
            train = full[f"ntu{version}_{protocol}"]
            val = [f"S{30 + i:03d}C001P050R001A{1 + i % version:03d}" for i in range(3)]
            val = [n.replace("P050", f"P05{len(split)}") for n in val]
            split[f"{protocol}_train"], split[f"{protocol}_val"] = list(train), val
        names = list(dict.fromkeys(n for v in split.values() for n in v))
        anns = [annotation(n, seed=i) for i, n in enumerate(names)]
        obj = {"split": split, "annotations": anns}
        path = raw / "ntu" / "pyskl" / f"ntu{version}_3danno.pkl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(pickle.dumps(obj, protocol=4))
        out[f"ntu{version}"] = obj
    return out
