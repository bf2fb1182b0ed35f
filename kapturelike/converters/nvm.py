"""VisualSfM NVM_V3 <-> kapture (cameras, poses, 3D points with colours, observations, keypoints).

NVM_V3 (first model of the file), as in the Aachen Day-Night distribution:
  <n cameras>, then per camera ``name focal qw qx qy qz Cx Cy Cz r 0``: the quaternion is the
  world-to-camera rotation, but the position is the camera CENTRE C, so t = -R C.
  <n points>, then per point ``X Y Z R G B m`` and m measurements ``image_index feature_index x y``,
  x, y relative to the image centre (principal point) with y down.
Cameras: NVM has one focal and a radial term ``r`` per image and no image size; kapture gets a
SIMPLE_RADIAL camera (f, w/2, h/2, k = -r, COLMAP's reading of NVM) with sizes from ``image_sizes``;
images with equal intrinsics share a sensor. Keypoints are the measured features only (NVM holds no
others), numbered per image in increasing NVM feature index; kapture keypoint = (x + w/2, y + h/2).
Export needs a centred principal point and no distortion beyond one radial term, else a ConversionError
(``approximate=True``: the nearest SIMPLE_RADIAL). Parsing streams line by line into growing arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kapturelike.converters.common import ConversionError, cameras_required, image_table
from kapturelike.converters.features_io import save_with_features
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

SizeSource = Mapping[str, tuple[int, int]] | Callable[[str], tuple[int, int]]


@dataclass
class NvmImportOptions:
    keypoints_type: str = "nvm"
    camera_prefix: str = "cam_"
    camera_per_image: bool = False  # kapture's importer: image i gets its own camera '<prefix><i>'


class _Grow:
    """A float64 (n, width) buffer that doubles when full, so parsing never holds Python lists of rows."""

    def __init__(self, width: int, capacity: int = 1024):
        self.data = np.empty((capacity, width))
        self.n = 0

    def add(self, rows: np.ndarray) -> None:
        while self.n + len(rows) > len(self.data):
            self.data = np.concatenate([self.data, np.empty_like(self.data)])
        self.data[self.n:self.n + len(rows)] = rows
        self.n += len(rows)

    def array(self) -> np.ndarray:
        return self.data[: self.n]


def _data_lines(f, path: Path):
    for number, line in enumerate(f, 1):
        fields = line.split()
        if fields and not fields[0].startswith("#"):
            yield number, fields


def _count(lines, path: Path, field: str) -> int:
    number, fields = next(lines, (None, None))
    if fields is None or len(fields) != 1 or not fields[0].isdigit():
        raise FormatError(f"expected the number of {field}", path, number, field)
    return int(fields[0])


def read_nvm(path: str | Path) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(names, focal and r (N, 2), q (N, 4), centres (N, 3), points xyzrgb (P, 6), measurements (M, 5):
    point index, image index, feature index, x, y)."""
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        lines = _data_lines(f, path)
        number, fields = next(lines, (1, []))
        if not fields or not fields[0].startswith("NVM_V3"):
            raise FormatError("first line must start with NVM_V3", path, number, "header")
        n_cams = _count(lines, path, "cameras")
        names, intr = [], np.zeros((n_cams, 2))
        q, centres = np.zeros((n_cams, 4)), np.zeros((n_cams, 3))
        for i in range(n_cams):
            number, fields = next(lines, (None, None))
            if fields is None or len(fields) < 11:
                raise FormatError("expected name focal qw qx qy qz Cx Cy Cz r 0", path, number, "camera")
            try:
                v = np.array(fields[-10:], dtype=np.float64)
            except ValueError:
                raise FormatError("camera values must be numbers", path, number, "camera") from None
            names.append(" ".join(fields[:-10]))
            intr[i], q[i], centres[i] = (v[0], v[8]), v[1:5], v[5:8]
        n_pts = _count(lines, path, "points")
        points = np.zeros((n_pts, 6))
        meas = _Grow(5)
        for i in range(n_pts):
            number, fields = next(lines, (None, None))
            if fields is None or len(fields) < 7:
                raise FormatError("expected X Y Z R G B m measurements...", path, number, "point")
            try:
                points[i] = np.array(fields[:6], dtype=np.float64)
                m = int(fields[6])
                rows = np.array(fields[7:], dtype=np.float64)
            except ValueError:
                raise FormatError("point values must be numbers", path, number, "point") from None
            if len(rows) != 4 * m:
                raise FormatError(f"{m} measurements need {4 * m} values, got {len(rows)}", path, number,
                                  "measurements")
            rows = rows.reshape(m, 4)
            if m and (rows[:, 0].min() < 0 or rows[:, 0].max() >= n_cams):
                raise FormatError(f"image index out of 0..{n_cams - 1}", path, number, "measurements")
            meas.add(np.concatenate([np.full((m, 1), i), rows], 1))
    return names, intr, q, centres, points, meas.array()


