"""kapture-localization's SIFT tools without the COLMAP executable: ``kapture_colmap_build_sift_map`` (SIFT
extracted, matched and verified, then triangulated with the known poses) and ``kapture_colmap_localize_sift``
(SIFT of the new images matched to the map database's, then registered into the map model).

kapturelike's SIFT (``kapturelike.features.sift``) and matching (mutual nearest neighbours with the ratio test,
then geometric verification: known poses between posed images, RANSAC otherwise) stand in for COLMAP's
SiftExtraction and vocabulary-tree matcher. With a vocabulary tree pycolmap reads (-voc; COLMAP 3.12+'s faiss
format), the pairs are COLMAP's: each image with its --VocabTreeMatching.num_images (100) most similar ones, each
query with its most similar map images. Without one (absent, or a pre-2025 flann tree: a warning says which), every
pair of a map of up to 101 images is matched (what COLMAP's 100 most similar images amount to), in a larger map
each image with its 100 nearest images looking the same way (the map is posed), and every query with every map
image. The
features live in ``<output>/sift_kapture`` (a kapture dataset linked to the input's images; -f starts over);
the map database holds the SIFT keypoints and descriptors (quantised to COLMAP's uint8 as COLMAP's SIFT) that
``kapture_colmap_localize_sift`` matches the new images against.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kapturelike.converters.colmap_database import database_images, import_database
from kapturelike.core.image_poses import image_pose_table
from kapturelike.core.pose import camera_centers, viewing_directions
from kapturelike.core.reconstruction import Kapture
from kapturelike.dataset_tools.build_map import triangulate_map, write_map
from kapturelike.dataset_tools.colmap_localize import colmap_option_values, register_into_model
from kapturelike.dataset_tools.output import DatasetToolError, prepare_output, refuse_overlap
from kapturelike.geometry.absolute_pose import LocalizationOptions, LocalizationResult
from kapturelike.geometry.triangulation import TriangulationResult
from kapturelike.io.dataset import load_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.output import KAPTURE_PARTS
from kapturelike.io.pairs import write_pairs
from kapturelike.pipelines import extract_features, match_features
from kapturelike.pipelines.config import FeaturesConfig, PipelineConfig
from kapturelike.pipelines.workspace import prepare_dataset
from kapturelike.retrieval.pose_pairs import DistancePairsOptions, distance_pairs_named
from kapturelike.retrieval.vocab_tree import VocabTreeOptions, VocabTreeUnavailable, read_vocab_tree, vocab_tree_pairs

SIFT = "sift"
WORK = "sift_kapture"
MAP_WORK = "map_sift_kapture"
NUM_IMAGES = 100  # COLMAP's VocabTreeMatching.num_images
VOCAB_TREE_OPTIONS = {"--VocabTreeMatching.num_images": ("num_images", int),
                      "--VocabTreeMatching.num_nearest_neighbors": ("num_nearest_neighbors", int),
                      "--VocabTreeMatching.num_checks": ("num_checks", int),
                      "--VocabTreeMatching.max_num_features": ("max_num_features", int)}
logger = logging.getLogger("kapturelike")


def vocab_tree_options(colmap_options: Sequence[str]) -> tuple[VocabTreeOptions, list[str]]:
    """COLMAP's --VocabTreeMatching.* options among ``colmap_options``, and the others."""
    values, unused = colmap_option_values(colmap_options, VOCAB_TREE_OPTIONS)
    return VocabTreeOptions(**values), unused


def usable_vocab_tree(path: str | Path | None) -> Path | None:
    """``path`` when pycolmap reads the tree there; else None, with a warning saying why."""
    if path is None:
        return None
    try:
        read_vocab_tree(path)
    except VocabTreeUnavailable as e:
        logger.warning("%s: image pairs are chosen without it", e)
        return None
    return Path(path)


