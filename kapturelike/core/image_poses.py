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


def image_pose_table(kapture: Kapture) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(names, timestamps, sensor ids, q (N, 4), t (N, 3)) of the camera records of a ``Kapture``.

    Poses are world-to-camera; an image whose sensor belongs to a rig gets
    T_cam_from_world = T_cam_from_rig * T_rig_from_world. Images without a full pose are left out.
    """
    records, traj = kapture.records_camera, kapture.trajectories
    empty = ([], np.zeros(0, np.int64), np.zeros(0, object), np.zeros((0, 4)), np.zeros((0, 3)))
    if records is None or traj is None or len(records) == 0:
        return empty
    sensor_rig = rig_of_sensor(kapture.rigs)
    index = traj.index
    rows, rig_q, rig_t, keep, through_rig = [], [], [], [], []
    identity_q, zero_t = np.array([1.0, 0, 0, 0]), np.zeros(3)
    for i, (ts, sensor) in enumerate(zip(records.timestamps.tolist(), records.device_ids.tolist())):
        row = index.get((ts, sensor))
        q, t = identity_q, zero_t
        through_rig.append(row is None)
        if row is None and sensor in sensor_rig:
            rig, cam_from_rig = sensor_rig[sensor]
            row = index.get((ts, rig))
            if cam_from_rig.q is None or cam_from_rig.t is None:
                row = None
            else:
                q, t = cam_from_rig.q, cam_from_rig.t
        if row is not None:
            rows.append(row)
            rig_q.append(q)
            rig_t.append(t)
            keep.append(i)
    if not rows:
        return empty
    rows = np.asarray(rows)
    q_w, t_w = traj.rotations[rows], traj.translations[rows]
    full = np.isfinite(q_w).all(axis=1) & np.isfinite(t_w).all(axis=1)
    keep = np.asarray(keep)[full]
    q, t = q_w[full].copy(), t_w[full].copy()
    # a camera's own pose is returned as stored, bit for bit; only rig images are composed
    composed = np.asarray(through_rig, dtype=bool)[keep]
    if composed.any():
        q[composed], t[composed] = compose(np.asarray(rig_q)[full][composed], np.asarray(rig_t)[full][composed],
                                           q_w[full][composed], t_w[full][composed])
    paths = records.paths
    names = [paths[i] for i in keep.tolist()]
    return names, records.timestamps[keep], records.device_ids[keep], q, t


def image_poses(kapture: Kapture, trajectories: Trajectories | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """image name -> world-to-camera (q, t), for every camera record with a full pose."""
    if trajectories is not None:
        kapture = Kapture(sensors=kapture.sensors, rigs=kapture.rigs, trajectories=trajectories,
                          records=kapture.records)
    names, _, _, q, t = image_pose_table(kapture)
    return {name: (q[i], t[i]) for i, name in enumerate(names)}


def camera_trajectories(kapture: Kapture, trajectories: Trajectories | None = None) -> Trajectories:
    """The trajectories with rig poses replaced by each camera's pose (kapture's rigs removal)."""
    keys = kapture.image_keys()
    poses = image_poses(kapture, trajectories)
    return Trajectories.from_items(((keys[name][0], keys[name][1]), Pose(q, t)) for name, (q, t) in poses.items())
