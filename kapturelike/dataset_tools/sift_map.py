"""kapture-localization's SIFT tools without the COLMAP executable: ``kapture_colmap_build_sift_map`` (SIFT
extracted, matched and verified, then triangulated with the known poses) and ``kapture_colmap_localize_sift``
(SIFT of the new images matched to the map database's, then registered into the map model).

kapturelike's SIFT (``kapturelike.features.sift``) and matching (mutual nearest neighbours with the ratio test,
then geometric verification: known poses between posed images, RANSAC otherwise) stand in for COLMAP's
SiftExtraction and vocabulary-tree matcher: every pair is matched (exhaustive), so the vocabulary tree file is
not needed. The features live in ``<output>/sift_kapture`` (a kapture dataset linked to the input's images;
a rerun reuses them); the map database holds the SIFT keypoints and descriptors (quantised to COLMAP's uint8
as COLMAP's SIFT) that ``kapture_colmap_localize_sift`` matches the new images against.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from kapturelike.converters.colmap_database import database_images, import_database
from kapturelike.core.reconstruction import Kapture
from kapturelike.dataset_tools.build_map import triangulate_map, write_map
from kapturelike.dataset_tools.colmap_localize import register_into_model
from kapturelike.dataset_tools.output import DatasetToolError, prepare_output, refuse_overlap
from kapturelike.geometry.absolute_pose import LocalizationOptions, LocalizationResult
from kapturelike.geometry.triangulation import TriangulationResult
from kapturelike.io.dataset import load_kapture
from kapturelike.io.pairs import write_pairs
from kapturelike.pipelines import extract_features, match_features
from kapturelike.pipelines.config import FeaturesConfig, PipelineConfig
from kapturelike.pipelines.workspace import prepare_dataset

SIFT = "sift"
WORK = "sift_kapture"


def sift_config(device: str = "auto") -> PipelineConfig:
    return PipelineConfig(features=FeaturesConfig(local=SIFT), device=device)


def _sift_dataset(src: Path, work: Path, config: PipelineConfig, keep_poses: bool) -> Kapture:
    """``work``: the sensors and records of ``src`` (with its poses only when ``keep_poses``: a query's ground
    truth must not steer the matching), its images linked, and their SIFT features."""
    k = load_kapture(src)
    if not (work / "sensors").is_dir():
        prepare_dataset(Kapture(sensors=k.sensors, rigs=k.rigs, trajectories=k.trajectories if keep_poses else None,
                                records=k.records), src, work)
    extract_features.main(src, work, config)
    return k


def build_sift_map(src: str | Path, out: str | Path, force: bool = False, device: str = "auto"
                   ) -> TriangulationResult:
    """SIFT of every image of the posed dataset ``src``, every pair matched and verified, the matches triangulated
    with the known poses: ``out/reconstruction`` and ``out/colmap.db`` (with SIFT descriptors)."""
    refuse_overlap(out, [src])
    out = prepare_output(out, force)
    config = sift_config(device)
    k = _sift_dataset(Path(src), out / WORK, config, keep_poses=True)
    names = k.image_names()
    if len(names) < 2:
        raise DatasetToolError(f"{src}: a map needs two images or more")
    write_pairs(out / WORK / "pairs.txt", [(a, b, 1.0) for a, b in itertools.combinations(names, 2)])
    match_features.main(out / WORK, out / WORK / "pairs.txt", config=config, verify=True)
    build = triangulate_map(out / WORK, None, SIFT)
    write_map(build, out, database=True, descriptors_type=SIFT)
    return build.result


def colmap_localize_sift(src: str | Path, out: str | Path, database: str | Path, reconstruction: str | Path,
                         options: LocalizationOptions | None = None, force: bool = False,
                         device: str = "auto") -> dict[str, LocalizationResult]:
    """SIFT of the images of ``src`` missing from the map database, matched to every map image's SIFT of the
    database and verified (RANSAC), then registered into the map model: ``out/reconstruction``, ``out/colmap.db``."""
    if not database or not Path(database).is_file():
        raise DatasetToolError(f"give the map's COLMAP database with -db (the one kapture_colmap_build_sift_map "
                               f"wrote){f': {database} does not exist' if database else ''}")
    refuse_overlap(out, [src])
    out = prepare_output(out, force)
    config = sift_config(device)
    in_map = database_images(database)
    k = _sift_dataset(Path(src), out / WORK, config, keep_poses=False)
    map_dir = out / "map_sift_kapture"
    if not (map_dir / "sensors").is_dir():
        import_database(database, map_dir, keypoints_type=SIFT, descriptors_type=SIFT)
    kmap = load_kapture(map_dir)
    if SIFT not in kmap.descriptors:
        raise DatasetToolError(f"{database}: no descriptors (build the map with kapture_colmap_build_sift_map)")
    map_names = sorted(kmap.descriptors[SIFT].images)
    queries = [n for n in k.image_names() if n not in in_map]
    write_pairs(out / WORK / "pairs.txt", [(q, m, 1.0) for q in queries for m in map_names])
    match_features.main(out / WORK, out / WORK / "pairs.txt", config=config, verify=True,
                        map_dir=map_dir)
    return register_into_model(out / WORK, out, database, reconstruction, None, SIFT, options)
