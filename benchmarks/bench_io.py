"""Time reading and writing large trajectories and records_camera files: kapturelike vs kapture.

    python benchmarks/bench_io.py [--lines 1000000] [--repeat 1]

Writes both files (in a temporary folder) with kapturelike, then reads each with
``read_trajectories`` / ``read_records`` and, when the ``kapture`` package is importable, with
``kapture.io.csv.trajectories_from_file`` / ``records_camera_from_file``; checks on a sample of
rows that both read the same values; writes back what each read and checks the bytes are equal;
prints a table and the speed-up ratios (best of --repeat runs).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from kapturelike.core.records import Records
from kapturelike.core.trajectories import Trajectories
from kapturelike.io.records import read_records, write_records
from kapturelike.io.trajectories import read_trajectories, write_trajectories


def make_files(folder: Path, lines: int, cameras: int = 4) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    timestamps = np.arange(lines, dtype=np.int64) // cameras
    devices = np.array([f"cam{i % cameras}" for i in range(lines)], dtype=object)
    q = rng.normal(size=(lines, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    traj_path, rec_path = folder / "trajectories.txt", folder / "records_camera.txt"
    write_trajectories(traj_path, Trajectories(timestamps, devices, q, rng.normal(size=(lines, 3)) * 100))
    paths = [(f"cam{i % cameras}/{i // cameras:08d}.jpg",) for i in range(lines)]
    write_records(rec_path, Records("camera", timestamps, devices, paths))
    return traj_path, rec_path


def best_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def check_same(label: str, ours: Trajectories | Records, theirs: object, samples: int = 2000) -> None:
    """Both readers give the same values (bit for bit) on a sample of rows: a fast wrong reader is no use."""
    rows = np.random.default_rng(1).integers(0, len(ours), min(samples, len(ours))).tolist()
    paths = ours.paths if isinstance(ours, Records) else None
    for i in rows:
        ts, dev = int(ours.timestamps[i]), ours.device_ids[i]
        if label == "trajectories":
            pose = theirs[ts][dev]
            same = (ours.rotations[i].tolist() == [pose.r.w, pose.r.x, pose.r.y, pose.r.z]
                    and ours.translations[i].tolist() == pose.t.ravel().tolist())
        else:
            same = paths[i] == theirs[ts][dev]
        if not same:
            raise RuntimeError(f"{label}: row {i} ({ts}, {dev}) differs from what kapture reads")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines per file (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per reader, best kept (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        import kapture.io.csv as kcsv
    except ImportError:
        kcsv = None
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        traj_path, rec_path = make_files(Path(tmp), args.lines)
        print(f"wrote 2 files of {args.lines} lines in {time.perf_counter() - start:.2f} s")
        rows = []
        for label, ours, theirs in [
            ("trajectories", lambda: read_trajectories(traj_path),
             kcsv and (lambda: kcsv.trajectories_from_file(str(traj_path)))),
            ("records_camera", lambda: read_records(rec_path, "camera"),
             kcsv and (lambda: kcsv.records_camera_from_file(str(rec_path)))),
        ]:
            t_ours, got = best_time(ours, args.repeat)
            if len(got) != args.lines:
                raise RuntimeError(f"{label}: read {len(got)} rows, expected {args.lines}")
            t_theirs, expected = best_time(theirs, args.repeat) if theirs else (None, None)
            if expected is not None:
                check_same(label, got, expected)
            rows.append((f"read {label}", t_ours, t_theirs))
            # writing back what each read, to files compared byte for byte
            out_ours, out_theirs = Path(tmp) / f"ours_{label}.txt", Path(tmp) / f"theirs_{label}.txt"
            writer = write_trajectories if label == "trajectories" else write_records
            t_write = best_time(partial(writer, out_ours, got), args.repeat)[0]
            t_write_theirs = None
            if expected is not None:
                their_writer = kcsv.trajectories_to_file if label == "trajectories" else kcsv.records_camera_to_file
                t_write_theirs = best_time(partial(their_writer, str(out_theirs), expected), args.repeat)[0]
                if out_ours.read_bytes() != out_theirs.read_bytes():
                    raise RuntimeError(f"{label}: kapturelike and kapture wrote different bytes")
            rows.append((f"write {label}", t_write, t_write_theirs))
    print(f"{'step':<22} {'lines':>9} {'kapturelike s':>14} {'kapture s':>10} {'speed-up':>9}")
    for label, t_ours, t_theirs in rows:
        theirs = f"{t_theirs:10.2f}" if t_theirs is not None else f"{'n/a':>10}"
        ratio = f"{t_theirs / t_ours:8.1f}x" if t_theirs is not None else f"{'n/a':>9}"
        print(f"{label:<22} {args.lines:>9} {t_ours:14.2f} {theirs} {ratio}")


if __name__ == "__main__":
    main()