# kapture-localization's steps of each tool (-s skips them); update_db_cameras and fix_db_cameras have nothing to
# skip here: the database cameras always come from the kapture sensors (COLMAP's extractor would guess them)
BUILD_SIFT_MAP_STEPS = ("delete_existing", "feature_extract", "update_db_cameras", "matches",
                        "priors_for_reconstruction", "triangulation", "model_converter")
LOCALIZE_SIFT_STEPS = ("delete_existing", "feature_extractmatches", "fix_db_cameras", "image_registrator",
                       "model_converter")


def _prepare(out: str | Path, force: bool, skip: Sequence[str]) -> Path:
    """The output folder, empty or (``force``) emptied of what these tools write, the SIFT workspaces included;
    left as it is with ``delete_existing`` in ``skip``."""
    return prepare_output(out, force, skip, (*KAPTURE_PARTS, "colmap.db", "priors_for_reconstruction", WORK, MAP_WORK))


def sift_config(device: str = "auto") -> PipelineConfig:
    return PipelineConfig(features=FeaturesConfig(local=SIFT), device=device)


def _sift_dataset(src: Path, work: Path, config: PipelineConfig, keep_poses: bool, extract: bool = True) -> Kapture:
    """``work``: the sensors and records of ``src`` (with its poses only when ``keep_poses``: a query's ground
    truth must not steer the matching), its images linked, and their SIFT features (already there when not
    ``extract``: kapture's skipped extraction step)."""
    k = load_kapture(src)
    if not extract:
        done = KaptureFeatureStore(work) if (work / "sensors").is_dir() else None
        missing = [n for n in k.image_names() if done is None or not done.has("descriptors", SIFT, n)]
        if missing:
            raise DatasetToolError(f"{work}: no SIFT features of {len(missing)} image(s) (first: {missing[0]}); "
                                   "the extraction step cannot be skipped")
        return k
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


def _tree_pairs(vocab_tree: Path, names: list[str], queries: list[str], stores: dict[str, KaptureFeatureStore],
                options: VocabTreeOptions) -> list[tuple[str, str, float]]:
    """Vocabulary-tree pairs, the SIFT of each image read from its store (image name -> store)."""
    return vocab_tree_pairs(vocab_tree, names, queries, lambda n: stores[n].read("keypoints", SIFT, n),
                            lambda n: stores[n].read("descriptors", SIFT, n), options)


def build_sift_map(src: str | Path, out: str | Path, force: bool = False, device: str = "auto",
                   vocab_tree: str | Path | None = None, tree_options: VocabTreeOptions | None = None,
                   skip: Sequence[str] = ()) -> TriangulationResult | None:
    """SIFT of every image of the posed dataset ``src``, image pairs (``vocab_tree``'s when pycolmap reads it,
    else ``map_pairs``) matched and verified, the matches triangulated with the known poses: ``out/reconstruction``
    (None when ``skip`` holds triangulation), ``out/colmap.db`` (with SIFT descriptors) and
    ``out/priors_for_reconstruction``; the steps of BUILD_SIFT_MAP_STEPS in ``skip`` are left out (the ones
    before reuse what an earlier run left in ``out``)."""
    unknown = sorted(set(skip) - set(BUILD_SIFT_MAP_STEPS))
    if unknown:
        raise DatasetToolError(f"unknown step(s) {', '.join(unknown)} (known: {', '.join(BUILD_SIFT_MAP_STEPS)})")
    refuse_overlap(out, [src])
    vocab_tree = usable_vocab_tree(vocab_tree)
    out = _prepare(out, force, skip)
    config = sift_config(device)
    k = _sift_dataset(Path(src), out / WORK, config, keep_poses=True, extract="feature_extract" not in skip)
    names = k.image_names()
    if len(names) < 2:
        raise DatasetToolError(f"{src}: a map needs two images or more")
    if "matches" not in skip:
        _match_map(k, out, config, vocab_tree, tree_options)
    build = triangulate_map(out / WORK, None, SIFT, triangulate_points="triangulation" not in skip)
    write_map(build, out, database=True, descriptors_type=SIFT, binary="model_converter" in skip,
              priors="priors_for_reconstruction" not in skip)
    return build.result


