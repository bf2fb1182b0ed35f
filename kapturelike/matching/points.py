"""Match a query image's descriptors against the map's 3D points instead of against each map image.

Every 3D point gets one descriptor, the unit mean of the descriptors of its observations (RootSIFT
averages well). A query is matched by mutual nearest neighbours (with the usual ratio test) against
the points seen in its candidate map images, in one product, instead of one product per map image
with the same points counted once per image that sees them. Each 2D-3D match is then spread back
onto the map keypoints that observe the point, as ordinary query <-> map-image matches, so the
output is the same kapture layout the 2D-2D path writes and the same lifting gives the correspondences.

With ``PointMatchingOptions.coarse_keypoints`` (the default), matching is two-stage, as in active
search: the query's strongest keypoints alone give a coarse pose (PnP RANSAC), then every keypoint
is compared only with the points that project within ``radius`` pixels of it. The product shrinks
from N x P to a few candidates per keypoint, and the geometric gate admits correct matches that a
global ratio test rejects (repeated texture elsewhere in the map), which makes the final pose more
accurate. A query whose coarse pose fails is matched in one stage, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from kapturelike.geometry.absolute_pose import LocalizationOptions, localize_image, pycolmap_camera
from kapturelike.geometry.colmap_model import pose_to_rigid3d
from kapturelike.matching.mnn import MatchingOptions, match_pairs_with_scores


@dataclass
class PointMatchingOptions:
    """Two-stage matching of a query to map points (see the module docstring).

    coarse_keypoints: the first this many query keypoints (SIFT: the strongest) give the coarse pose;
        0 matches every keypoint against every candidate point in one stage.
    radius: pixels; after the coarse pose a keypoint is compared only with points projecting this close.
    """

    coarse_keypoints: int = 2048
    radius: float = 8.0

    def __post_init__(self) -> None:
        if self.coarse_keypoints < 0:
            raise ValueError(f"PointMatchingOptions.coarse_keypoints must be >= 0, got {self.coarse_keypoints}")
        if self.radius <= 0:
            raise ValueError(f"PointMatchingOptions.radius must be > 0, got {self.radius}")


@dataclass
class QueryGeometry:
    """What the second stage needs of a query: its keypoints (N, >=2) in COLMAP pixels and its camera."""

    keypoints: np.ndarray
    camera: Any


@dataclass
class PointIndex:
    """Map observations sorted by point, and one unit descriptor per observed point.

    images: map image names; obs_image / obs_keypoint / obs_point: one row per observation (image
    index, keypoint index, row of the point in ``point_ids``); point_ids: the map's 3D point ids.
    """

    images: list[str]
    obs_image: np.ndarray
    obs_keypoint: np.ndarray
    obs_point: np.ndarray
    point_ids: np.ndarray
    descriptors: np.ndarray  # (P, D) float32, unit rows
    xyz: np.ndarray | None = None  # (P, 3) float64 point coordinates, for two-stage matching


def build_point_index(observations: Mapping[str, tuple[np.ndarray, np.ndarray]],
                      read_descriptors: Callable[[str], np.ndarray],
                      points3d: np.ndarray | None = None) -> PointIndex:
    """``observations``: map image -> (keypoint ids, point ids), as ``Observations.for_image`` gives;
    ``read_descriptors``: map image -> its (N, D) descriptors. Each image's file is read once.
    ``points3d``: the map's (>= max id + 1, >= 3) point table (row = point id), for two-stage matching."""
    images = sorted(observations)
    obs_image = np.concatenate([np.full(len(observations[n][0]), k, np.int64) for k, n in enumerate(images)]
                               or [np.zeros(0, np.int64)])
    obs_keypoint = np.concatenate([np.asarray(observations[n][0], np.int64) for n in images]
                                  or [np.zeros(0, np.int64)])
    point_ids, obs_point = np.unique(np.concatenate([np.asarray(observations[n][1], np.int64) for n in images]
                                                    or [np.zeros(0, np.int64)]), return_inverse=True)
    xyz = None if points3d is None else np.asarray(points3d, np.float64)[point_ids, :3]
    if not len(obs_point):
        return PointIndex(images, obs_image, obs_keypoint, obs_point, point_ids, np.zeros((0, 128), np.float32), xyz)
    observed = np.concatenate([np.asarray(read_descriptors(name), dtype=np.float32)[obs_keypoint[obs_image == k]]
                               for k, name in enumerate(images)])
    observed /= np.maximum(np.linalg.norm(observed, axis=1, keepdims=True), 1e-12)
    order = np.argsort(obs_point, kind="stable")
    starts = np.searchsorted(obs_point[order], np.arange(len(point_ids)))
    sums = np.add.reduceat(observed[order], starts, axis=0)  # every point has >= 1 observation
    descriptors = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return PointIndex(images, obs_image, obs_keypoint, obs_point, point_ids, descriptors.astype(np.float32), xyz)


