"""Copy features between two ``FeatureStore``s, losslessly: kapture's per-file layout <-> HDF5.

Every type file (name, dtype as written, dsize, keypoints and metric types), every per-image array
(keypoints, descriptors, global features) and every matches array is copied as it is: a round trip
kapture -> HDF5 -> kapture gives the same files, byte for byte. Items already in the target are
skipped (an interrupted copy resumes) unless ``overwrite``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tqdm import tqdm

from kapturelike.core.reconstruction import FEATURE_KINDS
from kapturelike.io.features import FeatureStore


@dataclass
class CopyReport:
    arrays: int = 0  # per-image arrays copied
    matches: int = 0  # image pairs copied
    skipped: int = 0  # already in the target
    types: list[str] = field(default_factory=list)  # 'kind/type' copied


def _match_types(store: FeatureStore) -> list[str]:
    # kapture 1.1 keeps no type file for matches: they are named by their keypoints type
    return sorted(set(store.types("matches")) | set(store.types("keypoints")))


def copy_features(source: FeatureStore, target: FeatureStore, kinds: Sequence[str] = (*FEATURE_KINDS, "matches"),
                  overwrite: bool = False, progress: bool = True) -> CopyReport:
    """Copy the ``kinds`` (keypoints, descriptors, global_features, matches) of every type."""
    unknown = [k for k in kinds if k not in (*FEATURE_KINDS, "matches")]
    if unknown:
        raise ValueError(f"unknown feature kind '{unknown[0]}' (known: {', '.join((*FEATURE_KINDS, 'matches'))})")
    report = CopyReport()
    for kind in (k for k in FEATURE_KINDS if k in kinds):
        for type_name in source.types(kind):
            target.write_type(source.read_type(kind, type_name))
            report.types.append(f"{kind}/{type_name}")
            names = sorted(source.names(kind, type_name))
            for name in tqdm(names, desc=f"{kind}/{type_name}", disable=not progress, leave=False):
                if not overwrite and target.has(kind, type_name, name):
                    report.skipped += 1
                    continue
                target.write(kind, type_name, name, source.read(kind, type_name, name))
                report.arrays += 1
    if "matches" in kinds:
        for type_name in _match_types(source):
            pairs = sorted(source.match_pairs(type_name))
            if pairs:
                report.types.append(f"matches/{type_name}")
            for a, b in tqdm(pairs, desc=f"matches/{type_name}", disable=not progress, leave=False):
                if not overwrite and target.has_matches(type_name, a, b):
                    report.skipped += 1
                    continue
                target.write_matches(type_name, a, b, source.read_matches(type_name, a, b))
                report.matches += 1
    return report
