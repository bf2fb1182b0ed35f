"""Step: match the local features of image pairs (mutual nearest neighbours, batched in torch),
optionally verify them geometrically, and write kapture matches.

Images may live in different feature stores (a query's in the localization output, a map
image's in the map), so features are looked up through ``FeatureSource``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from kapturelike.core.sensors import Camera
from kapturelike.io.features import FeatureStore
from kapturelike.matching.mnn import MatchingOptions, match_pairs_with_scores
from kapturelike.matching.verification import VerificationOptions, verify_pairs
from kapturelike.pipelines.steps import StepReport, run_batched, timed_step


@dataclass
class FeatureSource:
    """Keypoints and descriptors by image name, from one or more stores, with a small cache."""

    stores: Sequence[FeatureStore]
    type_name: str
    cache_size: int = 256
    _cache: OrderedDict = field(default_factory=OrderedDict)

    def store_of(self, image: str) -> FeatureStore:
        for store in self.stores:
            if store.has("keypoints", self.type_name, image):
                return store
        raise FileNotFoundError(f"no '{self.type_name}' keypoints for image '{image}' "
                                "(was feature extraction run on it?)")

    def get(self, image: str) -> tuple[np.ndarray, np.ndarray]:
        if image in self._cache:
            self._cache.move_to_end(image)
            return self._cache[image]
        store = self.store_of(image)
        value = (store.read("keypoints", self.type_name, image), store.read("descriptors", self.type_name, image))
        if len(value[0]) != len(value[1]):
            raise ValueError(f"image '{image}': {len(value[0])} keypoints but {len(value[1])} descriptors")
        self._cache[image] = value
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return value


def _scores_of(kept: np.ndarray, raw: np.ndarray, raw_scores: np.ndarray) -> np.ndarray:
    """Similarity of each kept match, looked up among the raw matches (vectorised)."""
    if len(kept) == 0:
        return np.zeros(0)
    width = int(max(raw[:, 1].max(initial=0), kept[:, 1].max(initial=0))) + 1
    raw_keys, kept_keys = raw[:, 0] * width + raw[:, 1], kept[:, 0] * width + kept[:, 1]
    order = np.argsort(raw_keys)
    pos = np.clip(np.searchsorted(raw_keys[order], kept_keys), 0, max(len(raw) - 1, 0))
    found = raw_keys[order][pos] == kept_keys if len(raw) else np.zeros(len(kept), bool)
    return np.where(found, raw_scores[order][pos] if len(raw) else 0.0, 0.0).astype(np.float64)


def match_and_verify(pairs: Sequence[tuple[str, str]], features: FeatureSource, out_store: FeatureStore,
                     matching: MatchingOptions, verification: VerificationOptions | None = None,
                     cameras: Mapping[str, Camera] | None = None,
                     poses: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
                     batch_size: int = 32, overwrite: bool = False) -> tuple[StepReport, dict[tuple[str, str], int]]:
    """Match (and verify when ``verification`` is given) every pair without a matches file.

    Returns the report and the number of (verified) matches written per pair.
    """
    report = StepReport("matching" + (" + verification" if verification else ""))
    counts: dict[tuple[str, str], int] = {}
    type_name = features.type_name
    unique = list(dict.fromkeys((a, b) for a, b in pairs if a != b))

    def process(batch: list[tuple[str, str]]):
        loaded, ok = [], []
        for pair in batch:
            try:
                loaded.append((features.get(pair[0]), features.get(pair[1])))
                ok.append(pair)
            except (FileNotFoundError, ValueError) as e:
                yield pair, str(e)
        if not ok:
            return
        raw = match_pairs_with_scores([(f1[1], f2[1]) for f1, f2 in loaded], matching)
        results = [m for m, _ in raw]
        status = [None] * len(ok)
        if verification is not None:
            names = {n for pair in ok for n in pair}
            verified = verify_pairs(ok, results, {n: features.get(n)[0] for n in names},
                                    {n: cameras[n] for n in names if cameras and n in cameras},
                                    {n: poses[n] for n in names if poses and n in poses}, verification)
            results = [v.matches for v in verified]
            status = [None if v.status in ("ok", "too_few_inliers") else v.status for v in verified]
        for pair, m, err, (raw_m, raw_s) in zip(ok, results, status, raw):
            if err is not None:
                yield pair, err
                continue
            score = _scores_of(m, raw_m, raw_s)
            out_store.write_matches(type_name, pair[0], pair[1], np.column_stack([m, score]) if len(m)
                                    else np.zeros((0, 3)))
            counts[pair] = len(m)
            yield pair, None

    with timed_step(report):
        run_batched(report, unique, lambda p: out_store.has_matches(type_name, *p), process,
                    key=lambda p: f"{p[0]} <-> {p[1]}", batch_size=batch_size, overwrite=overwrite)
    return report, counts
