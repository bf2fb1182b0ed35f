"""kapture-localization's ``kapture_pycolmap_rig_localize``: at each timestamp, the cameras of a query rig are
localized together with pycolmap's generalized absolute pose (one rig pose explains every camera's 2D-3D
correspondences through the rig calibration).

Inputs as ``kapture_pycolmap_localize``: ``src`` holds the map (points3d, observations), the keypoints of map
and query images and the query-map matches; ``query`` holds the query sensors, records and rigs
(rigs.txt: cam_from_rig). The rigs are those of ``rig_ids`` (default: the rigs no other rig holds); a rig
inside a rig contributes its cameras. The output holds the query sensors, rigs and records and one pose per
localized (timestamp, rig), world-to-rig; with ``apply_rigs_remove`` each camera of the rig gets its own pose
instead (cam_from_world = cam_from_rig * rig_from_world), as kapture's ``rigs_remove_inplace`` writes them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kapturelike.core.pose import compose
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.dataset_tools.output import DatasetToolError
from kapturelike.dataset_tools.pycolmap_localize import (
    Correspondences,
    detailed_report_of,
    in_threads,
    map_correspondences,
    write_localized,
)
from kapturelike.geometry.absolute_pose import LocalizationOptions, LocalizationResult
from kapturelike.geometry.rig_pose import RigLocalizationResult, localize_rig
from kapturelike.io.text import atomic_write


def top_level_rigs(rigs: dict[str, dict[str, Pose]]) -> list[str]:
    """The rigs that no other rig holds, in file order."""
    inner = {member for rig in rigs.values() for member in rig}
    return [r for r in rigs if r not in inner]


def rig_cameras(rigs: dict[str, dict[str, Pose]], rig_id: str, cameras: set[str]
                ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """camera id -> cam_from_rig (q, t) of every camera in rig ``rig_id``, through inner rigs too."""
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for member, pose in rigs[rig_id].items():
        if pose.q is None or pose.t is None:
            continue
        if member in cameras:
            found[member] = (np.asarray(pose.q, float), np.asarray(pose.t, float))
        elif member in rigs and member != rig_id:
            for camera, (q, t) in rig_cameras(rigs, member, cameras).items():
                cq, ct = compose(q[None], t[None], np.asarray(pose.q, float)[None], np.asarray(pose.t, float)[None])
                found[camera] = (cq[0], ct[0])
    return found


def localize_rigs(kq: Kapture, rig_ids: Sequence[str],
                  correspondences: Correspondences,
                  options: LocalizationOptions, apply_rigs_remove: bool = False,
                  reports: dict[int, dict] | None = None, num_threads: int | None = 1
                  ) -> list[tuple[tuple[int, str], np.ndarray, np.ndarray]]:
    """((timestamp, rig or camera id), q, t) of each rig of ``rig_ids`` (default: the top-level ones) localized
    at a timestamp of the query records, from each image's 2D-3D ``correspondences`` (None: image not used);
    ``reports`` (when given) gets kapture-localization's detailed report of each timestamp localized."""
    if not kq.rigs:
        raise DatasetToolError("the query has no rigs (sensors/rigs.txt) to localize")
    rig_ids = list(rig_ids) or top_level_rigs(kq.rigs)
    unknown = [r for r in rig_ids if r not in kq.rigs]
    if unknown:
        raise DatasetToolError(f"--rig-ids names rigs absent from the query's rigs.txt: {', '.join(unknown)}")
    cameras = kq.cameras()
    members = {r: rig_cameras(kq.rigs, r, set(cameras)) for r in rig_ids}
    image_of = {key: name for name, key in kq.image_keys().items()}
    jobs = [(ts, rig_id) for ts in sorted({ts for ts, _ in image_of}) for rig_id in rig_ids]

    def localize(job: tuple[int, str]) -> tuple[list, RigLocalizationResult] | None:
        ts, rig_id = job
        used = [(cam, image_of[ts, cam]) for cam in members[rig_id] if (ts, cam) in image_of]
        data = [(cam, correspondences(name)) for cam, name in used]
        data = [(cam, found) for cam, found in data if found is not None]
        if not data:
            return None
        return data, localize_rig([found[0] for _, found in data], [found[1] for _, found in data],
                                  [cameras[c] for c, _ in data], [members[rig_id][c] for c, _ in data], options)

    items: list[tuple[tuple[int, str], np.ndarray, np.ndarray]] = []
    for (ts, rig_id), done in zip(jobs, in_threads(localize, jobs, num_threads, "localizing rigs", "rig")):
        if done is None or not done[1].success:
            continue
        data, result = done
        if reports is not None:
            reports[ts] = rig_report([found for _, found in data], result)
        if apply_rigs_remove:
            for cam, (cq, ct) in members[rig_id].items():
                q, t = compose(cq[None], ct[None], result.q[None], result.t[None])
                items.append(((ts, cam), q[0], t[0]))
        else:
            items.append(((ts, rig_id), result.q, result.t))
    return items


def rig_report(data: list[tuple[np.ndarray, np.ndarray]], result: RigLocalizationResult) -> dict:
    """kapture-localization's report of one rig localized: per camera, the correspondences, the inlier count and
    indices, and the mean reprojection error of the inliers in pixels."""
    per_camera = [detailed_report_of(p2, p3, LocalizationResult(True, result.cam_q[i], result.cam_t[i],
                                                                int(mask.sum()), len(p2), mask, camera))
                  for i, ((p2, p3), mask, camera) in enumerate(zip(data, result.inlier_masks, result.cameras))]
    return {"num_correspondences": [r["num_correspondences"] for r in per_camera],
            "num_inliers": [len(r["num_inliers"]) for r in per_camera],
            "inliers": [r["num_inliers"] for r in per_camera],
            "reprojection_error": [r["reprojection_error"] for r in per_camera]}


def pycolmap_rig_localize(src: str | Path, query: str | Path, out: str | Path, pairsfile: str | Path,
                          options: LocalizationOptions, rig_ids: Sequence[str] = (), apply_rigs_remove: bool = False,
                          keypoints_type: str | None = None, duplicates: str = "ignore",
                          force: bool = False, rerank: str = "none", detailed_report: bool = False) -> Trajectories:
    """Localize the query rigs at each timestamp; write the query with the found poses at ``out``."""
    kq, correspondences = map_correspondences(src, query, pairsfile, keypoints_type, duplicates, rerank)
    return localize_rigs_and_write(kq, correspondences, options, rig_ids, apply_rigs_remove, out, [src, query], force,
                                   detailed_report)


def localize_rigs_and_write(kq: Kapture, correspondences: Correspondences, options: LocalizationOptions,
                            rig_ids: Sequence[str], apply_rigs_remove: bool, out: str | Path, inputs: list[str | Path],
                            force: bool, detailed_report: bool = False, num_threads: int | None = 1) -> Trajectories:
    """:func:`localize_rigs`, then the query with its poses at ``out`` (and ``out/pycolmap_rig_cache/<timestamp>.json``
    with ``detailed_report``)."""
    reports: dict[int, dict] = {}
    items = localize_rigs(kq, rig_ids, correspondences, options, apply_rigs_remove, reports, num_threads)
    trajectories = Trajectories.from_items((key, Pose(q, t)) for key, q, t in items)
    write_localized(kq, trajectories, out, inputs, force)
    if detailed_report:
        for ts, content in reports.items():
            with atomic_write(Path(out) / "pycolmap_rig_cache" / f"{ts}.json") as f:
                json.dump(content, f)
    return trajectories