@dataclass
class QueryPointMatches:
    """2D-3D matches of one query: query keypoint index, row in ``PointIndex.point_ids``, similarity."""

    query_keypoints: np.ndarray
    points: np.ndarray
    scores: np.ndarray


def match_queries_to_points(query_descriptors: Sequence[np.ndarray], candidates: Sequence[Sequence[str]],
                            index: PointIndex, options: MatchingOptions,
                            geometry: Sequence[QueryGeometry | None] | None = None,
                            point_matching: PointMatchingOptions | None = None,
                            localization: LocalizationOptions | None = None) -> list[QueryPointMatches]:
    """Per query, MNN matches against the points seen in its candidate map images.

    With ``geometry`` (per query, or None for a query without), ``index.xyz`` and
    ``point_matching.coarse_keypoints`` > 0: two stages, the coarse pose accepted by ``localization``'s
    checks; otherwise (and for a query whose coarse pose fails) one product per query.
    """
    image_index = {n: k for k, n in enumerate(index.images)}
    subsets = []
    for names in candidates:
        wanted = np.zeros(len(index.images), bool)
        wanted[[image_index[n] for n in names if n in image_index]] = True
        subsets.append(np.unique(index.obs_point[wanted[index.obs_image]]))
    results: list[QueryPointMatches | None] = [None] * len(subsets)
    point_matching = point_matching or PointMatchingOptions()
    if geometry is not None and index.xyz is not None and point_matching.coarse_keypoints > 0:
        two_stage = [k for k, g in enumerate(geometry) if g is not None and len(subsets[k])]
        coarse = match_pairs_with_scores(
            [(query_descriptors[k][:point_matching.coarse_keypoints], index.descriptors[subsets[k]])
             for k in two_stage], options)
        for k, (m, _) in zip(two_stage, coarse):
            kp = np.asarray(geometry[k].keypoints)
            subset = subsets[k]
            pose = localize_image(kp[m[:, 0], :2], index.xyz[subset[m[:, 1]]], geometry[k].camera, localization)
            if pose.success:
                i, j, s = match_near_projections(kp[:, :2], query_descriptors[k], index.xyz[subset],
                                                 index.descriptors[subset], pose, point_matching.radius, options)
                results[k] = QueryPointMatches(i, subset[j], s)
    single = [k for k, r in enumerate(results) if r is None]
    matched = match_pairs_with_scores([(query_descriptors[k], index.descriptors[subsets[k]]) for k in single],
                                      options)
    for k, (m, s) in zip(single, matched):
        results[k] = QueryPointMatches(m[:, 0], subsets[k][m[:, 1]], s)
    return results  # type: ignore[return-value]


