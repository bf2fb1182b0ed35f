"""4Seasons -> kapture, one recording at a time (kapture's ``kapture_import_4seasons``).

Raw layout of a recording (``recording_YYYY-MM-DD_hh-mm-ss/``): ``times.txt`` (``frame_id seconds
exposure``; frame ids are nanosecond timestamps), ``undistorted_images/cam{0,1}/<frame_id>.png``,
``GNSSPoses.txt`` (header line, then ``frame_id, tx, ty, tz, qx, qy, qz, qw, scale, ...``: the
car-to-world pose of keyframes), ``Transformations.txt`` (``# name:`` lines each followed by
``tx, ty, tz, qx, qy, qz, qw``, and ``# GNSS scale``), ``KeyFrameData/KeyFrame_<frame_id>.txt``
(keyframe pose, intrinsics and sparse inverse depths), ``imu.txt`` (``frame_id wx wy wz ax ay az``),
``septentrio.nmea``; the calibration folder (default ``<recording>/../calibration``) holds
``undistorted_calib_{0,1}.txt`` (``Pinhole fx fy cx cy 0 0 0 0`` then ``width height``) and
``undistorted_calib_stereo.txt`` (4x4 cam0-from-cam1, in 4Seasons camera axes).

Conventions:
- Timestamps are the frame ids (ns). Sensors ``cam0``/``cam1`` (PINHOLE, names cam_left/cam_right),
  rig ``car`` = cam0 at identity, cam1 from the stereo calibration with its axes turned 180 degrees
  about y into kapture's (x right, y down, z forward); IMU (``accelero``, ``gyro``) and ``GNSS``
  at identity in the rig.
- Trajectories (rig ``car``): GNSSPoses' car-to-world inverted; with Transformations.txt the
  car-to-world poses are first scaled by the GNSS scale and mapped to ECEF
  (ECEF-from-ENU x ENU-from-visual-world x transform_S_AS), so the poses are car-from-ECEF.
- Depth (``depth_sensor``, cam0 intrinsics): each keyframe's sparse inverse depths become a
  float32 map of depths (undefined: -1; infinite inverse depth 0: 0).
- IMU rows of frames missing from times.txt are stamped ``frame_id / 1000`` (kapture's guess).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.sensors import Camera, Sensor
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.importers.common import (
    DatasetImportError,
    RecordsBuilder,
    TransferAction,
    prepare_output,
    require_dir,
    require_file,
    transfer_records_data,
    write_depth_map,
)
from kapturelike.importers.nmea import gnss_from_nmea
from kapturelike.io.dataset import records_data_path, save_kapture

logger = logging.getLogger("kapturelike.importers.4seasons")

RIG_ID = "car"
MASTER_CAM_ID = "cam0"
ACCELEROMETER_ID = "accelero"
GYROSCOPE_ID = "gyro"
DEPTH_ID = "depth_sensor"
GNSS_ID = "GNSS"
CAMERA_NAMES = {"cam0": "cam_left", "cam1": "cam_right"}
# kapture camera axes from 4Seasons': 180 degrees about y
AXES_Q = P.rotmat_to_quat(np.diag([-1.0, 1.0, -1.0]))
KEYFRAME_RE = re.compile(r"^KeyFrame_(?P<shot_id>\d{19})\.txt$")


@dataclass
class FourSeasonsOptions:
    calibration: str | None = None  # default: <recording>/../calibration
    transfer: TransferAction = TransferAction.link_absolute
    force: bool = False
    progress: bool = True


def read_cameras(calibration: Path) -> tuple[dict, dict[str, dict[str, Pose]]]:
    sensors = {}
    for cam_id, index in (("cam0", 0), ("cam1", 1)):
        path = require_file(calibration / f"undistorted_calib_{index}.txt", "calibration file")
        lines = path.read_text().splitlines()
        words = lines[0].split() if lines else []
        if not words or words[0] != "Pinhole" or len(lines) < 2:
            raise DatasetImportError(f"{path}, line 1: expected 'Pinhole fx fy cx cy ...' then 'width height'")
        width, height = (int(v) for v in lines[1].split()[:2])
        sensors[cam_id] = Camera("PINHOLE", width, height, tuple(float(v) for v in words[1:5]),
                                 name=CAMERA_NAMES[cam_id])
    stereo = np.loadtxt(require_file(calibration / "undistorted_calib_stereo.txt", "stereo calibration"))
    q01, t01 = P.from_matrix(stereo[:4, :4])
    axes_t = np.zeros(3)
    q, t = P.compose(*P.compose(AXES_Q, axes_t, q01, t01), *P.invert(AXES_Q, axes_t))
    rig = {MASTER_CAM_ID: Pose.identity(), "cam1": Pose(*P.invert(q, t))}
    return sensors, {RIG_ID: rig}


def read_times(path: Path) -> dict[str, int]:
    """Frame id (19 digits, as in file names) -> timestamp (ns)."""
    ids = {}
    for number, line in enumerate(require_file(path, "times file").read_text().splitlines(), 1):
        words = line.split()
        if words:
            if not words[0].isdigit():
                raise DatasetImportError(f"{path}, line {number}, field 'frame_id': not an integer")
            ids[f"{int(words[0]):19d}"] = int(words[0])
    return ids


def _qt_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """tx, ty, tz, qx, qy, qz, qw columns -> (q as qw, qx, qy, qz; t)."""
    return rows[:, [6, 3, 4, 5]], rows[:, 0:3]


def read_transformations(path: Path) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], float]:
    lines = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    names = [line.split(":")[0][2:] for line in lines if line.startswith("#")]
    values = [np.array([float(v) for v in line.split(",") if v.strip()]) for line in lines if not line.startswith("#")]
    transforms, scale = {}, None
    for name, array in zip(names, values):
        if name == "GNSS scale":
            scale = float(array[0])
        else:
            q, t = _qt_rows(array.reshape(1, 7))
            transforms[name] = (q[0], t[0])
    for name in ("transform_w_gpsw", "transform_e_gpsw", "transform_S_AS"):
        if name not in transforms:
            raise DatasetImportError(f"{path}: transformation '{name}' is missing")
    if scale is None:
        raise DatasetImportError(f"{path}: 'GNSS scale' is missing")
    return transforms, scale


def read_trajectories(poses_path: Path, transformations_path: Path) -> Trajectories:
    stamps, rows = [], []
    lines = poses_path.read_text().splitlines()[1:]  # header line
    for number, line in enumerate(lines, 2):
        words = [w.strip() for w in line.split(",")]
        if not line.strip():
            continue
        try:
            stamps.append(int(words[0]))
            rows.append([float(v) for v in words[1:8]])
        except (ValueError, IndexError):
            raise DatasetImportError(f"{poses_path}, line {number}: expected frame_id, tx, ty, tz, qx, qy, qz, "
                                     "qw") from None
    q, t = _qt_rows(np.array(rows).reshape(-1, 7))  # car-to-world
    if transformations_path.is_file():
        tf, scale = read_transformations(transformations_path)
        ecef_q, ecef_t = P.compose(*P.compose(*tf["transform_e_gpsw"], *P.invert(*tf["transform_w_gpsw"])),
                                   *tf["transform_S_AS"])
        q, t = P.compose(ecef_q, ecef_t, q, t * scale)
    q, t = P.invert(q, t)
    return Trajectories(np.array(stamps, np.int64), np.full(len(stamps), RIG_ID, object), q, t)


def keyframe_depth(path: Path) -> np.ndarray:
    """Depth map (H, W) float32 of one keyframe file: -1 where undefined."""
    lines = path.read_text().splitlines()

    def after(tag: str) -> int:
        for i, line in enumerate(lines):
            if line.startswith(tag):
                return i + 1
        raise DatasetImportError(f"{path}: '{tag}' not found")

    fx, fy, cx, cy, width, height, *_ = (float(v) for v in lines[after("# fx, fy, cx, cy, width, height")].split(","))
    depth = np.full((int(height), int(width)), -1.0, np.float32)
    start = after("# color information")
    for line in lines[start::2]:  # u, v, inverse depth, ... then a colour line
        if not line.strip():
            break
        u, v, d = (np.float32(float(x)) for x in line.split(",")[:3])
        depth[int(v), int(u)] = 1.0 / d if not math.isclose(d, 0.0) else 0.0
    return depth


def import_4seasons(recording: str | Path, output: str | Path, options: FourSeasonsOptions | None = None) -> Kapture:
    o = options or FourSeasonsOptions()
    root = require_dir(recording, "4Seasons recording folder").resolve()
    calibration = require_dir(Path(o.calibration) if o.calibration else root.parent / "calibration",
                              "4Seasons calibration folder")
    sensors, rigs = read_cameras(calibration)
    shots = read_times(root / "times.txt")
    out = prepare_output(output, o.force, inputs=[recording])

    images = RecordsBuilder("camera")
    for cam_id in ("cam0", "cam1"):
        for shot_id, stamp in shots.items():
            name = f"undistorted_images/{cam_id}/{shot_id}.png"
            if (root / name).is_file():
                images.add(stamp, cam_id, name)
            else:
                logger.warning("image file is missing (and ignored): %s", name)
    records = {"camera": images.build()}
    transfer_records_data(root, out, records["camera"].paths, o.transfer, progress=o.progress)
    k = Kapture(sensors=sensors, rigs=rigs, records=records)
    if (root / "GNSSPoses.txt").is_file():
        k.trajectories = read_trajectories(root / "GNSSPoses.txt", root / "Transformations.txt")
    keyframes = root / "KeyFrameData"
    if keyframes.is_dir():
        cam0 = sensors[MASTER_CAM_ID]
        sensors[DEPTH_ID] = Camera(cam0.model, cam0.width, cam0.height, cam0.params, DEPTH_ID, "depth")
        depths = RecordsBuilder("depth")
        files = sorted(p for p in keyframes.glob("*.txt") if KEYFRAME_RE.match(p.name))
        for path in tqdm(files, desc="depth maps", unit="map", disable=not o.progress or not files, leave=False):
            shot_id = KEYFRAME_RE.match(path.name).group("shot_id")
            if shot_id not in shots:
                raise DatasetImportError(f"{path}: frame {shot_id} is not in times.txt")
            name = f"undistorted_images/depth/{shot_id}.depth"
            depths.add(shots[shot_id], DEPTH_ID, name)
            if not records_data_path(out, name).is_file():  # resume: converted already
                write_depth_map(records_data_path(out, name), keyframe_depth(path))
        k.records["depth"] = depths.build()
    if (root / "imu.txt").is_file():
        sensors[ACCELEROMETER_ID] = Sensor("accelerometer", (), ACCELEROMETER_ID)
        sensors[GYROSCOPE_ID] = Sensor("gyroscope", (), GYROSCOPE_ID)
        accel, gyro = RecordsBuilder("accelerometer"), RecordsBuilder("gyroscope")
        for number, line in enumerate((root / "imu.txt").read_text().splitlines(), 1):
            words = line.split()
            if not words:
                continue
            try:
                shot = int(words[0]) if words[0].isdigit() else int(float(words[0]))
                values = [float(v) for v in words[1:7]]
            except ValueError:
                raise DatasetImportError(f"{root / 'imu.txt'}, line {number}: not a number") from None
            stamp = shots.get(f"{shot:19d}", int(float(shot) * 1e-9 * 1e6))
            accel.add(stamp, ACCELEROMETER_ID, *values[3:6])
            gyro.add(stamp, GYROSCOPE_ID, *values[0:3])
        k.records["accelerometer"], k.records["gyroscope"] = accel.build(True), gyro.build(True)
        rigs[RIG_ID].update({ACCELEROMETER_ID: Pose.identity(), GYROSCOPE_ID: Pose.identity()})
    if (root / "septentrio.nmea").is_file():
        gnss_sensors, gnss = gnss_from_nmea(root / "septentrio.nmea", GNSS_ID)
        sensors.update(gnss_sensors)
        k.records["gnss"] = gnss.build(True)
        rigs[RIG_ID][GNSS_ID] = Pose.identity()
    save_kapture(k, out)
    return k
