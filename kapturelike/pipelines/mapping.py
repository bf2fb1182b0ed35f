"""The mapping pipeline: map kapture (images with known poses) -> features, pairs, verified
matches, 3D points and observations, all in MAP_DIR in the kapture layout.

MAP_DIR is itself a kapture dataset: the input's sensor files, its images linked through
``sensors/records_data``, and ``reconstruction/`` with everything computed. Every step skips
what is already there, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kapturelike.converters.colmap_common import colmap_camera
from kapturelike.converters.colmap_database import write_database
from kapturelike.core.image_poses import image_poses
from kapturelike.core.reconstruction import Kapture, Observations
from kapturelike.errors import KapturelikeError
from kapturelike.geometry.colmap_model import camera_ids, image_ids_by_name
from kapturelike.geometry.triangulation import triangulate_known_poses
from kapturelike.io.dataset import load_kapture
from kapturelike.io.output import refuse_overlap
from kapturelike.io.reconstruction import write_observations, write_points3d
from kapturelike.io.text import atomic_write, remove_stale_temporaries
from kapturelike.pipelines.config import PipelineConfig, save_config
from kapturelike.pipelines.front import FrontHalf, ImageSet, RunControl, close_stores, run_front_half, side_of
from kapturelike.pipelines.match_features import make_matcher
from kapturelike.pipelines.steps import StepReport, failures_of, timed_step
from kapturelike.pipelines.workspace import prepare_dataset

logger = logging.getLogger("kapturelike")

PAIRS_FILE = "pairs_mapping.txt"
CONFIG_FILE = "mapping_config.yaml"


@dataclass
class MappingResult:
    map_dir: Path
    num_images: int
    num_pairs: int
    num_points: int
    num_observations: int
    mean_reprojection_error: float
    reports: list[StepReport] = field(default_factory=list)

    def failures(self) -> dict[str, str]:
        """Item -> step and reason of every item some step could not do (the run went on without it)."""
        return failures_of(self.reports)


def run_mapping(map_kapture: str | Path, map_dir: str | Path, config: PipelineConfig,
                overwrite: bool = False, control: RunControl | None = None) -> MappingResult:
    """Build the map of ``map_kapture`` in ``map_dir``; ``control`` says where features computed before
    are (the input's own reconstruction/ is always looked at), which steps to skip, and the pairs file."""
    map_kapture, map_dir = Path(map_kapture), Path(map_dir)
    refuse_overlap(map_dir, [map_kapture])  # before anything: MAP_DIR on the input would overwrite it
    control = control or RunControl()
    kapture = load_kapture(map_kapture)
    cameras = kapture.cameras()
    names = kapture.image_names()
    if not names:
        raise KapturelikeError(f"{map_kapture}: the map has no camera records")
    poses = image_poses(kapture)
    missing = [n for n in names if n not in poses]
    if missing:
        raise KapturelikeError(f"{map_kapture}: {len(missing)} map images have no pose (first: {missing[0]}); "
                               "mapping needs known poses")
    uncalibrated = [k for k, c in cameras.items() if not c.is_calibrated]
    if uncalibrated:
        raise KapturelikeError(f"{map_kapture}: map cameras need intrinsics, {', '.join(uncalibrated)} have none")
    matcher = make_matcher(config)  # before any work: a wrong matcher / feature combination fails here
    if map_dir.is_dir():
        remove_stale_temporaries(map_dir)  # of a killed run
    prepare_dataset(kapture, map_kapture, map_dir)
    save_config(config, map_dir / CONFIG_FILE)
    side = side_of(names, map_kapture, map_dir, control, config.features.store)
    try:
        return _map(kapture, side, map_dir, config, overwrite, matcher, control, poses)
    finally:
        close_stores(side.stores)


def _map(kapture: Kapture, side: ImageSet, map_dir: Path, config: PipelineConfig, overwrite: bool, matcher,
         control: RunControl, poses: dict) -> MappingResult:
    names, cameras = side.names, kapture.cameras()
    front = run_front_half(side, side, config, map_dir / (control.pairs_name or PAIRS_FILE),
                           kapture.cameras_by_image(), poses, config.verification, overwrite, matcher, control)
    if "colmap_build_map" in control.skip:
        return MappingResult(map_dir, len(names), len(front.pairs), 0, 0, float("nan"), front.reports)
    image_camera = dict(zip(kapture.records_camera.paths, kapture.records_camera.device_ids.tolist()))
    triangulation = StepReport("triangulation")
    with timed_step(triangulation):
        result, rows = triangulate(front, side.names, cameras, image_camera, poses, config)  # failed images left out
        write_points3d(map_dir / "reconstruction" / "points3d.txt",
                       np.hstack([result.points3d, result.colors.astype(np.float64)]))
        write_observations(map_dir / "reconstruction" / "observations.txt", Observations.from_lists(rows))
        triangulation.items = triangulation.done = len(result.points3d)
    reports = front.reports + [triangulation]
    if control.colmap_outputs:
        write_colmap_map(map_dir, front, result, cameras, image_camera, config, poses)
    with atomic_write(map_dir / "mapping_report.txt") as f:
        f.write("\n".join(r.summary() for r in reports) + "\n")
        f.write(f"points: {len(result.points3d)}, observations: {len(rows)}, "
                f"mean reprojection error: {result.mean_reprojection_error:.3f} px\n")
        f.writelines(f"failed: {item}: {reason}\n" for item, reason in failures_of(reports).items())
    return MappingResult(map_dir, len(names), len(front.pairs), len(result.points3d), len(rows),
                         result.mean_reprojection_error, reports)


def triangulate(front: FrontHalf, names: list[str], cameras: dict, image_camera: dict[str, str], poses: dict,
                config: PipelineConfig):
    """3D points of the matches of this run's pairs (kept in memory; read back for a resumed run), and
    their observation rows."""
    local_type = config.features.local
    matches = {}
    for a, b, _ in front.pairs:
        m = front.matches_of(a, b)
        if m is not None and len(m):
            matches[(a, b) if a < b else (b, a)] = (m if a < b else m[:, [1, 0, 2]])[:, :2].astype(np.int64)
    keypoints = {n: front.features.get(n)[0] for n in names}
    entries = [(n, image_camera[n], poses[n][0], poses[n][1]) for n in names]
    result = triangulate_known_poses(cameras, entries, keypoints, matches, config.triangulation)
    rows = [(pid, local_type, name, kp) for pid, obs in enumerate(result.observations) for name, kp in obs]
    return result, rows


def write_colmap_map(map_dir: Path, front: FrontHalf, result, cameras: dict, image_camera: dict[str, str],
                     config: PipelineConfig, poses: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """kapture-localization's map files: ``colmap.db`` (cameras, images with their ``poses`` as priors,
    keypoints, descriptors, verified matches) and the COLMAP model in ``reconstruction/`` (binary, beside the
    kapture files), with the same camera and image ids, so COLMAP and pycolmap open them together."""
    reconstruction = result.reconstruction
    image_ids = image_ids_by_name(reconstruction)
    ids = camera_ids(cameras)
    colmap_cameras = {ids[k]: colmap_camera(k, c, approximate=True) for k, c in cameras.items()}
    images = sorted((image_id, name, ids[image_camera[name]]) for name, image_id in image_ids.items())
    descriptors_type = config.features.descriptors or config.features.local

    def descriptors(name: str):
        store = front.features.descriptors_store_of(name, front.features.store_of(name))
        return store.read("descriptors", descriptors_type, name)

    unique = dict.fromkeys((a, b) if a < b else (b, a) for a, b, _ in front.pairs)
    matches = ((a, b, m[:, :2]) for a, b in unique if (m := front.matches_of(a, b)) is not None and len(m))
    write_database(map_dir / "colmap.db", colmap_cameras, images, front.keypoints, descriptors, matches,
                   approximate=True, priors=poses)
    reconstruction.write(str(map_dir / "reconstruction"))