def _match_map(k: Kapture, out: Path, config: PipelineConfig, vocab_tree: Path | None,
               tree_options: VocabTreeOptions | None) -> None:
    names = k.image_names()
    if vocab_tree is None:
        pairs = map_pairs(k)
    else:
        store = KaptureFeatureStore(out / WORK)
        found = _tree_pairs(vocab_tree, names, names, dict.fromkeys(names, store), tree_options or VocabTreeOptions())
        pairs = list({tuple(sorted((a, b))): (min(a, b), max(a, b), s) for a, b, s in reversed(found)}.values())
    write_pairs(out / WORK / "pairs.txt", pairs)
    match_features.main(out / WORK, out / WORK / "pairs.txt", config=config, verify=True)


def colmap_localize_sift(src: str | Path, out: str | Path, database: str | Path, reconstruction: str | Path,
                         options: LocalizationOptions | None = None, force: bool = False,
                         device: str = "auto", vocab_tree: str | Path | None = None,
                         tree_options: VocabTreeOptions | None = None,
                         skip: Sequence[str] = ()) -> dict[str, LocalizationResult]:
    """SIFT of the images of ``src`` missing from the map database, matched to the SIFT of the database's map
    images (``vocab_tree``'s most similar ones when pycolmap reads it, else all) and verified (RANSAC), then
    registered into the map model: ``out/reconstruction``, ``out/colmap.db``. The steps of LOCALIZE_SIFT_STEPS
    in ``skip`` are left out (feature_extractmatches: the features and matches of an earlier run are used)."""
    unknown = sorted(set(skip) - set(LOCALIZE_SIFT_STEPS))
    if unknown:
        raise DatasetToolError(f"unknown step(s) {', '.join(unknown)} (known: {', '.join(LOCALIZE_SIFT_STEPS)})")
    reuse = "feature_extractmatches" in skip
    if not database or not Path(database).is_file():
        raise DatasetToolError(f"give the map's COLMAP database with -db (the one kapture_colmap_build_sift_map "
                               f"wrote){f': {database} does not exist' if database else ''}")
    refuse_overlap(out, [src])
    vocab_tree = usable_vocab_tree(vocab_tree)
    out = _prepare(out, force, skip)
    config = sift_config(device)
    in_map = database_images(database)
    k = _sift_dataset(Path(src), out / WORK, config, keep_poses=False, extract=not reuse)
    map_dir = out / MAP_WORK
    if not (map_dir / "sensors").is_dir():
        import_database(database, map_dir, keypoints_type=SIFT, descriptors_type=SIFT)
    kmap = load_kapture(map_dir)
    if SIFT not in kmap.descriptors:
        raise DatasetToolError(f"{database}: no descriptors (build the map with kapture_colmap_build_sift_map)")
    map_names = sorted(kmap.descriptors[SIFT].images)
    queries = [n for n in k.image_names() if n not in in_map]
    if reuse:
        return register_into_model(out / WORK, out, database, reconstruction, None, SIFT, options, skip)
    if vocab_tree is None:
        pairs = [(q, m, 1.0) for q in queries for m in map_names]
    else:  # each query with its most similar map images (query-query pairs add nothing to a registration)
        stores = {**dict.fromkeys(map_names, KaptureFeatureStore(map_dir)),
                  **dict.fromkeys(queries, KaptureFeatureStore(out / WORK))}
        pairs = _tree_pairs(vocab_tree, map_names, queries, stores, tree_options or VocabTreeOptions())
    write_pairs(out / WORK / "pairs.txt", pairs)
    match_features.main(out / WORK, out / WORK / "pairs.txt", config=config, verify=True,
                        map_dir=map_dir)
    return register_into_model(out / WORK, out, database, reconstruction, None, SIFT, options, skip)
