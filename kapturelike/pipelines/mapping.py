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

from kapturelike.core.image_poses import image_poses
from kapturelike.core.reconstruction import Observations
from kapturelike.errors import KapturelikeError
from kapturelike.geometry.triangulation import triangulate_known_poses
from kapturelike.io.dataset import load_kapture, records_data_path
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.reconstruction import write_observations, write_points3d
from kapturelike.io.text import atomic_write
from kapturelike.pipelines.config import PipelineConfig, save_config
from kapturelike.pipelines.front import FrontHalf, ImageSet, run_front_half
from kapturelike.pipelines.match_features import make_matcher
from kapturelike.pipelines.steps import StepReport, timed_step
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


def run_mapping(map_kapture: str | Path, map_dir: str | Path, config: PipelineConfig,
                overwrite: bool = False) -> MappingResult:
    map_kapture, map_dir = Path(map_kapture), Path(map_dir)
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
    prepare_dataset(kapture, map_kapture, map_dir)
    save_config(config, map_dir / CONFIG_FILE)
    store = KaptureFeatureStore(map_dir)
    side = ImageSet(names, records_data_path(map_kapture), store)
    front = run_front_half(side, side, config, map_dir / PAIRS_FILE, kapture.cameras_by_image(), poses,
                           config.verification, overwrite, matcher)
    image_camera = dict(zip(kapture.records_camera.paths, kapture.records_camera.device_ids.tolist()))
    triangulation = StepReport("triangulation")
    with timed_step(triangulation):
        result, rows = triangulate(front, store, names, cameras, image_camera, poses, config)
        write_points3d(map_dir / "reconstruction" / "points3d.txt",
                       np.hstack([result.points3d, result.colors.astype(np.float64)]))
        write_observations(map_dir / "reconstruction" / "observations.txt", Observations.from_lists(rows))
        triangulation.items = triangulation.done = len(result.points3d)
    reports = front.reports + [triangulation]
    with atomic_write(map_dir / "mapping_report.txt") as f:
        f.write("\n".join(r.summary() for r in reports) + "\n")
        f.write(f"points: {len(result.points3d)}, observations: {len(rows)}, "
                f"mean reprojection error: {result.mean_reprojection_error:.3f} px\n")
    return MappingResult(map_dir, len(names), len(front.pairs), len(result.points3d), len(rows),
                         result.mean_reprojection_error, reports)


def triangulate(front: FrontHalf, store: KaptureFeatureStore, names: list[str], cameras: dict,
                image_camera: dict[str, str], poses: dict, config: PipelineConfig):
    """3D points of every stored match (this run's from memory), and their observation rows."""
    local_type = config.features.local
    kept = {tuple(sorted(pair)): (m if pair[0] < pair[1] else m[:, [1, 0, 2]]) for pair, m in front.matches.items()}
    matches = {}
    for a, b in store.match_pairs(local_type):
        m = kept[(a, b)] if (a, b) in kept else store.read_matches(local_type, a, b)
        if len(m):
            matches[(a, b)] = m[:, :2].astype(np.int64)
    keypoints = {n: front.features.get(n)[0] for n in names}
    entries = [(n, image_camera[n], poses[n][0], poses[n][1]) for n in names]
    result = triangulate_known_poses(cameras, entries, keypoints, matches, config.triangulation)
    rows = [(pid, local_type, name, kp) for pid, obs in enumerate(result.observations) for name, kp in obs]
    return result, rows
