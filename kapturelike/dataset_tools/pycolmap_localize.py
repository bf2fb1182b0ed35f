"""kapture-localization's ``kapture_pycolmap_localize``: query poses from 2D-3D correspondences with pycolmap.

The input dataset holds the map (points3d.txt, observations.txt), the keypoints of map and query
images and the query-map matches (a merged mapping+query dataset, as kapture-localization's tutorial
makes it); each query's correspondences go through its map images of the pairs file: a query keypoint
matched to a map keypoint that observes a 3D point. Map images are taken in the pairs file's order, or
(kapture's --rerank-strategy) by decreasing number of matches or of correspondences. Duplicates
(kapture's --duplicate-strategy), first come first kept: 'keep' all, 'ignore_strict' one per (query
keypoint, 3D point), 'ignore_same_kpid' one per query keypoint, 'ignore_same_p3did' one per 3D point,
'ignore' (the default) one per query keypoint and one per 3D point.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.dataset_tools.output import DatasetToolError, prepare_output, refuse_overlap
from kapturelike.geometry.absolute_pose import LocalizationOptions, LocalizationResult, localize_image
from kapturelike.geometry.colmap_model import to_pycolmap_camera
from kapturelike.io.dataset import load_kapture, save_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import read_ordered_pairs
from kapturelike.io.text import atomic_write

DUPLICATE_STRATEGIES = ("keep", "ignore_strict", "ignore", "ignore_same_kpid", "ignore_same_p3did")


RERANK_STRATEGIES = ("none", "matches_count", "correspondences_count")


def deduplicated(kpt: np.ndarray, pts: np.ndarray, duplicates: str) -> np.ndarray:
    """Indices of the correspondences kept by kapture-localization's duplicate strategy, in order."""
    if duplicates == "keep" or len(kpt) == 0:
        return np.arange(len(kpt))
    if duplicates == "ignore":  # greedy: a keypoint or a point already used rejects the correspondence
        used_kpt, used_pts, keep = set(), set(), []
        for i, (a, b) in enumerate(zip(kpt.tolist(), pts.tolist())):
            if a not in used_kpt and b not in used_pts:
                used_kpt.add(a)
                used_pts.add(b)
                keep.append(i)
        return np.asarray(keep, dtype=np.int64)
    key = {"ignore_same_kpid": kpt, "ignore_same_p3did": pts}.get(duplicates)
    if key is None:  # ignore_strict: exact repeats only
        key = kpt * (int(pts.max()) + 1) + pts
    _, first = np.unique(key, return_index=True)
    return np.sort(first)


def query_matches(store: KaptureFeatureStore, ktype: str, query_name: str, map_names: list[str],
                  observed: dict[str, tuple[np.ndarray, np.ndarray]], num_points: int,
                  duplicates: str = "ignore", rerank: str = "none",
                  matches_of: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(N,) query keypoint indices and (N,) point indices of one query, through its map images' matches (the
    stored ones, or those of ``matches_of``: map image -> (M, 2) matches); ``observed``: map image -> (keypoint
    indices, point indices) of its observations."""
    per_image = []  # (number of matches, query keypoints, points) per map image, in the pairs' order
    for map_name in map_names:
        if map_name not in observed or not (store.has_matches(ktype, query_name, map_name) if matches_of is None
                                             else map_name in matches_of):
            continue
        feature_ids, p_ids = observed[map_name]
        point_of = np.full(int(feature_ids.max(initial=-1)) + 1, -1, np.int64)
        point_of[feature_ids] = p_ids
        stored = store.read_matches(ktype, query_name, map_name) if matches_of is None else matches_of[map_name]
        matches = stored[:, :2].astype(np.int64)
        num_matches = len(matches)
        in_range = matches[:, 1] < len(point_of)
        matches = matches[in_range]
        points = point_of[matches[:, 1]]
        per_image.append((num_matches, matches[points >= 0, 0], points[points >= 0]))
    if not per_image:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if rerank == "matches_count":  # stable: ties keep the pairs' order, as kapture-localization's sort
        per_image.sort(key=lambda image: -image[0])
    elif rerank == "correspondences_count":
        per_image.sort(key=lambda image: -len(image[1]))
    elif rerank != "none":
        raise DatasetToolError(f"unknown rerank strategy '{rerank}' (known: {', '.join(RERANK_STRATEGIES)})")
    kpt = np.concatenate([image[1] for image in per_image])
    pts = np.concatenate([image[2] for image in per_image])
    keep = deduplicated(kpt, pts, duplicates)
    return kpt[keep], pts[keep]


def query_correspondences(store: KaptureFeatureStore, ktype: str, query_name: str, map_names: list[str],
                          observed: dict[str, tuple[np.ndarray, np.ndarray]], points3d: np.ndarray,
                          duplicates: str = "ignore", rerank: str = "none") -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) query keypoints and (N, 3) points of one query, through its map images' matches."""
    kpt, pts = query_matches(store, ktype, query_name, map_names, observed, len(points3d), duplicates, rerank)
    if len(kpt) == 0:
        return np.zeros((0, 2)), np.zeros((0, 3))
    keypoints = store.read("keypoints", ktype, query_name)
    return keypoints[kpt, :2].astype(np.float64), points3d[pts, :3]


