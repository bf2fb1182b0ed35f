"""RobotCar Seasons (v1, v2) -> one kapture per location (kapture's ``kapture_import_RobotCar_Seasons``).

Raw layout: ``intrinsics/{left,rear,right}_intrinsics.txt`` (``fx: v``, ``fy: v``, ``cx: v``, ``cy: v``),
``extrinsics/{cam}_extrinsics.txt`` (4x4 comma-separated, the camera's pose in the car frame),
``3D-models/individual/colmap_reconstructions/<loc>_<name>/`` (one COLMAP model per location, image
names ``<condition>/<camera>/<timestamp>.png``), ``3D-models/individual/queries_per_location/*_<loc>.txt``
(query image names), ``robotcar_v2_train.txt`` (v2: query images given as training, name and a
camera-to-world matrix row-major) and ``images/<condition>/<camera>/<timestamp>.jpg``.

Output: ``<out>/<loc:02>/mapping`` and ``<out>/<loc:02>/query``; with ``import_feature_db`` also
``<out>/mapping`` from ``3D-models/overcast-reference.db``.

Conventions:
- Sensors ``left``, ``rear``, ``right`` (COLMAP cameras 1, 2, 3): PINHOLE 1024x1024 from the
  intrinsics files (or the model's SIMPLE_RADIAL with ``use_colmap_intrinsics``).
- Rig ``car``: sensor-from-car = inverse of the extrinsics file's matrix.
- Mapping poses are the COLMAP world-to-camera poses; timestamps are the images' (from their names);
  image names end in ``.jpg`` (the models say ``.png``); keypoints type ``SIFT``.
- v2 training images take their pose from ``robotcar_v2_train.txt`` (inverted) and move from the
  query to the mapping kapture with their left and right images.
- ``rig_collapse`` replaces camera poses by the car's, computed from the rear camera only.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kapturelike.converters.colmap import model_to_kapture, read_colmap_model
from kapturelike.converters.features_io import add_feature_arrays
from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture, Observations
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.importers.common import (
    DatasetImportError,
    TransferAction,
    collapse_to_rig,
    prepare_output,
    require_dir,
    require_file,
    transfer_records_data,
    world_to_camera_from_camera_to_world,
)
from kapturelike.io.dataset import save_kapture

logger = logging.getLogger("kapturelike.importers.RobotCar_Seasons")

KEYPOINTS_TYPE = "SIFT"
RIG_ID = "car"
CAMERA_OF_COLMAP = {"cam_00001": "left", "cam_00002": "rear", "cam_00003": "right"}
IMAGE_RE = re.compile(r"(?P<condition>.+)/(?P<camera>\w+)/(?P<timestamp>\d+)\.jpg")
MODEL_IMAGE_RE = re.compile(r".*/(?P<timestamp>\d+)\.png")


@dataclass
class RobotCarOptions:
    transfer: TransferAction = TransferAction.root_link
    import_feature_db: bool = False  # also convert 3D-models/overcast-reference.db to <out>/mapping
    skip_reconstruction: bool = False  # no keypoints, points3d, observations
    rig_collapse: bool = False
    use_colmap_intrinsics: bool = False
    v1: bool = False  # RobotCar Seasons v1: no robotcar_v2_train.txt
    force: bool = False
    progress: bool = True


def read_intrinsics(folder: Path) -> dict[str, Camera]:
    cameras = {}
    for path in sorted(require_dir(folder, "intrinsics folder").iterdir()):
        values = {}
        for number, line in enumerate(path.read_text().splitlines()[:4], 1):
            words = line.split()
            try:
                values[words[0].rstrip(":")] = float(words[1])
            except (IndexError, ValueError):
                raise DatasetImportError(f"{path}, line {number}: expected 'name: value'") from None
        try:
            params = tuple(values[k] for k in ("fx", "fy", "cx", "cy"))
        except KeyError as e:
            raise DatasetImportError(f"{path}: field {e} is missing") from None
        cameras[path.name.split("_")[0]] = Camera("PINHOLE", 1024, 1024, params)
    return cameras


def read_extrinsics(folder: Path) -> dict[str, dict[str, Pose]]:
    rig = {}
    for path in sorted(require_dir(folder, "extrinsics folder").iterdir()):
        try:
            M = np.array([[float(v) for v in line.split(",")] for line in path.read_text().splitlines()
                          if line.strip()])
            q, t = P.invert(*P.from_matrix(M[:4, :4]))
        except ValueError as e:
            raise DatasetImportError(f"{path}: not a comma-separated 4x4 matrix ({e})") from None
        rig[path.name.split("_")[0]] = Pose(q, t)
    return {RIG_ID: rig}


def read_queries(folder: Path) -> dict[int, list[tuple[int, str, str]]]:
    """Location -> (timestamp, camera, image name) of its query images."""
    queries = {}
    for path in sorted(require_dir(folder, "queries_per_location folder").iterdir()):
        rows = []
        for number, line in enumerate(path.read_text().splitlines(), 1):
            m = IMAGE_RE.match(line)
            if not m:
                if line.strip():
                    logger.warning("%s, line %d: not a <condition>/<camera>/<timestamp>.jpg name", path, number)
                continue
            rows.append((int(m.group("timestamp")), m.group("camera"), line.strip()))
        queries[int(path.name.split(".")[0].split("_")[-1])] = rows
    return queries


def read_v2_train(path: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Image name (.jpg) -> world-to-camera (q, t) of robotcar_v2_train.txt (camera-to-world rows)."""
    names, matrices = [], []
    for number, line in enumerate(require_file(path, "v2 training file").read_text().splitlines(), 1):
        words = line.split()
        if not words:
            continue
        try:
            matrices.append(np.array(words[1:13], float).reshape(3, 4))
        except ValueError:
            raise DatasetImportError(f"{path}, line {number}: expected a name and 12 numbers") from None
        names.append(words[0].replace(".png", ".jpg"))
    if not names:
        return {}
    q, t = world_to_camera_from_camera_to_world(np.stack(matrices))
    return {n: (q[i], t[i]) for i, n in enumerate(names)}


