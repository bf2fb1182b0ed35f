"""Feature storage behind one small interface: the kapture per-file layout, or one HDF5 file.

kapture layout (1.1), for a type T and an image I:
  reconstruction/keypoints/T/I.kpt, reconstruction/descriptors/T/I.desc,
  reconstruction/global_features/T/I.gfeat    raw arrays (dtype and dsize from the type file)
  reconstruction/matches/T/I1.overlapping/I2.matches    float64 (M, 3): idx1, idx2, score; I1 < I2
Listing names walks directories and never reads arrays. Read leniently, as kapture reads:
  - kapture's tar containers (``kapture_tar``): reconstruction/<kind>/T/<kind>.tar holding the same
    relative file names, read in place (files beside the tar win);
  - a matches file stored under the reversed pair order (I2.overlapping/I1.matches) is found and read
    with its columns swapped; ``reversed_pairs`` lists them so that the loader can warn.
"""

from __future__ import annotations

import os
import tarfile
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
    def aux_path(self, kind: str, type_name: str, filename: str) -> Path: ...


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
        self._tars: dict[tuple[str, str], tuple[tarfile.TarFile, dict[str, tarfile.TarInfo]] | None] = {}
        self._reversed: dict[str, set[tuple[str, str]]] = {}

    def tar_path(self, kind: str, type_name: str) -> Path:
        """kapture's tar container of one feature type."""
        return self.folder(kind, type_name) / f"{kind}.tar"

    def _tar(self, kind: str, type_name: str) -> tuple[tarfile.TarFile, dict[str, tarfile.TarInfo]] | None:
        key = (kind, type_name)
        if key not in self._tars:
            path = self.tar_path(kind, type_name)
            if not path.is_file():
                self._tars[key] = None
            else:
                try:
                    archive = tarfile.open(path, "r")
                except tarfile.TarError as e:
                    raise FormatError(f"not a readable tar container: {e}", path) from None
                # a name stored twice: its last copy is the current one (kapture appends updates)
                self._tars[key] = (archive, {os.path.normpath(m.name).replace(os.sep, "/"): m
                                             for m in archive.getmembers() if m.isfile()})
        return self._tars[key]

    def _tar_bytes(self, kind: str, type_name: str, member: str) -> bytes | None:
        tar = self._tar(kind, type_name)
        if tar is None or member not in tar[1]:
            return None
        return tar[0].extractfile(tar[1][member]).read()

    def tar_names(self, kind: str, type_name: str) -> list[str]:
        """Member names of the type's tar container (empty without one)."""
        tar = self._tar(kind, type_name)
        return [] if tar is None else sorted(tar[1])

    def folder(self, kind: str, type_name: str) -> Path:
        base = self.root / "reconstruction" / kind
        return base if self.version == "1.0" else base / check_type_name(type_name)

    def type_path(self, kind: str, type_name: str) -> Path:
        return type_file_path(self.root, kind, type_name, self.version)

    def write_type(self, feature_type: FeatureType) -> None:
        write_feature_type(self.root, feature_type, self.type_path(feature_type.kind, feature_type.name))
        self._types[(feature_type.kind, feature_type.name)] = feature_type

    def read_type(self, kind: str, type_name: str) -> FeatureType:
        key = (kind, type_name)
        if key not in self._types:
            path = self.type_path(kind, type_name)
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
        found = {name[: -len(ext)] for name in self.tar_names(kind, type_name) if name.endswith(ext)}
        for dirpath, _, files in os.walk(folder):
            rel = os.path.relpath(dirpath, folder)
            for f in files:
                if f.endswith(ext):
                    found.add((f if rel == "." else os.path.join(rel, f))[: -len(ext)].replace(os.sep, "/"))
        return found

    def nbytes(self, kind: str, type_name: str, image_name: str) -> int:
        """Size of an image's feature file (loose, or a member of the tar container), without reading it."""
        path = self.path(kind, type_name, image_name)
        if path.is_file():
            return path.stat().st_size
        tar = self._tar(kind, type_name)
        member = image_name + EXTENSIONS[kind]
        if tar is None or member not in tar[1]:
            raise MissingDataError(f"{path}: missing {kind} file for image '{image_name}'")
        return tar[1][member].size

    def row_count(self, kind: str, type_name: str, image_name: str) -> int:
        """Rows of a feature file from its size, unread; FormatError naming the file when it is not a
        regular file or its size does not fit the type (a global feature file holds one row)."""
        ftype = self.read_type(kind, type_name)
        path = self.path(kind, type_name, image_name)
        row_bytes = ftype.dsize * ftype.dtype.itemsize
        size = regular_file_size(path) if os.path.lexists(path) else self.nbytes(kind, type_name, image_name)
        if size % row_bytes or (kind == "global_features" and size != row_bytes):
            raise FormatError(f"file size {size} bytes does not fit {ftype.dtype_name} x {ftype.dsize}", path, None,
                              "dsize")
        return size // row_bytes

    def misplaced_folders(self, kind: str, type_name: str) -> list[Path]:
        """Folders named as feature (or match) files of ``kind``: ``names`` skips them, a check reports them."""
        folder, ext = self.folder(kind, type_name), EXTENSIONS[kind]
        return sorted(Path(dirpath) / d for dirpath, dirs, _ in os.walk(folder) for d in dirs if d.endswith(ext))

    def has(self, kind: str, type_name: str, image_name: str) -> bool:
        member = check_image_name(image_name) + EXTENSIONS[kind]
        return self.path(kind, type_name, image_name).is_file() or member in self.tar_names(kind, type_name)

    def read(self, kind: str, type_name: str, image_name: str) -> np.ndarray:
        ftype = self.read_type(kind, type_name)
        path = self.path(kind, type_name, image_name)
        if path.is_file():
            data = _read_array(path, ftype.dtype)
        else:
            raw = self._tar_bytes(kind, type_name, image_name + EXTENSIONS[kind])
            if raw is None:
                raise MissingDataError(f"{path}: missing {kind} file for image '{image_name}'")
            path = self.tar_path(kind, type_name)
            data = np.frombuffer(raw, dtype=ftype.dtype).copy()
        if data.size % ftype.dsize:
            raise FormatError(f"file size {data.nbytes} bytes is not a multiple of dsize {ftype.dsize} x "
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

    def aux_path(self, kind: str, type_name: str, filename: str) -> Path:
        """Where a side file of a type lives (the DenseVLAD model of a global features type)."""
        return self.folder(kind, type_name) / filename

    def matches_path(self, keypoints_type: str, image1: str, image2: str) -> Path:
        folder = self.folder("matches", keypoints_type)
        return inside(folder, f"{check_image_name(image1)}{PAIR_SEPARATOR}/{check_image_name(image2)}"
                              f"{EXTENSIONS['matches']}", folder, None, "image_name")

    def _matches_member(self, image1: str, image2: str) -> str:
        return check_image_name(image1) + PAIR_SEPARATOR + "/" + check_image_name(image2) + EXTENSIONS["matches"]

    def stored_matches(self, keypoints_type: str, image1: str, image2: str) -> tuple[Path, bool, bool] | None:
        """Where the matches of a pair are: (path, stored under the reversed order, inside the tar container)."""
        (a, b), _ = ordered_pair(image1, image2)
        in_tar = set(self.tar_names("matches", keypoints_type))
        for first, second, reversed_order in ((a, b, False), (b, a, True)):
            path = self.matches_path(keypoints_type, first, second)
            if path.is_file():
                return path, reversed_order, False
            if self._matches_member(first, second) in in_tar:
                return path, reversed_order, True
        return None

    def has_matches(self, keypoints_type: str, image1: str, image2: str) -> bool:
        return self.stored_matches(keypoints_type, image1, image2) is not None

    def read_matches(self, keypoints_type: str, image1: str, image2: str) -> np.ndarray:
        """(M, 3) float64 idx1, idx2, score with idx1 indexing ``image1``'s keypoints."""
        (a, b), swapped = ordered_pair(image1, image2)
        stored = self.stored_matches(keypoints_type, a, b)
        if stored is None:
            raise MissingDataError(f"{self.matches_path(keypoints_type, a, b)}: no matches between '{a}' and '{b}'")
        path, reversed_order, in_tar = stored
        if in_tar:
            first, second = (b, a) if reversed_order else (a, b)
            data = np.frombuffer(self._tar_bytes("matches", keypoints_type, self._matches_member(first, second)),
                                 dtype=np.float64).copy()
            path = self.tar_path("matches", keypoints_type)
        else:
            data = _read_array(path, np.float64)
        if data.size % 3:
            raise FormatError(f"file size {data.nbytes} is not a multiple of 3 float64", path, None, "dsize")
        return matches_array(data.reshape(-1, 3), swapped != reversed_order)

    def write_matches(self, keypoints_type: str, image1: str, image2: str, matches: np.ndarray) -> None:
        (a, b), swapped = ordered_pair(image1, image2)
        with atomic_write(self.matches_path(keypoints_type, a, b), "wb") as f:
            f.write(matches_array(matches, swapped).tobytes())

    def match_pairs(self, keypoints_type: str) -> set[tuple[str, str]]:
        """Every pair with a matches file, in kapture's order (image1 < image2), wherever it is stored."""
        folder = self.folder("matches", keypoints_type)
        ext = EXTENSIONS["matches"]
        marker = PAIR_SEPARATOR + "/"
        names = [name[: -len(ext)] for name in self.tar_names("matches", keypoints_type) if name.endswith(ext)]
        for dirpath, _, files in os.walk(folder):
            rel = os.path.relpath(dirpath, folder).replace(os.sep, "/")
            names += [f"{rel}/{f[: -len(ext)]}" if rel != "." else f[: -len(ext)] for f in files if f.endswith(ext)]
        pairs, reversed_pairs = set(), set()
        for full in names:
            if marker in full:
                first, second = full.split(marker, 1)
                if first > second:
                    reversed_pairs.add((first, second))
                pairs.add(ordered_pair(first, second)[0])
        self._reversed[keypoints_type] = reversed_pairs
        return pairs

    def reversed_pairs(self, keypoints_type: str) -> set[tuple[str, str]]:
        """Pairs (as stored: image1 > image2) whose matches file is under the reversed order."""
        if keypoints_type not in self._reversed:
            self.match_pairs(keypoints_type)
        return self._reversed[keypoints_type]


class FolderFeatureStore(KaptureFeatureStore):
    """kapture's separate-folder layout, as kapture-localization's ``-kpt -desc -gfeat -matches`` give it:
    each folder holds one type, its type file (``keypoints.txt``, ...) and its image files directly.

    ``folders`` maps (kind, type name) to a folder, kind one of keypoints, descriptors, global_features
    or matches (matches are keyed by keypoints type). A folder's type name is, as in kapture-localization,
    the name of the folder above it (``local_features/r2d2_500/keypoints`` -> ``r2d2_500``) unless given.
    The folders are read in place: nothing is linked or copied.
    """

    def __init__(self, folders: dict[tuple[str, str], str | Path]):
        super().__init__(Path("."))
        self.folders = {key: Path(folder) for key, folder in folders.items()}

    @staticmethod
    def type_name_of(folder: str | Path) -> str:
        return Path(folder).resolve().parent.name

    def folder(self, kind: str, type_name: str) -> Path:
        if (kind, type_name) not in self.folders:
            known = [t for k, t in self.folders if k == kind]
            raise MissingDataError(f"no {kind} folder of type '{type_name}' was given "
                                   f"(given: {', '.join(known) or 'none'})")
        return self.folders[(kind, type_name)]

    def type_path(self, kind: str, type_name: str) -> Path:
        return self.folder(kind, type_name) / f"{kind}.txt"

    def types(self, kind: str) -> list[str]:
        return sorted(t for k, t in self.folders if k == kind and (self.folders[(k, t)] / f"{kind}.txt").is_file())

    def has(self, kind: str, type_name: str, image_name: str) -> bool:
        return (kind, type_name) in self.folders and super().has(kind, type_name, image_name)

    def has_matches(self, keypoints_type: str, image1: str, image2: str) -> bool:
        return ("matches", keypoints_type) in self.folders and super().has_matches(keypoints_type, image1, image2)

    def match_pairs(self, keypoints_type: str) -> set[tuple[str, str]]:
        return super().match_pairs(keypoints_type) if ("matches", keypoints_type) in self.folders else set()


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
