"""IDL dataset (Sun et al., CVPR 2017, Baidu) -> kapture (kapture's ``kapture_import_IDL_dataset_cvpr17``).

Raw layout: a folder of images (any depth) and, optionally, a ground-truth folder mirroring it
with one ``<image stem>.camera`` file per image: ``fx 0 cx`` / ``0 fy cy`` / ``0 0 1`` / ``0 0 0`` /
three rows of R' / the centre of projection / ``w h``.

Conventions: every file of the image folder that is an image becomes one camera ``sensor<n>`` at
timestamp ``n``, ``n`` its rank among all the files sorted by name. With a ``.camera`` file the
camera is PINHOLE and the pose the inverse of (R', centre): world-to-camera; without, the camera
is UNKNOWN_CAMERA of the image's size and has no pose.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.sensors import Camera
from kapturelike.importers.common import (
    DatasetImportError,
    RecordsBuilder,
    TrajectoriesBuilder,
    TransferAction,
    prepare_output,
    require_dir,
    transfer_records_data,
)
from kapturelike.importers.rgbd import relative_files
from kapturelike.io.dataset import save_kapture
from kapturelike.io.images import stored_image_size

logger = logging.getLogger("kapturelike.importers.IDL_dataset_cvpr17")


@dataclass
class IdlOptions:
    gt_path: str | None = None
    transfer: TransferAction = TransferAction.link_absolute
    force: bool = False
    progress: bool = True


def read_camera_file(path: Path, width: int, height: int) -> tuple[Camera, np.ndarray, np.ndarray]:
    """PINHOLE camera and world-to-camera (q, t) of a .camera file."""
    rows = [line.split() for line in path.read_text().splitlines()]
    try:
        fx, cx, fy, cy = float(rows[0][0]), float(rows[0][2]), float(rows[1][1]), float(rows[1][2])
        R = np.array([[float(v) for v in row[:3]] for row in rows[4:7]])
        centre = np.array([float(v) for v in rows[7][:3]])
        size = (float(rows[8][0]), float(rows[8][1]))
    except (IndexError, ValueError):
        raise DatasetImportError(f"{path}: expected K (3 lines), 0 0 0, R' (3 lines), centre, w h") from None
    if size != (width, height):
        raise DatasetImportError(f"{path}, line 9: size {size[0]:g}x{size[1]:g} is not the image's {width}x{height}")
    q, t = P.invert(P.rotmat_to_quat(R), centre)
    return Camera("PINHOLE", width, height, (fx, fy, cx, cy)), q, t


def import_idl_dataset_cvpr17(input_dir: str | Path, output: str | Path, options: IdlOptions | None = None) -> Kapture:
    o = options or IdlOptions()
    root = require_dir(input_dir, "IDL image folder")
    sensors: dict = {}
    images, poses = RecordsBuilder("camera"), TrajectoriesBuilder()
    for n, name in enumerate(relative_files(root)):
        try:
            width, height = stored_image_size(root / name)
        except (OSError, ValueError):
            continue  # not an image
        sensor = f"sensor{n}"
        images.add(n, sensor, name)
        camera = Camera("UNKNOWN_CAMERA", width, height)
        if o.gt_path is not None:
            gt = Path(os.path.splitext(os.path.join(o.gt_path, name))[0] + ".camera")
            if gt.is_file():
                camera, q, t = read_camera_file(gt, width, height)
                poses.add([n], sensor, q.reshape(1, 4), t.reshape(1, 3))
        sensors[sensor] = camera
    if not len(images):
        raise DatasetImportError(f"{root}: no image found")
    out = prepare_output(output, o.force, inputs=[input_dir])
    k = Kapture(sensors=sensors, trajectories=poses.build() if len(poses) else None,
                records={"camera": images.build()})
    transfer_records_data(root, out, k.records["camera"].paths, o.transfer, progress=o.progress)
    save_kapture(k, out)
    return k
