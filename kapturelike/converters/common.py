"""What every exporter needs from a kapture dataset: each image's camera and world-to-camera pose.

An image's pose is its camera's trajectory entry, or, when the trajectory holds the pose of a rig the
camera belongs to, T_cam_from_world = T_cam_from_rig * T_rig_from_world (docs/CONVENTIONS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kapturelike.core import pose as P
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
    keys = rc.keys()
    n = len(keys)
    q = np.full((n, 4), np.nan)
    t = np.full((n, 3), np.nan)
    traj = kapture.trajectories
    if traj is not None and len(traj):
        index = traj.index
        rows = np.array([index.get(k, -1) for k in keys], dtype=np.int64)
        ok = rows >= 0
        q[ok], t[ok] = traj.rotations[rows[ok]], traj.translations[rows[ok]]
        for rig_id, rig in (kapture.rigs or {}).items():
            for sensor_id, sensor_from_rig in rig.items():
                sel = np.array([(not ok[i]) and keys[i][1] == sensor_id and (keys[i][0], rig_id) in index
                                for i in range(n)], dtype=bool)
                if not sel.any() or sensor_from_rig.q is None or sensor_from_rig.t is None:
                    continue
                r = np.array([index[(keys[i][0], rig_id)] for i in np.flatnonzero(sel)], dtype=np.int64)
                q[sel], t[sel] = P.compose(sensor_from_rig.q, sensor_from_rig.t,
                                           traj.rotations[r], traj.translations[r])
    return ImageTable(rc.paths, rc.timestamps.copy(), [str(d) for d in rc.device_ids.tolist()], q, t)


def cameras_required(kapture: Kapture, camera_ids: list[str]) -> dict[str, Camera]:
    """The Camera of each id, or a ConversionError naming the record that has no camera sensor."""
    cams = kapture.cameras()
    missing = sorted(set(camera_ids) - set(cams))
    if missing:
        raise ConversionError(f"images recorded by {', '.join(missing)}, which are not cameras in sensors.txt")
    return {c: cams[c] for c in dict.fromkeys(camera_ids)}
