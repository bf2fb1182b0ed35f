"""Counts of every part of a dataset, and their one-line-per-part printout (kapture_print)."""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from kapturelike.core.reconstruction import FEATURE_KINDS
from kapturelike.io.dataset import load_kapture


def summary(root: str | Path) -> dict:
    """Counts of every part of the dataset at ``root`` (feature files are listed, never read)."""
    k = load_kapture(root)
    out: dict = {"version": k.version,
                 "sensors": dict(sorted(Counter(s.sensor_type for s in k.sensors.values()).items())),
                 "rigs": {rig: len(sensors) for rig, sensors in (k.rigs or {}).items()},
                 "poses": None if k.trajectories is None else len(k.trajectories),
                 "records": {kind: len(r) for kind, r in k.records.items()}}
    for kind in FEATURE_KINDS:
        out[kind] = {n: {"dtype": t.dtype_name, "dsize": t.dsize, "images": len(t.images)}
                     for n, t in getattr(k, kind).items()}
    out["matches"] = {t: len(p) for t, p in k.matches.items()}
    out["points3d"] = None if k.points3d is None else len(k.points3d)
    out["colours"] = k.points3d is not None and k.points3d.shape[1] == 6
    out["observations"] = None if k.observations is None else len(k.observations)
    return out


def format_summary(s: dict) -> list[str]:
    """One line per part, for printing."""
    def counts(d: dict) -> str:
        return ", ".join(f"{k}: {v}" for k, v in d.items()) or "none"

    def features(d: dict) -> str:
        return ", ".join(f"{n} ({v['dtype']} x {v['dsize']}, {v['images']} images)"
                         for n, v in d.items()) or "none"

    lines = [f"kapture format: {s['version']}",
             f"sensors: {sum(s['sensors'].values())} ({counts(s['sensors'])})",
             f"rigs: {len(s['rigs'])}" + (f" ({counts(s['rigs'])} sensors)" if s["rigs"] else ""),
             f"poses: {s['poses'] if s['poses'] is not None else 'none'}",
             f"records: {counts(s['records'])}"]
    lines += [f"{kind}: {features(s[kind])}" for kind in FEATURE_KINDS]
    lines.append(f"match pairs: {counts(s['matches'])}")
    points = "none" if s["points3d"] is None else str(s["points3d"])
    points += " (with colours)" if s["colours"] else ""
    lines.append(f"points3d: {points}")
    lines.append(f"observations: {s['observations'] if s['observations'] is not None else 'none'}")
    return lines


# ------------------------------------------------------------------------------------------ kapture's printout
# kapture_print's layout: 'key (25 wide): value' lines, '=== title ===' headers with --detail
RECORD_PARTS = ("trajectories", "records_camera", "records_lidar", "records_wifi", "records_bluetooth",
                "records_gnss", "records_accelerometer", "records_gyroscope", "records_magnetic")
SENSOR_COUNTS = ((" ├─ nb cameras", ("camera", "depth")), (" ├─ nb lidar", ("lidar",)), (" ├─ nb wifi", ("wifi",)),
                 (" ├─ nb bluetooth", ("bluetooth",)), (" ├─ nb gnss", ("gnss",)),
                 (" ├─ nb accelerometer", ("accelerometer",)), (" ├─ nb gyroscope", ("gyroscope",)),
                 (" ├─ nb magnetic", ("magnetic",)))
SECONDS_PER_UNIT = {"second": 1.0, "millisecond": 1.e-3, "microsecond": 1.e-6, "nanoseconds": 1.e-9}
# timestamps are taken as dates when they fall between these (local time, as kapture computes them)
_DATE_RANGE = (time.mktime(datetime(1980, 1, 1).timetuple()), time.mktime(datetime(2100, 1, 1).timetuple()))


def _guess_unit(timestamp: int) -> str | None:
    for unit, factor in SECONDS_PER_UNIT.items():
        if _DATE_RANGE[0] < factor * float(timestamp) < _DATE_RANGE[1]:
            return unit
    return None


def format_timestamp_range(first: int, last: int, unit: str | None, formatting: str | None) -> str:
    """kapture_print's time range: dates when the unit is (or, with 'auto', looks like) a time unit."""
    if unit == "auto":
        guessed = (_guess_unit(first), _guess_unit(last))
        unit = guessed[0] if guessed[0] == guessed[1] else "index"
    if unit not in SECONDS_PER_UNIT:
        return f"{first} : {last}"
    try:
        dates = [datetime.fromtimestamp(ts * SECONDS_PER_UNIT[unit], tz=timezone.utc) for ts in (first, last)]
    except (ValueError, OverflowError, OSError):
        return f"{first} : {last} ** FAIL to parse as posix {unit}"
    if formatting:
        return " : ".join(d.strftime(formatting) for d in dates)
    day = [d.strftime("%Y/%m/%d") for d in dates]
    clock = [d.strftime("%H:%M:%S.%f") for d in dates]
    text = f"{day[0]} {clock[0]}  :  "
    if day[0] != day[1]:
        text = f"{day[0]} "
    return text + clock[1]


