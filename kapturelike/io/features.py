"""Feature storage behind one small interface: the kapture per-file layout, or one HDF5 file.

kapture layout (1.1), for a type T and an image I:
  reconstruction/keypoints/T/I.kpt, reconstruction/descriptors/T/I.desc,
  reconstruction/global_features/T/I.gfeat    raw arrays (dtype and dsize from the type file)
  reconstruction/matches/T/I1.overlapping/I2.matches    float64 (M, 3): idx1, idx2, score; I1 < I2
Listing names walks directories and never reads arrays.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from kapturelike.core.reconstruction import FeatureType
from kapturelike.errors import FormatError, MissingDataError
from kapturelike.io.paths import inside, name_problem, quote, regular_file_size
from kapturelike.io.reconstruction import read_feature_type, type_file_path, write_feature_type
from kapturelike.io.text import atomic_write

EXTENSIONS = {"keypoints": ".kpt", "descriptors": ".desc", "global_features": ".gfeat", "matches": ".matches"}
PAIR_SEPARATOR = ".overlapping"


def ordered_pair(image1: str, image2: str) -> tuple[tuple[str, str], bool]:
    """The pair in kapture's lexical order, and whether it was swapped."""
    return ((image1, image2), False) if image1 < image2 else ((image2, image1), True)


class FeatureStore(Protocol):
    """Where keypoints, descriptors, global features and matches live."""

    def write_type(self, feature_type: FeatureType) -> None: ...
    def read_type(self, kind: str, type_name: str) -> FeatureType: ...
    def types(self, kind: str) -> list[str]: ...
    def names(self, kind: str, type_name: str) -> set[str]: ...
    def read(self, kind: str, type_name: str, image_name: str) -> np.ndarray: ...
    def write(self, kind: str, type_name: str, image_name: str, array: np.ndarray) -> None: ...
    def has(self, kind: str, type_name: str, image_name: str) -> bool: ...
    def read_matches(self, keypoints_type: str, image1: str, image2: str) -> np.ndarray: ...
    def write_matches(self, keypoints_type: str, image1: str, image2: str, matches: np.ndarray) -> None: ...
    def has_matches(self, keypoints_type: str, image1: str, image2: str) -> bool: ...
    def match_pairs(self, keypoints_type: str) -> set[tuple[str, str]]: ...


def check_image_name(name: str) -> str:
    """An image name that can name a feature or match file: a relative path staying inside its folder."""
    problem = name_problem(name)
    if problem is not None:
        raise FormatError(f"image name {quote(name)} {problem}: it must be a relative path inside the dataset",
                          None, None, "image_name")
    return name


def check_type_name(name: str) -> str:
    """A feature type name is one folder name."""
    if name_problem(name) is not None or "/" in name or name in (".", ".."):
        raise FormatError(f"feature type name {quote(name)} must be one plain folder name", None, None, "type_name")
    return name


def _read_array(path: Path, dtype: np.dtype) -> np.ndarray:
    try:
        return np.fromfile(path, dtype=dtype)
    except OSError as e:
        raise FormatError(f"cannot read: {e.strerror or e}", path) from None


def match_index_problem(indices: np.ndarray, num_keypoints: int | None) -> str | None:
    """Why a column of keypoint indices of a match file is wrong (not whole numbers, out of range), or None."""
    bad = ~np.isfinite(indices) | (indices < 0) | (indices != np.floor(indices))
    if num_keypoints is not None:
        bad |= indices >= num_keypoints
    if not bad.any():
        return None
    value = float(indices[np.flatnonzero(bad)[0]])
    shown = repr(int(value)) if np.isfinite(value) and value.is_integer() else repr(value)
    where = f" for {num_keypoints} keypoints" if num_keypoints is not None else ""
    return f"{int(bad.sum())} keypoint index(es) not valid{where} (first: {shown})"


def matches_array(matches: np.ndarray, swapped: bool) -> np.ndarray:
    m = np.asarray(matches)
    if m.ndim != 2 or m.shape[1] not in (2, 3):
        raise ValueError(f"matches must be (M, 2) or (M, 3), got {m.shape}")
    out = np.zeros((len(m), 3), dtype=np.float64)
    out[:, : m.shape[1]] = m
    if m.shape[1] == 2:
        out[:, 2] = 1.0
    if swapped:
        out[:, [0, 1]] = out[:, [1, 0]]
    return out


