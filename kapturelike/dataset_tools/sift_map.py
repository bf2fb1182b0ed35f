"""kapture-localization's SIFT tools without the COLMAP executable: ``kapture_colmap_build_sift_map`` (SIFT
extracted, matched and verified, then triangulated with the known poses) and ``kapture_colmap_localize_sift``
(SIFT of the new images matched to the map database's, then registered into the map model).

kapturelike's SIFT (``kapturelike.features.sift``) and matching (mutual nearest neighbours with the ratio test,
then geometric verification: known poses between posed images, RANSAC otherwise) stand in for COLMAP's
SiftExtraction and vocabulary-tree matcher; the vocabulary tree file is not needed: every pair of a map of up to
101 images is matched (COLMAP compares each image with its 100 most similar ones), in a larger map each image with
its 100 nearest images looking the same way (the map is posed), and every query with every map image. The
features live in ``<output>/sift_kapture`` (a kapture dataset linked to the input's images; -f starts over);
the map database holds the SIFT keypoints and descriptors (quantised to COLMAP's uint8 as COLMAP's SIFT) that
``kapture_colmap_localize_sift`` matches the new images against.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from kapturelike.converters.colmap_database import database_images, import_database
from kapturelike.core.image_poses import image_pose_table
from kapturelike.core.pose import camera_centers, viewing_directions
from kapturelike.core.reconstruction import Kapture
from kapturelike.dataset_tools.build_map import triangulate_map, write_map
from kapturelike.dataset_tools.colmap_localize import register_into_model
from kapturelike.dataset_tools.output import DatasetToolError, refuse_overlap
from kapturelike.geometry.absolute_pose import LocalizationOptions, LocalizationResult
from kapturelike.geometry.triangulation import TriangulationResult
from kapturelike.io.dataset import load_kapture
from kapturelike.io.output import KAPTURE_PARTS, prepare_output
from kapturelike.io.pairs import write_pairs
from kapturelike.pipelines import extract_features, match_features
from kapturelike.pipelines.config import FeaturesConfig, PipelineConfig
from kapturelike.pipelines.workspace import prepare_dataset
from kapturelike.retrieval.pose_pairs import DistancePairsOptions, distance_pairs_named

SIFT = "sift"
WORK = "sift_kapture"
MAP_WORK = "map_sift_kapture"
NUM_IMAGES = 100  # COLMAP's VocabTreeMatching.num_images


def _prepare(out: str | Path, force: bool) -> Path:
    """The output folder, empty or (``force``) emptied of what these tools write, the SIFT workspaces included."""
    return prepare_output(out, (), force, parts=(*KAPTURE_PARTS, "colmap.db", WORK, MAP_WORK))


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


def map_pairs(k: Kapture, num_images: int = NUM_IMAGES) -> list[tuple[str, str, float]]:
    """The pairs to match in a map: all of them up to ``num_images`` images (COLMAP's vocabulary-tree matcher
    compares each image with its ``num_images`` most similar ones, i.e. all of a small map), else each posed image
    with its ``num_images`` nearest posed images looking the same way (within 45 degrees)."""
    names = k.image_names()
    if len(names) <= num_images + 1:
        return [(a, b, 1.0) for a, b in itertools.combinations(names, 2)]
    posed, _, _, q, t = image_pose_table(k)
    centers = camera_centers(q, t)
    extent = float(np.ptp(centers, axis=0).max()) + 1.0
    options = DistancePairsOptions(max_distance=2 * extent, topk=num_images)
    pairs = distance_pairs_named(posed, centers, viewing_directions(q), posed, centers, viewing_directions(q), options)
    return [(a, b, score) for a, b, score in {tuple(sorted((a, b))): (min(a, b), max(a, b), s)
                                              for a, b, s in pairs}.values()]


def build_sift_map(src: str | Path, out: str | Path, force: bool = False, device: str = "auto"
                   ) -> TriangulationResult:
    """SIFT of every image of the posed dataset ``src``, every pair matched and verified, the matches triangulated
    with the known poses: ``out/reconstruction`` and ``out/colmap.db`` (with SIFT descriptors)."""
    refuse_overlap(out, [src])
    out = _prepare(out, force)
    config = sift_config(device)
    k = _sift_dataset(Path(src), out / WORK, config, keep_poses=True)
    if len(k.image_names()) < 2:
        raise DatasetToolError(f"{src}: a map needs two images or more")
    write_pairs(out / WORK / "pairs.txt", map_pairs(k))
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
    out = _prepare(out, force)
    config = sift_config(device)
    in_map = database_images(database)
    k = _sift_dataset(Path(src), out / WORK, config, keep_poses=False)
    map_dir = out / MAP_WORK
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
