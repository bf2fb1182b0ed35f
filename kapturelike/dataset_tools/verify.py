"""kapture-localization's ``kapture_run_colmap_gv``: a copy of a dataset whose matches are geometrically verified
(two-view geometry with pycolmap, known poses where the images have one), no COLMAP executable.

As in kapture-localization's pipelines, the output may already be a kapture dataset (a proxy whose matches folder
is the shared folder of verified matches): then only the pairs it lacks are verified, into it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from kapturelike.dataset_tools.merge import MergeOptions, merge
from kapturelike.dataset_tools.output import DatasetToolError
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import read_unordered_pairs
from kapturelike.matching.verification import verify_pairs
from kapturelike.pipelines.config import PipelineConfig
from kapturelike.pipelines.match_features import lookup_context, scores_of_kept
from kapturelike.pipelines.verify_matches import main as verify_kapture
from kapturelike.pipelines.workspace import is_kapture


def run_colmap_gv(src: str | Path, out: str | Path, pairsfile: str | Path | None = None,
                  keypoints_type: str | None = None, skip: list[str] | None = None, force: bool = False) -> None:
    """Copy ``src`` (images linked, features copied) to ``out`` and verify its matches there, in place.

    ``skip`` names COLMAP's steps (delete_existing, matches_importer, import, delete_db): they do not
    exist without COLMAP, so it is accepted and has no effect."""
    if not force and is_kapture(out):
        verify_missing(src, out, pairsfile, keypoints_type)
        return
    k = merge([src], out, MergeOptions(image_transfer="link_absolute", force=force))
    ktype = keypoints_type or next(iter(k.matches), None) or next(iter(k.keypoints), None)
    config = PipelineConfig()
    verify_kapture(out, pairsfile, None, config, keypoints_type=ktype)


def verify_missing(src: str | Path, out: str | Path, pairsfile: str | Path | None = None,
                   keypoints_type: str | None = None, batch_size: int = 64) -> int:
    """Verify the matches of ``src`` (of the pairs of ``pairsfile``, or all) that the kapture dataset ``out`` lacks,
    into ``out``; returns the number of pairs verified. As COLMAP's matches importer, from the matches alone:
    poses are not used (a merged map+query dataset may carry the queries' ground truth)."""
    stores, cameras, _ = lookup_context(src, None, None)
    store, out_store = stores[0], KaptureFeatureStore(out)
    types = store.types("keypoints")
    ktype = keypoints_type or (next(iter(types)) if len(types) == 1 else None)
    if ktype is None:
        raise DatasetToolError(f"{src}: give the keypoints type (-kpt; known: {', '.join(sorted(types)) or 'none'})")
    pairs = read_unordered_pairs(pairsfile) if pairsfile else sorted(store.match_pairs(ktype))
    todo = [p for p in pairs if store.has_matches(ktype, *p) and not out_store.has_matches(ktype, *p)]
    options = PipelineConfig().verification
    for start in tqdm(range(0, len(todo), batch_size), desc="verification", unit="batch", disable=None):
        batch = todo[start:start + batch_size]
        raw = [store.read_matches(ktype, a, b) for a, b in batch]
        names = {n for pair in batch for n in pair}
        keypoints = {n: store.read("keypoints", ktype, n) for n in names}
        verified = verify_pairs(batch, [m[:, :2].astype(np.int64) for m in raw], keypoints,
                                {n: cameras[n] for n in names if n in cameras}, {}, options)
        for (a, b), m, v in zip(batch, raw, verified):
            kept = v.matches if v.status in ("ok", "too_few_inliers") else np.zeros((0, 2), np.int64)
            scores = scores_of_kept(kept, m[:, :2].astype(np.int64), m[:, 2]) if len(kept) else np.zeros(0)
            out_store.write_matches(ktype, a, b, np.column_stack([kept, scores]) if len(kept) else np.zeros((0, 3)))
    return len(todo)