Correspondences = Callable[[str], tuple[np.ndarray, np.ndarray] | None]


def map_correspondences(src: str | Path, query: str | Path, pairsfile: str | Path, keypoints_type: str | None = None,
                        duplicates: str = "ignore", rerank: str = "none") -> tuple[Kapture, Correspondences]:
    """The query dataset and each query image's (2D, 3D) correspondences with the map's points through its paired
    map images (None for an image without keypoints)."""
    if duplicates not in DUPLICATE_STRATEGIES:
        raise DatasetToolError(f"unknown duplicate strategy '{duplicates}' (known: {', '.join(DUPLICATE_STRATEGIES)})")
    k, kq = load_kapture(src), load_kapture(query)
    if k.points3d is None or k.observations is None:
        raise DatasetToolError(f"{src}: the map needs reconstruction/points3d.txt and observations.txt")
    ktype = resolve_keypoints_type(k, keypoints_type, src)
    store = KaptureFeatureStore(src, k.version)
    observed = k.observations.for_image(ktype)
    pairs = read_ordered_pairs(pairsfile)

    def correspondences(name: str) -> tuple[np.ndarray, np.ndarray] | None:
        if not store.has("keypoints", ktype, name):
            return None
        return query_correspondences(store, ktype, name, [m for m, _ in pairs.get(name, [])], observed, k.points3d,
                                     duplicates, rerank)

    return kq, correspondences


def in_threads(function: Callable, items: Sequence, num_threads: int | None, desc: str, unit: str) -> list:
    """``[function(item) for item in items]`` over ``num_threads`` threads (None: one per core; kapture's
    --max-number-of-threads), with a progress bar. pycolmap's estimators release the GIL, so threads run them in
    parallel; the results do not depend on the number of threads (each item is seeded on its own)."""
    threads = max(1, min(len(items), num_threads or os.cpu_count() or 1))
    if threads == 1:
        return [function(item) for item in tqdm(items, desc=desc, unit=unit, disable=None)]
    with ThreadPoolExecutor(threads) as pool:
        return list(tqdm(pool.map(function, items), total=len(items), desc=desc, unit=unit, disable=None))


def localize_each(kq: Kapture, correspondences: Correspondences, options: LocalizationOptions,
                  on_localized: Callable[[str, tuple[np.ndarray, np.ndarray], LocalizationResult], None] | None = None,
                  num_threads: int | None = 1) -> Trajectories:
    """The pose of each query image (with a camera) that its correspondences give; ``on_localized(name,
    correspondences, result)`` is called for each image localized, in the images' order."""
    cameras, keys = kq.cameras_by_image(), kq.image_keys()

    def localize(name: str) -> tuple[tuple[np.ndarray, np.ndarray], LocalizationResult] | None:
        found = correspondences(name) if name in cameras else None
        return None if found is None else (found, localize_image(found[0], found[1], cameras[name], options))

    items = []
    names = kq.image_names()
    for name, done in zip(names, in_threads(localize, names, num_threads, "localizing", "image")):
        if done is not None and done[1].success:
            items.append((keys[name], Pose(done[1].q, done[1].t)))
            if on_localized is not None:
                on_localized(name, *done)
    return Trajectories.from_items(items)


