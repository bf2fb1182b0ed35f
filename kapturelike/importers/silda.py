"""SILDa (Scape-Imperial Localisation Dataset) -> kapture (kapture's ``kapture_import_silda``).

Raw layout: ``silda-images/<timestamp>_<cam>.png`` (cameras 0 and 1, fisheye, 1024x1024),
``camera-intrinsics/<timestamp>_<cam>.intrinsics`` (principal point as a fraction of the image size,
first two numbers), ``silda-train-poses.txt`` (``name qw qx qy qz tx ty tz``: camera-to-world),
``train_imgs.txt`` / ``query_imgs.txt`` (corpus splits).

Conventions:
- Sensors ``0`` and ``1``: FOV (default) or OPENCV_FISHEYE with the focal lengths and distortion
  kapture uses; principal point from the intrinsics file of the camera's first image.
- Poses: the inverse of the file's camera-to-world pose (world-to-camera).
- Rig ``silda_rig``: camera 0 turned -90 degrees about y, camera 1 +90 degrees, both at the origin;
  ``rig_collapse`` replaces camera poses by rig poses (every camera a master).
- ``split_cams`` renames images ``<cam>/<timestamp:04>.png``.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.importers.common import (
    DatasetImportError,
    RecordsBuilder,
    TransferAction,
    collapse_to_rig,
    prepare_output,
    require_dir,
    require_file,
    transfer_records_data,
)
from kapturelike.io.dataset import save_kapture

logger = logging.getLogger("kapturelike.importers.silda")
IMAGE_RE = re.compile(r"(?P<filename>(?P<timestamp>\d+)_(?P<cam_id>\d+)\.png)")
IMAGE_SIZE = 1024
CORPUS_FILES = {"mapping": "train_imgs.txt", "query": "query_imgs.txt"}
RIG_ID = "silda_rig"
CAMERA_PARAMS = {"OPENCV_FISHEYE": ([393.299, 394.815], [-0.223483, 0.117325, -0.0326138, 0.00361082]),
                 "FOV": ([217.294036, 217.214703], [-0.769113])}


@dataclass
class SildaOptions:
    cam_model: str = "FOV"  # FOV or OPENCV_FISHEYE
    split_cams: bool = False
    corpus: str | None = None  # mapping or query
    rig_collapse: bool = False
    transfer: TransferAction = TransferAction.link_absolute
    force: bool = False
    progress: bool = True


def silda_rig() -> dict[str, dict[str, Pose]]:
    return {RIG_ID: {"0": Pose(P.quat_from_axis_angle([0.0, -np.pi / 2, 0.0]), np.zeros(3)),
                     "1": Pose(P.quat_from_axis_angle([0.0, np.pi / 2, 0.0]), np.zeros(3))}}


def import_silda(input_dir: str | Path, output: str | Path, options: SildaOptions | None = None) -> Kapture:
    o = options or SildaOptions()
    if o.cam_model not in CAMERA_PARAMS:
        raise DatasetImportError(f"camera model '{o.cam_model}': only OPENCV_FISHEYE or FOV")
    if TransferAction(o.transfer) == TransferAction.root_link and o.split_cams:
        raise DatasetImportError("root_link cannot rename images: not with --split_cams")
    root = require_dir(input_dir, "SILDa folder")
    images_root = root / "silda-images"
    if o.corpus is not None:
        split = require_file(root / CORPUS_FILES[o.corpus], "corpus split file")
        originals = sorted(line.strip() for line in split.read_text().splitlines() if line.strip())
    else:
        originals = sorted(f for _, _, files in os.walk(require_dir(images_root, "silda-images folder"))
                           for f in files if f.endswith(".png"))
    images = RecordsBuilder("camera")
    names, ids = [], {}
    for original in originals:
        m = IMAGE_RE.match(original)
        if m is None:
            raise DatasetImportError(f"{original}: not a <timestamp>_<camera>.png SILDa image name")
        ts, cam = int(m.group("timestamp")), m.group("cam_id")
        name = f"{cam}/{ts:04d}.png" if o.split_cams else original
        images.add(ts, cam, name)
        names.append(name)
        ids[m.group("filename")] = (ts, cam)
    records = images.build()
    sensors = {}
    focal, distortion = CAMERA_PARAMS[o.cam_model]
    for cam in sorted(set(records.device_ids)):
        first = min(ts for ts, c in records.keys() if c == cam)
        path = require_file(root / "camera-intrinsics" / f"{first}_{cam}.intrinsics", "intrinsics file")
        centre = (np.loadtxt(path).reshape(-1)[0:2] * IMAGE_SIZE).tolist()
        sensors[cam] = Camera(o.cam_model, IMAGE_SIZE, IMAGE_SIZE, (*focal, *centre, *distortion))
    stamps, devices, rows = [], [], []
    poses_path = root / "silda-train-poses.txt"
    if poses_path.is_file():
        for number, line in enumerate(poses_path.read_text().splitlines(), 1):
            words = line.split()
            if words and words[0] in ids:
                try:
                    rows.append([float(v) for v in words[1:8]])
                except ValueError:
                    raise DatasetImportError(f"{poses_path}, line {number}: not a number") from None
                stamps.append(ids[words[0]][0])
                devices.append(ids[words[0]][1])
    trajectories = None
    if rows:
        values = np.array(rows)
        q, t = P.invert(values[:, 0:4], values[:, 4:7])
        trajectories = Trajectories(np.array(stamps, np.int64), np.array(devices, object), q, t)
    rigs = silda_rig()
    if o.rig_collapse and trajectories is not None:
        trajectories = collapse_to_rig(trajectories, rigs)
    out = prepare_output(output, o.force, inputs=[input_dir])
    k = Kapture(sensors=sensors, rigs=rigs, trajectories=trajectories, records={"camera": records})
    transfer_records_data(images_root, out, names, o.transfer, sources=[images_root / f for f in originals],
                          progress=o.progress)
    save_kapture(k, out)
    return k
