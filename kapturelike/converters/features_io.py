"""Shared by the importers: put keypoints / descriptors / matches arrays into a kapture dataset folder."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import FeatureType, Kapture
from kapturelike.io.dataset import save_kapture
from kapturelike.io.features import KaptureFeatureStore


def add_feature_arrays(root: str | Path, kapture: Kapture, kind: str, type_name: str,
                       arrays: Iterable[tuple[str, np.ndarray]], metric_type: str | None = None,
                       keypoints_type: str | None = None, dtype_name: str = "",
                       declared_name: str | None = None) -> FeatureType | None:
    """Write (image name, array) items as feature type ``type_name``; streams: one array in memory at a time.

    The type (dtype, width) is taken from the first array; None when there is none. ``dtype_name`` and
    ``declared_name``: the dtype and type name written in the type file when they differ from the array's
    dtype name and the folder name (kapture's own importers write such files).
    """
    store = KaptureFeatureStore(root)
    ftype = None
    for name, array in arrays:
        array = np.ascontiguousarray(array)
        if ftype is None:
            ftype = FeatureType(kind, type_name, array.dtype, int(array.shape[-1]), keypoints_type=keypoints_type,
                                metric_type=metric_type, dtype_name=dtype_name,
                                declared_name=declared_name if declared_name != type_name else None)
            store.write_type(ftype)
        store.write(kind, type_name, name, array)
    if ftype is not None:
        getattr(kapture, kind)[type_name] = ftype
    return ftype


def add_matches(root: str | Path, kapture: Kapture, keypoints_type: str,
                pairs: Iterable[tuple[str, str, np.ndarray]]) -> int:
    """Write (image1, image2, (M, 2|3) matches) items; returns the number of pairs written."""
    store = KaptureFeatureStore(root)
    written = kapture.matches.setdefault(keypoints_type, set())
    for a, b, m in pairs:
        store.write_matches(keypoints_type, a, b, m)
        written.add((a, b) if a < b else (b, a))
    if not written:
        del kapture.matches[keypoints_type]
    return len(written)


def save_with_features(kapture: Kapture, root: str | Path, keypoints_type: str,
                       keypoints: Iterable[tuple[str, np.ndarray]]) -> Kapture:
    """Write the keypoints then every text file of ``kapture`` below ``root``."""
    add_feature_arrays(root, kapture, "keypoints", keypoints_type, keypoints)
    save_kapture(kapture, root)
    return kapture


def keypoints_reader(root: str | Path, kapture: Kapture, keypoints_type: str | None = None
                     ) -> tuple[str | None, Callable[[str], np.ndarray | None]]:
    """(keypoints type, name -> keypoints array or None) for the dataset at ``root``; the type defaults to
    the only one of the dataset (None when it has none)."""
    from kapturelike.converters.common import ConversionError

    if keypoints_type is None and len(kapture.keypoints) == 1:
        keypoints_type = next(iter(kapture.keypoints))
    if keypoints_type is not None and keypoints_type not in kapture.keypoints:
        raise ConversionError(f"no keypoints of type '{keypoints_type}' in {root} "
                              f"(known: {', '.join(kapture.keypoints) or 'none'})")
    store = KaptureFeatureStore(root, kapture.version)
    have = kapture.keypoints[keypoints_type].images if keypoints_type is not None else set()

    def read(name: str) -> np.ndarray | None:
        return store.read("keypoints", keypoints_type, name) if name in have else None

    return keypoints_type, read
