"""Localization's per-query work as plain functions over batches: here, or as Dask tasks.

Like the other steps on an ``Executor`` (kapturelike.pipelines.executor): the client reads every input
(query descriptors; the 2D-3D correspondences of a query from its matches) and sends it with the task;
a task computes from what it was sent alone and returns plain results, which the client writes. So a
Dask run gives the same matches and poses as an in-process run, and a killed worker's task is rerun
elsewhere without a partial file.

- ``PointsMatchTask``: queries' descriptors -> their matches to the 3D points of their candidate map
  images, as query <-> map-image matches (kapturelike.matching.points). The point index (one descriptor
  per 3D point) travels with the task function, once per worker.
- ``PoseTask``: ``PoseProblem``s (one image, or the images of a rig at one timestamp) -> a
  ``QueryOutcome`` per image (PnP in RANSAC, jointly for a rig).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kapturelike.geometry.absolute_pose import LocalizationOptions, localize_image
from kapturelike.geometry.postprocess import FAILED, LOCALIZED
from kapturelike.geometry.rig_pose import localize_rig
from kapturelike.matching.mnn import MatchingOptions
from kapturelike.matching.points import (
    PointIndex,
    PointMatchingOptions,
    QueryGeometry,
    image_matches,
    match_queries_to_points,
)
from kapturelike.pipelines.executor import Computed


@dataclass
class QueryOutcome:
    name: str
    status: str = FAILED
    q: np.ndarray | None = None
    t: np.ndarray | None = None
    num_inliers: int = 0
    num_correspondences: int = 0
    seconds: float = 0.0
    reason: str = ""


@dataclass
class PointsMatchTask:
    """A batch of (query, its descriptors, its candidate map images, its QueryGeometry or None) -> per
    query, map image -> (M, 3) matches [query keypoint, map keypoint, similarity] (candidates without a
    match are left out). With a geometry and ``index.xyz``, two stages (``point_matching``, the coarse
    pose checked with ``localization``). ``index`` is None only when no query is left to match (the task
    is then never called)."""

    index: PointIndex | None
    matching: MatchingOptions
    point_matching: PointMatchingOptions = field(default_factory=PointMatchingOptions)
    localization: LocalizationOptions | None = None

    def __call__(self, batch: Sequence[tuple[str, np.ndarray, Sequence[str], QueryGeometry | None]]
                 ) -> list[Computed]:
        if self.index is None:
            raise RuntimeError("query-to-points matching without a point index")
        results = match_queries_to_points([d for _, d, _, _ in batch], [c for _, _, c, _ in batch], self.index,
                                          self.matching, [g for _, _, _, g in batch], self.point_matching,
                                          self.localization)
        return [Computed(query, image_matches(result, self.index, candidates))
                for (query, _, candidates, _), result in zip(batch, results)]


@dataclass
class PoseProblem:
    """Images localized together: one image, or (``rig``) the images of a rig at one timestamp.

    names: the group's images; correspondences: image -> (2D keypoints (N, 2), 3D points (N, 3)) for the
    images whose matches could be read; cameras: image -> its camera; rig_poses: image -> its camera's
    (q, t) in the rig; reasons: why an image has no correspondences.
    """

    names: list[str]
    correspondences: dict[str, tuple[np.ndarray, np.ndarray]]
    cameras: dict[str, Any]
    rig: bool = False
    rig_poses: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)


def solve_pose_problem(problem: PoseProblem, options: LocalizationOptions) -> dict[str, QueryOutcome]:
    """PnP per image, or jointly for a rig when two or more of its cameras are usable (calibrated, with
    correspondences); images of a failed rig are tried one by one."""
    start = time.perf_counter()
    outcomes = {n: QueryOutcome(n, reason=problem.reasons.get(n, "")) for n in problem.names}
    data, cameras = problem.correspondences, problem.cameras
    usable = [n for n in problem.names if n in data and cameras[n].is_calibrated]
    if problem.rig and len(usable) >= 2:
        res = localize_rig([data[n][0] for n in usable], [data[n][1] for n in usable], [cameras[n] for n in usable],
                           [problem.rig_poses[n] for n in usable], options)
        seconds = (time.perf_counter() - start) / len(usable)
        if res.success:
            for i, n in enumerate(usable):
                o = outcomes[n]
                o.status, o.q, o.t = LOCALIZED, res.cam_q[i], res.cam_t[i]
                o.num_inliers = int(res.inlier_masks[i].sum())
                o.num_correspondences, o.seconds = len(data[n][0]), seconds
            return outcomes
        for n in usable:
            outcomes[n].reason = f"rig: {res.failure_reason}"
    for n in problem.names:
        if n not in data:
            continue
        t0 = time.perf_counter()
        res = localize_image(data[n][0], data[n][1], cameras[n], options)
        o = outcomes[n]
        o.num_correspondences, o.num_inliers = res.num_correspondences, res.num_inliers
        o.seconds = time.perf_counter() - t0
        if res.success:
            o.status, o.q, o.t, o.reason = LOCALIZED, res.q, res.t, ""
        else:
            o.reason = "; ".join(r for r in (o.reason, res.failure_reason) if r)
    return outcomes


@dataclass
class PoseTask:
    """A batch of ``PoseProblem``s -> per problem (keyed by its first image) its images' outcomes."""

    options: LocalizationOptions

    def __call__(self, problems: Sequence[PoseProblem]) -> list[Computed]:
        return [Computed(p.names[0], solve_pose_problem(p, self.options)) for p in problems]

