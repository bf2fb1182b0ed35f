"""kapture_export_opensfm's folder: what kapture writes beside reconstruction.json (camera_models.json, the
images, the features and the matches), in the files OpenSfM reads."""

from __future__ import annotations

import gzip
import json
import pickle
from pathlib import Path

import numpy as np

from kapturelike.converters.common import ConversionError
from kapturelike.converters.opensfm import export_opensfm
from kapturelike.dataset_tools.output import IMAGE_TRANSFERS, place_file
from kapturelike.io.dataset import load_kapture, records_data_path
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.paths import inside
from kapturelike.io.text import atomic_write


def export_opensfm_folder(root: str | Path, folder: str | Path, transfer: str = "link_absolute",
                          keypoints_type: str | None = None, descriptors_type: str | None = None,
                          approximate: bool = False) -> list:
    """kapture_export_opensfm's folder: reconstruction.json, camera_models.json, images/ (``transfer``:
    kapture's TransferAction), features/<image>.features.npz (points, descriptors) and
    matches/<image>_matches.pkl.gz (other image -> (M, 2) keypoint indices), as OpenSfM reads them. The
    types default to the dataset's only keypoints and descriptors types."""
    root, folder = Path(root), Path(folder)
    kapture = load_kapture(root)
    doc = export_opensfm(kapture, folder / "reconstruction.json", approximate)
    with atomic_write(folder / "camera_models.json") as f:
        json.dump(doc[0]["cameras"], f, indent=1)
    names = kapture.image_names()
    if transfer not in IMAGE_TRANSFERS:
        raise ConversionError(f"unknown --transfer '{transfer}' (known: {', '.join(IMAGE_TRANSFERS)})")
    if transfer not in ("skip", "root_link"):
        for name in names:
            src = records_data_path(root, name)
            if src.exists():
                place_file(src, inside(folder / "images", name, None, None, "image_path"), transfer)
    elif transfer == "root_link" and records_data_path(root).is_dir():
        place_file(records_data_path(root), folder / "images", "link_absolute")
    store = KaptureFeatureStore(root, kapture.version)
    ktype = keypoints_type or (next(iter(kapture.keypoints)) if len(kapture.keypoints) == 1 else None)
    dtype = descriptors_type or (next(iter(kapture.descriptors)) if len(kapture.descriptors) == 1 else None)
    for name in names:
        arrays = {}
        if ktype in kapture.keypoints and name in kapture.keypoints[ktype].images:
            arrays["points"] = store.read("keypoints", ktype, name)
        if dtype in kapture.descriptors and name in kapture.descriptors[dtype].images:
            arrays["descriptors"] = store.read("descriptors", dtype, name)
        if arrays:
            target = inside(folder / "features", f"{name}.features.npz", None, None, "image_path")
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(target, "wb") as f:
                np.savez(f, **arrays)
    partners: dict[str, list[str]] = {}
    for first, second in sorted(kapture.matches.get(ktype, set())):
        partners.setdefault(first, []).append(second)
    for first, seconds in partners.items():
        matches = {second: store.read_matches(ktype, first, second)[:, :2].astype(np.int64) for second in seconds}
        target = inside(folder / "matches", f"{first}_matches.pkl.gz", None, None, "image_path")
        with atomic_write(target, "wb") as f:
            f.write(gzip.compress(pickle.dumps(matches)))
    return doc
