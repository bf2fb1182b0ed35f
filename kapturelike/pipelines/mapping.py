"""The mapping pipeline: map kapture (images with known poses) -> features, pairs, verified
matches, 3D points and observations, all in MAP_DIR in the kapture layout.

MAP_DIR is itself a kapture dataset: the input's sensor files, its images linked through
``sensors/records_data``, and ``reconstruction/`` with everything computed. Every step skips
what is already there, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from kapturelike.core.image_poses import image_poses
from kapturelike.core.reconstruction import Kapture, Observations
from kapturelike.errors import FormatError, KapturelikeError
from kapturelike.geometry.triangulation import TriangulationOptions, triangulate_known_poses
from kapturelike.io.dataset import load_kapture, records_data_path, save_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import write_pairs
from kapturelike.io.reconstruction import write_observations, write_points3d
from kapturelike.io.text import atomic_write
from kapturelike.matching.mnn import MatchingOptions
from kapturelike.matching.verification import VerificationOptions
from kapturelike.pipelines.config import PipelineConfig, save_config
from kapturelike.pipelines.extract_features import (
    extract_global_features,
    extract_local_features,
    global_types,
    make_global_extractor,
    make_local_extractor,
)
from kapturelike.pipelines.match_features import FeatureSource, make_matcher, match_and_verify
from kapturelike.pipelines.retrieval_pairs import retrieval_pairs
from kapturelike.pipelines.steps import StepReport, timed_step

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


def link_records_data(source_root: Path, target_root: Path) -> None:
    """Make the target dataset's records_data point at the source's images (no copy)."""
    source, target = records_data_path(source_root).resolve(), records_data_path(target_root)
    if target.resolve() == source:
        return
    if target.is_symlink() or target.exists():
        if target.is_symlink() and target.resolve() == source:
            return
        raise FormatError(f"{target} exists and is not a link to {source}; use a new output folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(source, target, target_is_directory=True)


def prepare_dataset(kapture: Kapture, source_root: Path, target_root: Path) -> None:
    """Write the sensor part of ``kapture`` into ``target_root`` and link its images."""
    sensors_only = Kapture(sensors=kapture.sensors, rigs=kapture.rigs, trajectories=kapture.trajectories,
                           records=kapture.records)
    save_kapture(sensors_only, target_root)
    link_records_data(source_root, target_root)


def mapping_pairs(names: list[str], store: KaptureFeatureStore, config: PipelineConfig) -> list[tuple[str, str, float]]:
    if len(names) <= config.pairs.exhaustive_below:
        return [(a, b, 1.0) for a, b in combinations(sorted(names), 2)]
    return retrieval_pairs(names, [store], names, [store], global_types(config.features),
                           config.pairs.topk_mapping, exclude_self=True, fusion=config.features.fusion)


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
    image_root = records_data_path(map_kapture)
    reports = []
    local_type = config.features.local
    reports.append(extract_local_features(names, image_root, store, local_type,
                                          make_local_extractor(config.features, config.device), overwrite))
    exhaustive = len(names) <= config.pairs.exhaustive_below  # all pairs: no global features needed
    for gtype in [] if exhaustive else global_types(config.features):
        model_dir = store.folder("global_features", gtype)
        setup = StepReport(f"global model ({gtype}: load, or fit on the map)")
        with timed_step(setup):
            extractor = make_global_extractor(gtype, config.features, model_dir, names, image_root, config.device,
                                              fit=True)
            setup.items = setup.done = 1
        reports.append(setup)
        reports.append(extract_global_features(names, image_root, store, gtype, extractor, overwrite))
    pairs = mapping_pairs(names, store, config)
    write_pairs(map_dir / PAIRS_FILE, pairs)
    image_camera = dict(zip(kapture.records_camera.paths, kapture.records_camera.device_ids.tolist()))
    report, counts = match_and_verify(
        [(a, b) for a, b, _ in pairs], FeatureSource([store], local_type), store,
        MatchingOptions(**{"device": config.device, **config.matching}),
        VerificationOptions(**config.verification), kapture.cameras_by_image(), poses,
        overwrite=overwrite, matcher=matcher)
    reports.append(report)
    triangulation = StepReport("triangulation")
    with timed_step(triangulation):
        features = FeatureSource([store], local_type)
        matches = {}
        for a, b in store.match_pairs(local_type):
            m = store.read_matches(local_type, a, b)
            if len(m):
                matches[(a, b)] = m[:, :2].astype(np.int64)
        keypoints = {n: features.get(n)[0] for n in names}
        entries = [(n, image_camera[n], poses[n][0], poses[n][1]) for n in names]
        result = triangulate_known_poses(cameras, entries, keypoints, matches,
                                         TriangulationOptions(**config.triangulation))
        triangulation.items = triangulation.done = len(result.points3d)
        rows = [(pid, local_type, name, kp) for pid, obs in enumerate(result.observations) for name, kp in obs]
        write_points3d(map_dir / "reconstruction" / "points3d.txt",
                       np.hstack([result.points3d, result.colors.astype(np.float64)]))
        write_observations(map_dir / "reconstruction" / "observations.txt", Observations.from_lists(rows))
    reports.append(triangulation)
    with atomic_write(map_dir / "mapping_report.txt") as f:
        f.write("\n".join(r.summary() for r in reports) + "\n")
        f.write(f"points: {len(result.points3d)}, observations: {len(rows)}, "
                f"mean reprojection error: {result.mean_reprojection_error:.3f} px\n")
    return MappingResult(map_dir, len(names), len(pairs), len(result.points3d), len(rows),
                         result.mean_reprojection_error, reports)
