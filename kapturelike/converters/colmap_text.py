"""COLMAP sparse model, text form: cameras.txt, images.txt, points3D.txt (+ rigs.txt, frames.txt).

Written without pycolmap. Lines are space separated, '#' starts a comment line. images.txt holds two
lines per image: ``IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME`` (world-to-camera pose) and
``X Y POINT3D_ID`` triplets (-1: no 3D point). COLMAP >= 3.12 adds rigs.txt and frames.txt; they are
read when present (for the rig calibration) and not written: COLMAP makes one trivial rig per camera
and one frame per image when they are absent, which is what a model without rigs means.
Floats are written with Python's repr, so a write/read round trip is exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import chain
from pathlib import Path

import numpy as np

from kapturelike.converters.colmap_common import (
    ColmapImages,
    ColmapModel,
    ColmapPoints,
    camera_from_colmap,
    rig_tables,
)
from kapturelike.errors import FormatError
from kapturelike.io.text import atomic_write


def _lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(1-based line number, fields) of every data line, streamed."""
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            s = line.strip()
            if s and s[0] != "#":
                yield number, s.split()


def _numbers(fields: list[str], path: Path, line: int, names: tuple[str, ...], kind=float) -> list:
    out = []
    for name, value in zip(names, fields):
        try:
            out.append(kind(value))
        except ValueError:
            raise FormatError(f"{value!r} is not a{'n integer' if kind is int else ' number'}", path, line,
                              name) from None
    return out


def read_cameras_text(path: str | Path) -> dict:
    path = Path(path)
    cameras = {}
    for line, f in _lines(path):
        if len(f) < 4:
            raise FormatError("expected CAMERA_ID MODEL WIDTH HEIGHT PARAMS[]", path, line, "CAMERA_ID")
        cam_id, width, height = _numbers([f[0], f[2], f[3]], path, line, ("CAMERA_ID", "WIDTH", "HEIGHT"), int)
        params = _numbers(f[4:], path, line, ("PARAMS",) * len(f[4:]))
        cameras[cam_id] = camera_from_colmap(f[1], width, height, params, path, line)
    return cameras


def read_images_text(path: str | Path) -> ColmapImages:
    path = Path(path)
    ids, qs, ts, cams, names, pts, pids = [], [], [], [], [], [], []
    with open(path, encoding="utf-8") as fh:
        header: tuple[int, list[str]] | None = None
        for number, raw in enumerate(fh, 1):
            s = raw.strip()
            if s.startswith("#") or (not s and header is None):
                continue
            if header is None:
                f = s.split()
                if len(f) < 10:
                    raise FormatError(f"expected 10 fields (IMAGE_ID, QW..TZ, CAMERA_ID, NAME), got {len(f)}",
                                      path, number, "NAME")
                header = (number, f)
                continue
            line, f = header
            header = None
            ids.append(_numbers(f[:1], path, line, ("IMAGE_ID",), int)[0])
            pose = _numbers(f[1:8], path, line, ("QW", "QX", "QY", "QZ", "TX", "TY", "TZ"))
            qs.append(pose[:4])
            ts.append(pose[4:])
            cams.append(_numbers(f[8:9], path, line, ("CAMERA_ID",), int)[0])
            names.append(" ".join(f[9:]))
            try:
                values = np.array(s.split(), dtype=np.float64)
            except ValueError:
                raise FormatError("POINTS2D must be numbers", path, number, "POINTS2D") from None
            if values.size % 3:
                raise FormatError(f"POINTS2D holds {values.size} values, not (X, Y, POINT3D_ID) triplets", path,
                                  number, "POINTS2D")
            values = values.reshape(-1, 3)
            pts.append(values[:, :2].copy())
            pids.append(values[:, 2].astype(np.int64))
        if header is not None:
            raise FormatError("image line without its POINTS2D line", path, header[0], "POINTS2D")
    return ColmapImages(np.array(ids, np.int64), np.array(qs, np.float64).reshape(-1, 4),
                        np.array(ts, np.float64).reshape(-1, 3), np.array(cams, np.int64), names, pts, pids)


