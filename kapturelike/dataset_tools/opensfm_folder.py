"""An OpenSfM project folder beside reconstruction.json: camera_models.json, images/, exif/*.exif,
features/<image>.features.npz and matches/<image>_matches.pkl.gz, written as kapture_export_opensfm writes
them and read as kapture_import_opensfm reads them."""

from __future__ import annotations

import gzip
import json
import logging
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np

from kapturelike.converters.common import ConversionError
from kapturelike.converters.opensfm import export_opensfm, opensfm_to_kapture
from kapturelike.core.reconstruction import FeatureType, Kapture
from kapturelike.core.records import Records
from kapturelike.core.sensors import Sensor
from kapturelike.dataset_tools.exif_gps import GPS_EPSG, GPS_PREFIX
from kapturelike.dataset_tools.output import IMAGE_TRANSFERS, place_file
from kapturelike.errors import FormatError
from kapturelike.importers.common import TransferAction, transfer_records_data
from kapturelike.io.dataset import load_kapture, records_data_path, save_kapture
from kapturelike.io.features import KaptureFeatureStore, ordered_pair
from kapturelike.io.output import prepare_output
from kapturelike.io.paths import inside
from kapturelike.io.text import atomic_write

logger = logging.getLogger("kapturelike")

FEATURES_SUFFIX = ".features.npz"
MATCHES_SUFFIX = "_matches.pkl.gz"
EXIF_SUFFIX = ".exif"


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


def import_opensfm_folder(folder: str | Path, output: str | Path, transfer: str = "link_absolute",
                          keypoints_type: str = "HessianAffine", descriptors_type: str = "HOG", force: bool = False,
                          reconstruction: str | Path | None = None) -> Kapture:
    """kapture_import_opensfm: the first reconstruction of ``reconstruction`` (default
    ``folder``/reconstruction.json) as cameras, images and poses (``converters.opensfm`` in kapture's order:
    timestamps 0, 1, ... in the order of the file), and, as kapture
    imports them, the images of ``folder``/images (``transfer``: kapture's TransferAction), one gnss sensor
    GPS_<camera> per camera with a record per ``exif/<image>.exif`` holding a 'gps' entry, the keypoints and
    descriptors of ``features/*.features.npz`` (arrays 'points' and 'descriptors' stored as they are, under
    ``keypoints_type`` and ``descriptors_type``, metric L2) and the matches of ``matches/*_matches.pkl.gz``
    (keypoint index pairs, score 1, under ``keypoints_type``, in the pair order of the file)."""
    folder = Path(folder)
    reconstruction = Path(reconstruction) if reconstruction is not None else folder / "reconstruction.json"
    if transfer not in IMAGE_TRANSFERS:
        raise ConversionError(f"unknown --transfer '{transfer}' (known: {', '.join(IMAGE_TRANSFERS)})")
    out = prepare_output(output, [reconstruction], force)
    kapture = opensfm_to_kapture(reconstruction, kapture_order=True)
    transfer_records_data(folder / "images", out, kapture.image_names(), TransferAction(transfer))
    if (folder / "exif").is_dir():
        _import_gnss(folder / "exif", kapture)
    store = KaptureFeatureStore(out)
    if (folder / "features").is_dir():
        _import_features(folder / "features", store, kapture, keypoints_type, descriptors_type)
    if (folder / "matches").is_dir():
        _import_matches(folder / "matches", store, kapture, keypoints_type)
    save_kapture(kapture, out)
    return kapture


def _files(folder: Path, suffix: str) -> list[tuple[str, Path]]:
    """(image name, path) of the files of ``folder`` (and below) named <image name><suffix>, sorted."""
    found = []
    for dirpath, _, files in os.walk(folder):
        for f in files:
            if f.endswith(suffix):
                path = Path(dirpath) / f
                found.append((path.relative_to(folder).as_posix()[:-len(suffix)], path))
    return sorted(found)