class KaptureFeatureStore:
    """Features in the kapture per-file layout below ``root`` (a kapture dataset folder)."""

    def __init__(self, root: str | Path, version: str = "1.1"):
        self.root = Path(root)
        self.version = version
        self._types: dict[tuple[str, str], FeatureType] = {}

    def folder(self, kind: str, type_name: str) -> Path:
        base = self.root / "reconstruction" / kind
        return base if self.version == "1.0" else base / check_type_name(type_name)

    def write_type(self, feature_type: FeatureType) -> None:
        write_feature_type(self.root, feature_type)
        self._types[(feature_type.kind, feature_type.name)] = feature_type

    def read_type(self, kind: str, type_name: str) -> FeatureType:
        key = (kind, type_name)
        if key not in self._types:
            path = type_file_path(self.root, kind, type_name, self.version)
            if not path.is_file():
                raise MissingDataError(f"{path}: no {kind} of type '{type_name}' in this dataset "
                                       f"(known: {', '.join(self.types(kind)) or 'none'})")
            self._types[key] = read_feature_type(path, kind, self.version, type_name)
        return self._types[key]

    def types(self, kind: str) -> list[str]:
        base = self.root / "reconstruction" / kind
        if not base.is_dir():
            return []
        if self.version == "1.0":
            return [read_feature_type(base / f"{kind}.txt", kind, "1.0").name] if (base / f"{kind}.txt").is_file() \
                else []
        return sorted(p.name for p in base.iterdir() if (p / f"{kind}.txt").is_file())

    def path(self, kind: str, type_name: str, image_name: str) -> Path:
        folder = self.folder(kind, type_name)
        return inside(folder, check_image_name(image_name) + EXTENSIONS[kind], folder, None, "image_name")

    def names(self, kind: str, type_name: str) -> set[str]:
        folder = self.folder(kind, type_name)
        ext = EXTENSIONS[kind]
        found = set()
        for dirpath, _, files in os.walk(folder):
            rel = os.path.relpath(dirpath, folder)
            for f in files:
                if f.endswith(ext):
                    found.add((f if rel == "." else os.path.join(rel, f))[: -len(ext)].replace(os.sep, "/"))
        return found

    def row_count(self, kind: str, type_name: str, image_name: str) -> int:
        """Rows of a feature file from its size, unread; FormatError naming the file when it is not a
        regular file or its size does not fit the type (a global feature file holds one row)."""
        ftype = self.read_type(kind, type_name)
        path = self.path(kind, type_name, image_name)
        size, row_bytes = regular_file_size(path), ftype.dsize * ftype.dtype.itemsize
        if size % row_bytes or (kind == "global_features" and size != row_bytes):
            raise FormatError(f"file size {size} bytes does not fit {ftype.dtype_name} x {ftype.dsize}", path, None,
                              "dsize")
        return size // row_bytes

    def misplaced_folders(self, kind: str, type_name: str) -> list[Path]:
        """Folders named as feature (or match) files of ``kind``: ``names`` skips them, a check reports them."""
        folder, ext = self.folder(kind, type_name), EXTENSIONS[kind]
        return sorted(Path(dirpath) / d for dirpath, dirs, _ in os.walk(folder) for d in dirs if d.endswith(ext))

    def has(self, kind: str, type_name: str, image_name: str) -> bool:
        return self.path(kind, type_name, image_name).is_file()

    def read(self, kind: str, type_name: str, image_name: str) -> np.ndarray:
        ftype = self.read_type(kind, type_name)
        path = self.path(kind, type_name, image_name)
        if not path.is_file():
            raise MissingDataError(f"{path}: missing {kind} file for image '{image_name}'")
        data = _read_array(path, ftype.dtype)
        if data.size % ftype.dsize:
            raise FormatError(f"file size {path.stat().st_size} bytes is not a multiple of dsize {ftype.dsize} x "
                              f"{ftype.dtype.itemsize} bytes ({ftype.dtype_name})", path, None, "dsize")
        return data.reshape(-1, ftype.dsize) if kind != "global_features" else data.reshape(-1)

    def write(self, kind: str, type_name: str, image_name: str, array: np.ndarray) -> None:
        ftype = self.read_type(kind, type_name)
        array = np.asarray(array)
        width = array.shape[-1] if array.ndim else 0
        if array.dtype != ftype.dtype or width != ftype.dsize:
            raise FormatError(f"array of {array.dtype} x {width} does not match type '{type_name}' "
                              f"({ftype.dtype_name} x {ftype.dsize})", self.path(kind, type_name, image_name),
                              None, "dtype")
        with atomic_write(self.path(kind, type_name, image_name), "wb") as f:
            f.write(np.ascontiguousarray(array).tobytes())
        ftype.images.add(image_name)

    def matches_path(self, keypoints_type: str, image1: str, image2: str) -> Path:
        folder = self.folder("matches", keypoints_type)
        return inside(folder, f"{check_image_name(image1)}{PAIR_SEPARATOR}/{check_image_name(image2)}"
                              f"{EXTENSIONS['matches']}", folder, None, "image_name")

    def has_matches(self, keypoints_type: str, image1: str, image2: str) -> bool:
        (a, b), _ = ordered_pair(image1, image2)
        return self.matches_path(keypoints_type, a, b).is_file()

    def read_matches(self, keypoints_type: str, image1: str, image2: str) -> np.ndarray:
        """(M, 3) float64 idx1, idx2, score with idx1 indexing ``image1``'s keypoints."""
        (a, b), swapped = ordered_pair(image1, image2)
        path = self.matches_path(keypoints_type, a, b)
        if not path.is_file():
            raise MissingDataError(f"{path}: no matches between '{a}' and '{b}'")
        data = _read_array(path, np.float64)
        if data.size % 3:
            raise FormatError(f"file size {path.stat().st_size} is not a multiple of 3 float64", path, None, "dsize")
        return matches_array(data.reshape(-1, 3), swapped)

    def write_matches(self, keypoints_type: str, image1: str, image2: str, matches: np.ndarray) -> None:
        (a, b), swapped = ordered_pair(image1, image2)
        with atomic_write(self.matches_path(keypoints_type, a, b), "wb") as f:
            f.write(matches_array(matches, swapped).tobytes())

    def match_pairs(self, keypoints_type: str) -> set[tuple[str, str]]:
        folder = self.folder("matches", keypoints_type)
        pairs = set()
        ext = EXTENSIONS["matches"]
        for dirpath, _, files in os.walk(folder):
            rel = os.path.relpath(dirpath, folder).replace(os.sep, "/")
            marker = PAIR_SEPARATOR + "/"
            for f in files:
                if not f.endswith(ext):
                    continue
                full = f"{rel}/{f[: -len(ext)]}" if rel != "." else f[: -len(ext)]
                if marker in full:
                    first, second = full.split(marker, 1)
                    pairs.add((first, second))
        return pairs