def location_mapping(model_dir: Path, skip_reconstruction: bool) -> tuple[Kapture, dict[str, np.ndarray]]:
    """The mapping kapture of one location's COLMAP model: cameras renamed, timestamps and .jpg names
    from the image names, keypoints (unless skipped) keyed by the new names."""
    k, keypoints = model_to_kapture(read_colmap_model(model_dir))
    records = k.records["camera"]
    stamps, devices, names, stamp_of = [], [], [], {}
    for (ts, device), name in zip(records.keys(), records.paths):
        m = MODEL_IMAGE_RE.match(name)
        if not m or device not in CAMERA_OF_COLMAP:
            continue
        stamp_of[(ts, device)] = int(m.group("timestamp"))
        stamps.append(int(m.group("timestamp")))
        devices.append(CAMERA_OF_COLMAP[device])
        names.append(name.replace(".png", ".jpg"))
    traj = k.trajectories
    keep = np.array([(ts, d) in stamp_of for ts, d in traj.keys()], dtype=bool)
    traj = traj.select(keep)
    k.trajectories = Trajectories(np.array([stamp_of[key] for key in traj.keys()], np.int64),
                                  np.array([CAMERA_OF_COLMAP[d] for d in traj.device_ids], object),
                                  traj.rotations, traj.translations)
    k.records = {"camera": Records("camera", stamps, devices, columns=[names])}
    k.sensors = {CAMERA_OF_COLMAP[s]: c for s, c in k.sensors.items() if s in CAMERA_OF_COLMAP}
    k.rigs = None
    if skip_reconstruction:
        k.points3d, k.observations = None, None
        return k, {}
    obs = k.observations
    k.observations = Observations(obs.point_ids, np.full(len(obs), KEYPOINTS_TYPE, dtype=object),
                                  np.array([n.replace(".png", ".jpg") for n in obs.image_names], dtype=object),
                                  obs.feature_ids)
    return k, {n.replace(".png", ".jpg"): kp for n, kp in keypoints.items()}


