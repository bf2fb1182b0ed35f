"""Microsoft RGB-D 7-Scenes -> kapture (kapture's ``kapture_import_7scenes``).

Raw layout: ``<scene>/seq-XX/frame-XXXXXX.{color.png, depth.png, pose.txt}`` plus the authors'
split files ``TrainSplit.txt`` / ``TestSplit.txt`` (lines ``sequence1``...) beside the sequences.

Conventions:
- ``pose.txt`` is a camera-to-world 4x4 matrix in metres; kapture stores its inverse
  (world-to-device) for the rig ``kinect``.
- Timestamps are shot numbers 0, 1, 2... in the order of the sorted file names (the dataset has
  none), taken before the partition filter, as kapture does.
- Sensors: ``kinect_rgb`` (SIMPLE_PINHOLE 640x480 f=525, the authors' default intrinsics),
  ``kinect_depth`` (depth, f=585) and ``kinect_depth_reg`` (depth registered to the colour camera).
  The rig ``kinect`` holds the depth camera at identity and the colour camera (and registered
  depth) at the Kinect colour-from-depth extrinsics published by LIRIS.
- Depth PNGs are millimetres (65535: invalid, written as 0) -> float32 metres.
  Registration uses the intrinsics as written in sensors.txt (f, cx, cy); kapture's importer reads
  SIMPLE_PINHOLE parameters into its matrix shifted by one (fy=cx, cx=cy), so its ``.reg`` maps
  differ from ours: ours are the geometric re-projection.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kapturelike.core import pose as P
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
    transfer_records_data,
)
from kapturelike.importers.rgbd import RgbdIds, convert_depth_maps, frame_shots, millimetres_to_metres, shot_tables
from kapturelike.io.dataset import save_kapture

logger = logging.getLogger("kapturelike.importers.7scenes")

RGB_SENSOR_ID = "kinect_rgb"
DEPTH_SENSOR_ID = "kinect_depth"
REG_DEPTH_SENSOR_ID = "kinect_depth_reg"
RIG_ID = "kinect"
PARTITION_FILES = {"mapping": "TrainSplit.txt", "query": "TestSplit.txt"}

RGB_CAMERA = Camera("SIMPLE_PINHOLE", 640, 480, (525.0, 320.0, 240.0))
DEPTH_CAMERA = Camera("SIMPLE_PINHOLE", 640, 480, (585.0, 320.0, 240.0), sensor_type="depth")
# colour-from-depth extrinsics of the Kinect (LIRIS calibration), as kapture uses them
COLOR_FROM_DEPTH_R = np.array([[9.9996518012567637e-01, 2.6765126468950343e-03, -7.9041012313000904e-03],
                               [-2.7409311281316700e-03, 9.9996302803027592e-01, -8.1504520778013286e-03],
                               [7.8819942130445332e-03, 8.1718328771890631e-03, 9.9993554558014031e-01]])
COLOR_FROM_DEPTH_T = np.array([-2.5558943178152542e-02, 1.0109636268061706e-04, 2.0318321729487039e-03])


@dataclass
class SevenScenesOptions:
    transfer: TransferAction = TransferAction.link_absolute  # how images reach the kapture tree
    partition: str | None = None  # 'mapping' or 'query': the authors' split; None: every sequence
    force: bool = False  # overwrite the kapture files of a previous import
    progress: bool = True


def split_sequences(root: Path, partition: str) -> set[str]:
    """Sequence folder names ('seq-01'...) of the authors' split file for ``partition``."""
    path = root / PARTITION_FILES[partition]
    if not path.is_file():
        raise DatasetImportError(f"{path}: partition file is missing")
    names = set()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        if not line.startswith("sequence") or not line[len("sequence"):].isdigit():
            raise DatasetImportError(f"{path}, line {number}: expected 'sequenceN', got '{line}'")
        names.add(f"seq-{int(line[len('sequence'):]):02}")
    return names


def import_7scenes(input_dir: str | Path, output: str | Path, options: SevenScenesOptions | None = None) -> Kapture:
    o = options or SevenScenesOptions()
    root = require_dir(input_dir, "7-Scenes scene folder")
    shots = frame_shots(root, key=lambda g: (g["sequence"], g["frame_id"]))
    if o.partition is not None:
        keep = split_sequences(root, o.partition)
        shots = {k: s for k, s in shots.items() if k[0] in keep}
    shots = {k: s for k, s in shots.items() if "color" in s}
    if not shots:
        raise DatasetImportError(f"{root}: no frame-XXXXXX.color.* file found (is it a 7-Scenes scene folder?)")
    out = prepare_output(output, o.force, inputs=[input_dir])

    ids = RgbdIds(RGB_SENSOR_ID, DEPTH_SENSOR_ID, REG_DEPTH_SENSOR_ID, RIG_ID)
    images, depths, trajectories, depth_pngs = shot_tables(root, shots, ids)

    q_rig = P.rotmat_to_quat(COLOR_FROM_DEPTH_R)
    rigs = {RIG_ID: {RGB_SENSOR_ID: Pose(q_rig, COLOR_FROM_DEPTH_T),
                     REG_DEPTH_SENSOR_ID: Pose(q_rig, COLOR_FROM_DEPTH_T),
                     DEPTH_SENSOR_ID: Pose.identity()}}
    k = Kapture(sensors={RGB_SENSOR_ID: RGB_CAMERA, DEPTH_SENSOR_ID: DEPTH_CAMERA,
                         REG_DEPTH_SENSOR_ID: Camera(RGB_CAMERA.model, RGB_CAMERA.width, RGB_CAMERA.height,
                                                     RGB_CAMERA.params, sensor_type="depth")},
                rigs=rigs, trajectories=trajectories,
                records={"camera": images, "depth": depths})

    transfer_records_data(root, out, k.records["camera"].paths, o.transfer, progress=o.progress)
    color_from_depth = np.eye(4)
    color_from_depth[:3, :3], color_from_depth[:3, 3] = COLOR_FROM_DEPTH_R, COLOR_FROM_DEPTH_T
    K_depth = intrinsic_matrix(585.0, 585.0, 320.0, 240.0)
    K_color = intrinsic_matrix(525.0, 525.0, 320.0, 240.0)

    def convert(png: np.ndarray) -> dict[str, np.ndarray]:
        depth = millimetres_to_metres(np.where(png == 65535, 0, png))
        return {"": depth, ".reg": register_depth(K_depth, K_color, color_from_depth, depth, 640, 480)}

    convert_depth_maps(root, out, depth_pngs, convert, ("", ".reg"), o.progress)
    save_kapture(k, out)
    return k