def _import_gnss(folder: Path, kapture: Kapture) -> None:
    keys = kapture.image_keys()
    gps_of = {cam: GPS_PREFIX + cam for cam in sorted({cam for _, cam in keys.values()})}
    for gps_id in gps_of.values():
        kapture.sensors[gps_id] = Sensor("gnss", (GPS_EPSG,))
    rows, unknown = [], []
    for name, path in _files(folder, EXIF_SUFFIX):
        if name not in keys:
            unknown.append(name)
            continue
        try:
            gps = json.loads(path.read_text(encoding="utf-8")).get("gps")
            if gps is None:
                logger.warning(f"{path}: no GPS data")
                continue
            values = (float(gps["longitude"]), float(gps["latitude"]), float(gps.get("altitude", 0.0)), 0,
                      float(gps.get("dop", 0)))
        except (json.JSONDecodeError, AttributeError, KeyError, TypeError, ValueError) as e:
            raise FormatError(f"bad EXIF GPS entry ({type(e).__name__}: {e})", path, None, "gps") from None
        timestamp, cam = keys[name]
        rows.append((timestamp, gps_of[cam], values))
    if unknown:  # kapture stops on a missing key here
        logger.warning(f"{len(unknown)} EXIF file(s) of images absent from the reconstruction are left out "
                       f"(first: {folder / (unknown[0] + EXIF_SUFFIX)})")
    if rows:
        kapture.records["gnss"] = Records("gnss", [r[0] for r in rows], [r[1] for r in rows],
                                          values=[r[2] for r in rows])


def _import_features(folder: Path, store: KaptureFeatureStore, kapture: Kapture, keypoints_type: str,
                     descriptors_type: str) -> None:
    keypoints = descriptors = None
    for name, path in _files(folder, FEATURES_SUFFIX):
        try:
            with np.load(path) as npz:
                points, descs = npz["points"], npz["descriptors"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            raise FormatError(f"not an OpenSfM features file with 'points' and 'descriptors' ({e})", path, None,
                              "features") from None
        if keypoints is None:  # the first file sets the types, as kapture does
            keypoints = FeatureType("keypoints", keypoints_type, points.dtype, points.shape[1])
            descriptors = FeatureType("descriptors", descriptors_type, descs.dtype, descs.shape[1],
                                      keypoints_type=keypoints_type, metric_type="L2")
            store.write_type(keypoints)
            store.write_type(descriptors)
        store.write("keypoints", keypoints_type, name, points)
        store.write("descriptors", descriptors_type, name, descs)
    if keypoints is not None:
        kapture.keypoints[keypoints_type] = keypoints
        kapture.descriptors[descriptors_type] = descriptors


class _ArraysOnly(pickle.Unpickler):
    """OpenSfM's matches files pickle {image: (M, 2) index array}: only numpy arrays are rebuilt, so a
    crafted file cannot run code."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
                ("numpy._core.multiarray", "scalar")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in an OpenSfM matches file")
        return super().find_class(module, name)


def _import_matches(folder: Path, store: KaptureFeatureStore, kapture: Kapture, keypoints_type: str) -> None:
    pairs = kapture.matches.setdefault(keypoints_type, set())
    for first, path in _files(folder, MATCHES_SUFFIX):
        try:
            with gzip.open(path, "rb") as f:
                partners = _ArraysOnly(f).load()
            items = [(str(second), np.asarray(m, np.float64).reshape(-1, 2)) for second, m in partners.items()]
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, TypeError, ValueError) as e:
            raise FormatError(f"not an OpenSfM matches file ({type(e).__name__}: {e})", path, None,
                              "matches") from None
        for second, indices in items:
            # kapture writes the file under the pair order of OpenSfM's file, without reordering
            matches = np.hstack([indices, np.ones((len(indices), 1))])
            with atomic_write(store.matches_path(keypoints_type, first, second), "wb") as f:
                f.write(np.ascontiguousarray(matches).tobytes())
            pairs.add(ordered_pair(first, second)[0])
