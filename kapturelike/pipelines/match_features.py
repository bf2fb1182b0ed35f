"""Step: match the local features of image pairs (mutual nearest neighbours, batched in torch),
optionally verify them geometrically, and write kapture matches.

Images may live in different feature stores (a query's in the localization output, a map
image's in the map), so features are looked up through ``FeatureSource``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import Observations
from kapturelike.core.sensors import Camera
from kapturelike.errors import MissingDataError
from kapturelike.geometry.absolute_pose import LocalizationOptions
from kapturelike.io.features import FeatureStore, KaptureFeatureStore
from kapturelike.io.pairs import read_pairs
from kapturelike.matching.guided import match_pairs_guided
from kapturelike.matching.mnn import MatchingOptions, match_pairs_with_scores
from kapturelike.matching.points import PointMatchingOptions, QueryGeometry, build_point_index
from kapturelike.matching.verification import VerificationOptions, verify_pairs
from kapturelike.pipelines.config import PipelineConfig
from kapturelike.pipelines.executor import Computed, Executor, run_batches
from kapturelike.pipelines.query_tasks import PointsMatchTask
from kapturelike.pipelines.steps import StepReport, timed_step
from kapturelike.pipelines.workspace import output_dataset, require_kapture


@dataclass
class FeatureSource:
    """Keypoints and descriptors by image name, from one or more stores, with a small cache.

    The keypoints of the images in ``retain`` are kept once read (the queries of a localization run,
    whose keypoints the pose step needs again), so no file is read twice.
    """

    stores: Sequence[FeatureStore]
    type_name: str
    descriptors_type: str | None = None  # None: the keypoints type
    cache_size: int = 256
    retain: frozenset[str] = frozenset()
    _cache: OrderedDict = field(default_factory=OrderedDict)
    _retained: dict[str, np.ndarray] = field(default_factory=dict)

    def keypoints(self, image: str) -> np.ndarray:
        """An image's keypoints: retained, cached, or read from its store (keypoints file only)."""
        if image in self._retained:
            return self._retained[image]
        if image in self._cache:
            return self._cache[image][0]
        keypoints = self.store_of(image).read("keypoints", self.type_name, image)
        if image in self.retain:
            self._retained[image] = keypoints
        return keypoints

    def store_of(self, image: str) -> FeatureStore:
        for store in self.stores:
            if store.has("keypoints", self.type_name, image):
                return store
        raise FileNotFoundError(f"no '{self.type_name}' keypoints for image '{image}' "
                                "(was feature extraction run on it?)")

    @property
    def descriptors_name(self) -> str:
        return self.descriptors_type or self.type_name

    def descriptors_store_of(self, image: str, keypoints_store: FeatureStore) -> FeatureStore:
        """The keypoints' store when it has the descriptors (the usual case), else the first that has them."""
        if keypoints_store.has("descriptors", self.descriptors_name, image):
            return keypoints_store
        return next((s for s in self.stores if s.has("descriptors", self.descriptors_name, image)), keypoints_store)

    def get(self, image: str) -> tuple[np.ndarray, np.ndarray]:
        if image in self._cache:
            self._cache.move_to_end(image)
            return self._cache[image]
        store = self.store_of(image)
        value = (store.read("keypoints", self.type_name, image),
                 self.descriptors_store_of(image, store).read("descriptors", self.descriptors_name, image))
        if len(value[0]) != len(value[1]):
            raise ValueError(f"image '{image}': {len(value[0])} keypoints but {len(value[1])} descriptors")
        self._cache[image] = value
        if image in self.retain:
            self._retained[image] = value[0]
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return value