def pycolmap_localize(src: str | Path, query: str | Path, out: str | Path, pairsfile: str | Path,
                      options: LocalizationOptions, keypoints_type: str | None = None, duplicates: str = "ignore",
                      force: bool = False, rerank: str = "none", detailed_report: bool = False,
                      report_folder: str = "pycolmap_cache") -> Trajectories:
    """Localize the images of ``query``; write its sensors, camera records and found poses at ``out``; with
    ``detailed_report``, ``out/<report_folder>/<image>.json`` per localized image (kapture-localization's
    --write-detailed-report)."""
    kq, correspondences = map_correspondences(src, query, pairsfile, keypoints_type, duplicates, rerank)
    return localize_and_write(kq, correspondences, options, out, [src, query], force,
                              report_folder if detailed_report else None)


def localize_and_write(kq: Kapture, correspondences: Correspondences, options: LocalizationOptions, out: str | Path,
                       inputs: list[str | Path], force: bool, report_folder: str | None = None,
                       num_threads: int | None = 1) -> Trajectories:
    """:func:`localize_each`, then the query with its poses at ``out`` and, with ``report_folder``, the detailed
    report of each localized image in ``out/<report_folder>/<image>.json``."""
    reports: dict[str, dict] = {}

    def report(name: str, found: tuple[np.ndarray, np.ndarray], result: LocalizationResult) -> None:
        reports[name] = detailed_report_of(found[0], found[1], result)

    trajectories = localize_each(kq, correspondences, options, report if report_folder else None, num_threads)
    write_localized(kq, trajectories, out, inputs, force)
    for name, content in reports.items():
        with atomic_write(Path(out) / str(report_folder) / f"{name}.json") as f:
            json.dump(content, f)
    return trajectories


def detailed_report_of(points2d: np.ndarray, points3d: np.ndarray, result: LocalizationResult) -> dict:
    """kapture-localization's report of one localized image: the correspondences, the inliers (their
    indices under its key 'num_inliers', the mask under 'inliers') and the mean reprojection error of
    the inliers in pixels."""
    mask = np.asarray(result.inlier_mask, dtype=bool)
    inliers = np.flatnonzero(mask)
    error = float("nan")
    if len(inliers):
        in_camera = P.apply(result.q, result.t, points3d[inliers])
        projected = np.asarray(to_pycolmap_camera(result.camera, 1).img_from_cam(in_camera))
        error = float(np.linalg.norm(projected - points2d[inliers], axis=1).mean())
    return {"num_correspondences": int(len(points3d)), "num_inliers": inliers.tolist(), "inliers": mask.tolist(),
            "reprojection_error": error}


def resolve_keypoints_type(k: Kapture, given: str | None, src: str | Path, flag: str = "--keypoints-type") -> str:
    """The keypoints type to use: the one given, or the dataset's only one."""
    ktype = given or (next(iter(k.keypoints)) if len(k.keypoints) == 1 else None)
    if ktype is None or ktype not in k.keypoints:
        raise DatasetToolError(f"{src}: give the keypoints type ({flag}; known: "
                               f"{', '.join(sorted(k.keypoints)) or 'none'})")
    return ktype


def write_localized(kq: Kapture, trajectories: Trajectories, out: str | Path, inputs: list[str | Path],
                    force: bool) -> None:
    """The query's sensors, rigs and camera records with the found ``trajectories``, as kapture-localization's
    localizers write them."""
    refuse_overlap(out, inputs)
    out = prepare_output(out, force)
    save_kapture(Kapture(sensors=kq.sensors, rigs=kq.rigs, records={"camera": kq.records_camera},
                         trajectories=trajectories), out)


def kapture_options(max_error: float, min_inlier_ratio: float, min_num_iterations: int, max_num_iterations: int,
                    confidence: float) -> LocalizationOptions:
    """kapture-localization's RANSAC settings; a pose is kept as pycolmap returns it (no inlier-count gate)."""
    return replace(LocalizationOptions(), max_error=max_error, min_inlier_ratio=min_inlier_ratio,
                   min_num_trials=min_num_iterations, max_num_trials=max_num_iterations, confidence=confidence,
                   min_num_matches=4, min_num_inliers=4)
