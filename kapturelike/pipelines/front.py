"""The front half shared by mapping and localization: extract -> pairs -> match -> verify.

Mapping runs it with the map as both sides (pairs among map images, verification with known
poses); localization runs it with the queries against the map (query features written to the
output, pairs query -> map, verification only when asked for). Its result keeps the pairs and
the verified matches in memory for the back half (triangulation, or 2D-3D and PnP).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from kapturelike.core.sensors import Camera
from kapturelike.io.features import FeatureStore
from kapturelike.io.pairs import write_pairs
from kapturelike.matching.verification import VerificationOptions
from kapturelike.pipelines.config import PipelineConfig
from kapturelike.pipelines.extract_features import (
    extract_global_features,
    extract_local_features,
    global_types,
    make_global_extractor,
    make_local_extractor,
)
from kapturelike.pipelines.match_features import FeatureSource, match_and_verify
from kapturelike.pipelines.retrieval_pairs import retrieval_pairs
from kapturelike.pipelines.steps import StepReport, timed_step

Pair = tuple[str, str, float]


@dataclass
class ImageSet:
    """Images of one side: their names, where their image files are, and the store of their features."""

    names: list[str]
    image_root: Path
    store: FeatureStore


@dataclass
class FrontHalf:
    """What the front half produced: retrieval pairs, verified matches by pair, step reports."""

    pairs: list[Pair]
    features: FeatureSource
    matches: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    reports: list[StepReport] = field(default_factory=list)
    _pairs_of: dict[str, list[str]] | None = None

    def pairs_of(self) -> dict[str, list[str]]:
        """Per first image, its paired images in retrieval order."""
        if self._pairs_of is None:
            self._pairs_of = {}
            for a, b, _ in self.pairs:
                self._pairs_of.setdefault(a, []).append(b)
        return self._pairs_of

    def matches_of(self, image1: str, image2: str) -> np.ndarray | None:
        """(M, 3) matches idx1, idx2, score of a pair: this run's from memory, earlier runs' from the
        store (a resumed run); None when the pair has no matches file."""
        if (image1, image2) in self.matches:
            return self.matches[(image1, image2)]
        if (image2, image1) in self.matches:
            return self.matches[(image2, image1)][:, [1, 0, 2]]
        store = self.features.stores[0]
        if not store.has_matches(self.features.type_name, image1, image2):
            return None
        return store.read_matches(self.features.type_name, image1, image2)

    def keypoints(self, image: str) -> np.ndarray:
        return self.features.keypoints(image)


def extract_side(side: ImageSet, config: PipelineConfig, model_store: FeatureStore, map_names: Sequence[str],
                 map_image_root: Path, fit: bool, with_global: bool, overwrite: bool) -> list[StepReport]:
    """Local features, then each global type (its model loaded from ``model_store``, or fitted on the map)."""
    local_type = config.features.local
    reports = [extract_local_features(side.names, side.image_root, side.store, local_type,
                                      make_local_extractor(config.features, config.device), overwrite)]
    if not with_global:
        return reports
    for gtype in global_types(config.features):
        setup = StepReport(f"global model ({gtype}: load, or fit on the map)")
        with timed_step(setup):
            extractor = make_global_extractor(gtype, config.features, model_store.folder("global_features", gtype),
                                              map_names, map_image_root, config.device, fit=fit)
            setup.items = setup.done = 1
        reports.append(setup)
        reports.append(extract_global_features(side.names, side.image_root, side.store, gtype, extractor, overwrite))
    return reports


def image_pairs(queries: ImageSet, database: ImageSet, config: PipelineConfig, mapping: bool) -> list[Pair]:
    """Exhaustive pairs for small maps, else the top-k retrieval pairs of each query image."""
    if len(database.names) <= config.pairs.exhaustive_below:
        if mapping:
            return [(a, b, 1.0) for a, b in combinations(sorted(database.names), 2)]
        return [(q, m, 1.0) for q in queries.names for m in database.names]
    topk = config.pairs.topk_mapping if mapping else config.pairs.topk_localization
    return retrieval_pairs(queries.names, [queries.store], database.names, [database.store],
                           global_types(config.features), topk, exclude_self=mapping, fusion=config.features.fusion)


def run_front_half(queries: ImageSet, database: ImageSet, config: PipelineConfig, pairs_path: Path,
                   cameras: Mapping[str, Camera], poses: Mapping[str, tuple[np.ndarray, np.ndarray]] | None,
                   verification: VerificationOptions | None, overwrite: bool = False,
                   matcher: Callable | None = None) -> FrontHalf:
    """Features of ``queries`` (mapping: ``queries is database``), pairs written to ``pairs_path``, then
    matches of every pair verified with ``verification`` (None: not verified) into ``queries.store``.

    ``matcher``: ``make_matcher(config)``, made by the caller before any work (None: MNN).
    """
    mapping = queries is database
    exhaustive = len(database.names) <= config.pairs.exhaustive_below
    reports = extract_side(queries, config, database.store, database.names, database.image_root, fit=mapping,
                           with_global=mapping or not exhaustive, overwrite=overwrite)
    pairs = image_pairs(queries, database, config, mapping)
    write_pairs(pairs_path, pairs)
    stores = [queries.store] if mapping else [queries.store, database.store]
    features = FeatureSource(stores, config.features.local, retain=frozenset() if mapping else frozenset(queries.names))
    matches: dict[tuple[str, str], np.ndarray] = {}
    report, _ = match_and_verify([(a, b) for a, b, _ in pairs], features, queries.store, config.matching_options(),
                                 verification, cameras, poses, overwrite=overwrite, matcher=matcher,
                                 keep=matches)
    return FrontHalf(pairs, features, matches, reports + [report])