def scores_of_kept(kept: np.ndarray, raw: np.ndarray, raw_scores: np.ndarray) -> np.ndarray:
    """Similarity of each kept match, looked up among the raw matches (vectorised)."""
    if len(kept) == 0:
        return np.zeros(0)
    width = int(max(raw[:, 1].max(initial=0), kept[:, 1].max(initial=0))) + 1
    raw_keys, kept_keys = raw[:, 0] * width + raw[:, 1], kept[:, 0] * width + kept[:, 1]
    order = np.argsort(raw_keys)
    pos = np.clip(np.searchsorted(raw_keys[order], kept_keys), 0, max(len(raw) - 1, 0))
    found = raw_keys[order][pos] == kept_keys if len(raw) else np.zeros(len(kept), bool)
    return np.where(found, raw_scores[order][pos] if len(raw) else 0.0, 0.0).astype(np.float64)


def _image_size(cameras: Mapping[str, Camera] | None, image: str) -> tuple[int, int] | None:
    camera = cameras.get(image) if cameras else None
    return None if camera is None else (int(camera.width), int(camera.height))


def make_matcher(config: PipelineConfig) -> Callable | None:
    """The ``matcher`` of ``match_and_verify`` for ``config.matcher``: None (MNN) or LightGlue, loaded once.

    LightGlue needs ``features.local`` disk or aliked and the learned extra; ``config.matching`` (MNN's
    options) does not apply to it.
    """
    if config.matcher == "mnn":
        return None
    if config.matcher != "lightglue":
        raise ValueError(f"unknown matcher '{config.matcher}' in the configuration (known: mnn, lightglue)")
    from kapturelike.matching.lightglue import LIGHTGLUE_FEATURES, LightGlueOptions, make_lightglue_matcher

    if config.features.local.lower() not in LIGHTGLUE_FEATURES:
        raise ValueError(f"matcher 'lightglue' needs features.local {' or '.join(LIGHTGLUE_FEATURES)}, "
                         f"got '{config.features.local}' (use matcher: mnn)")
    return make_lightglue_matcher(LightGlueOptions(features=config.features.local, device=config.device))


def match_and_verify(pairs: Sequence[tuple[str, str]], features: FeatureSource, out_store: FeatureStore,
                     matching: MatchingOptions, verification: VerificationOptions | None = None,
                     cameras: Mapping[str, Camera] | None = None,
                     poses: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
                     batch_size: int = 32, overwrite: bool = False, matcher: Callable | None = None,
                     keep: dict[tuple[str, str], np.ndarray] | None = None, raw_store: FeatureStore | None = None,
                     executor: Executor | None = None) -> tuple[StepReport, dict[tuple[str, str], int]]:
    """Match (and verify when ``verification`` is given) every pair without a matches file.

    ``matcher`` (default: mutual nearest neighbours with ``matching``) takes a batch's feature pairs
    ((keypoints, descriptors), (keypoints, descriptors)) and their image sizes ((width, height) from
    ``cameras``, None when unknown) and returns per pair (matches (M, 2) int64, scores (M,)), like
    ``match_pairs_with_scores``; see ``make_matcher``.
    Returns the report and the number of (verified) matches written per pair; ``keep`` (a dict), when
    given, also receives each written pair's (M, 3) matches, so the next step need not read them back.
    ``raw_store``, when given, also receives the matches before verification (kapture-localization's
    ``-matches`` folder beside ``-matches-gv``).
    ``executor``: where batches are matched (default: here); this process reads the features and
    writes every result (kapturelike.pipelines.executor).
    """
    report = StepReport("matching" + (" + verification" if verification else ""))
    counts: dict[tuple[str, str], int] = {}
    type_name = features.type_name

    def prepare(batch: list[tuple[str, str]]) -> list[tuple[tuple[str, str], tuple | str]]:
        loaded = []
        for pair in batch:
            try:
                loaded.append((pair, (features.get(pair[0]), features.get(pair[1]))))
            except (FileNotFoundError, ValueError) as e:
                loaded.append((pair, str(e)))
        return loaded

    def write(pair: tuple[str, str], result: tuple) -> str | None:
        matches, raw, failure = result
        if raw_store is not None:
            raw_store.write_matches(type_name, pair[0], pair[1], raw)
        if failure is not None:
            return failure
        out_store.write_matches(type_name, pair[0], pair[1], matches)
        if keep is not None:
            keep[pair] = matches
        counts[pair] = len(matches)
        return None

    task = _MatchTask(matching, verification, cameras, poses, matcher)
    with timed_step(report):
        run_batches(report, unique_pairs(pairs), lambda p: out_store.has_matches(type_name, *p), task, write,
                    executor, prepare=prepare, key=lambda p: f"{p[0]} <-> {p[1]}", batch_size=batch_size,
                    overwrite=overwrite)
    return report, counts


