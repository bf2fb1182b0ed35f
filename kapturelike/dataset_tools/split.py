"""One dataset cut in two by image names (kapture_split)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import FEATURE_KINDS, Kapture
from kapturelike.core.records import Records
from kapturelike.dataset_tools.output import (
    DatasetToolError,
    copy_features,
    place_records_data,
    prepare_output,
    refuse_overlap,
)
from kapturelike.io.dataset import check_record_paths, load_kapture, save_kapture, sensors_path


@dataclass
class SplitOptions:
    copy: bool = False
    force: bool = False


def split(root: str | Path, images: set[str], out_a: str | Path, out_b: str | Path,
          options: SplitOptions | None = None) -> tuple[Kapture, Kapture]:
    """Cut a dataset by image names: ``images`` go to ``out_a``, the rest to ``out_b``.

    Trajectories, records (non-image records by timestamp) and features follow their images; matches
    across the two parts are dropped; sensors, rigs and points3d go to both (point ids stay valid) and
    observations to the part of their image.
    """
    options = options or SplitOptions()
    root = Path(root)
    refuse_overlap(out_a, [root, out_b])
    refuse_overlap(out_b, [root])
    k = load_kapture(root)
    check_record_paths(root, k)  # before writing anything
    unknown = images - set(k.image_names())
    if unknown:
        raise DatasetToolError(f"{len(unknown)} image(s) of the list are not in "
                               f"{sensors_path(root, 'records_camera.txt')} (first: {sorted(unknown)[0]})")
    parts = split_kapture(k, images)
    for part, out in zip(parts, (out_a, out_b)):
        out = prepare_output(out, options.force)
        names = set(part.image_names())
        place_records_data(part, root, out, options.copy)
        copy_features(k, root, out, names)
        save_kapture(part, out)
    return parts




def split_kapture(k: Kapture, images: set[str]) -> tuple[Kapture, Kapture]:
    """Two datasets: the records of ``images`` and what follows them, and the rest (see ``split``)."""
    rc = k.records_camera if k.records_camera is not None else Records("camera")
    in_a = np.array([p in images for p in rc.paths], dtype=bool)
    keys = [set(rc.select(in_a).keys()), set(rc.select(~in_a).keys())]
    stamps = [{ts for ts, _ in part} for part in keys]
    rigs = k.rigs or {}

    def owned(part: int, ts: int, dev: str) -> bool:
        return (ts, dev) in keys[part] or any((ts, s) in keys[part] for s in rigs.get(dev, {}))

    parts = []
    for part in (0, 1):
        p = Kapture(sensors=dict(k.sensors), rigs=None if k.rigs is None else dict(k.rigs), version="1.1")
        names = {n for n, m in zip(rc.paths, in_a.tolist()) if m == (part == 0)}
        if k.trajectories is not None:
            mask = [owned(part, ts, dev) or (part == 1 and not owned(0, ts, dev))
                    for ts, dev in k.trajectories.keys()]
            p.trajectories = k.trajectories.select(np.array(mask, dtype=bool))
        for kind, recs in k.records.items():
            if kind == "camera":
                p.records[kind] = rc.select(in_a if part == 0 else ~in_a)
                continue
            ts = recs.timestamps.tolist()
            mask = [t in stamps[part] or (part == 1 and t not in stamps[0]) for t in ts]
            p.records[kind] = recs.select(np.array(mask, dtype=bool))
        for kind in FEATURE_KINDS:
            for name, ftype in getattr(k, kind).items():
                getattr(p, kind)[name] = replace(ftype, images=ftype.images & names)
        p.matches = {t: {(a, b) for a, b in pairs if a in names and b in names}
                     for t, pairs in k.matches.items()}
        p.points3d = k.points3d
        if k.observations is not None:
            p.observations = k.observations.select(np.array([n in names for n in k.observations.image_names],
                                                            dtype=bool))
        parts.append(p)
    return parts[0], parts[1]
