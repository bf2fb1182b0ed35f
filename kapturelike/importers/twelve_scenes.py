"""Stanford 12-Scenes -> kapture (kapture's ``kapture_import_12scenes``).

Raw layout: ``<scene>/data/frame-XXXXXX.{color.jpg, depth.png, pose.txt}``, ``<scene>/info.txt``
(``key = value`` lines: ``m_colorWidth``, ``m_calibrationColorIntrinsic`` as 16 numbers of a 4x4
matrix...) and ``<scene>/split.txt`` whose first line gives the test frames
(``sequence0 [frames=N]  [start=S ; end=E]``).

Conventions:
- ``pose.txt`` is camera-to-world 4x4 in metres; a pose holding ``INF`` (frame not tracked) is left
  out; kapture stores the inverse for the rig ``rgbd_rig``.
- Timestamps are frame numbers' ranks 0, 1, 2... (sorted file names), before the partition filter.
- Sensors: ``ipad_camera`` (PINHOLE, from info.txt), ``structure_io_depth_camera`` (depth, PINHOLE)
  and ``structure_io_depth_camera_reg`` (depth in the colour camera); all at identity in the rig.
- Depth PNGs are millimetres -> float32 metres; the registered map is the depth re-projected
  into the colour camera, then grey-dilated over 3x3 pixels to fill the holes of the upsampling.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from kapturelike.core.reconstruction import Kapture
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Pose
from kapturelike.importers.common import (
    DatasetImportError,
    TransferAction,
    intrinsic_matrix,
    prepare_output,
    register_depth,
    require_dir,
    require_file,
    transfer_records_data,
)
from kapturelike.importers.rgbd import RgbdIds, convert_depth_maps, frame_shots, millimetres_to_metres, shot_tables
from kapturelike.io.dataset import save_kapture

logger = logging.getLogger("kapturelike.importers.12scenes")

RGB_SENSOR_ID = "ipad_camera"
DEPTH_SENSOR_ID = "structure_io_depth_camera"
REG_DEPTH_SENSOR_ID = "structure_io_depth_camera_reg"
RIG_ID = "rgbd_rig"
SPLIT_RE = re.compile(r"^sequence(?P<sequence>\d+) \[frames=(?P<count>\d+)\]  \[start=(?P<start>\d+) ; "
                      r"end=(?P<end>\d+)\]$")


@dataclass
class TwelveScenesOptions:
    transfer: TransferAction = TransferAction.link_absolute
    partition: str | None = None  # 'query': the test frames of split.txt; 'mapping': the others
    force: bool = False
    progress: bool = True


def read_info(path: Path) -> dict[str, str]:
    info = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            key, sep, value = line.rstrip().partition(" = ")
            if not sep:
                raise DatasetImportError(f"{path}, line {number}: expected 'key = value', got '{line}'")
            info[key] = value
    return info


def info_camera(info: dict[str, str], path: Path, prefix: str, sensor_type: str = "camera") -> Camera:
    """PINHOLE camera of info.txt: width/height and fx, fy, cx, cy of the 4x4 intrinsic matrix."""
    keys = (f"m_calibration{prefix}Intrinsic", f"m_{prefix.lower()}Width", f"m_{prefix.lower()}Height")
    for key in keys:
        if key not in info:
            raise DatasetImportError(f"{path}: field '{key}' is missing")
    K = [float(v) for v in info[keys[0]].split()]
    if len(K) < 7:
        raise DatasetImportError(f"{path}: field '{keys[0]}' holds {len(K)} numbers, expected 16")
    return Camera("PINHOLE", int(info[keys[1]]), int(info[keys[2]]), (K[0], K[5], K[2], K[6]),
                  sensor_type=sensor_type)


def split_test_frames(path: Path) -> tuple[int, int]:
    """First and last frame of the test split (first line of split.txt)."""
    lines = require_file(path, "partition file").read_text().splitlines()
    m = SPLIT_RE.match(lines[0].rstrip("\n")) if lines else None
    if not m:
        raise DatasetImportError(f"{path}, line 1: expected 'sequenceN [frames=N]  [start=S ; end=E]'")
    return int(m.group("start")), int(m.group("end"))


def import_12scenes(input_dir: str | Path, output: str | Path, options: TwelveScenesOptions | None = None) -> Kapture:
    o = options or TwelveScenesOptions()
    root = require_dir(input_dir, "12-Scenes scene folder")
    data = require_dir(root / "data", "12-Scenes data folder")
    shots = frame_shots(data, key=lambda g: int(g["frame_id"]))
    if o.partition is not None:
        first, last = split_test_frames(root / "split.txt")
        inside = o.partition == "query"
        shots = {f: s for f, s in shots.items() if (first <= f <= last) == inside}
    shots = {f: s for f, s in shots.items() if "color" in s}
    if not shots:
        raise DatasetImportError(f"{data}: no frame-XXXXXX.color.* file found (is it a 12-Scenes scene folder?)")
    info_path = require_file(root / "info.txt", "info file")
    info = read_info(info_path)
    rgb = info_camera(info, info_path, "Color")
    depth_camera = info_camera(info, info_path, "Depth", "depth")
    out = prepare_output(output, o.force, inputs=[input_dir])

    ids = RgbdIds(RGB_SENSOR_ID, DEPTH_SENSOR_ID, REG_DEPTH_SENSOR_ID, RIG_ID)
    images, depths, trajectories, depth_pngs = shot_tables(data, shots, ids)

    k = Kapture(sensors={RGB_SENSOR_ID: rgb, DEPTH_SENSOR_ID: depth_camera,
                         REG_DEPTH_SENSOR_ID: Camera("PINHOLE", rgb.width, rgb.height, rgb.params,
                                                     sensor_type="depth")},
                rigs={RIG_ID: {s: Pose.identity() for s in (RGB_SENSOR_ID, DEPTH_SENSOR_ID, REG_DEPTH_SENSOR_ID)}},
                trajectories=trajectories, records={"camera": images, "depth": depths})
    transfer_records_data(data, out, k.records["camera"].paths, o.transfer, progress=o.progress)
    K_depth, K_color = intrinsic_matrix(*depth_camera.params), intrinsic_matrix(*rgb.params)

    def convert(png: np.ndarray) -> dict[str, np.ndarray]:
        depth = millimetres_to_metres(png)
        registered = register_depth(K_depth, K_color, np.eye(4), depth, rgb.width, rgb.height)
        return {"": depth, ".reg": ndimage.grey_dilation(registered, size=(3, 3))}

    convert_depth_maps(data, out, depth_pngs, convert, ("", ".reg"), o.progress)
    save_kapture(k, out)
    return k
