"""A 3D model from depth maps and keypoints (kapture-localization's kapture_create_3D_model_from_depth).

For each posed image with a depth map (sensor ``<camera>_depth`` unless one depth sensor is named),
each of its first ``topk`` keypoints that falls on a non-zero depth becomes a 3D point: the keypoint,
undistorted through the camera model, is lifted along its ray to that depth and mapped to world
coordinates with the image's pose; its colour is the image's at the keypoint. Points are merged in
a voxel grid as kapture-localization merges them: a point whose cell (at every level of
``cellsizes``, coarse to fine) is already taken becomes one more observation of the point there
(once per image), otherwise a new point. Images are taken in timestamp order.

The output kapture holds the input's text files with rig poses replaced by camera poses, the
keypoint types, ``points3d.txt`` and ``observations.txt`` (no images, no feature files, as kapture
writes it). Differences: the 3D point is lifted from the sub-pixel undistorted keypoint (kapture
rounds it to a pixel first), and the depth is looked up at the rounded keypoint, as kapture does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from kapturelike.core import pose as P
from kapturelike.core.image_poses import camera_trajectories, image_poses
from kapturelike.core.reconstruction import Kapture, Observations
from kapturelike.core.sensors import Camera
from kapturelike.dataset_tools.output import DatasetToolError, prepare_output
from kapturelike.geometry.colmap_model import to_pycolmap_camera
from kapturelike.importers.common import read_depth_map
from kapturelike.io.dataset import load_kapture, records_data_path, save_kapture
from kapturelike.io.features import KaptureFeatureStore

logger = logging.getLogger("kapturelike")


@dataclass(frozen=True)
class DepthModelOptions:
    keypoints_type: str | None = None  # None: the dataset's only keypoints type
    depth_sensor_id: str | None = None  # None: '<camera id>_depth' for each camera
    topk: int = 20000  # keypoints used per image (the first ones in the file)
    cellsizes: tuple[float, ...] = (10.0, 1.0, 0.01)  # voxel grid levels, coarse to fine


class VoxelGrid:
    """Cells taken so far: cell key -> (point id, images observing it)."""

    def __init__(self, cellsizes: tuple[float, ...]):
        if not cellsizes or any(not s > 0 for s in cellsizes):
            raise DatasetToolError(f"--cellsizes must be positive numbers, got {list(cellsizes)}")
        self.cellsizes = np.asarray(cellsizes, dtype=np.float64)
        self.cells: dict[tuple, tuple[int, set[str]]] = {}

    def keys(self, points: np.ndarray) -> np.ndarray:
        """(N, 3 * levels) integer cell coordinates of every level."""
        return np.floor(points[:, None, :] / self.cellsizes[None, :, None]).astype(np.int64).reshape(len(points), -1)


def lift_keypoints(keypoints: np.ndarray, depth: np.ndarray, camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the keypoints on a non-zero depth, their 3D points in the camera frame)."""
    height, width = depth.shape
    u, v = np.round(keypoints[:, 0]).astype(np.int64), np.round(keypoints[:, 1]).astype(np.int64)
    inside = (u >= 0) & (u < width) & (v >= 0) & (v < height)
    index = np.flatnonzero(inside)
    d = depth[v[index], u[index]].astype(np.float64)
    keep = (d != 0) & np.isfinite(d)
    index, d = index[keep], d[keep]
    if camera.has_distortion:
        rays = np.asarray(to_pycolmap_camera(camera, 1).cam_from_img(keypoints[index, :2].astype(np.float64)))
    else:
        (fx, fy), (cx, cy) = camera.focal, camera.principal_point
        rays = (keypoints[index, :2] - [cx, cy]) / [fx, fy]
    return index, np.c_[rays * d[:, None], d]


