"""Strecha multi-view ground truth (``<scene>/gt_dense_cameras/NNNN.jpg.camera`` + ``<scene>/images``).

Camera file: 26 whitespace-separated numbers: K (3x3), radial k1 k2 k3, R (3x3, camera-to-world: its
columns are the camera axes in world coordinates), centre C (world), width, height. The kapture pose is
world-to-camera: R_cw = R^T, t = -R^T C. K is used as given, i.e. read in kapture's pixel convention
(the shared copy's K was scaled by exactly 1/2 with the images, which keeps that convention only for a
pixel-corner origin); ``pixel_offset`` adds a shift to cx, cy for data calibrated with pixel centres at
integers (+0.5 then). Zero distortion gives PINHOLE; otherwise FULL_OPENCV with k1, k2, k3.
Images with identical intrinsics share a sensor (``cam_00000``...); timestamps are the sorted image index.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Trajectories
from kapturelike.errors import FormatError, MissingDataError
from kapturelike.io.dataset import records_data_path, save_kapture
from kapturelike.io.output import prepare_output

CAMERA_SUFFIX = ".camera"
FIELDS = ("K", "distortion", "R", "C", "size")


@dataclass
class StrechaOptions:
    images: str = "symlink"  # symlink, copy or skip: how image files get into sensors/records_data
    pixel_offset: float = 0.0  # added to cx, cy
    name_prefix: str = ""  # prepended to image names ('mapping/' for example)


def read_camera_file(path: str | Path) -> tuple[Camera, np.ndarray, np.ndarray]:
    """(camera, q (4,), t (3,)) world-to-camera, from one ``.camera`` file."""
    path = Path(path)
    try:
        values = np.array(path.read_text(encoding="utf-8").split(), dtype=np.float64)
    except ValueError:
        raise FormatError("every field must be a number", path, None, "K") from None
    if values.size != 26:
        field = FIELDS[min(np.searchsorted([9, 12, 21, 24, 26], values.size, side="right"), 4)]
        raise FormatError(f"expected 26 numbers (K 9, distortion 3, R 9, C 3, width height), got {values.size}",
                          path, None, field)
    K, dist, R = values[:9].reshape(3, 3), values[9:12], values[12:21].reshape(3, 3)
    C, size = values[21:24], values[24:]
    if abs(np.linalg.det(R) - 1) > 1e-3 or not np.allclose(R @ R.T, np.eye(3), atol=1e-3):
        raise FormatError("R is not a rotation matrix", path, None, "R")
    if K[0, 1] != 0 or K[1, 0] != 0 or not np.allclose(K[2], [0, 0, 1]):
        raise FormatError("K must be [[fx 0 cx] [0 fy cy] [0 0 1]]", path, None, "K")
    width, height = int(size[0]), int(size[1])
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    if np.any(dist != 0):
        cam = Camera("FULL_OPENCV", width, height, (fx, fy, cx, cy, dist[0], dist[1], 0, 0, dist[2], 0, 0, 0))
    else:
        cam = Camera("PINHOLE", width, height, (fx, fy, cx, cy))
    q = P.rotmat_to_quat(R.T)
    return cam, q, -R.T @ C


def read_strecha(scene: str | Path, options: StrechaOptions | None = None) -> Kapture:
    """Sensors, trajectories and records of a Strecha scene folder (images are not touched)."""
    options = options or StrechaOptions()
    scene = Path(scene)
    folder = scene / "gt_dense_cameras"
    if not folder.is_dir():
        raise MissingDataError(f"{folder}: no gt_dense_cameras folder in the Strecha scene")
    files = sorted(folder.glob(f"*{CAMERA_SUFFIX}"))
    if not files:
        raise MissingDataError(f"{folder}: no *.camera files")
    sensors: dict[str, Camera] = {}
    ids: dict[Camera, str] = {}
    qs, ts, devices, names = [], [], [], []
    for f in files:
        cam, q, t = read_camera_file(f)
        if options.pixel_offset:
            p = list(cam.params)
            p[2] += options.pixel_offset
            p[3] += options.pixel_offset
            cam = Camera(cam.model, cam.width, cam.height, tuple(p))
        if cam not in ids:
            ids[cam] = f"cam_{len(ids):05d}"
            sensors[ids[cam]] = cam
        qs.append(q)
        ts.append(t)
        devices.append(ids[cam])
        names.append(options.name_prefix + f.name[: -len(CAMERA_SUFFIX)])
    stamps = np.arange(len(files), dtype=np.int64)
    dev = np.array(devices, dtype=object)
    return Kapture(sensors=dict(sensors), trajectories=Trajectories(stamps, dev, np.array(qs), np.array(ts)),
                   records={"camera": Records("camera", stamps, dev, [(n,) for n in names])})


def import_strecha(scene: str | Path, output: str | Path, options: StrechaOptions | None = None,
                   force: bool = False) -> Kapture:
    """Write a kapture dataset for the scene, with its images linked or copied into records_data."""
    options = options or StrechaOptions()
    if options.images not in ("symlink", "copy", "skip"):
        raise ValueError(f"images must be symlink, copy or skip, not '{options.images}'")
    prepare_output(output, [scene], force)
    kapture = read_strecha(scene, options)
    if options.images != "skip":
        for name in kapture.image_names():
            src = (Path(scene) / "images" / name[len(options.name_prefix):]).resolve()
            if not src.is_file():
                raise MissingDataError(f"{src}: image of camera file {name}{CAMERA_SUFFIX} is missing")
            dst = records_data_path(output, name)
            dst.parent.mkdir(parents=True, exist_ok=True)
            if dst.exists() or dst.is_symlink():
                dst.unlink()
            if options.images == "symlink":
                os.symlink(src, dst)
            else:
                shutil.copyfile(src, dst)
    save_kapture(kapture, output)
    return kapture
