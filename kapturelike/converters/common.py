"""What every exporter needs from a kapture dataset: each image's camera and world-to-camera pose.

An image's pose is its camera's trajectory entry, or, when the trajectory holds the pose of a rig the
camera belongs to, T_cam_from_world = T_cam_from_rig * T_rig_from_world (docs/CONVENTIONS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kapturelike.core.image_poses import image_pose_table
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.sensors import Camera
from kapturelike.errors import KapturelikeError


class ConversionError(KapturelikeError, ValueError):
    """The target format cannot hold some of the data (names the camera / image and why)."""


@dataclass
class ImageTable:
    """Images of a dataset as columns, in (timestamp, camera id) order. q/t are NaN where no pose is known."""

    names: list[str]
    timestamps: np.ndarray  # (N,) int64
    camera_ids: list[str]
    q: np.ndarray  # (N, 4)
    t: np.ndarray  # (N, 3)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def has_pose(self) -> np.ndarray:
        return ~(np.isnan(self.q).any(1) | np.isnan(self.t).any(1))


def image_table(kapture: Kapture) -> ImageTable:
    """Every camera image with its pose (direct, or through its rig), vectorised over images."""
    rc = kapture.records_camera
    if rc is None or len(rc) == 0:
        return ImageTable([], np.zeros(0, np.int64), [], np.zeros((0, 4)), np.zeros((0, 3)))
    rc = rc.sorted()
    n = len(rc)
    q = np.full((n, 4), np.nan)
    t = np.full((n, 3), np.nan)
    names, _, _, posed_q, posed_t = image_pose_table(kapture)
    row_of = {name: i for i, name in enumerate(rc.paths)}
    rows = np.array([row_of[name] for name in names], dtype=np.int64)
    q[rows], t[rows] = posed_q, posed_t
    return ImageTable(rc.paths, rc.timestamps.copy(), [str(d) for d in rc.device_ids.tolist()], q, t)


def cameras_required(kapture: Kapture, camera_ids: list[str]) -> dict[str, Camera]:
    """The Camera of each id, or a ConversionError naming the record that has no camera sensor."""
    cams = kapture.cameras()
    missing = sorted(set(camera_ids) - set(cams))
    if missing:
        raise ConversionError(f"images recorded by {', '.join(missing)}, which are not cameras in sensors.txt")
    return {c: cams[c] for c in dict.fromkeys(camera_ids)}
