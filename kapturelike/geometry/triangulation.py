"""Triangulate 3D points from verified matches with the camera poses kept fixed (pycolmap 4.x).

This is COLMAP's ``point_triangulator`` done in memory: the matches feed a ``CorrespondenceGraph``
directly (no temporary database), pycolmap's ``IncrementalTriangulator`` creates, completes and
merges tracks, and an optional bundle adjustment refines the points only (poses and intrinsics are
constant). Points with a large reprojection error or a small triangulation angle are filtered out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pycolmap

from kapturelike.errors import KapturelikeError
from kapturelike.geometry.colmap_model import CameraLike, ImageEntry, build_reconstruction, image_ids_by_name


class TriangulationInputError(KapturelikeError, ValueError):
    """Matches or images that do not fit the reconstruction (unknown image, index out of range)."""


@dataclass
class TriangulationOptions:
    """Options of triangulation with known poses (defaults are COLMAP's point_triangulator ones).

    Attributes:
        max_reproj_error: pixels; to complete / merge tracks and to filter points at the end.
        min_tri_angle: degrees; smallest triangulation angle of a kept point.
        create_max_angle_error: degrees; angular error allowed when creating a point.
        continue_max_angle_error: degrees; angular error allowed when extending a track.
        ignore_two_view_tracks: skip correspondences seen by only two images (COLMAP's default is
            True). Off by default here: with known poses and verified matches, two-view points are
            reliable, and a localization map needs them where images overlap only their neighbours.
        complete_and_merge: complete tracks with more observations and merge tracks of the same point.
        retriangulate: also retriangulate under-reconstructed image pairs.
        bundle_adjust: refine the 3D points by bundle adjustment, poses and intrinsics constant.
        refinement_rounds: rounds of (bundle adjustment, complete / merge, filter).
        ba_loss: Ceres loss of the bundle adjustment: TRIVIAL, SOFT_L1, CAUCHY or HUBER.
        ba_max_iterations: Ceres iterations per bundle adjustment.
        ba_function_tolerance: Ceres stops when the relative cost decrease of an iteration is below this.
        random_seed: seed of the triangulator's RANSAC (-1 for random).
    """

    max_reproj_error: float = 4.0
    min_tri_angle: float = 1.5
    create_max_angle_error: float = 2.0
    continue_max_angle_error: float = 2.0
    ignore_two_view_tracks: bool = False
    complete_and_merge: bool = True
    retriangulate: bool = False
    bundle_adjust: bool = True
    refinement_rounds: int = 2
    ba_loss: str = "SOFT_L1"
    ba_max_iterations: int = 50
    ba_function_tolerance: float = 1e-4
    random_seed: int = 0

    def triangulator_options(self) -> pycolmap.IncrementalTriangulatorOptions:
        opts = pycolmap.IncrementalTriangulatorOptions()
        opts.complete_max_reproj_error = self.max_reproj_error
        opts.merge_max_reproj_error = self.max_reproj_error
        opts.min_angle = self.min_tri_angle
        opts.create_max_angle_error = self.create_max_angle_error
        opts.continue_max_angle_error = self.continue_max_angle_error
        opts.ignore_two_view_tracks = self.ignore_two_view_tracks
        opts.random_seed = self.random_seed
        return opts

    def ba_options(self) -> pycolmap.BundleAdjustmentOptions:
        if self.ba_loss not in pycolmap.LossFunctionType.__members__:
            raise TriangulationInputError(
                f"ba_loss must be one of {list(pycolmap.LossFunctionType.__members__)}, got '{self.ba_loss}'")
        opts = pycolmap.BundleAdjustmentOptions()
        for name in ("refine_rig_from_world", "refine_sensor_from_rig", "refine_focal_length",
                     "refine_principal_point", "refine_extra_params"):
            setattr(opts, name, False)
        opts.print_summary = False
        opts.ceres.loss_function_type = pycolmap.LossFunctionType.__members__[self.ba_loss]
        opts.ceres.solver_options.max_num_iterations = self.ba_max_iterations
        # poses are fixed, so every point converges on its own within a few iterations: stop once the
        # cost no longer moves (Ceres' default 0 runs all iterations, most of them moving nothing)
        opts.ceres.solver_options.function_tolerance = self.ba_function_tolerance
        return opts


@dataclass
class ImageStats:
    num_keypoints: int
    num_observations: int  # keypoints that observe a kept 3D point


@dataclass
class TriangulationResult:
    """Triangulated points as plain data; ``reconstruction`` is the pycolmap model with the points."""

    points3d: np.ndarray  # (P, 3) float64
    colors: np.ndarray  # (P, 3) uint8
    errors: np.ndarray  # (P,) float64, mean reprojection error of each point, pixels
    observations: list[list[tuple[str, int]]]  # per point: (image_name, keypoint_index)
    image_stats: dict[str, ImageStats]
    mean_reprojection_error: float
    reconstruction: pycolmap.Reconstruction


def _correspondence_graph(reconstruction: pycolmap.Reconstruction,
                          matches: Mapping[tuple[str, str], np.ndarray]) -> pycolmap.CorrespondenceGraph:
    ids = image_ids_by_name(reconstruction)
    graph = pycolmap.CorrespondenceGraph()
    for image_id, image in reconstruction.images.items():
        graph.add_image(image_id, image.num_points2D())
    for (name1, name2), m in matches.items():
        for name in (name1, name2):
            if name not in ids:
                raise TriangulationInputError(
                    f"matches ({name1}, {name2}): image '{name}' is not in the reconstruction")
        if name1 == name2:
            raise TriangulationInputError(f"matches ({name1}, {name2}): an image cannot match itself")
        m = np.asarray(m)
        if m.ndim != 2 or m.shape[1] < 2:
            raise TriangulationInputError(f"matches ({name1}, {name2}): expected (M, 2), got shape {m.shape}")
        if len(m) == 0:
            continue
        m = m[:, :2].astype(np.int64)
        n1 = reconstruction.image(ids[name1]).num_points2D()
        n2 = reconstruction.image(ids[name2]).num_points2D()
        if m.min() < 0 or m[:, 0].max() >= n1 or m[:, 1].max() >= n2:
            raise TriangulationInputError(
                f"matches ({name1}, {name2}): keypoint index out of range ({n1}, {n2})")
        geometry = pycolmap.TwoViewGeometry()
        geometry.config = pycolmap.TwoViewGeometryConfiguration.CALIBRATED
        geometry.inlier_matches = np.ascontiguousarray(m, dtype=np.uint32)
        graph.add_two_view_geometry(ids[name1], ids[name2], geometry)
    graph.finalize()
    return graph


def _colors(tracks_image: np.ndarray, tracks_xy: np.ndarray, tracks_point: np.ndarray, num_points: int,
            images: Mapping[str, np.ndarray] | None, id_to_name: Mapping[int, str]) -> np.ndarray:
    """Mean colour of each point over its observations; 128 grey where no image is given."""
    if not images or num_points == 0:
        return np.full((num_points, 3), 128, np.uint8)
    total = np.zeros((num_points, 3))
    count = np.zeros(num_points)
    for image_id in np.unique(tracks_image):
        pixels = images.get(id_to_name[int(image_id)])
        if pixels is None:
            continue
        pixels = np.asarray(pixels)
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        sel = tracks_image == image_id
        # COLMAP pixel convention: pixel (r, c) covers [c, c + 1) x [r, r + 1)
        cols = np.clip(np.floor(tracks_xy[sel, 0]).astype(np.int64), 0, pixels.shape[1] - 1)
        rows = np.clip(np.floor(tracks_xy[sel, 1]).astype(np.int64), 0, pixels.shape[0] - 1)
        sample = pixels[rows, cols][:, :3].astype(np.float64)
        np.add.at(total, tracks_point[sel], np.broadcast_to(sample, (len(sample), 3)))
        np.add.at(count, tracks_point[sel], 1)
    colors = np.full((num_points, 3), 128.0)
    seen = count > 0
    colors[seen] = total[seen] / count[seen, None]
    return np.clip(np.round(colors), 0, 255).astype(np.uint8)


def _adjust_points(rec: pycolmap.Reconstruction, options: pycolmap.BundleAdjustmentOptions) -> None:
    """Bundle adjustment of the 3D points only (the options hold every pose and intrinsic constant)."""
    config = pycolmap.BundleAdjustmentConfig()
    for image_id in rec.reg_image_ids():
        config.add_image(image_id)
    # the adjuster, not pycolmap.bundle_adjustment, so that nothing is logged per call
    pycolmap.create_default_bundle_adjuster(options, config, rec).solve()


def triangulate(reconstruction: pycolmap.Reconstruction, matches: Mapping[tuple[str, str], np.ndarray],
                options: TriangulationOptions | None = None,
                images: Mapping[str, np.ndarray] | None = None) -> TriangulationResult:
    """Triangulate the verified matches of posed images; poses and intrinsics stay as given.

    Args:
        reconstruction: cameras, posed images and their keypoints (see ``build_reconstruction``); not
            modified, a copy without its 3D points is used.
        matches: (image_name1, image_name2) -> (M, >=2) keypoint indices, already verified.
        options: see :class:`TriangulationOptions`.
        images: image_name -> uint8 (H, W) or (H, W, 3) pixels, for point colours.
    """
    options = options or TriangulationOptions()
    rec = pycolmap.Reconstruction(reconstruction)
    for point3d_id in list(rec.point3D_ids()):
        rec.delete_point3D(point3d_id)
    graph = _correspondence_graph(rec, matches)
    observation_manager = pycolmap.ObservationManager(rec, graph)
    triangulator = pycolmap.IncrementalTriangulator(graph, rec, observation_manager)
    tri_options = options.triangulator_options()
    for image_id in rec.reg_image_ids():
        triangulator.triangulate_image(tri_options, image_id)
    if options.complete_and_merge:
        triangulator.complete_all_tracks(tri_options)
        triangulator.merge_all_tracks(tri_options)
    if options.retriangulate:
        triangulator.retriangulate(tri_options)
    rounds = options.refinement_rounds if options.bundle_adjust else 0
    ba_options = options.ba_options() if rounds else None
    for _ in range(rounds):
        if rec.num_points3D() == 0:
            break
        _adjust_points(rec, ba_options)
        if options.complete_and_merge:
            triangulator.complete_all_tracks(tri_options)
            triangulator.merge_all_tracks(tri_options)
        observation_manager.filter_all_points3D(options.max_reproj_error, options.min_tri_angle)
    observation_manager.filter_all_points3D(options.max_reproj_error, options.min_tri_angle)
    rec.update_point_3d_errors()
    return _result(rec, images)


def _result(rec: pycolmap.Reconstruction, images: Mapping[str, np.ndarray] | None) -> TriangulationResult:
    id_to_name = {image_id: image.name for image_id, image in rec.images.items()}
    point_ids = sorted(rec.point3D_ids())
    num = len(point_ids)
    xyz = np.zeros((num, 3))
    errors = np.zeros(num)
    observations: list[list[tuple[str, int]]] = []
    flat_image, flat_idx, flat_point = [], [], []
    for k, point_id in enumerate(point_ids):
        point = rec.point3D(point_id)
        xyz[k] = point.xyz
        errors[k] = point.error
        track = [(el.image_id, el.point2D_idx) for el in point.track.elements]
        observations.append([(id_to_name[i], int(j)) for i, j in track])
        flat_image.extend(i for i, _ in track)
        flat_idx.extend(j for _, j in track)
        flat_point.extend([k] * len(track))
    flat_image_a = np.asarray(flat_image, np.int64)
    flat_idx_a = np.asarray(flat_idx, np.int64)
    flat_xy = np.zeros((len(flat_idx_a), 2))
    stats = {}
    for image_id in sorted(id_to_name):
        image = rec.image(image_id)
        sel = flat_image_a == image_id
        # Point2DList has no array view: loop over keypoints only when colours need them
        if images and image.name in images and sel.any():
            keypoints = np.array([p.xy for p in image.points2D])
            flat_xy[sel] = keypoints[flat_idx_a[sel]]
        stats[image.name] = ImageStats(num_keypoints=image.num_points2D(), num_observations=int(sel.sum()))
    colors = _colors(flat_image_a, flat_xy, np.asarray(flat_point, np.int64), num, images, id_to_name)
    for k, point_id in enumerate(point_ids):
        rec.point3D(point_id).color = colors[k]
    mean_error = float(rec.compute_mean_reprojection_error()) if num else 0.0
    return TriangulationResult(xyz, colors, errors, observations, stats, mean_error, rec)


def triangulate_known_poses(cameras: Mapping[str, CameraLike], images: Sequence[ImageEntry],
                            keypoints: Mapping[str, np.ndarray],
                            matches: Mapping[tuple[str, str], np.ndarray],
                            options: TriangulationOptions | None = None,
                            image_pixels: Mapping[str, np.ndarray] | None = None) -> TriangulationResult:
    """``build_reconstruction`` then :func:`triangulate`, from plain data only."""
    return triangulate(build_reconstruction(cameras, images, keypoints), matches, options, image_pixels)