def nvm_to_kapture(path: str | Path, image_sizes: SizeSource,
                   options: NvmImportOptions | None = None) -> tuple[Kapture, dict[str, np.ndarray]]:
    options = options or NvmImportOptions()
    names, intr, q, centres, points, meas = read_nvm(path)
    size_of = image_sizes if callable(image_sizes) else image_sizes.__getitem__
    sensors: dict[str, Camera] = {}
    ids: dict[Camera, str] = {}
    devices = []
    sizes = np.zeros((len(names), 2))
    for i, name in enumerate(names):
        try:
            w, h = size_of(name)
        except KeyError:
            raise ConversionError(f"no image size for '{name}' (NVM does not store it)") from None
        sizes[i] = w, h
        cam = Camera("SIMPLE_RADIAL", w, h, (intr[i, 0], w / 2, h / 2, -intr[i, 1]))
        if options.camera_per_image:
            sensors[f"{options.camera_prefix}{i}"] = cam
            devices.append(f"{options.camera_prefix}{i}")
            continue
        if cam not in ids:
            ids[cam] = f"{options.camera_prefix}{len(ids):05d}"
            sensors[ids[cam]] = cam
        devices.append(ids[cam])
    stamps = np.arange(len(names), dtype=np.int64)
    dev = np.array(devices, dtype=object)
    traj = Trajectories(stamps, dev, q, P.poses_from_centers(q, centres).reshape(-1, 3))
    pid, img, feat = meas[:, 0].astype(np.int64), meas[:, 1].astype(np.int64), meas[:, 2].astype(np.int64)
    xy = meas[:, 3:5] + sizes[img] / 2
    # keypoint id: rank of the NVM feature index within its image
    key = img * (int(feat.max(initial=0)) + 1) + feat
    uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    uimg = img[first]
    start = np.searchsorted(uimg, np.arange(len(names)))
    kp_id = inverse - start[img]
    keypoints = {names[i]: xy[first[uimg == i]].astype(np.float32) for i in np.unique(uimg).tolist()}
    name_arr = np.array(names, dtype=object)
    obs = Observations(pid, np.full(len(pid), options.keypoints_type, dtype=object), name_arr[img], kp_id)
    kapture = Kapture(sensors=dict(sensors), trajectories=traj,
                      records={"camera": Records("camera", stamps, dev, [(n,) for n in names])},
                      points3d=points, observations=obs)
    return kapture, keypoints


def import_nvm(path: str | Path, output: str | Path, image_sizes: SizeSource | None = None,
               images_dir: str | Path | None = None, options: NvmImportOptions | None = None,
               force: bool = False) -> Kapture:
    """Write a kapture dataset; image sizes come from ``image_sizes`` or by reading files in ``images_dir``."""
    prepare_output(output, [path, images_dir], force)
    options = options or NvmImportOptions()
    if image_sizes is None:
        if images_dir is None:
            raise ValueError("NVM holds no image size: give image_sizes or images_dir")
        def image_sizes(name: str) -> tuple[int, int]:
            return image_size(inside(images_dir, name, path, None, "image_name"))
    kapture, keypoints = nvm_to_kapture(path, image_sizes, options)
    return save_with_features(kapture, output, options.keypoints_type, keypoints.items())


