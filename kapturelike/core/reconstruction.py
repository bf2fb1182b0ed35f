"""Reconstruction data: feature types, matches, 3D points and observations, and the dataset itself.

Feature arrays are not held here: a feature type lists which images have a file, and the arrays
are read on demand through ``kapturelike.io.features`` (lazy access for large datasets).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera, Sensor
from kapturelike.core.trajectories import Pose, Trajectories

# dtype names accepted in type files, parsed without eval; kapture writes numpy's names.
DTYPES: dict[str, np.dtype] = {name: np.dtype(name) for name in (
    "float16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "uint16", "uint32", "uint64")}
DTYPES["float"] = np.dtype(np.float64)  # kapture writes builtin float as 'float'
DTYPES["int"] = np.dtype(np.int64)

FEATURE_KINDS = ("keypoints", "descriptors", "global_features")


@dataclass
class FeatureType:
    """One feature type: what its type file says, plus the images that have a file of it."""

    kind: str  # keypoints, descriptors or global_features
    name: str
    dtype: np.dtype
    dsize: int
    keypoints_type: str | None = None  # descriptors only
    metric_type: str | None = None  # descriptors and global features
    dtype_name: str = ""  # as written in the file ('float32', or 'float' for builtin float)
    images: set[str] = field(default_factory=set)
    # the name written inside the type file when it differs from the type's folder name (kapture keys a
    # type by its folder); kept so that a copy writes the file as it was
    declared_name: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FEATURE_KINDS:
            raise ValueError(f"unknown feature kind '{self.kind}'")
        self.dtype = np.dtype(self.dtype)
        if not self.dtype_name:
            self.dtype_name = self.dtype.name
        if self.kind != "keypoints" and self.metric_type is None:
            self.metric_type = "L2"
        if self.kind == "descriptors" and self.keypoints_type is None:
            self.keypoints_type = self.name

    def same_type(self, other: FeatureType) -> bool:
        return (self.kind, self.name, self.dtype, self.dsize, self.keypoints_type, self.metric_type) == (
            other.kind, other.name, other.dtype, other.dsize, other.keypoints_type, other.metric_type)


@dataclass
class Observations:
    """Which keypoint of which image sees each 3D point, as columns (one row per observation).

    Rows keep kapture's order: grouped by (point3d_id, keypoints_type), in insertion order within.
    """

    point_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    keypoints_types: np.ndarray = field(default_factory=lambda: np.zeros(0, object))
    image_names: np.ndarray = field(default_factory=lambda: np.zeros(0, object))
    feature_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        self.point_ids = np.asarray(self.point_ids, dtype=np.int64)
        self.keypoints_types = np.asarray(self.keypoints_types, dtype=object)
        self.image_names = np.asarray(self.image_names, dtype=object)
        self.feature_ids = np.asarray(self.feature_ids, dtype=np.int64)
        n = len(self.point_ids)
        if not (len(self.keypoints_types) == len(self.image_names) == len(self.feature_ids) == n):
            raise ValueError("observation columns differ in length")

    def __len__(self) -> int:
        return len(self.point_ids)

    @classmethod
    def from_lists(cls, rows: list[tuple[int, str, str, int]]) -> Observations:
        if not rows:
            return cls()
        p, k, i, f = zip(*rows)
        return cls(np.array(p), np.array(k, dtype=object), np.array(i, dtype=object), np.array(f))

    def select(self, mask: np.ndarray) -> Observations:
        return Observations(self.point_ids[mask], self.keypoints_types[mask], self.image_names[mask],
                            self.feature_ids[mask])

    def sorted(self) -> Observations:
        """Grouped by (point id, keypoints type), insertion order kept within a group."""
        order = sorted(range(len(self)), key=lambda r: (self.point_ids[r], self.keypoints_types[r]))
        return self.select(np.asarray(order, dtype=np.int64))

    def for_image(self, keypoints_type: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """image name -> (feature ids, point ids) for one keypoints type, vectorised grouping."""
        m = self.keypoints_types == keypoints_type
        names, fids, pids = self.image_names[m], self.feature_ids[m], self.point_ids[m]
        if len(names) == 0:
            return {}
        uniq, inverse = np.unique(names.astype(str), return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(len(uniq) + 1))
        return {str(u): (fids[order[bounds[j]:bounds[j + 1]]], pids[order[bounds[j]:bounds[j + 1]]])
                for j, u in enumerate(uniq)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Observations):
            return NotImplemented
        a, b = self.sorted(), other.sorted()
        return (a.point_ids.tolist() == b.point_ids.tolist()
                and a.keypoints_types.tolist() == b.keypoints_types.tolist()
                and a.image_names.tolist() == b.image_names.tolist()
                and a.feature_ids.tolist() == b.feature_ids.tolist())


@dataclass
class Kapture:
    """A whole kapture dataset. Every part is optional (None: absent from disk)."""

    sensors: dict[str, Camera | Sensor] = field(default_factory=dict)
    rigs: dict[str, dict[str, Pose]] | None = None
    trajectories: Trajectories | None = None
    records: dict[str, Records] = field(default_factory=dict)  # kind -> records
    keypoints: dict[str, FeatureType] = field(default_factory=dict)
    descriptors: dict[str, FeatureType] = field(default_factory=dict)
    global_features: dict[str, FeatureType] = field(default_factory=dict)
    matches: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # keypoints type -> pairs
    points3d: np.ndarray | None = None  # (N, 3) or (N, 6): X, Y, Z[, R, G, B]
    observations: Observations | None = None
    version: str = "1.1"
    # rows of trajectories ("trajectories") or records (their kind) naming a device that neither
    # sensors.txt nor rigs.txt defines: kapture drops them; they are kept here, out of every
    # computation, and written back with the dataset
    unknown_device_rows: dict[str, Trajectories | Records] = field(default_factory=dict)

    @property
    def records_camera(self) -> Records | None:
        return self.records.get("camera")

    def cameras(self) -> dict[str, Camera]:
        return {k: s for k, s in self.sensors.items() if isinstance(s, Camera) and s.sensor_type == "camera"}

    def image_names(self) -> list[str]:
        rc = self.records_camera
        return [] if rc is None else rc.paths

    def cameras_by_image(self) -> dict[str, Camera]:
        """Image name -> its camera, for images recorded by a camera sensor."""
        cameras, records = self.cameras(), self.records_camera
        if records is None:
            return {}
        return {n: cameras[d] for n, d in zip(records.paths, records.device_ids.tolist()) if d in cameras}

    def image_keys(self) -> dict[str, tuple[int, str]]:
        """Image name -> (timestamp, camera id)."""
        rc = self.records_camera
        return {} if rc is None else rc.image_index()
