"""Counts of every part of a dataset, and their one-line-per-part printout (kapture_print)."""

from __future__ import annotations

from collections import Counter
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
