"""Relative poses of timestamp pairs in the 4Seasons relocalization format (kapture_export_4seasons_pairs).

Input: a kapture holding both sequences (reference and query) with trajectories, and a text file of
``reference_timestamp query_timestamp`` pairs (whitespace separated integers, ``#`` comments). Output:
one line per pair, ``reference_ts query_ts tx ty tz qx qy qz qw`` (space separated, floats as Python
writes them, the quaternion's w last): the pose of the pair's query frame relative to its reference
frame, query_from_reference = query_from_world * world_from_reference, as kapture computes it. The
pose of a timestamp is that of its first device in trajectories.txt (the rig when there is one).

4Seasons names its images by timestamp: unless ``heal`` is off, each camera record's timestamp is
replaced by the number its file is named after (``.../1234567.png`` -> 1234567), and its poses move
with it, as kapture does.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from kapturelike.core import pose as P
from kapturelike.errors import FormatError, KapturelikeError
from kapturelike.io.dataset import load_kapture
from kapturelike.io.text import atomic_write


def read_timestamp_pairs(path: str | Path) -> list[tuple[int, int]]:
    """The (reference, query) timestamp pairs of a 4Seasons pairs file."""
    path = Path(path)
    pairs = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            if len(fields) != 2 or not all(v.lstrip("-").isdigit() for v in fields):
                raise FormatError(f"expected two integer timestamps, got '{line.strip()}'", path, number,
                                  "timestamp")
            pairs.append((int(fields[0]), int(fields[1])))
    return pairs


def healed_timestamps(timestamps: list[int], image_paths: list[str]) -> dict[int, int]:
    """Old timestamp -> the number the image file is named after."""
    healed = {}
    for ts, name in zip(timestamps, image_paths):
        stem = posixpath.splitext(posixpath.basename(name))[0]
        if not stem.isdigit():
            raise KapturelikeError(f"image '{name}' is not named by its timestamp; give --no_heal to keep the "
                                   "timestamps of records_camera.txt")
        healed[ts] = int(stem)
    return healed


def export_4seasons_pairs(root: str | Path, pairs_path: str | Path, out_path: str | Path, heal: bool = True) -> int:
    """Write the relative poses of the pairs of ``pairs_path`` to ``out_path``; returns the number of lines."""
    k = load_kapture(root, list_features=False)
    traj = k.trajectories
    if traj is None or not len(traj):
        raise KapturelikeError(f"{root}: no trajectories (sensors/trajectories.txt)")
    timestamps = traj.timestamps.tolist()
    if heal and k.records_camera is not None:
        records = k.records_camera
        healed = healed_timestamps(records.timestamps.tolist(), records.paths)
        timestamps = [healed.get(ts, ts) for ts in timestamps]
    rows_of: dict[int, list[int]] = {}
    for i, ts in enumerate(timestamps):  # file order: the first device of a timestamp comes first
        rows_of.setdefault(ts, []).append(i)
    lines = []
    for reference_ts, query_ts in read_timestamp_pairs(pairs_path):
        missing = [ts for ts in (reference_ts, query_ts) if ts not in rows_of]
        if missing:
            raise KapturelikeError(f"{pairs_path}: no pose at timestamp {missing[0]} in the trajectories")
        if len(rows_of[reference_ts]) != len(rows_of[query_ts]):
            raise KapturelikeError(f"{pairs_path}: pair {reference_ts} {query_ts}: the two timestamps have poses "
                                   "for different numbers of devices (ambiguous)")
        ref, query = rows_of[reference_ts][0], rows_of[query_ts][0]
        q_ref, t_ref = traj.rotations[ref], traj.translations[ref]
        world_q, world_t = P.invert(q_ref, t_ref)
        q, t = P.compose(traj.rotations[query], traj.translations[query], world_q, world_t)
        values = [*t.tolist(), *q[1:].tolist(), float(q[0])]
        lines.append(" ".join([str(reference_ts), str(query_ts), *map(str, values)]) + "\n")
    with atomic_write(out_path) as f:
        f.writelines(lines)
    return len(lines)

