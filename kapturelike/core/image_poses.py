"""The pose of each image: from its camera's trajectory entry, or through its rig.

kapture stores a pose either for the camera itself, or for a rig at that timestamp; the camera's
pose is then cam_from_world = cam_from_rig * rig_from_world (the rig file holds cam_from_rig).
"""

from __future__ import annotations

import numpy as np

from kapturelike.core.pose import compose
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.trajectories import Pose, Trajectories


def rig_of_sensor(rigs: dict[str, dict[str, Pose]] | None) -> dict[str, tuple[str, Pose]]:
    """sensor id -> (rig id, cam_from_rig)."""
    return {sensor: (rig_id, pose) for rig_id, rig in (rigs or {}).items() for sensor, pose in rig.items()}


def image_poses(kapture: Kapture, trajectories: Trajectories | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """image name -> world-to-camera (q, t), for every camera record with a full pose."""
    traj = trajectories if trajectories is not None else kapture.trajectories
    records = kapture.records_camera
    if traj is None or records is None:
        return {}
    sensor_rig = rig_of_sensor(kapture.rigs)
    poses: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for (ts, cam), name in zip(records.keys(), records.paths):
        pose = traj.get((ts, cam))
        if pose is None and cam in sensor_rig:
            rig_id, cam_from_rig = sensor_rig[cam]
            rig_pose = traj.get((ts, rig_id))
            if rig_pose is not None and rig_pose.q is not None and rig_pose.t is not None:
                pose = Pose(*compose(cam_from_rig.q, cam_from_rig.t, rig_pose.q, rig_pose.t))
        if pose is not None and pose.q is not None and pose.t is not None:
            poses[name] = (pose.q, pose.t)
    return poses


def camera_trajectories(kapture: Kapture, trajectories: Trajectories | None = None) -> Trajectories:
    """The trajectories with rig poses replaced by each camera's pose (kapture's rigs removal)."""
    keys = kapture.image_keys()
    poses = image_poses(kapture, trajectories)
    return Trajectories.from_items(((keys[name][0], keys[name][1]), Pose(q, t)) for name, (q, t) in poses.items())