def _read_points3d_slow(path: Path) -> None:
    """Line-by-line validation, run only when the fast path failed, to name the bad line and field."""
    for line, f in _lines(path):
        if len(f) < 8 or (len(f) - 8) % 2:
            raise FormatError("expected POINT3D_ID X Y Z R G B ERROR then (IMAGE_ID, POINT2D_IDX) pairs", path,
                              line, "TRACK")
        _numbers(f[:1], path, line, ("POINT3D_ID",), int)
        _numbers(f[1:4], path, line, ("X", "Y", "Z"))
        _numbers(f[4:7], path, line, ("R", "G", "B"), int)
        _numbers(f[7:8], path, line, ("ERROR",))
        _numbers(f[8:], path, line, ("TRACK",) * (len(f) - 8), int)


def read_points3d_text(path: str | Path) -> ColmapPoints:
    """All tokens are converted by numpy in one call; per-line work is only the split."""
    path = Path(path)
    fields = [f for _, f in _lines(path)]
    counts = np.fromiter((len(f) for f in fields), np.int64, len(fields))
    if len(fields) and (counts.min() < 8 or ((counts - 8) % 2).any()):
        _read_points3d_slow(path)
    try:
        values = np.array(list(chain.from_iterable(fields)), dtype=np.float64)
    except ValueError:
        _read_points3d_slow(path)
        raise
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)[:len(fields)]  # a model may hold no point
    head = values[starts[:, None] + np.arange(8)] if len(fields) else np.zeros((0, 8))
    lengths = (counts - 8) // 2
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    rows = np.repeat(starts + 8, lengths * 2) + (np.arange(int(lengths.sum()) * 2) - np.repeat(offsets[:-1] * 2,
                                                                                               lengths * 2))
    track = values[rows].reshape(-1, 2)
    if (head[:, 0] != np.rint(head[:, 0])).any() or (track != np.rint(track)).any():
        _read_points3d_slow(path)
    return ColmapPoints(head[:, 0].astype(np.int64), head[:, 1:4].copy(), head[:, 4:7].astype(np.uint8),
                        head[:, 7].copy(), offsets, track[:, 0].astype(np.int64), track[:, 1].astype(np.int64))


