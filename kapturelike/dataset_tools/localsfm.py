"""kapture-localization's local-SfM localizers: each query is localized against a small model triangulated, with
their known poses, from the map images it was paired with, instead of against a global map.

``kapture_pycolmap_localsfm`` (and the pyransaclib and rig variants): a query keypoint matched to keypoints of
two or more posed map images is triangulated from those observations (pycolmap's LO-RANSAC on the reprojection
error, ``max_error`` pixels); the query's keypoints and their points give its pose. No map-map matches are
needed. ``kapture_colmap_localize_localsfm``: the map images of a query are triangulated from their verified
map-map matches (COLMAP's point triangulator settings), and the query is registered into that local model
through its matches, as COLMAP's image_registrator with kapture-localization's settings does; pairs without
matches are matched (descriptors), pairs without verified matches verified, first, as kapture-localization does.
"""

from __future__ import annotations

import itertools
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pycolmap
from tqdm import tqdm

from kapturelike.core.image_poses import image_poses
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.dataset_tools.output import DatasetToolError
from kapturelike.dataset_tools.pycolmap_localize import (
    Correspondences,
    localize_and_write,
    query_matches,
    resolve_keypoints_type,
)
from kapturelike.dataset_tools.rig_localize import localize_rigs_and_write
from kapturelike.dataset_tools.verify import verify_missing
from kapturelike.geometry.absolute_pose import LocalizationOptions, localize_image
from kapturelike.geometry.colmap_model import pose_to_rigid3d, to_pycolmap_camera
from kapturelike.geometry.triangulation import TriangulationOptions, triangulate_known_poses
from kapturelike.io.dataset import load_kapture, save_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import read_ordered_pairs, write_pairs
from kapturelike.pipelines import match_features
from kapturelike.pipelines.config import FeaturesConfig, PipelineConfig

logger = logging.getLogger("kapturelike")
# kapture-localization triangulates a query keypoint from 3 map views or more, with 3 inliers or more: a point seen
# in two views only is too often a wrong match that still triangulates
MIN_VIEWS = 3


class MapViews:
    """The posed map images of a dataset: keypoints, pycolmap camera and cam_from_world, read once each."""

    def __init__(self, k: Kapture, store: KaptureFeatureStore, ktype: str) -> None:
        self.poses, self.keys, self.cameras = image_poses(k), k.image_keys(), k.cameras()
        self.store, self.ktype = store, ktype
        self._cache: dict[str, tuple[np.ndarray, pycolmap.Camera, pycolmap.Rigid3d]] = {}

    def usable(self, name: str) -> bool:
        return (name in self.poses and self.keys[name][1] in self.cameras
                and self.store.has("keypoints", self.ktype, name))

    def view(self, name: str) -> tuple[np.ndarray, pycolmap.Camera, pycolmap.Rigid3d]:
        if name not in self._cache:
            sensor = self.keys[name][1]
            self._cache[name] = (self.store.read("keypoints", self.ktype, name)[:, :2].astype(np.float64),
                                 to_pycolmap_camera(self.cameras[sensor], 1, sensor),
                                 pose_to_rigid3d(*self.poses[name], f"pose of image '{name}'"))
        return self._cache[name]