def read_global_features(stores: Sequence[FeatureStore], type_name: str, names: Sequence[str] | None = None,
                         where: str = "") -> tuple[list[str], np.ndarray]:
    """(image names, float32 (N, D) L2-normalised global features), each read from the first store
    that has it; ``names`` None: every image of the first store, sorted."""
    if names is None:
        names = sorted(stores[0].names("global_features", type_name)) if stores else []
        if not names:
            raise MissingDataError(f"{where}: no global features of type '{type_name}'")
    rows = []
    for name in names:
        store = next((s for s in stores if s.has("global_features", type_name, name)), None)
        if store is None:
            raise MissingDataError(f"{where}: no '{type_name}' global feature for image '{name}'")
        row = store.read("global_features", type_name, name)
        dsize = store.read_type("global_features", type_name).dsize
        if row.shape != (dsize,):
            raise FormatError(f"global feature '{type_name}' of image {quote(name)} holds {row.size} values, not dsize "
                              f"{dsize}", where or None)
        rows.append(row.astype(np.float32))
    if not rows:
        return list(names), np.zeros((0, 0), np.float32)
    feats = np.stack(rows)
    norms = np.linalg.norm(feats, axis=1, keepdims=True)
    if (norms == 0).any():
        bad = names[int(np.flatnonzero(norms[:, 0] == 0)[0])]
        raise FormatError(f"global feature '{type_name}' of image {quote(bad)} is all zeros", where or None)
    return list(names), feats / norms