def _nvm_camera(sensor_id: str, cam: Camera, approximate: bool) -> tuple[float, float]:
    """(focal, r) of a camera NVM can hold exactly, or its nearest when ``approximate``."""
    p = cam.param_dict
    fx, fy = cam.focal
    cx, cy = cam.principal_point
    k = p.get("k", p.get("k1", 0.0))
    exact = (cam.is_calibrated and fx == fy and cx == cam.width / 2 and cy == cam.height / 2
             and all(v == 0 for name, v in p.items() if name not in ("f", "fx", "fy", "cx", "cy", "k", "k1")))
    if not exact and not approximate:
        raise ConversionError(f"camera '{sensor_id}' ({cam.model} {cam.params}) is not expressible in NVM (one "
                              "focal, principal point at the image centre, one radial term); use approximate=True")
    return (fx + fy) / 2, -k


def export_nvm(kapture: Kapture, path: str | Path, keypoints: Callable[[str], np.ndarray | None] | None = None,
               keypoints_type: str | None = None, approximate: bool = False) -> int:
    """Write the posed images, points and observations; returns the number of cameras written."""
    table = image_table(kapture)
    posed = np.flatnonzero(table.has_pose)
    cams = cameras_required(kapture, [table.camera_ids[i] for i in posed])
    intr = {c: _nvm_camera(c, cam, approximate) for c, cam in cams.items()}
    names = [table.names[i] for i in posed]
    row_of = {n: r for r, n in enumerate(names)}
    centres = P.camera_centers(table.q[posed], table.t[posed]).reshape(-1, 3)
    out = ["NVM_V3", "", str(len(names))]
    for r, i in enumerate(posed):
        f, rad = intr[table.camera_ids[i]]
        out.append(" ".join([names[r], repr(f)] + [repr(v) for v in table.q[i].tolist() + centres[r].tolist()]
                            + [repr(rad), "0"]))
    pts = np.zeros((0, 6)) if kapture.points3d is None else np.asarray(kapture.points3d, np.float64)
    rgb = np.clip(np.rint(pts[:, 3:6]), 0, 255).astype(int) if pts.shape[1] >= 6 else np.zeros((len(pts), 3), int)
    obs = kapture.observations or Observations()
    if keypoints_type is not None:
        obs = obs.select(obs.keypoints_types == keypoints_type)
    obs = obs.select(np.array([n in row_of for n in obs.image_names.tolist()], dtype=bool)).sorted()
    if len(obs) and keypoints is None:
        raise ConversionError("observations need the keypoints: give keypoints(name)")
    cache: dict[str, np.ndarray] = {}
    xy = np.zeros((len(obs), 2))
    for j, (name, fid) in enumerate(zip(obs.image_names.tolist(), obs.feature_ids.tolist())):
        if name not in cache:
            kp = keypoints(name)
            if kp is None:
                raise ConversionError(f"image '{name}' has observations but no keypoints")
            cam = cams[table.camera_ids[posed[row_of[name]]]]
            cache[name] = np.asarray(kp, np.float64)[:, :2] - (cam.width / 2, cam.height / 2)
        xy[j] = cache[name][fid]
    bounds = np.searchsorted(obs.point_ids, np.arange(len(pts) + 1))
    out += ["", str(len(pts))]
    rows = [row_of[n] for n in obs.image_names.tolist()]
    for p in range(len(pts)):
        a, b = bounds[p], bounds[p + 1]
        m = " ".join(f"{rows[j]} {obs.feature_ids[j]} {x!r} {y!r}" for j, (x, y) in zip(range(a, b), xy[a:b].tolist()))
        out.append(" ".join([repr(v) for v in pts[p, :3].tolist()] + [str(c) for c in rgb[p].tolist()]
                            + [str(b - a)]) + (" " + m if m else ""))
    out += ["", "0", ""]
    with atomic_write(path) as f:
        f.write("\n".join(out))
    return len(names)

