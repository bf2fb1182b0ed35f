"""Time reading and writing large kapture tables: kapturelike vs kapture.

    python benchmarks/bench_io.py [--lines 1000000] [--repeat 1]

Writes a trajectories, a records_camera, a records_gnss and a points3d file (in a temporary folder)
with kapturelike, then reads each with kapturelike and, when the ``kapture`` package is importable,
with ``kapture.io.csv``; checks on a sample of rows that both read the same values; writes back
what each read and checks that the bytes are equal; prints a table and the speed-up ratios (best
of --repeat runs).
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from kapturelike.core.records import Records
from kapturelike.core.trajectories import Trajectories
from kapturelike.io.reconstruction import read_points3d, write_points3d
from kapturelike.io.records import read_records, write_records
from kapturelike.io.trajectories import read_trajectories, write_trajectories


def make_files(folder: Path, lines: int, cameras: int = 4) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    timestamps = np.arange(lines, dtype=np.int64) // cameras
    devices = np.array([f"cam{i % cameras}" for i in range(lines)], dtype=object)
    q = rng.normal(size=(lines, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    files = {name: folder / f"{name}.txt" for name in ("trajectories", "records_camera", "records_gnss")}
    write_trajectories(files["trajectories"], Trajectories(timestamps, devices, q, rng.normal(size=(lines, 3)) * 100))
    paths = [f"cam{i % cameras}/{i // cameras:08d}.jpg" for i in range(lines)]
    write_records(files["records_camera"], Records("camera", timestamps, devices, columns=[paths]))
    gnss = [*(rng.normal(size=(3, lines)) * 1e3).tolist(),
            rng.integers(1_600_000_000, 1_700_000_000, lines).tolist(), rng.uniform(0, 5, lines).tolist()]
    write_records(files["records_gnss"], Records("gnss", np.arange(lines), ["gps0"] * lines, columns=gnss))
    files["points3d"] = folder / "points3d.txt"
    write_points3d(files["points3d"], np.concatenate([rng.normal(size=(lines, 3)) * 100,
                                                      rng.integers(0, 256, (lines, 3))], axis=1))
    return files


def best_time(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def their_row(name: str, value: object) -> list:
    """A row of what kapture read, as the values kapturelike holds."""
    if name == "trajectories":
        return [value.r.w, value.r.x, value.r.y, value.r.z, *value.t.ravel().tolist()]
    return [value] if name == "records_camera" else list(dataclasses.astuple(value))


def our_row(name: str, ours: Trajectories | Records, i: int) -> list:
    if name == "trajectories":
        return ours.rotations[i].tolist() + ours.translations[i].tolist()
    return list(ours.values[i])


def check_same(name: str, ours: Trajectories | Records | np.ndarray, theirs: object, samples: int = 2000) -> None:
    """Both readers give the same values (bit for bit) on a sample of rows: a fast wrong reader is no use."""
    if name == "points3d":
        if not np.array_equal(ours, np.asarray(theirs)):
            raise RuntimeError("points3d: differs from what kapture reads")
        return
    for i in np.random.default_rng(1).integers(0, len(ours), min(samples, len(ours))).tolist():
        ts, dev = int(ours.timestamps[i]), ours.device_ids[i]
        if our_row(name, ours, i) != their_row(name, theirs[ts][dev]):
            raise RuntimeError(f"{name}: row {i} ({ts}, {dev}) differs from what kapture reads")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines per file (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per reader and writer, best kept (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        import kapture.io.csv as kcsv
    except ImportError:
        kcsv = None
    readers = {"trajectories": read_trajectories, "records_camera": partial(read_records, kind="camera"),
               "records_gnss": partial(read_records, kind="gnss"), "points3d": read_points3d}
    writers = {"trajectories": write_trajectories, "records_camera": write_records, "records_gnss": write_records,
               "points3d": write_points3d}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        files = make_files(Path(tmp), args.lines)
        print(f"wrote {len(files)} files of {args.lines} lines in {time.perf_counter() - start:.2f} s")
        for name, path in files.items():
            t_ours, got = best_time(partial(readers[name], path), args.repeat)
            if len(got) != args.lines:
                raise RuntimeError(f"{name}: read {len(got)} rows, expected {args.lines}")
            t_theirs, expected = None, None
            if kcsv is not None:
                t_theirs, expected = best_time(partial(getattr(kcsv, f"{name}_from_file"), str(path)), args.repeat)
                check_same(name, got, expected)
            rows.append((f"read {name}", t_ours, t_theirs))
            # writing back what each read, to files compared byte for byte
            ours_out, theirs_out = Path(tmp) / f"ours_{name}.txt", Path(tmp) / f"theirs_{name}.txt"
            t_write = best_time(partial(writers[name], ours_out, got), args.repeat)[0]
            t_write_theirs = None
            if kcsv is not None:
                t_write_theirs = best_time(partial(getattr(kcsv, f"{name}_to_file"), str(theirs_out), expected),
                                           args.repeat)[0]
                if ours_out.read_bytes() != theirs_out.read_bytes():
                    raise RuntimeError(f"{name}: kapturelike and kapture wrote different bytes")
            rows.append((f"write {name}", t_write, t_write_theirs))
    print(f"{'step':<22} {'lines':>9} {'kapturelike s':>14} {'kapture s':>10} {'speed-up':>9}")
    for label, t_ours, t_theirs in rows:
        theirs = f"{t_theirs:10.2f}" if t_theirs is not None else f"{'n/a':>10}"
        ratio = f"{t_theirs / t_ours:8.1f}x" if t_theirs is not None else f"{'n/a':>9}"
        print(f"{label:<22} {args.lines:>9} {t_ours:14.2f} {theirs} {ratio}")


if __name__ == "__main__":
    main()