def import_robotcar_seasons(input_dir: str | Path, output: str | Path,
                            options: RobotCarOptions | None = None) -> dict[str, Kapture]:
    """Write every location's mapping and query kapture; returns them by relative folder."""
    o = options or RobotCarOptions()
    root = require_dir(input_dir, "RobotCar Seasons folder")
    cameras = read_intrinsics(root / "intrinsics")
    rigs = read_extrinsics(root / "extrinsics")
    individual = root / "3D-models" / "individual"
    queries = read_queries(individual / "queries_per_location")
    models = {int(d.name.split("_")[0]): d for d in sorted(require_dir(individual / "colmap_reconstructions",
                                                                       "colmap_reconstructions folder").iterdir())
              if d.is_dir()}
    train = {} if o.v1 else read_v2_train(root / "robotcar_v2_train.txt")
    query_of = {name: (loc, ts, cam) for loc, rows in queries.items() for ts, cam, name in rows}
    moved: dict[int, list[tuple[int, str, str]]] = defaultdict(list)  # v2: query images given as training
    for name in train:
        if name not in query_of:
            raise DatasetImportError(f"{root / 'robotcar_v2_train.txt'}: image '{name}' is in no query list")
        loc, ts, cam = query_of[name]
        moved[loc].append((ts, cam, name))
    images = root / "images"
    written: dict[str, Kapture] = {}
    for loc, rows in sorted(queries.items()):
        gone = {(ts, c) for ts, _, _ in moved.get(loc, []) for c in ("rear", "left", "right")}
        rows = [r for r in rows if (r[0], r[1]) not in gone]
        out = prepare_output(Path(output) / f"{loc:02d}" / "query", o.force, inputs=[input_dir])
        if not rows:
            continue
        k = Kapture(sensors=dict(cameras), rigs=rigs,
                    records={"camera": Records.camera(((ts, cam), name) for ts, cam, name in rows)})
        transfer_records_data(images, out, k.records["camera"].paths, o.transfer, progress=o.progress)
        save_kapture(k, out)
        written[f"{loc:02d}/query"] = k
    for loc, model_dir in sorted(models.items()):
        out = prepare_output(Path(output) / f"{loc:02d}" / "mapping", o.force, inputs=[input_dir])
        k, keypoints = location_mapping(model_dir, o.skip_reconstruction)
        if not o.use_colmap_intrinsics:
            k.sensors = dict(cameras)
        k.rigs = rigs
        extra = moved.get(loc, [])
        if extra:
            rec = k.records["camera"]
            items = list(zip(rec.keys(), rec.paths))
            for ts, cam, name in extra:
                condition, _, rest = name.partition("/")
                stem = rest.split("/", 1)[1]
                items += [((ts, cam), name), ((ts, "left"), f"{condition}/left/{stem}"),
                          ((ts, "right"), f"{condition}/right/{stem}")]
            k.records["camera"] = Records.camera(items)
            q = np.stack([train[name][0] for _, _, name in extra])
            t = np.stack([train[name][1] for _, _, name in extra])
            k.trajectories = k.trajectories.concat(Trajectories(np.array([e[0] for e in extra], np.int64),
                                                                np.array([e[1] for e in extra], object), q, t))
        if o.rig_collapse:
            k.trajectories = collapse_to_rig(k.trajectories, rigs, ["rear"])
        if keypoints:
            add_feature_arrays(out, k, "keypoints", KEYPOINTS_TYPE, iter(sorted(keypoints.items())))
        transfer_records_data(images, out, k.records["camera"].paths, o.transfer, progress=o.progress)
        save_kapture(k, out)
        written[f"{loc:02d}/mapping"] = k
    if o.import_feature_db:
        database = root / "3D-models" / "overcast-reference.db"
        if database.is_file():
            from kapturelike.converters.colmap import import_colmap
            out = prepare_output(Path(output) / "mapping", o.force, inputs=[input_dir])
            written["mapping"] = import_colmap(out, None, database, KEYPOINTS_TYPE, KEYPOINTS_TYPE)
        else:
            logger.warning("%s: COLMAP feature database is missing, not imported", database)
    return written