def match_near_projections(keypoints_xy: np.ndarray, descriptors: np.ndarray, points_xyz: np.ndarray,
                           points_descriptors: np.ndarray, pose: Any, radius: float, options: MatchingOptions
                           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Matches (keypoint, point, similarity) among the keypoint / point pairs that lie within ``radius``
    pixels once the points are projected with ``pose`` (a successful LocalizationResult), with the
    mutual check, ratio test and distance threshold of ``options`` taken over those candidates only."""
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    camera, _ = pycolmap_camera(pose.camera)
    in_camera = pose_to_rigid3d(pose.q, pose.t) * np.ascontiguousarray(points_xyz, np.float64)
    front = np.flatnonzero(in_camera[:, 2] > 1e-9)
    if not len(front) or not len(keypoints_xy):
        return empty
    projected = camera.img_from_cam(in_camera[front], check_cheirality=False)
    near = cKDTree(np.asarray(keypoints_xy, np.float64)).sparse_distance_matrix(
        cKDTree(projected), radius, output_type="ndarray")
    if not len(near):
        return empty
    i, j = near["i"].astype(np.int64), front[near["j"]]
    d1 = np.asarray(descriptors, np.float32)
    d2 = np.asarray(points_descriptors, np.float32)
    if options.normalize:
        d1 = d1 / np.maximum(np.linalg.norm(d1, axis=1, keepdims=True), 1e-12)
        d2 = d2 / np.maximum(np.linalg.norm(d2, axis=1, keepdims=True), 1e-12)
    s = np.einsum("ij,ij->i", d1[i], d2[j])
    by_keypoint = np.lexsort((-s, i))  # per keypoint, best candidate first
    i, j, s = i[by_keypoint], j[by_keypoint], s[by_keypoint]
    first = np.r_[True, i[1:] != i[:-1]]
    best = np.flatnonzero(first)
    keep = np.ones(len(best), bool)
    if options.ratio_threshold is not None:
        nxt = np.minimum(best + 1, len(i) - 1)
        second = np.where((best + 1 < len(i)) & (i[nxt] == i[best]), s[nxt], -np.inf)
        dist1_sq = np.maximum(2 - 2 * s[best], 0)
        with np.errstate(invalid="ignore"):
            keep &= dist1_sq < options.ratio_threshold ** 2 * np.maximum(2 - 2 * second, 0)
    if options.distance_threshold is not None:
        keep &= np.maximum(2 - 2 * s[best], 0) <= options.distance_threshold ** 2
    if options.mutual:
        col_best = np.full(len(points_xyz), -np.inf, np.float32)
        np.maximum.at(col_best, j, s)
        keep &= s[best] >= col_best[j[best]]
    best = best[keep]
    if options.mutual and len(best):
        # keypoints tied for a point's maximum all pass the value test: keep the first (smallest index)
        order = np.lexsort((i[best], j[best]))
        dup = np.r_[False, j[best][order][1:] == j[best][order][:-1]]
        best = np.sort(best[order][~dup])
    return i[best], j[best], s[best].astype(np.float32)


def image_matches(matches: QueryPointMatches, index: PointIndex, images: Sequence[str]
                  ) -> dict[str, np.ndarray]:
    """The 2D-3D matches as matches to the map images in ``images`` that observe the points:
    image -> (M, 3) float64 [query keypoint, map keypoint, similarity]. Images without one are left out."""
    query_of = np.full(len(index.point_ids), -1, np.int64)
    query_of[matches.points] = matches.query_keypoints
    score_of = np.zeros(len(index.point_ids))
    score_of[matches.points] = matches.scores
    image_index = {n: k for k, n in enumerate(index.images)}
    wanted = np.zeros(len(index.images), bool)
    wanted[[image_index[n] for n in images if n in image_index]] = True
    sel = np.flatnonzero((query_of[index.obs_point] >= 0) & wanted[index.obs_image])
    order = sel[np.argsort(index.obs_image[sel], kind="stable")]
    rows = np.column_stack([query_of[index.obs_point[order]], index.obs_keypoint[order],
                            score_of[index.obs_point[order]]]).astype(np.float64)
    image_of_row = index.obs_image[order]
    bounds = np.searchsorted(image_of_row, np.arange(len(index.images) + 1))
    return {index.images[k]: rows[bounds[k]:bounds[k + 1]] for k in range(len(index.images))
            if bounds[k + 1] > bounds[k]}
