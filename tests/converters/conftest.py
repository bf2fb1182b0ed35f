"""A tiny synthetic kapture dataset (cameras, poses, keypoints, descriptors, matches, points, observations)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kapturelike.converters.features_io import add_feature_arrays, add_matches
from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture, Observations
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Trajectories
from kapturelike.io.dataset import save_kapture

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"


def make_dataset(root: Path, cameras: dict[str, Camera] | None = None, n_images: int = 4, n_points: int = 30,
                 seed: int = 0) -> tuple[Kapture, dict[str, np.ndarray]]:
    """Cameras on a circle looking at a point cloud; keypoints are the projections (pinhole part)."""
    rng = np.random.default_rng(seed)
    cameras = cameras or {"cam_00001": Camera("PINHOLE", 640, 480, (500.0, 510.0, 320.5, 240.25)),
                          "cam_00002": Camera("SIMPLE_RADIAL", 320, 240, (300.0, 160.0, 120.0, 0.01))}
    cam_ids = list(cameras)
    xyz = rng.uniform(-1, 1, (n_points, 3)) + [0, 0, 5]
    rgb = rng.integers(0, 256, (n_points, 3)).astype(np.float64)
    angles = np.linspace(-0.3, 0.3, n_images)
    q = P.quat_from_axis_angle(np.stack([np.zeros(n_images), angles, np.zeros(n_images)], 1))
    centers = np.stack([np.sin(angles) * -1.0, rng.uniform(-0.1, 0.1, n_images), np.zeros(n_images)], 1)
    t = P.poses_from_centers(q, centers)
    stamps = np.arange(1, n_images + 1, dtype=np.int64)
    devices = np.array([cam_ids[i % len(cam_ids)] for i in range(n_images)], dtype=object)
    names = [f"map/{d}/{i:04d}.jpg" for i, d in zip(stamps, devices)]
    keypoints, obs = {}, []
    for i, name in enumerate(names):
        cam = cameras[devices[i]]
        pc = P.apply(q[i], t[i], xyz)
        uv = pc[:, :2] / pc[:, 2:] * cam.focal + cam.principal_point
        extra = rng.uniform(0, [cam.width, cam.height], (5, 2))  # keypoints without a 3D point
        order = rng.permutation(n_points)
        keypoints[name] = np.concatenate([uv[order], extra]).astype(np.float32)
        seen = order[: n_points - i]  # each image sees a different subset
        obs += [(int(p), "sift", name, int(np.flatnonzero(order == p)[0])) for p in seen]
    kapture = Kapture(sensors=dict(cameras), trajectories=Trajectories(stamps, devices, q, t),
                      records={"camera": Records("camera", stamps, devices, [(n,) for n in names])},
                      points3d=np.concatenate([xyz, rgb], 1), observations=Observations.from_lists(obs))
    add_feature_arrays(root, kapture, "keypoints", "sift", keypoints.items())
    add_feature_arrays(root, kapture, "descriptors", "sift",
                       ((n, rng.integers(0, 256, (len(k), 128)).astype(np.uint8)) for n, k in keypoints.items()),
                       keypoints_type="sift")
    m = np.stack([np.arange(10), np.arange(10)[::-1]], 1)
    add_matches(root, kapture, "sift", [(names[i], names[1], m) for i in (0, 2) if i < len(names) > 1])
    save_kapture(kapture, root)
    return kapture, keypoints


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "kapture"
    kapture, keypoints = make_dataset(root)
    return root, kapture, keypoints
