"""The front half shared by mapping and localization: extract -> pairs -> match -> verify.

Mapping runs it with the map as both sides (pairs among map images, verification with known
poses); localization runs it with the queries against the map (query features written to the
output, pairs query -> map, verification only when asked for). Its result keeps the pairs and
the verified matches in memory for the back half (triangulation, or 2D-3D and PnP).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import Observations
from kapturelike.core.sensors import Camera
from kapturelike.errors import MissingDataError
from kapturelike.features.registry import GLOBAL_EXTRACTORS, LOCAL_EXTRACTORS, is_extractor
from kapturelike.io.dataset import records_data_path
from kapturelike.io.features import FeatureStore, KaptureFeatureStore
from kapturelike.io.pairs import read_pairs, write_pairs
from kapturelike.matching.verification import VerificationOptions
from kapturelike.pipelines.config import PipelineConfig
from kapturelike.pipelines.executor import Executor, open_executor
from kapturelike.pipelines.extract_features import (
    extract_global_features,
    extract_local_features,
    global_types,
    make_global_extractor,
    make_local_extractor,
)
from kapturelike.pipelines.match_features import FeatureSource, match_and_verify, match_to_map_points
from kapturelike.pipelines.retrieval_pairs import retrieval_pairs
from kapturelike.pipelines.steps import StepReport, timed_step

Pair = tuple[str, str, float]


@dataclass
class ImageSet:
    """Images of one side: their names, where their image files are, the store this run writes to, and
    the stores holding features computed before (the input dataset's, separate folders), read only."""

    names: list[str]
    image_root: Path
    store: FeatureStore
    inputs: list[FeatureStore] = field(default_factory=list)

    @property
    def stores(self) -> list[FeatureStore]:
        return [self.store] + [s for s in self.inputs if s is not self.store]


@dataclass
class RunControl:
    """Where features computed before are, and how much runs: kapture-localization's ``-kpt -desc
    -gfeat -matches-gv`` (``features``), ``-matches`` (``raw_matches``: the matches before verification;
    None: not kept), ``--pairsfile-path`` and ``-s/--skip``."""

    features: FeatureStore | None = None  # separate folders of features computed before (-kpt -desc -gfeat)
    raw_matches: FeatureStore | None = None
    pairs_file: Path | None = None  # read these pairs instead of computing them
    pairs_name: str | None = None  # name of the pairs file written in the output folder
    skip: frozenset[str] = frozenset()  # compute_image_pairs, compute_matches, geometric_verification, ...
    colmap_outputs: bool = False  # mapping also writes colmap.db and a COLMAP model (kapture-localization's map)


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



H5_FILE = "features.h5"


def open_store(folder: Path, kind: str = "kapture", mode: str = "a") -> FeatureStore:
    """The feature store of a folder: the kapture layout in it, or ``features.h5`` (``features.store``)."""
    if kind == "hdf5":
        from kapturelike.io.h5store import H5FeatureStore

        return H5FeatureStore(Path(folder) / H5_FILE, mode)
    return KaptureFeatureStore(folder)


def stores_in(folder: Path) -> list[FeatureStore]:
    """The feature stores a folder holds, to read (its HDF5 file first, when there is one)."""
    h5 = [open_store(folder, "hdf5", "r")] if (Path(folder) / H5_FILE).is_file() else []
    return h5 + [open_store(folder)]


def close_stores(stores: Sequence[FeatureStore]) -> None:
    for store in stores:
        close = getattr(store, "close", None)
        if callable(close):
            close()


def side_of(names: list[str], kapture_dir: Path, out_dir: Path, control: RunControl,
            store_kind: str = "kapture") -> ImageSet:
    """The images of a dataset as one side of the front half: features computed before are read from
    ``control.features`` (separate folders) and from the dataset's own stores; what this run computes
    goes to ``out_dir``'s store of ``store_kind`` (with separate folders: matches go to -matches-gv)."""
    own = stores_in(kapture_dir)
    if control.features is not None:
        return ImageSet(names, records_data_path(kapture_dir), control.features, [control.features] + own)
    return ImageSet(names, records_data_path(kapture_dir), open_store(out_dir, store_kind), own)


def needs_extraction(side: ImageSet, kind: str, type_name: str, place: str) -> bool:
    """Whether our extractor must compute ``type_name`` for the side's images (False: use what is there).

    A type present in an input store is used as it is and must cover every image: features of another
    tool are never completed by ours (their keypoint conventions may differ, see docs/CONVENTIONS.md).
    Otherwise the type must be one of our extractors (a run of ours resumes in ``side.store``).
    """
    having = [s for s in side.inputs if type_name in s.types(kind)]
    if having:
        missing = [n for n in side.names if not any(s.has(kind, type_name, n) for s in having)]
        if missing:
            raise MissingDataError(f"{kind} '{type_name}' exist but not for {len(missing)} of {len(side.names)} "
                                   f"images (first: '{missing[0]}'); they are used as given, never completed "
                                   "by our extractors")
        return False
    extractor_kind = "global" if kind == "global_features" else "local"
    if is_extractor(extractor_kind, type_name):
        return True
    present = sorted({t for s in side.stores for t in s.types(kind)})
    raise MissingDataError(f"{place} '{type_name}': unknown {extractor_kind} extractor '{type_name}' and no {kind} "
                           f"of that type (present: {', '.join(present) or 'none'}; our extractors: "
                           f"{', '.join(LOCAL_EXTRACTORS if extractor_kind == 'local' else GLOBAL_EXTRACTORS)})")


def extract_side(side: ImageSet, config: PipelineConfig, model_store: FeatureStore, map_names: Sequence[str],
                 map_image_root: Path, fit: bool, with_global: bool, overwrite: bool,
                 executor: Executor | None = None) -> list[StepReport]:
    """Local features, then each global type (its model loaded from ``model_store``, or fitted on the map);
    types already present in the side's input stores are used as they are."""
    local_type = config.features.local
    reports = []
    descriptors_type = config.features.descriptors or local_type
    if needs_extraction(side, "keypoints", local_type, "features.local"):
        if descriptors_type != local_type:
            raise MissingDataError(f"features.descriptors '{descriptors_type}': our extractors write descriptors "
                                   f"under their keypoints type '{local_type}'")
        reports.append(extract_local_features(side.names, side.image_root, side.store, local_type,
                                              make_local_extractor(config.features, config.device), overwrite,
                                              executor))
        _drop_failed(side, reports[-1])
        if fit:  # the global model is fitted on the map images that have features
            map_names = side.names
    elif needs_extraction(side, "descriptors", descriptors_type, "features.descriptors"):
        raise MissingDataError(f"keypoints '{local_type}' are given but no descriptors '{descriptors_type}'")
    if not with_global:
        return reports
    for gtype in global_types(config.features):
        if not needs_extraction(side, "global_features", gtype, "features.global"):
            continue
        setup = StepReport(f"global model ({gtype}: load, or fit on the map)")
        with timed_step(setup):
            extractor = make_global_extractor(gtype, config.features, model_store, map_names, map_image_root,
                                              config.device, fit=fit)
            setup.items = setup.done = 1
        reports.append(setup)
        reports.append(extract_global_features(side.names, side.image_root, side.store, gtype, extractor, overwrite,
                                               executor))
        _drop_failed(side, reports[-1])
    return reports


def _drop_failed(side: ImageSet, report: StepReport) -> None:
    """Later steps skip the images a step reported failed (their reason stays in the report)."""
    if report.failures:
        side.names = [n for n in side.names if n not in report.failures]


def matches_exhaustively(queries: ImageSet, database: ImageSet, config: PipelineConfig) -> bool:
    """A map of at most ``pairs.exhaustive_below`` images is matched pair by pair, unless the global features
    are already given for both sides (kapture-localization's -gfeat): then retrieval costs nothing and
    the user's --topk is honoured."""
    if len(database.names) > config.pairs.exhaustive_below:
        return False
    given = all(any(g in s.types("global_features") for s in side.stores)
                for side in (queries, database) for g in global_types(config.features))
    return not given


def image_pairs(queries: ImageSet, database: ImageSet, config: PipelineConfig, mapping: bool) -> list[Pair]:
    """Exhaustive pairs for small maps (``matches_exhaustively``), else the top-k retrieval pairs of each query."""
    if matches_exhaustively(queries, database, config):
        if mapping:
            return [(a, b, 1.0) for a, b in combinations(sorted(database.names), 2)]
        return [(q, m, 1.0) for q in queries.names for m in database.names]
    topk = config.pairs.topk_mapping if mapping else config.pairs.topk_localization
    return retrieval_pairs(queries.names, queries.stores, database.names, database.stores,
                           global_types(config.features), topk, exclude_self=mapping, fusion=config.features.fusion,
                           index=config.pairs.index, faiss_options=config.pairs.faiss)


def run_front_half(queries: ImageSet, database: ImageSet, config: PipelineConfig, pairs_path: Path,
                   cameras: Mapping[str, Camera], poses: Mapping[str, tuple[np.ndarray, np.ndarray]] | None,
                   verification: VerificationOptions | None, overwrite: bool = False,
                   matcher: Callable | None = None, control: RunControl | None = None,
                   map_observations: Observations | None = None, executor: Executor | None = None,
                   map_points3d: np.ndarray | None = None) -> FrontHalf:
    """Features of ``queries`` (mapping: ``queries is database``), pairs written to ``pairs_path``, then
    matches of every pair verified with ``verification`` (None: not verified) into ``queries.store``.

    ``matcher``: ``make_matcher(config)``, made by the caller before any work (None: MNN).
    ``map_observations`` (localization): with ``config.query_matching`` 'points', MNN and no verification,
    each query is matched against the 3D points of its paired map images (in two stages when
    ``map_points3d`` is given and the query is in ``cameras``), and the pairs file is rewritten with
    the map images ranked by their matches.
    Extraction and matching (of pairs, or to map points) run on ``executor``, by default one opened here for
    ``config.scheduler`` (kapturelike.pipelines.executor; default: here).
    """
    control = control or RunControl()
    mapping = queries is database
    from_file = control.pairs_file is not None or "compute_image_pairs" in control.skip
    exhaustive = matches_exhaustively(queries, database, config)
    with nullcontext(executor) if executor is not None else open_executor(config.scheduler) as executor:
        reports = extract_side(queries, config, database.store, database.names, database.image_root, fit=mapping,
                               with_global=not from_file and not exhaustive, overwrite=overwrite,
                               executor=executor)
        if from_file:
            pairs = read_pairs(control.pairs_file or pairs_path)
        else:
            pairs = image_pairs(queries, database, config, mapping)
            write_pairs(pairs_path, pairs)
        stores = queries.stores if mapping else queries.stores + database.stores
        features = FeatureSource(list(dict.fromkeys(stores)), config.features.local,
                                 descriptors_type=config.features.descriptors,
                                 retain=frozenset() if mapping else frozenset(queries.names))
        matches: dict[tuple[str, str], np.ndarray] = {}
        if "geometric_verification" in control.skip:
            verification = None
        to_points = (map_observations is not None and config.query_matching == "points" and matcher is None
                     and verification is None and control.raw_matches is None)
        if "compute_matches" not in control.skip and to_points:
            candidates_of: dict[str, list[str]] = {q: [] for q in queries.names}
            for q, m, _ in pairs:
                candidates_of.setdefault(q, []).append(m)
            report, pairs = match_to_map_points(queries.names, candidates_of, features, queries.store, map_observations,
                                                config.matching_options(), overwrite=overwrite, keep=matches,
                                                executor=executor, points3d=map_points3d, cameras=cameras,
                                                point_matching=config.point_matching,
                                                localization=config.localization_options())
            write_pairs(pairs_path, pairs)
            reports.append(report)
        elif "compute_matches" not in control.skip:
            report, _ = match_and_verify([(a, b) for a, b, _ in pairs], features, queries.store,
                                         config.matching_options(), verification, cameras, poses, overwrite=overwrite,
                                         matcher=matcher, keep=matches, raw_store=control.raw_matches,
                                         executor=executor)
            reports.append(report)
    return FrontHalf(pairs, features, matches, reports)
