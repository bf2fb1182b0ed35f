"""kapture-localization's ``kapture_pycolmap_localize``: query poses from 2D-3D correspondences with pycolmap.

The input dataset holds the map (points3d.txt, observations.txt), the keypoints of map and query
images and the query-map matches (a merged mapping+query dataset, as kapture-localization's tutorial
makes it); each query's correspondences go through its map images of the pairs file: a query keypoint
matched to a map keypoint that observes a 3D point. Duplicates (kapture's --duplicate-strategy):
'keep' all, 'ignore_same_kpid' one per query keypoint, 'ignore_same_p3did' one per 3D point, 'ignore'
and 'ignore_strict' one per (query keypoint, 3D point).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import Kapture
from kapturelike.core.trajectories import Trajectories
from kapturelike.dataset_tools.output import DatasetToolError, prepare_output, refuse_overlap
from kapturelike.geometry.absolute_pose import LocalizationOptions, localize_image
from kapturelike.io.dataset import load_kapture, save_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import read_ordered_pairs

DUPLICATE_STRATEGIES = ("keep", "ignore_strict", "ignore", "ignore_same_kpid", "ignore_same_p3did")


def query_matches(store: KaptureFeatureStore, ktype: str, query_name: str, map_names: list[str],
                  observed: dict[str, tuple[np.ndarray, np.ndarray]], num_points: int,
                  duplicates: str = "ignore") -> tuple[np.ndarray, np.ndarray]:
    """(N,) query keypoint indices and (N,) point indices of one query, through its map images' matches;
    ``observed``: map image -> (keypoint indices, point indices) of its observations."""
    kpt_ids, point_ids = [], []
    for map_name in map_names:
        if map_name not in observed or not store.has_matches(ktype, query_name, map_name):
            continue
        feature_ids, p_ids = observed[map_name]
        point_of = np.full(int(feature_ids.max(initial=-1)) + 1, -1, np.int64)
        point_of[feature_ids] = p_ids
        matches = store.read_matches(ktype, query_name, map_name)[:, :2].astype(np.int64)
        in_range = matches[:, 1] < len(point_of)
        matches = matches[in_range]
        points = point_of[matches[:, 1]]
        kpt_ids.append(matches[points >= 0, 0])
        point_ids.append(points[points >= 0])
    if not kpt_ids:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    kpt, pts = np.concatenate(kpt_ids), np.concatenate(point_ids)
    if duplicates != "keep":
        key = {"ignore_same_kpid": kpt, "ignore_same_p3did": pts}.get(duplicates, kpt * (num_points + 1) + pts)
        _, first = np.unique(key, return_index=True)
        keep = np.sort(first)
        kpt, pts = kpt[keep], pts[keep]
    return kpt, pts


def query_correspondences(store: KaptureFeatureStore, ktype: str, query_name: str, map_names: list[str],
                          observed: dict[str, tuple[np.ndarray, np.ndarray]], points3d: np.ndarray,
                          duplicates: str = "ignore") -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) query keypoints and (N, 3) points of one query, through its map images' matches."""
    kpt, pts = query_matches(store, ktype, query_name, map_names, observed, len(points3d), duplicates)
    if len(kpt) == 0:
        return np.zeros((0, 2)), np.zeros((0, 3))
    keypoints = store.read("keypoints", ktype, query_name)
    return keypoints[kpt, :2].astype(np.float64), points3d[pts, :3]


def pycolmap_localize(src: str | Path, query: str | Path, out: str | Path, pairsfile: str | Path,
                      options: LocalizationOptions, keypoints_type: str | None = None, duplicates: str = "ignore",
                      force: bool = False) -> Trajectories:
    """Localize the images of ``query``; write its sensors, camera records and found poses at ``out``."""
    if duplicates not in DUPLICATE_STRATEGIES:
        raise DatasetToolError(f"unknown duplicate strategy '{duplicates}' (known: {', '.join(DUPLICATE_STRATEGIES)})")
    k, kq = load_kapture(src), load_kapture(query)
    if k.points3d is None or k.observations is None:
        raise DatasetToolError(f"{src}: the map needs reconstruction/points3d.txt and observations.txt")
    ktype = keypoints_type or (next(iter(k.keypoints)) if len(k.keypoints) == 1 else None)
    if ktype is None or ktype not in k.keypoints:
        raise DatasetToolError(f"{src}: give the keypoints type (--keypoints-type; known: "
                               f"{', '.join(sorted(k.keypoints)) or 'none'})")
    store = KaptureFeatureStore(src, k.version)
    observed = k.observations.for_image(ktype)
    pairs = read_ordered_pairs(pairsfile)
    cameras, keys = kq.cameras_by_image(), kq.image_keys()
    items = []
    for name in kq.image_names():
        if name not in cameras or not store.has("keypoints", ktype, name):
            continue
        p2, p3 = query_correspondences(store, ktype, name, [m for m, _ in pairs.get(name, [])], observed,
                                       k.points3d, duplicates)
        result = localize_image(p2, p3, cameras[name], options)
        if result.success:
            items.append((keys[name], result.q, result.t))
    trajectories = Trajectories(np.array([key[0] for key, _, _ in items], dtype=np.int64),
                                np.array([key[1] for key, _, _ in items], dtype=object),
                                np.array([q for _, q, _ in items]).reshape(-1, 4),
                                np.array([t for _, _, t in items]).reshape(-1, 3))
    refuse_overlap(out, [src, query])
    out = prepare_output(out, force)
    save_kapture(Kapture(sensors=kq.sensors, records={"camera": kq.records_camera}, trajectories=trajectories), out)
    return trajectories


def kapture_options(max_error: float, min_inlier_ratio: float, min_num_iterations: int, max_num_iterations: int,
                    confidence: float) -> LocalizationOptions:
    """kapture-localization's RANSAC settings; a pose is kept as pycolmap returns it (no inlier-count gate)."""
    return replace(LocalizationOptions(), max_error=max_error, min_inlier_ratio=min_inlier_ratio,
                   min_num_trials=min_num_iterations, max_num_trials=max_num_iterations, confidence=confidence,
                   min_num_matches=4, min_num_inliers=4)