def triangulated_keypoints(query_name: str, map_names: Sequence[str], views: MapViews, max_error: float,
                           max_num_iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """(N,) query keypoint indices and (N, 3) points, each triangulated from the map keypoints matched to it."""
    store, ktype = views.store, views.ktype
    kpt_ids, xy, view_ids = [], [], []
    used = [m for m in map_names if views.usable(m) and store.has_matches(ktype, query_name, m)]
    for index, name in enumerate(used):
        matches = store.read_matches(ktype, query_name, name)[:, :2].astype(np.int64)
        keypoints = views.view(name)[0]
        matches = matches[matches[:, 1] < len(keypoints)]
        kpt_ids.append(matches[:, 0])
        xy.append(keypoints[matches[:, 1]])
        view_ids.append(np.full(len(matches), index))
    if not kpt_ids:
        return np.zeros(0, np.int64), np.zeros((0, 3))
    kpt, xy, view = np.concatenate(kpt_ids), np.concatenate(xy), np.concatenate(view_ids)
    order = np.argsort(kpt, kind="stable")
    kpt, xy, view = kpt[order], xy[order], view[order]
    starts = np.flatnonzero(np.r_[True, np.diff(kpt) != 0])
    counts = np.diff(np.r_[starts, len(kpt)])
    options = pycolmap.EstimateTriangulationOptions()
    options.residual_type = pycolmap.TriangulationResidualType.REPROJECTION_ERROR
    options.ransac.max_error = float(max_error)
    options.ransac.max_num_trials = int(max_num_iterations)
    options.ransac.random_seed = 0
    options.min_tri_angle = float(np.deg2rad(1.5))  # COLMAP's triangulator default
    found_kpt, found_xyz = [], []
    cams = [views.view(m)[1] for m in used]
    rigids = [views.view(m)[2] for m in used]
    for start, count in zip(starts[counts >= MIN_VIEWS].tolist(), counts[counts >= MIN_VIEWS].tolist()):
        track = view[start:start + count]
        if len(np.unique(track)) < MIN_VIEWS:
            continue
        result = pycolmap.estimate_triangulation(xy[start:start + count], [rigids[i] for i in track],
                                                 [cams[i] for i in track], options)
        if result is not None and int(np.count_nonzero(result["inliers"])) >= MIN_VIEWS:
            found_kpt.append(kpt[start])
            found_xyz.append(result["xyz"])
    return np.array(found_kpt, np.int64), np.array(found_xyz, np.float64).reshape(-1, 3)


def _localsfm_inputs(src: str | Path, query: str | Path, pairsfile: str | Path, keypoints_type: str | None,
                     max_error: float, max_num_iterations: int) -> tuple[Kapture, Correspondences]:
    """The query dataset and each query's (2D, 3D) correspondences through its locally triangulated keypoints."""
    k, kq = load_kapture(src), load_kapture(query)
    ktype = resolve_keypoints_type(k, keypoints_type, src)
    store = KaptureFeatureStore(src, k.version)
    views = MapViews(k, store, ktype)
    pairs = read_ordered_pairs(pairsfile)

    def correspondences(name: str) -> tuple[np.ndarray, np.ndarray] | None:
        if name not in pairs or not store.has("keypoints", ktype, name):
            return None
        kpt, xyz = triangulated_keypoints(name, [m for m, _ in pairs[name]], views, max_error, max_num_iterations)
        return store.read("keypoints", ktype, name)[kpt, :2].astype(np.float64), xyz

    return kq, correspondences


def pycolmap_localsfm(src: str | Path, query: str | Path, out: str | Path, pairsfile: str | Path,
                      options: LocalizationOptions, keypoints_type: str | None = None, max_num_iterations: int = 100000,
                      force: bool = False, report_folder: str | None = None,
                      num_threads: int | None = 1) -> Trajectories:
    """Localize each query image against the points triangulated from its paired map images (``num_threads``
    images at once); write the query with the found poses at ``out`` (and the detailed reports in
    ``out/<report_folder>`` when given)."""
    kq, correspondences = _localsfm_inputs(src, query, pairsfile, keypoints_type, options.max_error,
                                           max_num_iterations)
    return localize_and_write(kq, correspondences, options, out, [src, query], force, report_folder, num_threads)


def pycolmap_rig_localsfm(src: str | Path, query: str | Path, out: str | Path, pairsfile: str | Path,
                          options: LocalizationOptions, rig_ids: Sequence[str] = (), apply_rigs_remove: bool = False,
                          keypoints_type: str | None = None, max_num_iterations: int = 100000,
                          force: bool = False, detailed_report: bool = False,
                          num_threads: int | None = 1) -> Trajectories:
    """The rigs of the query localized at each timestamp (generalized absolute pose) from the locally
    triangulated keypoints of their cameras (``num_threads`` rigs at once)."""
    kq, correspondences = _localsfm_inputs(src, query, pairsfile, keypoints_type, options.max_error,
                                           max_num_iterations)
    return localize_rigs_and_write(kq, correspondences, options, rig_ids, apply_rigs_remove, out, [src, query], force,
                                   detailed_report, num_threads)


# kapture-localization's image_registrator settings for the local models
LOCAL_REGISTRATION = LocalizationOptions(min_num_matches=4, min_num_inliers=4, min_inlier_ratio=0.05, max_error=20.0)


def colmap_localize_localsfm(map_plus_query: str | Path, map_plus_query_gv: str | Path, query: str | Path,
                             out: str | Path, pairsfile: str | Path, descriptors_type: str | None = None,
                             force: bool = False, options: LocalizationOptions = LOCAL_REGISTRATION) -> Trajectories:
    """For each query: its paired map images triangulated (known poses) from their verified matches, then the query
    registered into that local model; the query with its poses goes to ``out/localized`` (written after each query,
    so that a run resumes where it stopped, as kapture's does)."""
    k = load_kapture(map_plus_query_gv)
    kq = load_kapture(query)
    if not Path(pairsfile or "").is_file():
        raise DatasetToolError("give the pairs file of each query's map images (--pairsfile-path)")
    ktype = _keypoints_of(k, descriptors_type, map_plus_query_gv)
    store = KaptureFeatureStore(map_plus_query_gv, k.version)
    views = MapViews(k, store, ktype)
    pairs = read_ordered_pairs(pairsfile)
    localized_dir = Path(out) / "localized"
    done = Trajectories.from_items([])
    if not force and (localized_dir / "sensors" / "trajectories.txt").is_file():
        previous = load_kapture(localized_dir)
        if previous.trajectories is not None and previous.image_keys() == kq.image_keys():
            done = previous.trajectories
    elif force and localized_dir.exists():
        shutil.rmtree(localized_dir)
    items = {key: done[key] for key in done.keys()}
    cameras, keys = kq.cameras(), kq.image_keys()
    todo = {name: [m for m, _ in pairs[name] if views.usable(m)] for name in kq.image_names()
            if keys[name] not in items and name in pairs and name in views.keys and keys[name][1] in cameras}
    needed = {tuple(sorted(p)) for name, map_names in todo.items()
              for p in [*itertools.combinations(map_names, 2), *((name, m) for m in map_names)]}
    complete_matches(map_plus_query, map_plus_query_gv, ktype, sorted(needed), Path(out))
    for name, map_names in tqdm(todo.items(), desc="local SfM", unit="image", disable=None):
        found = _register_in_local_model(name, map_names, views, options)
        if found is None:
            continue
        items[keys[name]] = Pose(*found)
        save_kapture(Kapture(sensors=kq.sensors, rigs=kq.rigs, records={"camera": kq.records_camera},
                             trajectories=Trajectories.from_items(items.items())), localized_dir)
    trajectories = Trajectories.from_items(items.items())
    save_kapture(Kapture(sensors=kq.sensors, rigs=kq.rigs, records={"camera": kq.records_camera},
                         trajectories=trajectories), localized_dir)
    return trajectories


def _keypoints_of(k: Kapture, descriptors_type: str | None, src: str | Path) -> str:
    """The keypoints type of the descriptors type given (kapture-localization's -desc), or the only one."""
    if descriptors_type is not None:
        if descriptors_type not in k.descriptors:
            raise DatasetToolError(f"{src}: no descriptors '{descriptors_type}' (known: "
                                   f"{', '.join(sorted(k.descriptors)) or 'none'})")
        return resolve_keypoints_type(k, k.descriptors[descriptors_type].keypoints_type, src, "-desc")
    return resolve_keypoints_type(k, None, src, "-desc")


def complete_matches(map_plus_query: str | Path, map_plus_query_gv: str | Path, ktype: str,
                     pairs: Sequence[tuple[str, str]], work: Path) -> None:
    """As kapture-localization's local SfM: the ``pairs`` without matches are matched (descriptors of
    ``map_plus_query``, matches written there), the ones without verified matches verified into
    ``map_plus_query_gv``; the pairs files of both steps are left in ``work``."""
    raw, verified = KaptureFeatureStore(map_plus_query), KaptureFeatureStore(map_plus_query_gv)
    to_match = [p for p in pairs if not verified.has_matches(ktype, *p) and not raw.has_matches(ktype, *p)]
    if to_match:
        if ktype not in raw.types("descriptors"):
            logger.warning("%s: no '%s' descriptors: %d pair(s) without matches stay unmatched", map_plus_query,
                           ktype, len(to_match))
        else:
            write_pairs(work / "tmp_pairs_to_match.txt", [(a, b, 0.0) for a, b in to_match])
            match_features.main(map_plus_query, work / "tmp_pairs_to_match.txt",
                                config=PipelineConfig(features=FeaturesConfig(local=ktype)))
    to_verify = [p for p in pairs if not verified.has_matches(ktype, *p) and raw.has_matches(ktype, *p)]
    if to_verify:
        write_pairs(work / "tmp_pairs_to_verify.txt", [(a, b, 0.0) for a, b in to_verify])
        verify_missing(map_plus_query, map_plus_query_gv, work / "tmp_pairs_to_verify.txt", ktype)


def _register_in_local_model(name: str, map_names: list[str], views: MapViews,
                             options: LocalizationOptions) -> tuple[np.ndarray, np.ndarray] | None:
    """The pose of ``name`` registered into the model triangulated from the verified matches of ``map_names``."""
    store, ktype = views.store, views.ktype
    matches = {(a, b): store.read_matches(ktype, a, b)[:, :2].astype(np.int64)
               for i, a in enumerate(map_names) for b in map_names[i + 1:] if store.has_matches(ktype, a, b)}
    if not matches:
        return None
    sensors = {views.keys[m][1] for m in map_names}
    entries = [(m, views.keys[m][1], *views.poses[m]) for m in map_names]
    try:
        result = triangulate_known_poses({s: views.cameras[s] for s in sorted(sensors)}, entries,
                                         {m: views.view(m)[0] for m in map_names}, matches, TriangulationOptions())
    except ValueError:
        return None
    observed: dict[str, tuple[list[int], list[int]]] = {}
    for point, track in enumerate(result.observations):
        for image, keypoint in track:
            kpts, pts = observed.setdefault(image, ([], []))
            kpts.append(keypoint)
            pts.append(point)
    arrays = {m: (np.array(a, np.int64), np.array(b, np.int64)) for m, (a, b) in observed.items()}
    kpt, pts = query_matches(store, ktype, name, map_names, arrays, len(result.points3d))
    keypoints = store.read("keypoints", ktype, name)
    found = localize_image(keypoints[kpt, :2], result.points3d[pts, :3], views.cameras[views.keys[name][1]], options)
    return (found.q, found.t) if found.success else None
