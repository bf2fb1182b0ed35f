"""Generalized absolute pose: all cameras of a rig at one timestamp localized jointly (pycolmap GP3P).

One rig pose explains every camera's correspondences, so a camera with too few matches of its own
still gets a pose from its siblings' matches through the rig calibration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pycolmap

from kapturelike.core.pose import compose
from kapturelike.geometry.absolute_pose import (
    LocalizationOptions,
    accept,
    check_correspondences,
    from_pycolmap_camera,
    pycolmap_camera,
)
from kapturelike.geometry.colmap_model import pose_to_rigid3d, rigid3d_to_pose


@dataclass
class RigLocalizationResult:
    """Rig pose (rig_from_world) and each camera's cam_from_world = cam_from_rig * rig_from_world.

    On failure q, t, cam_q and cam_t are None. Inlier masks are per camera, in the input order.
    """

    success: bool
    q: np.ndarray | None
    t: np.ndarray | None
    cam_q: np.ndarray | None
    cam_t: np.ndarray | None
    num_inliers: int
    num_correspondences: int
    inlier_masks: list[np.ndarray]
    cameras: list[Any]
    failure_reason: str = ""


def localize_rig(per_camera_points2d: Sequence[np.ndarray], per_camera_points3d: Sequence[np.ndarray],
                 cameras: Sequence[Any], cams_from_rig: Sequence[tuple[np.ndarray, np.ndarray]],
                 options: LocalizationOptions | None = None) -> RigLocalizationResult:
    """Jointly localize K cameras of one rig; the options' thresholds apply to the pooled matches.

    Every camera must be calibrated (the generalized solver does not estimate focal lengths).
    """
    options = options or LocalizationOptions()
    k = len(cameras)
    if not (len(per_camera_points2d) == len(per_camera_points3d) == len(cams_from_rig) == k):
        raise ValueError(f"localize_rig: {len(per_camera_points2d)} point2d sets, {len(per_camera_points3d)} "
                         f"point3d sets, {len(cams_from_rig)} rig poses and {k} cameras must agree")
    if k == 0:
        raise ValueError("localize_rig needs at least one camera")
    pairs = [check_correspondences(p2, p3) for p2, p3 in zip(per_camera_points2d, per_camera_points3d)]
    counts = np.array([len(p2) for p2, _ in pairs], dtype=np.int64)
    n = int(counts.sum())
    split = np.cumsum(counts)[:-1]
    masks = [np.zeros(c, dtype=bool) for c in counts]

    def failure(reason: str, num_inliers: int = 0, m: list[np.ndarray] = masks) -> RigLocalizationResult:
        return RigLocalizationResult(False, None, None, None, None, num_inliers, n, m, list(cameras), reason)

    if n < options.min_num_matches:
        return failure(f"too few correspondences: {n} < {options.min_num_matches}")
    pycams = []
    for i, camera in enumerate(cameras):
        cam, guessed = pycolmap_camera(camera)
        if guessed:
            raise ValueError(f"localize_rig: camera {i} has no intrinsics; rig localization needs calibrated "
                             "cameras")
        pycams.append(cam)
    p2 = np.concatenate([p for p, _ in pairs]) if n else np.zeros((0, 2))
    p3 = np.concatenate([p for _, p in pairs]) if n else np.zeros((0, 3))
    cam_idxs = np.repeat(np.arange(k), counts).tolist()
    rigids = [pose_to_rigid3d(q, t) for q, t in cams_from_rig]
    try:
        ret = pycolmap.estimate_and_refine_generalized_absolute_pose(
            p2, p3, cam_idxs, rigids, pycams, options.ransac_options(), options.refinement_options())
    except ValueError as e:
        return failure(f"RANSAC failed: {e}")
    if ret is None:
        return failure("RANSAC failed")
    inliers = np.asarray(ret["inlier_mask"], dtype=bool).reshape(n)
    # pycolmap's own count merges correspondences sharing a 3D point; the mask is per correspondence.
    num_inliers = int(inliers.sum())
    inlier_masks = np.split(inliers, split)
    reason = accept(num_inliers, n, options)
    if reason:
        return failure(reason, num_inliers, inlier_masks)
    q, t = rigid3d_to_pose(ret["rig_from_world"])
    rig_q = np.stack([np.asarray(cq, dtype=np.float64) for cq, _ in cams_from_rig])
    rig_t = np.stack([np.asarray(ct, dtype=np.float64) for _, ct in cams_from_rig])
    cam_q, cam_t = compose(rig_q, rig_t, q[None], t[None])
    refined = options.refine_focal_length or options.refine_extra_params
    out_cameras = [from_pycolmap_camera(c, pc) if refined else c for c, pc in zip(cameras, pycams)]
    return RigLocalizationResult(True, q, t, cam_q, cam_t, num_inliers, n, inlier_masks, out_cameras, "")