@dataclass
class _LoadedFeatures:
    """The features a task was sent, looked up like a ``FeatureSource``."""

    by_image: dict[str, tuple[np.ndarray, np.ndarray]]

    def get(self, image: str) -> tuple[np.ndarray, np.ndarray]:
        return self.by_image[image]


@dataclass
class _MatchTask:
    """A batch of pairs with their features -> raw and verified matches, on a worker (or here)."""

    matching: MatchingOptions
    verification: VerificationOptions | None
    cameras: Mapping[str, Camera] | None
    poses: Mapping[str, tuple[np.ndarray, np.ndarray]] | None
    matcher: Callable | None

    def __call__(self, loaded: list[tuple[tuple[str, str], tuple | str]]) -> list[Computed]:
        """``loaded``: per pair, ((keypoints, descriptors), (keypoints, descriptors)) or why they could not
        be read. Result per pair: (verified matches (M, 3) or None, raw matches (M, 3), failure or None)."""
        out = [Computed(pair, error=f) for pair, f in loaded if isinstance(f, str)]
        ok = [pair for pair, f in loaded if not isinstance(f, str)]
        feats = [f for _, f in loaded if not isinstance(f, str)]
        if not ok:
            return out
        raw = _raw_matches(feats, ok, self.matching, self.matcher, self.cameras, self.poses)
        results, status = [m for m, _ in raw], [None] * len(ok)
        if self.verification is not None:
            by_image = {n: f[k] for pair, f in zip(ok, feats) for k, n in enumerate(pair)}
            results, status = _verify(ok, results, _LoadedFeatures(by_image), self.cameras, self.poses,
                                      self.verification)
        for pair, m, err, (raw_m, raw_s) in zip(ok, results, status, raw):
            matches = None if err is not None else _with_scores(m, scores_of_kept(m, raw_m, raw_s))
            out.append(Computed(pair, (matches, _with_scores(raw_m, raw_s), err)))
        return out


