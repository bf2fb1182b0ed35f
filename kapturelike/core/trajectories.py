"""Trajectories: world-to-device poses keyed by (timestamp, device id), stored as columns.

Columns (numpy arrays) keep a million poses cheap to load, sort and select; the mapping
interface (``trajectories[ts, device_id]``) is what kapture users expect.
A pose may lack its rotation or its translation (kapture allows empty fields): those are NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from kapturelike.core.keys import key_order


@dataclass(eq=False)
class Pose:
    """A world-to-device pose: quaternion qw, qx, qy, qz and translation; None where absent."""

    q: np.ndarray | None
    t: np.ndarray | None

    def __post_init__(self) -> None:
        if self.q is not None:
            self.q = np.asarray(self.q, dtype=np.float64).reshape(4)
        if self.t is not None:
            self.t = np.asarray(self.t, dtype=np.float64).reshape(3)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pose):
            return NotImplemented
        return _same(self.q, other.q) and _same(self.t, other.t)

    def __repr__(self) -> str:
        return f"Pose(q={None if self.q is None else self.q.tolist()}, t={None if self.t is None else self.t.tolist()})"

    @classmethod
    def identity(cls) -> Pose:
        return cls(np.array([1.0, 0, 0, 0]), np.zeros(3))


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(np.array_equal(a, b))


def _rows_from_pose(pose: Pose) -> tuple[np.ndarray, np.ndarray]:
    q = pose.q if pose.q is not None else np.full(4, np.nan)
    t = pose.t if pose.t is not None else np.full(3, np.nan)
    return q, t


class Trajectories:
    """Poses keyed by (timestamp, device_id); device_id may be a sensor or a rig."""

    def __init__(self, timestamps: np.ndarray | None = None, device_ids: np.ndarray | None = None,
                 rotations: np.ndarray | None = None, translations: np.ndarray | None = None):
        self.timestamps = np.asarray(timestamps if timestamps is not None else [], dtype=np.int64)
        n = len(self.timestamps)
        self.device_ids = np.asarray(device_ids if device_ids is not None else [], dtype=object)
        self.rotations = np.asarray(rotations if rotations is not None else np.zeros((0, 4)),
                                    dtype=np.float64).reshape(n, 4)
        self.translations = np.asarray(translations if translations is not None else np.zeros((0, 3)),
                                       dtype=np.float64).reshape(n, 3)
        if len(self.device_ids) != n:
            raise ValueError("timestamps and device_ids differ in length")
        self._index: dict[tuple[int, str], int] | None = None

    @classmethod
    def from_items(cls, items: Iterable[tuple[tuple[int, str], Pose]]) -> Trajectories:
        items = list(items)
        if not items:
            return cls()
        keys, poses = zip(*items)
        rows = [_rows_from_pose(p) for p in poses]
        return cls(np.array([k[0] for k in keys], dtype=np.int64), np.array([k[1] for k in keys], dtype=object),
                   np.stack([r[0] for r in rows]), np.stack([r[1] for r in rows]))

    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def index(self) -> dict[tuple[int, str], int]:
        if self._index is None:
            self._index = {(int(ts), dev): i for i, (ts, dev) in
                           enumerate(zip(self.timestamps.tolist(), self.device_ids.tolist()))}
            if len(self._index) != len(self):
                raise ValueError("trajectories hold the same (timestamp, device_id) twice")
        return self._index

    def __contains__(self, key: tuple[int, str]) -> bool:
        return (int(key[0]), key[1]) in self.index

    def __getitem__(self, key: tuple[int, str]) -> Pose:
        return self.pose_at(self.index[(int(key[0]), key[1])])

    def get(self, key: tuple[int, str], default: Pose | None = None) -> Pose | None:
        i = self.index.get((int(key[0]), key[1]))
        return default if i is None else self.pose_at(i)

    def pose_at(self, i: int) -> Pose:
        q, t = self.rotations[i], self.translations[i]
        return Pose(None if np.isnan(q).any() else q.copy(), None if np.isnan(t).any() else t.copy())

    def keys(self) -> list[tuple[int, str]]:
        return list(zip(self.timestamps.tolist(), self.device_ids.tolist()))

    def items(self) -> Iterator[tuple[tuple[int, str], Pose]]:
        for i, key in enumerate(self.keys()):
            yield key, self.pose_at(i)

    def device_ids_set(self) -> set[str]:
        return set(self.device_ids.tolist())

    def select(self, mask: np.ndarray) -> Trajectories:
        return Trajectories(self.timestamps[mask], self.device_ids[mask], self.rotations[mask],
                            self.translations[mask])

    def sorted(self) -> Trajectories:
        """Sorted by (timestamp, device_id), the order kapture writes."""
        return self.select(key_order(self.timestamps, self.device_ids))

    def concat(self, other: Trajectories) -> Trajectories:
        return Trajectories(np.concatenate([self.timestamps, other.timestamps]),
                            np.concatenate([self.device_ids, other.device_ids]),
                            np.concatenate([self.rotations, other.rotations]),
                            np.concatenate([self.translations, other.translations]))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trajectories):
            return NotImplemented
        a, b = self.sorted(), other.sorted()
        return (np.array_equal(a.timestamps, b.timestamps) and a.device_ids.tolist() == b.device_ids.tolist()
                and np.array_equal(a.rotations, b.rotations, equal_nan=True)
                and np.array_equal(a.translations, b.translations, equal_nan=True))

    def __repr__(self) -> str:
        return f"Trajectories({len(self)} poses, devices={sorted(self.device_ids_set())})"


Rigs = dict  # dict[str, dict[str, Pose]]: rig_id -> sensor_id -> sensor-from-rig pose
