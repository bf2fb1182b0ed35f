"""Records: what each sensor recorded, keyed by (timestamp, device id).

One class serves every record kind; ``RECORD_KINDS`` says each kind's file, columns and value
types (the types kapture casts to, so that writing gives the bytes kapture writes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from kapturelike.core.keys import key_order


@dataclass(frozen=True)
class RecordKind:
    filename: str
    fields: tuple[tuple[str, type], ...]  # after timestamp and device_id
    keyed: bool = False  # wifi and bluetooth: several rows per (timestamp, device), keyed by first field

    @property
    def header(self) -> str:
        return "# timestamp, device_id, " + ", ".join(name for name, _ in self.fields)


RECORD_KINDS: dict[str, RecordKind] = {
    "camera": RecordKind("records_camera.txt", (("image_path", str),)),
    "depth": RecordKind("records_depth.txt", (("depth_map_path", str),)),
    "lidar": RecordKind("records_lidar.txt", (("point_cloud_path", str),)),
    "wifi": RecordKind("records_wifi.txt", (("BSSID", str), ("frequency", int), ("RSSI", float), ("SSID", str),
                                            ("scan_time_start", int), ("scan_time_end", int)), keyed=True),
    "bluetooth": RecordKind("records_bluetooth.txt", (("address", str), ("RSSI", float), ("name", str)),
                            keyed=True),
    "gnss": RecordKind("records_gnss.txt", (("x", float), ("y", float), ("z", float), ("utc", int),
                                            ("dop", float))),
    "accelerometer": RecordKind("records_accelerometer.txt", (("x_accel", float), ("y_accel", float),
                                                              ("z_accel", float))),
    "gyroscope": RecordKind("records_gyroscope.txt", (("x_speed", float), ("y_speed", float),
                                                      ("z_speed", float))),
    "magnetic": RecordKind("records_magnetic.txt", (("x_strength", float), ("y_strength", float),
                                                    ("z_strength", float))),
}
FILE_RECORD_KINDS = ("camera", "depth", "lidar")


class Records:
    """Rows (timestamp, device_id, *values) of one record kind.

    The values are given either as rows (``values``, one tuple a record) or as columns
    (``columns``, one list a field); the other form is made on first use, so that reading a big
    file of paths never builds a million tuples nobody asks for.
    """

    def __init__(self, kind: str, timestamps: np.ndarray | Iterable[int] = (),
                 device_ids: np.ndarray | Iterable[str] = (), values: list[tuple] | None = None,
                 columns: list[list] | None = None):
        if kind not in RECORD_KINDS:
            raise ValueError(f"unknown record kind '{kind}' (known: {', '.join(RECORD_KINDS)})")
        if values is not None and columns is not None:
            raise ValueError("give the values as rows or as columns, not both")
        self.kind = kind
        self.timestamps = np.asarray(list(timestamps) if not isinstance(timestamps, np.ndarray) else timestamps,
                                     dtype=np.int64)
        self.device_ids = np.asarray(list(device_ids) if not isinstance(device_ids, np.ndarray) else device_ids,
                                     dtype=object)
        self._rows: list[tuple] | None = None
        self._columns: list[list] | None = None
        if columns is not None:
            if len(columns) != len(self.spec.fields):
                raise ValueError(f"{kind} records have {len(self.spec.fields)} value columns, got {len(columns)}")
            self._columns = [list(c) for c in columns]
            n_values = len(self._columns[0])
            if any(len(c) != n_values for c in self._columns):
                raise ValueError("value columns differ in length")
        else:
            self._rows = list(values) if values is not None else []
            n_values = len(self._rows)
        if not (len(self.timestamps) == len(self.device_ids) == n_values):
            raise ValueError("timestamps, device_ids and values differ in length")
        self._index: dict[tuple[int, str], int] | None = None

    @property
    def values(self) -> list[tuple]:
        """One tuple of values a record."""
        if self._rows is None:
            self._rows = list(zip(*self._columns))
        return self._rows

    @property
    def value_columns(self) -> list[list]:
        """One list of values a field (new lists: changing them leaves the records as they are)."""
        if self._columns is None:
            return [list(column) for column in zip(*self._rows)] if self._rows else [[] for _ in self.spec.fields]
        return [list(column) for column in self._columns]

    @classmethod
    def camera(cls, items: Iterable[tuple[tuple[int, str], str]], kind: str = "camera") -> Records:
        """File records from ((timestamp, device_id), path) items."""
        items = list(items)
        return cls(kind, [k[0] for k, _ in items], [k[1] for k, _ in items], columns=[[p for _, p in items]])

    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def spec(self) -> RecordKind:
        return RECORD_KINDS[self.kind]

    @property
    def paths(self) -> list[str]:
        """The file paths of file records (camera, depth, lidar)."""
        if self.kind not in FILE_RECORD_KINDS:
            raise TypeError(f"{self.kind} records hold no file paths")
        return list(self._columns[0]) if self._columns is not None else [v[0] for v in self.values]

    @property
    def index(self) -> dict[tuple[int, str], int]:
        """(timestamp, device_id) -> row, for kinds with one row per key."""
        if self._index is None:
            self._index = {(ts, dev): i for i, (ts, dev) in
                           enumerate(zip(self.timestamps.tolist(), self.device_ids.tolist()))}
        return self._index

    def __contains__(self, key: tuple[int, str]) -> bool:
        return (int(key[0]), key[1]) in self.index

    def __getitem__(self, key: tuple[int, str]):
        """The path (file kinds) or the value tuple of one record."""
        row = self.values[self.index[(int(key[0]), key[1])]]
        return row[0] if self.kind in FILE_RECORD_KINDS else row

    def keys(self) -> list[tuple[int, str]]:
        return list(zip(self.timestamps.tolist(), self.device_ids.tolist()))

    def rows(self) -> list[tuple]:
        return [(ts, dev, *v) for ts, dev, v in zip(self.timestamps.tolist(), self.device_ids.tolist(), self.values)]

    def device_ids_set(self) -> set[str]:
        return set(self.device_ids.tolist())

    def select(self, mask: np.ndarray) -> Records:
        idx = np.flatnonzero(mask) if np.asarray(mask).dtype == bool else np.asarray(mask, dtype=np.int64)
        rows = idx.tolist()
        if self._columns is not None:
            return Records(self.kind, self.timestamps[idx], self.device_ids[idx],
                           columns=[[column[i] for i in rows] for column in self._columns])
        return Records(self.kind, self.timestamps[idx], self.device_ids[idx], [self.values[i] for i in rows])

    def sorted(self) -> Records:
        """Sorted by (timestamp, device_id), keeping the order of keyed rows (stable), as kapture writes."""
        return self.select(key_order(self.timestamps, self.device_ids))

    def concat(self, other: Records) -> Records:
        if other.kind != self.kind:
            raise ValueError(f"cannot concatenate {self.kind} and {other.kind} records")
        return Records(self.kind, np.concatenate([self.timestamps, other.timestamps]),
                       np.concatenate([self.device_ids, other.device_ids]), self.values + other.values)

    def image_index(self) -> dict[str, tuple[int, str]]:
        """Path -> (timestamp, device_id), for file kinds."""
        return {p: k for k, p in zip(self.keys(), self.paths)}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Records):
            return NotImplemented
        a, b = self.sorted(), other.sorted()
        return (a.kind == b.kind and a.timestamps.tolist() == b.timestamps.tolist()
                and a.device_ids.tolist() == b.device_ids.tolist() and a.values == b.values)

    def __repr__(self) -> str:
        return f"Records({self.kind}, {len(self)} rows)"