def unique_pairs(pairs: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each unordered pair once, in its first orientation (a pair's matches are symmetric), no self pair."""
    seen: set[tuple[str, str]] = set()
    out = []
    for a, b in pairs:
        key = (a, b) if a < b else (b, a)
        if a != b and key not in seen:
            seen.add(key)
            out.append((a, b))
    return out


def _with_scores(matches: np.ndarray, scores: np.ndarray) -> np.ndarray:
    return np.column_stack([matches, scores]) if len(matches) else np.zeros((0, 3))


def _raw_matches(loaded: list, pairs: list[tuple[str, str]], matching: MatchingOptions, matcher: Callable | None,
                 cameras: Mapping[str, Camera] | None, poses: Mapping[str, tuple[np.ndarray, np.ndarray]] | None
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    if matcher is None:  # epipolar-guided where both images are posed (mapping), plain MNN for the rest
        raw = match_pairs_guided(pairs, loaded, cameras or {}, poses or {}, matching)
        unguided = [k for k, r in enumerate(raw) if r is None]
        plain = match_pairs_with_scores([(loaded[k][0][1], loaded[k][1][1]) for k in unguided], matching)
        for k, r in zip(unguided, plain):
            raw[k] = r
        return raw
    raw = matcher(loaded, [(_image_size(cameras, a), _image_size(cameras, b)) for a, b in pairs])
    if len(raw) != len(pairs):
        raise ValueError(f"the matcher returned {len(raw)} results for {len(pairs)} pairs")
    return raw


def _verify(pairs: list[tuple[str, str]], matches: list[np.ndarray], features: FeatureSource | _LoadedFeatures,
            cameras: Mapping[str, Camera] | None, poses: Mapping[str, tuple[np.ndarray, np.ndarray]] | None,
            verification: VerificationOptions) -> tuple[list[np.ndarray], list[str | None]]:
    """Verified matches per pair, and None or the reason a pair failed."""
    names = {n for pair in pairs for n in pair}
    verified = verify_pairs(pairs, matches, {n: features.get(n)[0] for n in names},
                            {n: cameras[n] for n in names if cameras and n in cameras},
                            {n: poses[n] for n in names if poses and n in poses}, verification)
    return [v.matches for v in verified], [None if v.status in ("ok", "too_few_inliers") else v.status
                                           for v in verified]


def match_to_map_points(queries: Sequence[str], candidates_of: Mapping[str, Sequence[str]],
                        features: FeatureSource, out_store: FeatureStore, observations: Observations,
                        matching: MatchingOptions, overwrite: bool = False,
                        keep: dict[tuple[str, str], np.ndarray] | None = None, executor: Executor | None = None,
                        points3d: np.ndarray | None = None, cameras: Mapping[str, Camera] | None = None,
                        point_matching: PointMatchingOptions | None = None,
                        localization: LocalizationOptions | None = None
                        ) -> tuple[StepReport, list[tuple[str, str, float]]]:
    """Match each query against the 3D points seen in its candidate map images (kapturelike.matching.points)
    and write the resulting query <-> map-image matches to ``out_store``, an empty file for a candidate
    without any; ``keep`` receives them too, as in ``match_and_verify``.
    ``executor``: where queries are matched (default: here; kapturelike.pipelines.query_tasks); this process
    builds the point index, reads the query descriptors and writes every result.

    With the map's ``points3d`` (row = point id) and the queries' ``cameras``, a query is matched in two
    stages (``point_matching``; the coarse pose is checked with ``localization``).

    Returns the report and the pairs (query, map image, number of matches) of every candidate with
    matches, most matches first: a ranking of the map images by what the query actually sees.
    """
    report = StepReport("matching (query to map points)")
    type_name = features.type_name

    def read_descriptors(image: str) -> np.ndarray:  # past the cache: a big map must not fill it
        store = features.store_of(image)
        return features.descriptors_store_of(image, store).read("descriptors", features.descriptors_name, image)

    def is_done(query: str) -> bool:
        return all(out_store.has_matches(type_name, query, m) for m in candidates_of[query])

    def prepare(batch: list[str]) -> list[tuple[str, np.ndarray, Sequence[str], QueryGeometry | None]]:
        loaded = [(q, *features.get(q)) for q in batch]
        return [(q, desc, candidates_of[q], QueryGeometry(kp, cameras[q]) if cameras and q in cameras else None)
                for q, kp, desc in loaded]

    def write(query: str, per_image: dict[str, np.ndarray]) -> None:
        for map_image in candidates_of[query]:
            matches = per_image.get(map_image, np.zeros((0, 3)))
            out_store.write_matches(type_name, query, map_image, matches)
            if keep is not None:
                keep[(query, map_image)] = matches

    with timed_step(report):
        # the index only when a query is left to match: a resumed run reads no map descriptor
        pending = overwrite or not all(is_done(q) for q in queries)
        index = build_point_index(observations.for_image(type_name), read_descriptors, points3d) if pending else None
        task = PointsMatchTask(index, matching, point_matching or PointMatchingOptions(), localization)
        run_batches(report, queries, is_done, task, write, executor, prepare=prepare,
                    overwrite=overwrite)
        pairs = []
        for query in queries:
            counts = []
            for m in candidates_of[query]:
                if keep is not None and (query, m) in keep:
                    counts.append((len(keep[(query, m)]), m))
                elif out_store.has_matches(type_name, query, m):
                    counts.append((len(out_store.read_matches(type_name, query, m)), m))
            pairs += [(query, m, float(c)) for c, m in sorted(counts, key=lambda x: (-x[0], x[1])) if c]
    return report, pairs


def _cameras_and_poses(kapture_dir: Path, use_poses: bool) -> tuple[dict[str, Camera], dict[str, tuple]]:
    from kapturelike.core.image_poses import image_poses
    from kapturelike.io.dataset import load_kapture

    kapture = load_kapture(kapture_dir)
    return kapture.cameras_by_image(), image_poses(kapture) if use_poses else {}


def lookup_context(kapture_dir: str | Path, output_dir: str | Path | None = None,
                   map_dir: str | Path | None = None) -> tuple[list[KaptureFeatureStore], dict[str, Camera], dict]:
    """Feature stores (output, dataset, map; first hit wins), cameras and usable poses by image name.

    With a map, the dataset holds queries whose poses (if any) are ground truth: only map poses are
    used, so query-map pairs are verified by RANSAC. Without one, the dataset's own poses are used.
    """
    kapture_dir = Path(kapture_dir)
    folders = [Path(output_dir)] if output_dir is not None else []
    folders += [kapture_dir] + ([Path(map_dir)] if map_dir is not None else [])
    unique = list(dict.fromkeys(f.resolve() for f in folders))
    stores = [KaptureFeatureStore(f) for f in unique]
    cameras, poses = _cameras_and_poses(kapture_dir, use_poses=map_dir is None)
    if map_dir is not None:
        map_cameras, map_poses = _cameras_and_poses(Path(map_dir), use_poses=True)
        cameras, poses = {**map_cameras, **cameras}, map_poses
    return stores, cameras, poses


def check_features(names: Sequence[str], features: FeatureSource) -> None:
    """Fail before any work when an image of the pairs has no keypoints or descriptors, naming the file."""
    names = list(dict.fromkeys(names))
    missing = [n for n in names if not any(s.has("keypoints", features.type_name, n) for s in features.stores)]
    what = "keypoints"
    if not missing:
        what = "descriptors"
        missing = [n for n in names if not features.store_of(n).has(what, features.type_name, n)]
    if missing:
        store = features.store_of(missing[0]) if what == "descriptors" else features.stores[0]
        raise MissingDataError(f"{store.path(what, features.type_name, missing[0])}: missing {what} file for image "
                               f"'{missing[0]}'" + (f" and {len(missing) - 1} more" if len(missing) > 1 else "")
                               + " (run kapture_extract_features on it first)")


def main(kapture_dir: str | Path, pairs_path: str | Path, output_dir: str | Path | None = None,
         config: PipelineConfig | None = None, verify: bool = False, map_dir: str | Path | None = None,
         overwrite: bool = False) -> StepReport:
    """Match the local features (``config.features.local``) of every pair of a pairs file.

    Features are looked up in ``output_dir``, then ``kapture_dir``, then ``map_dir``; matches are
    written to ``output_dir`` (default: ``kapture_dir``). With ``verify``, matches are verified with
    ``config.verification`` ('auto': known poses where both images have one, RANSAC otherwise).
    """
    config = config or PipelineConfig()
    kapture_dir = require_kapture(kapture_dir)
    pairs = [(a, b) for a, b, _ in read_pairs(pairs_path)]
    if output_dir is not None:
        output_dir = output_dataset(kapture_dir, Path(output_dir))
    stores, cameras, poses = lookup_context(kapture_dir, output_dir, map_dir)
    out_store = stores[0]
    features = FeatureSource(stores, config.features.local)
    check_features([n for pair in pairs for n in pair], features)
    verification = config.verification if verify else None
    report, _ = match_and_verify(pairs, features, out_store, config.matching_options(), verification, cameras,
                                 poses, overwrite=overwrite, matcher=make_matcher(config))
    return report
