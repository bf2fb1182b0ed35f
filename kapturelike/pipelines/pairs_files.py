"""The one pairs-file front end of the tools: datasets and feature folders in, a pairs file out (the
retrieval modules do the arithmetic on arrays; reading and writing files is done here).

``dataset_pairs_file`` (kapture_compute_image_pairs: kapture datasets, every image with every type) and
``image_pairs_file`` (kapture_image_retrieval_late_fusion: feature folders, images lacking a type left
out) rank by one type or fuse several late; then kapture_pairsfile_fusion, kapture_compute_distance_pairs,
kapture_compute_sequence_pairs and kapture_evaluate_retrieval. Global features are read with
``io.features.read_global_features`` (any dtype, L2-normalised: retrieval scores are dot products).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kapturelike.core.image_poses import image_pose_table
from kapturelike.core.pose import camera_centers, viewing_directions
from kapturelike.errors import MissingDataError
from kapturelike.io.dataset import load_kapture
from kapturelike.io.features import KaptureFeatureStore, read_global_features
from kapturelike.io.pairs import Pair, read_pairs, write_pairs
from kapturelike.pipelines.retrieval_pairs import retrieval_pairs
from kapturelike.pipelines.workspace import load_with_images
from kapturelike.retrieval.evaluate import DEFAULT_KS, RetrievalEvaluation, evaluate_pose_retrieval, ranked_from_pairs
from kapturelike.retrieval.expansion import ExpansionOptions
from kapturelike.retrieval.fusion import FusionOptions, fuse_pairs, late_fusion_pairs
from kapturelike.retrieval.pose_pairs import DistancePairsOptions, distance_pairs_named, sequence_pairs
from kapturelike.retrieval.topk import DenseIndex, DenseIndexOptions, pairs_from_retrieval


def _is_mapping(map_root: str | Path, query_root: str | Path | None) -> bool:
    return query_root is None or Path(query_root).resolve() == Path(map_root).resolve()


def _global_features(root: str | Path, types: Sequence[str]) -> tuple[list[str], list[np.ndarray]]:
    """Every image of ``root`` having all ``types``, and their unit-norm features per type."""
    loaded = [read_global_features([KaptureFeatureStore(root)], t, where=str(root)) for t in types]
    common = sorted(set.intersection(*(set(names) for names, _ in loaded)))
    feats = [f[np.searchsorted(np.asarray(n, dtype=object), np.asarray(common, dtype=object))] for n, f in loaded]
    return common, feats


def image_pairs_file(map_root: str | Path, query_root: str | Path | None, global_features_types: Sequence[str],
                     output_path: str | Path, topk: int, fusion: FusionOptions | None = None,
                     expansion: ExpansionOptions | None = None,
                     index_options: DenseIndexOptions | None = None) -> list[Pair]:
    """Top-k pairs of query (or, without query, map) images vs the map from the global features in the
    folders; one type: plain top-k (with ``expansion``), several: late fusion with ``fusion``, images
    lacking a type left out. Mapping (no query, or query = map) excludes self pairs. Returns the pairs."""
    if isinstance(global_features_types, str):
        global_features_types = [global_features_types]
    if len(global_features_types) < 1:
        raise ValueError("image pairs need at least one global feature type")
    mapping = _is_mapping(map_root, query_root)
    db_names, db_feats = _global_features(map_root, global_features_types)
    q_names, q_feats = (db_names, db_feats) if mapping else _global_features(query_root, global_features_types)
    if len(global_features_types) == 1:
        pairs = pairs_from_retrieval(q_names, q_feats[0], db_names, db_feats[0], topk, exclude_self=mapping,
                                     index=DenseIndex(index_options), expansion=expansion)
    else:
        pairs = late_fusion_pairs(q_names, q_feats, db_names, db_feats, topk, fusion or FusionOptions(), mapping,
                                  index_options)
    write_pairs(output_path, pairs)
    return pairs


def _check_types(store: KaptureFeatureStore, root: Path, types: Sequence[str]) -> None:
    """Name the missing type and the available ones up front, rather than failing on the first image."""
    available = store.types("global_features")
    missing = [t for t in types if t not in available]
    if missing:
        raise MissingDataError(f"{root}: no global features of type '{missing[0]}' "
                               f"(available: {', '.join(sorted(available)) or 'none'})")


def dataset_pairs_file(map_dir: str | Path, output_path: str | Path, query_dir: str | Path | None = None,
                       global_types: Sequence[str] = ("densevlad",), topk: int = 20,
                       fusion: str = "generalized_harmonic", expansion: ExpansionOptions | None = None) -> list[Pair]:
    """``kapture_compute_image_pairs``: the ``topk`` retrieval pairs of the query (or map) images of kapture
    datasets against the map, written and returned; every image must have every type.

    ``global_types``: one type (plain top-k) or several (late fusion with ``fusion``, a
    ``kapturelike.retrieval.fusion.FusionMethod`` value). ``expansion``: alpha-QE / DBA options.
    """
    if isinstance(global_types, str):
        global_types = [global_types]
    if not global_types:
        raise ValueError("compute pairs: give at least one global feature type")
    if topk < 1:
        raise ValueError(f"compute pairs: topk must be >= 1, got {topk}")
    map_dir = Path(map_dir)
    mapping = query_dir is None or Path(query_dir).resolve() == map_dir.resolve()
    map_names = load_with_images(map_dir)[1]
    map_store = KaptureFeatureStore(map_dir)
    _check_types(map_store, map_dir, global_types)
    if mapping:
        query_names, query_store = map_names, map_store
    else:
        query_dir = Path(query_dir)
        query_names = load_with_images(query_dir)[1]
        query_store = KaptureFeatureStore(query_dir)
        _check_types(query_store, query_dir, global_types)
    pairs = retrieval_pairs(query_names, [query_store], map_names, [map_store], list(global_types), topk,
                            exclude_self=mapping, fusion=fusion, expansion=expansion)
    write_pairs(output_path, pairs)
    return pairs


def fuse_pairs_files(input_paths: Sequence[str | Path], output_path: str | Path, options: FusionOptions,
                     topk: int | None = None, fill_missing: float | None = None) -> list[Pair]:
    """``kapture_pairsfile_fusion``: read pairs files, fuse their scores, write the result atomically."""
    if len(input_paths) < 2:
        raise ValueError(f"pairs file fusion needs at least 2 input files, got {len(input_paths)}")
    fused = fuse_pairs([read_pairs(p) for p in input_paths], options, topk, fill_missing)
    write_pairs(output_path, fused)
    return fused


def distance_pairs_file(map_root: str | Path, query_root: str | Path | None, output_path: str | Path,
                        options: DistancePairsOptions | None = None) -> list[Pair]:
    """``kapture_compute_distance_pairs``: pairs of posed images close in position and direction."""
    map_names, _, _, mq, mt = image_pose_table(load_kapture(map_root))
    if _is_mapping(map_root, query_root):
        q_names, qq, qt = map_names, mq, mt
    else:
        q_names, _, _, qq, qt = image_pose_table(load_kapture(query_root))
    pairs = distance_pairs_named(q_names, camera_centers(qq, qt), viewing_directions(qq), map_names,
                                 camera_centers(mq, mt), viewing_directions(mq), options)
    write_pairs(output_path, pairs)
    return pairs


def sequence_pairs_file(root: str | Path, output_path: str | Path, window: int, max_interval: int | None = None,
                        loop: bool = False, expand_window: bool = False) -> list[Pair]:
    """``kapture_compute_sequence_pairs``: pairs of images close in capture order, from camera records."""
    records = load_kapture(root).records_camera
    if records is None or len(records) == 0:
        raise ValueError(f"{root}: no camera records")
    pairs = sequence_pairs(records.paths, records.timestamps, records.device_ids.tolist(), window, max_interval,
                           loop, expand_window)
    write_pairs(output_path, pairs)
    return pairs


def evaluate_pairs_file(pairs_path: str | Path, map_root: str | Path, query_root: str | Path,
                        max_distance: float = 5.0, max_angle: float = 45.0,
                        ks: Sequence[int] = DEFAULT_KS) -> RetrievalEvaluation:
    """``kapture_evaluate_retrieval``: pose hit rate@k of a pairs file, for the posed query images."""
    map_names, _, _, mq, mt = image_pose_table(load_kapture(map_root))
    q_names, _, _, qq, qt = image_pose_table(load_kapture(query_root))
    if not q_names:
        raise ValueError(f"{query_root}: no query image with a ground-truth pose")
    ranked = ranked_from_pairs(read_pairs(pairs_path), q_names, map_names)
    return evaluate_pose_retrieval(ranked, camera_centers(qq, qt), viewing_directions(qq), camera_centers(mq, mt),
                                   viewing_directions(mq), max_distance, max_angle, ks)
