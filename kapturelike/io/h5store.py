"""Features in one HDF5 file, behind the same ``FeatureStore`` interface as the kapture layout.

Layout (h5py):
  /<kind>/<type name>                 group; attributes kind, dtype (as written in kapture type files),
                                      dsize, keypoints_type, metric_type ('' when absent)
  /<kind>/<type name>/<image>         one dataset per image: (N, dsize), or (dsize,) for global features
  /matches/<keypoints type>/<image1>/<image2>   float64 (M, 3) idx1, idx2, score, with image1 < image2
Image names are kapture paths ('map/0001.jpg'); HDF5 reads '/' as a group separator, so names are
escaped ('%' -> '%25', '/' -> '%2F') to keep one flat level per type, which lists fast.

Crash safety: every write is followed by a flush, so a finished write survives a later crash of
the process, but HDF5 is not crash-atomic: a crash *during* a write can corrupt the whole file.
For long resumable runs prefer ``KaptureFeatureStore`` (one file per image, each written by
temp + rename), or work on a copy of the HDF5 file and rename it when done.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np

from kapturelike.core.reconstruction import DTYPES, FEATURE_KINDS, FeatureType
from kapturelike.errors import FormatError, MissingDataError
from kapturelike.io.features import check_image_name, matches_array, ordered_pair
from kapturelike.io.paths import quote


def escape(name: str) -> str:
    """An image name as one HDF5 link name."""
    check_image_name(name)
    if name in ("", ".", ".."):
        raise ValueError(f"image name {quote(name)} cannot be stored")
    return name.replace("%", "%25").replace("/", "%2F")


def unescape(key: str) -> str:
    return key.replace("%2F", "/").replace("%25", "%")


class H5FeatureStore:
    """Keypoints, descriptors, global features and matches in one HDF5 file.

    The file is opened on first use and kept open; use ``close()`` or a ``with`` block.
    ``mode`` is h5py's: 'a' (read/write, create if missing) or 'r' (read only).
    """

    def __init__(self, path: str | Path, mode: str = "a"):
        self.path = Path(path)
        self.mode = mode
        self._file: h5py.File | None = None
        self._types: dict[tuple[str, str], FeatureType] = {}  # attributes only, images not listed

    def aux_path(self, kind: str, type_name: str, filename: str) -> Path:
        """Where a side file of a type lives (the DenseVLAD model): beside the HDF5 file."""
        return self.path.with_name(f"{self.path.stem}.{kind}.{type_name}.{filename}")

    # ------------------------------------------------------------------ file handling
    @property
    def file(self) -> h5py.File:
        if self._file is None:
            if self.mode == "r" and not self.path.is_file():
                raise MissingDataError(f"{self.path}: HDF5 feature file is missing")
            if self.mode != "r":
                self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._file = h5py.File(self.path, self.mode)
            except OSError as e:
                raise FormatError(f"cannot open as HDF5 ({e})", self.path) from None
        return self._file

    def close(self) -> None:
        self._types.clear()
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> H5FeatureStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _where(self, *parts: str) -> str:
        return f"{self.path}:/{'/'.join(parts)}"

    # ------------------------------------------------------------------ types
    def write_type(self, feature_type: FeatureType) -> None:
        group = self.file.require_group(f"{feature_type.kind}/{feature_type.name}")
        group.attrs.update({"kind": feature_type.kind, "dtype": feature_type.dtype_name,
                            "dsize": int(feature_type.dsize),
                            "keypoints_type": feature_type.keypoints_type or "",
                            "metric_type": feature_type.metric_type or ""})
        self._types.pop((feature_type.kind, feature_type.name), None)
        self.file.flush()

    def _group(self, kind: str, type_name: str) -> h5py.Group:
        if kind not in FEATURE_KINDS:
            raise ValueError(f"unknown feature kind '{kind}' (known: {', '.join(FEATURE_KINDS)})")
        group = self.file.get(f"{kind}/{type_name}")
        if not isinstance(group, h5py.Group):
            raise MissingDataError(f"{self._where(kind, type_name)}: no {kind} of type '{type_name}' in this "
                                   f"file (known: {', '.join(self.types(kind)) or 'none'})")
        return group

    def _type(self, kind: str, type_name: str) -> FeatureType:
        key = (kind, type_name)
        if key not in self._types:
            attrs = self._group(kind, type_name).attrs
            dtype_name = str(attrs.get("dtype", ""))
            if dtype_name not in DTYPES:
                raise FormatError(f"unknown dtype {quote(dtype_name)}", self._where(kind, type_name), None,
                                  "dtype")
            self._types[key] = FeatureType(kind, type_name, DTYPES[dtype_name], int(attrs["dsize"]),
                                           keypoints_type=str(attrs.get("keypoints_type", "")) or None,
                                           metric_type=str(attrs.get("metric_type", "")) or None,
                                           dtype_name=dtype_name)
        return self._types[key]

    def read_type(self, kind: str, type_name: str) -> FeatureType:
        """The type, with the images that have an array of it."""
        return replace(self._type(kind, type_name), images=self.names(kind, type_name))

    def types(self, kind: str) -> list[str]:
        group = self.file.get(kind)
        return sorted(group.keys()) if isinstance(group, h5py.Group) else []

    # ------------------------------------------------------------------ per-image arrays
    def names(self, kind: str, type_name: str) -> set[str]:
        group = self.file.get(f"{kind}/{type_name}")
        return {unescape(k) for k in group.keys()} if isinstance(group, h5py.Group) else set()

    def has(self, kind: str, type_name: str, image_name: str) -> bool:
        group = self.file.get(f"{kind}/{type_name}")
        return isinstance(group, h5py.Group) and escape(image_name) in group

    def read(self, kind: str, type_name: str, image_name: str) -> np.ndarray:
        ftype = self._type(kind, type_name)
        dataset = self._group(kind, type_name).get(escape(image_name))
        if dataset is None:
            raise MissingDataError(f"{self._where(kind, type_name, escape(image_name))}: missing {kind} for "
                                   f"image '{image_name}'")
        data = dataset[()]
        if data.dtype != ftype.dtype or (data.shape[-1] if data.ndim else 0) != ftype.dsize:
            raise FormatError(f"dataset of {data.dtype} {data.shape} does not match type '{type_name}' "
                              f"({ftype.dtype_name} x {ftype.dsize})",
                              self._where(kind, type_name, escape(image_name)), None, "dsize")
        return data.reshape(-1) if kind == "global_features" else data.reshape(-1, ftype.dsize)

    def write(self, kind: str, type_name: str, image_name: str, array: np.ndarray) -> None:
        ftype = self._type(kind, type_name)
        array = np.asarray(array)
        width = array.shape[-1] if array.ndim else 0
        if array.dtype != ftype.dtype or width != ftype.dsize:
            raise FormatError(f"array of {array.dtype} x {width} does not match type '{type_name}' "
                              f"({ftype.dtype_name} x {ftype.dsize})",
                              self._where(kind, type_name, escape(image_name)), None, "dtype")
        array = array.reshape(-1) if kind == "global_features" else array.reshape(-1, ftype.dsize)
        group, key = self._group(kind, type_name), escape(image_name)
        if key in group:
            del group[key]
        group.create_dataset(key, data=array)
        self.file.flush()

    # ------------------------------------------------------------------ matches
    def _pair_key(self, keypoints_type: str, image1: str, image2: str) -> tuple[str, bool]:
        (a, b), swapped = ordered_pair(image1, image2)
        return f"matches/{keypoints_type}/{escape(a)}/{escape(b)}", swapped

    def has_matches(self, keypoints_type: str, image1: str, image2: str) -> bool:
        key, _ = self._pair_key(keypoints_type, image1, image2)
        return isinstance(self.file.get(key), h5py.Dataset)

    def read_matches(self, keypoints_type: str, image1: str, image2: str) -> np.ndarray:
        """(M, 3) float64 idx1, idx2, score with idx1 indexing ``image1``'s keypoints."""
        key, swapped = self._pair_key(keypoints_type, image1, image2)
        dataset = self.file.get(key)
        if not isinstance(dataset, h5py.Dataset):
            raise MissingDataError(f"{self.path}:/{key}: no matches between '{image1}' and '{image2}'")
        data = dataset[()]
        if data.ndim != 2 or data.shape[1] != 3:
            raise FormatError(f"matches dataset has shape {data.shape}, not (M, 3)", f"{self.path}:/{key}",
                              None, "dsize")
        return matches_array(data, swapped)

    def write_matches(self, keypoints_type: str, image1: str, image2: str, matches: np.ndarray) -> None:
        key, swapped = self._pair_key(keypoints_type, image1, image2)
        data = matches_array(matches, swapped)
        if key in self.file:
            del self.file[key]
        self.file.create_dataset(key, data=data)
        self.file.flush()

    def match_pairs(self, keypoints_type: str) -> set[tuple[str, str]]:
        group = self.file.get(f"matches/{keypoints_type}")
        if not isinstance(group, h5py.Group):
            return set()
        return {(unescape(a), unescape(b)) for a, sub in group.items() for b in sub.keys()}