def create_3d_model_from_depth(root: str | Path, out: str | Path, options: DepthModelOptions = DepthModelOptions(),
                               force: bool = False) -> tuple[int, int]:
    """Write the model of the kapture at ``root`` to ``out``; returns (3D points, observations)."""
    root = Path(root)
    k = load_kapture(root)
    keypoints_type = options.keypoints_type
    if keypoints_type is None:
        if len(k.keypoints) != 1:
            raise DatasetToolError(f"{root}: {len(k.keypoints)} keypoints types ({', '.join(k.keypoints) or 'none'});"
                                   " give --keypoints-type")
        keypoints_type = next(iter(k.keypoints))
    if keypoints_type not in k.keypoints:
        raise DatasetToolError(f"{root}: no keypoints of type '{keypoints_type}'")
    if options.topk < 0:
        raise DatasetToolError(f"--topk must be >= 0, got {options.topk}")
    out = prepare_output(out, force)
    records, depth_records = k.records_camera, k.records.get("depth")
    if records is None or not len(records):
        raise DatasetToolError(f"{root}: no camera records")
    depth_of = {} if depth_records is None else dict(zip(depth_records.keys(), depth_records.paths))
    poses = image_poses(k)
    store = KaptureFeatureStore(root, k.version)
    grid = VoxelGrid(tuple(options.cellsizes))
    points: list[np.ndarray] = []
    obs_points: list[np.ndarray] = []
    obs_images: list[str] = []
    obs_features: list[np.ndarray] = []
    num_points = 0
    order = np.lexsort((np.arange(len(records)), records.timestamps))
    keys, names = records.keys(), records.paths
    for i in tqdm(order.tolist(), desc="depth", disable=not logger.isEnabledFor(logging.INFO)):
        (timestamp, cam_id), name = keys[i], names[i]
        depth_id = options.depth_sensor_id or f"{cam_id}_depth"
        depth_name = depth_of.get((timestamp, depth_id))
        if name not in poses or depth_name is None:
            logger.info(f"{name}: {'no pose' if name not in poses else 'no depth map'}, skipped")
            continue
        camera, depth_sensor = k.sensors[cam_id], k.sensors.get(depth_id)
        if not isinstance(depth_sensor, Camera) or (depth_sensor.width, depth_sensor.height) != \
                (camera.width, camera.height):
            raise DatasetToolError(f"depth sensor '{depth_id}' must have the size of camera '{cam_id}' "
                                   f"({camera.width} x {camera.height}) in sensors.txt")
        path = records_data_path(root, depth_name)
        try:
            depth = read_depth_map(path, camera.width, camera.height)
        except (OSError, ValueError) as e:
            raise DatasetToolError(f"{path}: not a {camera.width} x {camera.height} float32 depth map ({e})") from e
        keypoints = store.read("keypoints", keypoints_type, name)[:options.topk]
        index, in_camera = lift_keypoints(keypoints, depth, camera)
        if not len(index):
            continue
        q, t = poses[name]
        world = P.apply(*P.invert(q, t), in_camera)
        finite = np.isfinite(world).all(axis=1)
        index, world = index[finite], world[finite]
        image = cv2.imread(str(records_data_path(root, name)), cv2.IMREAD_COLOR)
        if image is None:
            raise DatasetToolError(f"{records_data_path(root, name)}: cannot read the image")
        u, v = np.round(keypoints[index, 0]).astype(np.int64), np.round(keypoints[index, 1]).astype(np.int64)
        rgb = image[v, u, ::-1].astype(np.float64)
        cell_keys = grid.keys(world)
        # the first keypoint of each cell in this image stands for it (in keypoint order)
        _, first = np.unique(cell_keys, axis=0, return_index=True)
        first.sort()
        new_rows, obs_rows, obs_ids = [], [], []
        for row in first.tolist():
            key = tuple(cell_keys[row].tolist())
            cell = grid.cells.get(key)
            if cell is None:
                grid.cells[key] = (num_points, {name})
                new_rows.append(row)
                obs_rows.append(row)
                obs_ids.append(num_points)
                num_points += 1
            elif name not in cell[1]:
                cell[1].add(name)
                obs_rows.append(row)
                obs_ids.append(cell[0])
        if new_rows:
            points.append(np.c_[world[new_rows], rgb[new_rows]])
        obs_points.append(np.asarray(obs_ids, dtype=np.int64))
        obs_features.append(index[obs_rows])
        obs_images += [name] * len(obs_rows)
    points3d = np.concatenate(points) if points else np.zeros((0, 6))
    ids = np.concatenate(obs_points) if obs_points else np.zeros(0, np.int64)
    observations = Observations(ids, np.full(len(ids), keypoints_type, dtype=object),
                                np.asarray(obs_images, dtype=object),
                                np.concatenate(obs_features) if obs_features else np.zeros(0, np.int64))
    observations = observations.select(np.argsort(ids, kind="stable"))  # kapture's order: by point, then as added
    model = Kapture(sensors=k.sensors, rigs=k.rigs, trajectories=camera_trajectories(k), records=k.records,
                    keypoints=k.keypoints, descriptors=k.descriptors, global_features=k.global_features,
                    points3d=points3d, observations=observations)
    save_kapture(model, out)
    logger.info(f"{len(points3d)} 3D points, {len(ids)} observations -> {out}")
    return len(points3d), len(ids)