def _set_text(values: set[str]) -> str:
    return "{" + ", ".join(repr(v) for v in sorted(values)) + "}" if values else "set()"


def kapture_printout(root: str | Path, detail: bool = False, show_all: bool = False, timestamp_unit: str = "auto",
                     timestamp_formatting: str | None = None) -> list[str]:
    """The lines kapture_print prints for the dataset at ``root`` (-d: ``detail``, -a: ``show_all``)."""
    root = Path(root)
    k = load_kapture(root)
    lines: list[str] = []

    def kv(key: str, value: object) -> None:
        if value is not None or show_all:
            lines.append(f"{key:25}: {value}")

    def title(text: str) -> None:
        lines.append(f"=== {text:^25} ===")

    if detail:
        title("general")
        kv("path", os.path.abspath(root))
        kv("version", k.version)
    if not detail:
        kv("nb sensors", len(k.sensors))
    else:
        title("sensors")
        types = Counter(s.sensor_type for s in k.sensors.values())
        for key, kinds in SENSOR_COUNTS:
            kv(key, sum(types[t] for t in kinds))
        kv(" └─ nb sensors total", len(k.sensors))
    n_rigs = None if k.rigs is None else len(k.rigs)
    if not detail:
        kv("nb rigs", n_rigs)
    else:
        title("rigs")
        for rig_id, rig in (k.rigs or {}).items():
            kv(" ├─ rig", rig_id)
            rig = [s for s in rig if s in k.sensors or s in k.rigs]  # kapture leaves undefined sensors out
            for sensor_id in rig:
                kind = "rig" if sensor_id in k.rigs else k.sensors[sensor_id].sensor_type \
                    if sensor_id in k.sensors else "unknown"
                kv(f" │   ├─ {kind}", sensor_id)
            kv(" │   └─ nb sensors total", len(rig))
        kv(" └─ nb rigs total", n_rigs)
    for part in RECORD_PARTS:
        rows = k.trajectories if part == "trajectories" else k.records.get(part[len("records_"):])
        n = None if rows is None else len(rows)
        if not detail:
            kv(f"nb {part}", n)
        elif rows is not None or show_all:
            title(part)
            if rows is not None and n:
                stamps = rows.timestamps
                kv(" ├─ timestamp range", format_timestamp_range(int(stamps.min()), int(stamps.max()),
                                                                 timestamp_unit, timestamp_formatting))
                sensors = set(rows.device_ids.tolist())
                kv(" ├─ sensors", f"{len(sensors)}: {_set_text(sensors)}")
            kv(" └─ nb total", n)
    for kind in FEATURE_KINDS:
        types = getattr(k, kind) or None
        if not detail:
            kv(f"nb types {kind}", None if types is None else len(types))
            for name, ftype in (types or {}).items():
                kv(f" └─ nb images {name} ", len(ftype.images))
        elif types is not None or show_all:
            title(kind)
            for name, ftype in (types or {}).items():
                kv(" ├─ feature_type ", name)
                kv(" | ├─ kind ", ftype.declared_name or ftype.name)
                kv(" | ├─ data type", ftype.dtype.name if ftype.dtype_name != "float" else "float")
                kv(" | ├─ data size", ftype.dsize)
                if kind == "descriptors":
                    kv(" | ├─ keypoints_type", ftype.keypoints_type)
                if kind != "keypoints":
                    kv(" | ├─ metric_type", ftype.metric_type)
                kv(" | └─ nb images ", len(ftype.images))
            kv(f" └─ nb types {kind}", None if types is None else len(types))
    matches = k.matches or None
    if not detail:
        kv("nb types ", None if matches is None else len(matches))
        for ktype, pairs in (matches or {}).items():
            kv(f" └─ nb matching pairs {ktype} ", len(pairs))
    elif matches is not None or show_all:
        title("matches")
        for ktype, pairs in (matches or {}).items():
            kv(" ├─ keypoints_type ", ktype)
            kv(" | └─ nb pairs ", len(pairs))
        kv(" └─ nb types ", None if matches is None else len(matches))
    n_points = None if k.points3d is None else len(k.points3d)
    if not detail:
        kv("nb points 3-D", n_points)
    elif k.points3d is not None or show_all:
        title("points 3-D")
        kv(" └─ nb points 3-D", n_points)
    n_obs = None if k.observations is None else len(k.observations)
    if not detail:
        kv("nb observed 3-D points", n_obs)
        kv("nb observation 2-D points", n_obs)
    elif k.observations is not None or show_all:
        title("Observations")
        if k.observations is not None:
            kv(" ├─ nb observed 3-D", n_obs)
        kv(" └─ nb observations 2-D", n_obs)
    return lines