def read_rigs_text(path: str | Path) -> dict[int, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """rig_id -> camera_id -> sensor_from_rig (q, t); non-camera sensors are skipped."""
    path = Path(path)
    rigs: dict[int, dict[int, tuple[np.ndarray, np.ndarray]]] = {}
    for line, f in _lines(path):
        if len(f) < 4:
            raise FormatError("expected RIG_ID NUM_SENSORS REF_SENSOR_TYPE REF_SENSOR_ID", path, line, "RIG_ID")
        rig_id, _ = _numbers(f[:2], path, line, ("RIG_ID", "NUM_SENSORS"), int)
        rig = {}
        if f[2] == "CAMERA":
            rig[int(f[3])] = (np.array([1.0, 0, 0, 0]), np.zeros(3))
        i = 4
        while i < len(f):
            if i + 3 > len(f):
                raise FormatError("truncated sensor entry", path, line, "SENSORS")
            stype, sid, has_pose = f[i], int(f[i + 1]), f[i + 2] in ("1", "true")
            i += 3
            if has_pose:
                pose = np.array(_numbers(f[i:i + 7], path, line, ("QW", "QX", "QY", "QZ", "TX", "TY", "TZ")))
                if len(pose) != 7:
                    raise FormatError("truncated sensor pose", path, line, "SENSORS")
                i += 7
                if stype == "CAMERA":
                    rig[sid] = (pose[:4], pose[4:])
        rigs[rig_id] = rig
    return rigs


def read_frames_text(path: str | Path) -> dict[int, int]:
    """image_id -> frame_id (camera data only)."""
    path = Path(path)
    frames = {}
    for line, f in _lines(path):
        if len(f) < 10:
            raise FormatError("expected FRAME_ID RIG_ID QW..TZ NUM_DATA_IDS DATA_IDS[]", path, line, "FRAME_ID")
        frame_id = _numbers(f[:1], path, line, ("FRAME_ID",), int)[0]
        data = f[10:]
        for j in range(0, len(data) - 2, 3):
            if data[j] == "CAMERA":
                frames[int(data[j + 2])] = frame_id
    return frames


def read_model_text(path: str | Path) -> ColmapModel:
    path = Path(path)
    model = ColmapModel(read_cameras_text(path / "cameras.txt"), read_images_text(path / "images.txt"),
                        read_points3d_text(path / "points3D.txt"))
    if (path / "rigs.txt").is_file():
        model.rigs = read_rigs_text(path / "rigs.txt")
    if (path / "frames.txt").is_file():
        model.frames = read_frames_text(path / "frames.txt")
    return model


def _r(values) -> str:
    return " ".join(repr(float(v)) for v in values)


def _write_rigs_text(model: ColmapModel, path: Path) -> None:
    rigs, frames = rig_tables(model)
    if not rigs:
        return
    with atomic_write(path / "rigs.txt") as f:
        f.write("# Rig calib list with one line of data per calib:\n#   RIG_ID, NUM_SENSORS, REF_SENSOR_TYPE, "
                "REF_SENSOR_ID, SENSORS[] as (SENSOR_TYPE, SENSOR_ID, HAS_POSE, [QW, QX, QY, QZ, TX, TY, TZ])\n")
        f.write(f"# Number of rigs: {len(rigs)}\n")
        for rig_id, sensors in rigs:
            rest = [f"CAMERA {c} 1 {_r(q)} {_r(t)}" for c, (q, t) in sensors[1:]]
            f.write(" ".join([str(rig_id), str(len(sensors)), "CAMERA", str(sensors[0][0]), *rest]) + "\n")
    with atomic_write(path / "frames.txt") as f:
        f.write("# Frame list with one line of data per frame:\n#   FRAME_ID, RIG_ID, RIG_FROM_WORLD[QW, QX, QY, QZ, "
                "TX, TY, TZ], NUM_DATA_IDS, DATA_IDS[] as (SENSOR_TYPE, SENSOR_ID, DATA_ID)\n")
        f.write(f"# Number of frames: {len(frames)}\n")
        for frame_id, rig_id, (q, t), data in frames:
            ids = " ".join(f"CAMERA {c} {i}" for c, i in data)
            f.write(f"{frame_id} {rig_id} {_r(q)} {_r(t)} {len(data)} {ids}\n")


def write_model_text(model: ColmapModel, path: str | Path) -> None:
    """cameras.txt, images.txt, points3D.txt (+ rigs.txt, frames.txt with rigs), each written atomically."""
    path = Path(path)
    _write_rigs_text(model, path)
    with atomic_write(path / "cameras.txt") as f:
        f.write("# Camera list with one line of data per camera:\n#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]\n")
        f.write(f"# Number of cameras: {len(model.cameras)}\n")
        for cam_id, cam in model.cameras.items():
            f.write(f"{cam_id} {cam.model} {cam.width} {cam.height} {_r(cam.params)}\n")
    im = model.images
    with atomic_write(path / "images.txt") as f:
        f.write("# Image list with two lines of data per image:\n"
                "#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME\n#   POINTS2D[] as (X, Y, POINT3D_ID)\n")
        f.write(f"# Number of images: {len(im)}\n")
        for i in range(len(im)):
            f.write(f"{im.ids[i]} {_r(im.qvecs[i])} {_r(im.tvecs[i])} {im.camera_ids[i]} {im.names[i]}\n")
            xy, pid = im.points2d[i], im.point3d_ids[i]
            f.write(" ".join(f"{x!r} {y!r} {p}" for x, y, p in zip(xy[:, 0].tolist(), xy[:, 1].tolist(),
                                                                    pid.tolist())) + "\n")
    pts = model.points
    with atomic_write(path / "points3D.txt") as f:
        f.write("# 3D point list with one line of data per point:\n"
                "#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)\n")
        f.write(f"# Number of points: {len(pts)}\n")
        off = pts.track_offsets.tolist()
        track = [f"{a} {b}" for a, b in zip(pts.track_image_ids.tolist(), pts.track_point2d_idx.tolist())]
        chunk = []
        for i, (pid, (x, y, z), (r, g, b), err) in enumerate(zip(pts.ids.tolist(), pts.xyz.tolist(),
                                                                 pts.rgb.tolist(), pts.errors.tolist())):
            chunk.append(f"{pid} {x!r} {y!r} {z!r} {r} {g} {b} {err!r} {' '.join(track[off[i]:off[i + 1]])}\n")
            if len(chunk) >= 65536:
                f.write("".join(chunk))
                chunk.clear()
        f.write("".join(chunk))
