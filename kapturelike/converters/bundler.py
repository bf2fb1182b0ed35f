"""Bundler ``bundle.out`` v0.3 + image list <-> kapture.

Bundler's camera looks down -z with y up, so its pose (R_b, t_b) maps to kapture's (z forward, y down)
by flipping y and z: R = D R_b, t = D t_b with D = diag(1, -1, -1). Intrinsics ``f k1 k2`` become a
RADIAL camera (f, w/2, h/2, k1, k2): Bundler's distortion acts on focal-normalised coordinates, as
COLMAP's RADIAL. Keypoints are centred with y up: x = x_b + w/2, y = h/2 - y_b (kapture's pixel
convention, the image centre at (w/2, h/2)). A camera with f = 0 is unregistered: it gets no pose.
The image list gives one name per camera line (extra fields ignored); sizes come from ``image_sizes``.
Point views ``camera key x y``: a camera's keypoints are its viewed features, numbered by increasing key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from kapturelike.converters.common import ConversionError, cameras_required, image_table
from kapturelike.converters.features_io import save_with_features
from kapturelike.converters.nvm import SizeSource
from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture, Observations
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Trajectories
from kapturelike.errors import FormatError
from kapturelike.io.images import image_size
from kapturelike.io.output import prepare_output
from kapturelike.io.paths import inside
from kapturelike.io.text import atomic_write

FLIP = np.diag([1.0, -1.0, -1.0])


def _numbers(line: str, count: int, path: Path, number: int, field: str) -> np.ndarray:
    try:
        v = np.array(line.split(), dtype=np.float64)
    except ValueError:
        raise FormatError("values must be numbers", path, number, field) from None
    if count and v.size != count:
        raise FormatError(f"expected {count} values, got {v.size}", path, number, field)
    return v


def bundler_to_kapture(bundle: str | Path, image_list: str | Path, image_sizes: SizeSource,
                       keypoints_type: str = "bundler") -> tuple[Kapture, dict[str, np.ndarray]]:
    bundle, image_list = Path(bundle), Path(image_list)
    names = [ln.split()[0] for ln in image_list.read_text(encoding="utf-8").splitlines() if ln.strip()]
    size_of = image_sizes if callable(image_sizes) else image_sizes.__getitem__
    lines = bundle.read_text(encoding="utf-8").splitlines()
    at = 1 if lines and lines[0].startswith("#") else 0
    if not lines or not lines[0].startswith("# Bundle file v0.3"):
        raise FormatError("first line must be '# Bundle file v0.3'", bundle, 1, "header")
    head = _numbers(lines[at], 2, bundle, at + 1, "num_cameras num_points").astype(int)
    n_cams, n_pts = head
    if n_cams != len(names):
        raise FormatError(f"{n_cams} cameras but the image list {image_list} has {len(names)} names", bundle, at + 1,
                          "num_cameras")
    at += 1
    sensors, ids, stamps, devs, qs, ts, sizes = {}, {}, [], [], [], [], np.zeros((n_cams, 2))
    for i in range(n_cams):
        if at + 5 > len(lines):
            raise FormatError("file ends inside a camera", bundle, len(lines), "camera")
        f, k1, k2 = _numbers(lines[at], 3, bundle, at + 1, "f k1 k2")
        R = np.stack([_numbers(lines[at + j], 3, bundle, at + j + 1, "R") for j in (1, 2, 3)])
        t = _numbers(lines[at + 4], 3, bundle, at + 5, "t")
        at += 5
        w, h = size_of(names[i])
        sizes[i] = w, h
        if f == 0:
            continue
        cam = Camera("RADIAL", w, h, (f, w / 2, h / 2, k1, k2))
        if cam not in ids:
            ids[cam] = f"cam_{len(ids):05d}"
            sensors[ids[cam]] = cam
        stamps.append(i)
        devs.append(ids[cam])
        qs.append(P.rotmat_to_quat(FLIP @ R))
        ts.append(FLIP @ t)
    all_devs = {s: d for s, d in zip(stamps, devs)}
    pts = np.zeros((n_pts, 6))
    rows = []
    for p in range(n_pts):
        if at + 3 > len(lines):
            raise FormatError("file ends inside a point", bundle, len(lines), "point")
        pts[p, :3] = _numbers(lines[at], 3, bundle, at + 1, "position")
        pts[p, 3:] = _numbers(lines[at + 1], 3, bundle, at + 2, "color")
        view = _numbers(lines[at + 2], 0, bundle, at + 3, "view list")
        if view.size < 1 or view.size != 1 + 4 * int(view[0]):
            raise FormatError("view list must be n then n x (camera key x y)", bundle, at + 3, "view list")
        v = view[1:].reshape(-1, 4)
        rows.append(np.concatenate([np.full((len(v), 1), p), v], 1))
        at += 3
    meas = np.concatenate(rows) if rows else np.zeros((0, 5))
    cam_idx, key = meas[:, 1].astype(np.int64), meas[:, 2].astype(np.int64)
    if len(cam_idx) and (cam_idx.min() < 0 or cam_idx.max() >= n_cams):
        raise FormatError("a view names a camera index out of range", bundle, None, "view list")
    xy = np.stack([meas[:, 3] + sizes[cam_idx, 0] / 2, sizes[cam_idx, 1] / 2 - meas[:, 4]], 1)
    # keypoint id: rank of the Bundler key within its camera (Bundler holds only the viewed features)
    order_key = cam_idx * (int(key.max(initial=0)) + 1) + key
    _, first, inverse = np.unique(order_key, return_index=True, return_inverse=True)
    ucam = cam_idx[first]
    kp_id = inverse - np.searchsorted(ucam, np.arange(n_cams))[cam_idx]
    keypoints = {names[c]: xy[first[ucam == c]].astype(np.float32) for c in np.unique(ucam).tolist()}
    name_arr = np.array(names, dtype=object)
    obs = Observations(meas[:, 0].astype(np.int64), np.full(len(meas), keypoints_type, dtype=object),
                       name_arr[cam_idx], kp_id)
    missing = sorted(set(names[c] for c in np.unique(cam_idx).tolist()) - {names[s] for s in all_devs})
    if missing:
        raise ConversionError(f"points are seen by unregistered cameras: {', '.join(missing[:5])}")
    stamps_a = np.array(stamps, np.int64)
    dev_a = np.array(devs, dtype=object)
    traj = Trajectories(stamps_a, dev_a, np.array(qs).reshape(-1, 4), np.array(ts).reshape(-1, 3))
    kapture = Kapture(sensors=dict(sensors), trajectories=traj,
                      records={"camera": Records("camera", stamps_a, dev_a, [(names[s],) for s in stamps])},
                      points3d=pts, observations=obs)
    return kapture, keypoints


def import_bundler(bundle: str | Path, image_list: str | Path, output: str | Path,
                   image_sizes: SizeSource | None = None, images_dir: str | Path | None = None,
                   keypoints_type: str = "bundler", force: bool = False) -> Kapture:
    """Write a kapture dataset; sizes from ``image_sizes`` or read from files in ``images_dir``."""
    prepare_output(output, [bundle, image_list, images_dir], force)
    if image_sizes is None:
        if images_dir is None:
            raise ValueError("Bundler holds no image size: give image_sizes or images_dir")
        def image_sizes(name: str) -> tuple[int, int]:
            return image_size(inside(images_dir, name, image_list, None, "image_name"))
    kapture, keypoints = bundler_to_kapture(bundle, image_list, image_sizes, keypoints_type)
    return save_with_features(kapture, output, keypoints_type, keypoints.items())


def export_bundler(kapture: Kapture, bundle: str | Path, image_list: str | Path,
                   keypoints: Callable[[str], np.ndarray | None], approximate: bool = False) -> int:
    """Write bundle.out and the image list for the posed images; returns the number of cameras."""
    table = image_table(kapture)
    posed = np.flatnonzero(table.has_pose)
    cams = cameras_required(kapture, [table.camera_ids[i] for i in posed])
    names = [table.names[i] for i in posed]
    row_of = {n: r for r, n in enumerate(names)}
    out = ["# Bundle file v0.3"]
    pts = np.zeros((0, 6)) if kapture.points3d is None else np.asarray(kapture.points3d, np.float64)
    out.append(f"{len(names)} {len(pts)}")
    R = P.quat_to_rotmat(table.q[posed]).reshape(-1, 3, 3)
    for r, i in enumerate(posed):
        cam = cams[table.camera_ids[i]]
        p = cam.param_dict
        fx, fy = cam.focal
        exact = (cam.model in ("SIMPLE_PINHOLE", "SIMPLE_RADIAL", "RADIAL") and cam.principal_point == (
            cam.width / 2, cam.height / 2))
        if not exact and not approximate:
            raise ConversionError(f"camera '{table.camera_ids[i]}' ({cam.model}) is not expressible in Bundler "
                                  "(one focal, centred principal point, k1 k2); use approximate=True")
        out.append(f"{(fx + fy) / 2!r} {p.get('k', p.get('k1', 0.0))!r} {p.get('k2', 0.0)!r}")
        out += [" ".join(repr(v) for v in row) for row in (FLIP @ R[r]).tolist()]
        out.append(" ".join(repr(v) for v in (FLIP @ table.t[i]).tolist()))
    obs = (kapture.observations or Observations()).sorted()
    obs = obs.select(np.array([n in row_of for n in obs.image_names.tolist()], dtype=bool))
    bounds = np.searchsorted(obs.point_ids, np.arange(len(pts) + 1))
    cache: dict[str, np.ndarray] = {}
    for p in range(len(pts)):
        out.append(" ".join(repr(v) for v in pts[p, :3].tolist()))
        out.append(" ".join(str(int(c)) for c in np.clip(np.rint(pts[p, 3:6]), 0, 255)) if pts.shape[1] >= 6
                   else "0 0 0")
        views = []
        for j in range(bounds[p], bounds[p + 1]):
            name, fid = obs.image_names[j], int(obs.feature_ids[j])
            if name not in cache:
                kp = keypoints(name)
                if kp is None:
                    raise ConversionError(f"image '{name}' has observations but no keypoints")
                cache[name] = np.asarray(kp, np.float64)
            cam = cams[table.camera_ids[posed[row_of[name]]]]
            x, y = cache[name][fid, :2].tolist()
            views.append(f"{row_of[name]} {fid} {x - cam.width / 2!r} {cam.height / 2 - y!r}")
        out.append(" ".join([str(len(views))] + views))
    with atomic_write(bundle) as f:
        f.write("\n".join(out) + "\n")
    with atomic_write(image_list) as f:
        f.write("".join(n + "\n" for n in names))
    return len(names)
