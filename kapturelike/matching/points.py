"""Match a query image's descriptors against the map's 3D points instead of against each map image.

Every 3D point gets one descriptor, the unit mean of the descriptors of its observations (RootSIFT
averages well). A query is matched by mutual nearest neighbours (with the usual ratio test) against
the points seen in its candidate map images, in one product, instead of one product per map image
with the same points counted once per image that sees them. Each 2D-3D match is then spread back
onto the map keypoints that observe the point, as ordinary query <-> map-image matches, so the
output is the same kapture layout the 2D-2D path writes and the same lifting gives the correspondences.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from kapturelike.matching.mnn import MatchingOptions, match_pairs_with_scores


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


def build_point_index(observations: Mapping[str, tuple[np.ndarray, np.ndarray]],
                      read_descriptors: Callable[[str], np.ndarray]) -> PointIndex:
    """``observations``: map image -> (keypoint ids, point ids), as ``Observations.for_image`` gives;
    ``read_descriptors``: map image -> its (N, D) descriptors. Each image's file is read once."""
    images = sorted(observations)
    obs_image = np.concatenate([np.full(len(observations[n][0]), k, np.int64) for k, n in enumerate(images)]
                               or [np.zeros(0, np.int64)])
    obs_keypoint = np.concatenate([np.asarray(observations[n][0], np.int64) for n in images]
                                  or [np.zeros(0, np.int64)])
    point_ids, obs_point = np.unique(np.concatenate([np.asarray(observations[n][1], np.int64) for n in images]
                                                    or [np.zeros(0, np.int64)]), return_inverse=True)
    if not len(obs_point):
        return PointIndex(images, obs_image, obs_keypoint, obs_point, point_ids, np.zeros((0, 128), np.float32))
    observed = np.concatenate([np.asarray(read_descriptors(name), dtype=np.float32)[obs_keypoint[obs_image == k]]
                               for k, name in enumerate(images)])
    observed /= np.maximum(np.linalg.norm(observed, axis=1, keepdims=True), 1e-12)
    order = np.argsort(obs_point, kind="stable")
    starts = np.searchsorted(obs_point[order], np.arange(len(point_ids)))
    sums = np.add.reduceat(observed[order], starts, axis=0)  # every point has >= 1 observation
    descriptors = sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    return PointIndex(images, obs_image, obs_keypoint, obs_point, point_ids, descriptors.astype(np.float32))


@dataclass
class QueryPointMatches:
    """2D-3D matches of one query: query keypoint index, row in ``PointIndex.point_ids``, similarity."""

    query_keypoints: np.ndarray
    points: np.ndarray
    scores: np.ndarray


def match_queries_to_points(query_descriptors: Sequence[np.ndarray], candidates: Sequence[Sequence[str]],
                            index: PointIndex, options: MatchingOptions) -> list[QueryPointMatches]:
    """Per query, MNN matches against the points seen in its candidate map images (one product each)."""
    image_index = {n: k for k, n in enumerate(index.images)}
    subsets, pairs = [], []
    for desc, names in zip(query_descriptors, candidates):
        wanted = np.zeros(len(index.images), bool)
        wanted[[image_index[n] for n in names if n in image_index]] = True
        subset = np.unique(index.obs_point[wanted[index.obs_image]])
        subsets.append(subset)
        pairs.append((desc, index.descriptors[subset]))
    results = []
    for subset, (m, s) in zip(subsets, match_pairs_with_scores(pairs, options)):
        results.append(QueryPointMatches(m[:, 0], subset[m[:, 1]], s))
    return results


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
