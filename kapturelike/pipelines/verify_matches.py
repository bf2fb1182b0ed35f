"""Geometric verification of the matches already in a kapture dataset, in place or into a new type.

kapture keys matches by keypoints type, so a new matches type is a new keypoints type: its keypoints
(and descriptors) files are hard links to the input type's (copies where links are impossible) and
its matches are the verified ones; the input type is left untouched and the step is resumable. In
place, every pair is verified again and its matches file replaced.
"""

from __future__ import annotations

import os
import shutil
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import FeatureType
from kapturelike.errors import MissingDataError
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import read_pairs
from kapturelike.matching.verification import verify_pairs
from kapturelike.pipelines.config import PipelineConfig
from kapturelike.pipelines.match_features import lookup_context, scores_of_kept
from kapturelike.pipelines.steps import StepReport, run_batched, timed_step
from kapturelike.pipelines.workspace import require_kapture


def _link(source: Path, target: Path) -> None:
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another file system, or links not allowed
        shutil.copyfile(source, target)


def _new_type(store: KaptureFeatureStore, kind: str, source_type: str, target_type: str) -> bool:
    """Declare ``target_type`` like ``source_type`` for ``kind``; False when the source has no such kind."""
    if source_type not in store.types(kind):
        return False
    src = store.read_type(kind, source_type)
    if target_type not in store.types(kind):
        store.write_type(FeatureType(kind, target_type, src.dtype, src.dsize,
                                     keypoints_type=target_type if kind == "descriptors" else None,
                                     metric_type=src.metric_type, dtype_name=src.dtype_name))
    return True


def _pairs_to_verify(store: KaptureFeatureStore, keypoints_type: str,
                     pairs_path: str | Path | None) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The pairs with a matches file, and the reason of each pair listed without one."""
    if pairs_path is None:
        pairs = sorted(store.match_pairs(keypoints_type))
        if not pairs:
            raise MissingDataError(f"{store.folder('matches', keypoints_type)}: no matches of type "
                                   f"'{keypoints_type}' to verify (run kapture_compute_matches first)")
        return pairs, {}
    listed = list(dict.fromkeys((q, m) for q, m, _ in read_pairs(pairs_path) if q != m))
    have = {p: store.has_matches(keypoints_type, *p) for p in listed}
    by_query: dict[str, list[bool]] = defaultdict(list)
    for (query, _), ok in have.items():
        by_query[query].append(ok)
    empty = [q for q, oks in by_query.items() if not any(oks)]
    if empty:
        raise MissingDataError(f"{pairs_path}: query '{empty[0]}'" + (f" and {len(empty) - 1} more" if len(empty) > 1
                                                                        else "")
                               + f" has no matches of type '{keypoints_type}' in {store.root} "
                               "(run kapture_compute_matches first)")
    missing = {f"{a} <-> {b}": "no matches file" for (a, b), ok in have.items() if not ok}
    return [p for p, ok in have.items() if ok], missing


def main(kapture_dir: str | Path, pairs_path: str | Path | None = None, output_type: str | None = None,
         config: PipelineConfig | None = None, map_dir: str | Path | None = None,
         keypoints_type: str | None = None, overwrite: bool = False) -> StepReport:
    """Verify the matches of ``keypoints_type`` (default ``config.features.local``) in ``kapture_dir``.

    Pairs come from ``pairs_path`` (a query none of whose pairs has matches is an error) or are all the
    stored matches. Keypoints, cameras and poses are looked up in the dataset, then in ``map_dir``;
    ``config.verification`` applies ('auto': known poses where both images have one, as in
    ``match_features.main``, RANSAC otherwise). ``output_type`` None or equal to the input: in place.
    """
    config = config or PipelineConfig()
    kapture_dir = require_kapture(kapture_dir)
    ktype = keypoints_type or config.features.local
    out_type = output_type or ktype
    options = config.verification
    stores, cameras, poses = lookup_context(kapture_dir, None, map_dir)
    store = stores[0]  # the dataset's own store: the one written to
    pairs, missing = _pairs_to_verify(store, ktype, pairs_path)

    def store_of(name: str) -> KaptureFeatureStore:
        for s in stores:
            if s.has("keypoints", ktype, name):
                return s
        raise MissingDataError(f"{stores[0].path('keypoints', ktype, name)}: missing keypoints file for image "
                               f"'{name}'")

    for name in dict.fromkeys(n for pair in pairs for n in pair):
        store_of(name)  # fail before any work on a missing keypoints file

    @lru_cache(maxsize=512)
    def keypoints(name: str) -> np.ndarray:
        return store_of(name).read("keypoints", ktype, name)

    in_place = out_type == ktype
    with_descriptors = False
    if not in_place:
        _new_type(store, "keypoints", ktype, out_type)
        with_descriptors = _new_type(store, "descriptors", ktype, out_type)

    def share_features(name: str) -> None:
        source = store_of(name)
        if source is not store:  # a map image: its features stay in the map
            return
        _link(store.path("keypoints", ktype, name), store.path("keypoints", out_type, name))
        if with_descriptors and store.has("descriptors", ktype, name):
            _link(store.path("descriptors", ktype, name), store.path("descriptors", out_type, name))

    def process(batch: list[tuple[str, str]]):
        raw = [store.read_matches(ktype, a, b) for a, b in batch]
        names = {n for pair in batch for n in pair}
        verified = verify_pairs(batch, [m[:, :2].astype(np.int64) for m in raw], {n: keypoints(n) for n in names},
                                {n: cameras[n] for n in names if n in cameras},
                                {n: poses[n] for n in names if n in poses}, options)
        for pair, m, v in zip(batch, raw, verified):
            if v.status not in ("ok", "too_few_inliers"):
                yield pair, v.status
                continue
            if not in_place:
                share_features(pair[0])
                share_features(pair[1])
            kept = v.matches
            scores = scores_of_kept(kept, m[:, :2].astype(np.int64), m[:, 2])
            store.write_matches(out_type, pair[0], pair[1], np.column_stack([kept, scores]) if len(kept)
                                else np.zeros((0, 3)))
            yield pair, None

    report = StepReport(f"geometric verification ({ktype} -> {out_type})")
    with timed_step(report):
        run_batched(report, pairs, lambda p: not in_place and store.has_matches(out_type, *p), process,
                    key=lambda p: f"{p[0]} <-> {p[1]}", batch_size=64, overwrite=overwrite)
        report.items += len(missing)
        report.failures.update(missing)
    return report
