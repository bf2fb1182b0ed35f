"""Several datasets into one (kapture_merge)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import FEATURE_KINDS, Kapture, Observations
from kapturelike.core.records import Records
from kapturelike.core.trajectories import Trajectories
from kapturelike.dataset_tools.output import (
    DatasetToolError,
    copy_features,
    place_records_data,
    prepare_output,
    refuse_overlap,
)
from kapturelike.io.dataset import check_record_paths, load_kapture, save_kapture

# parts kapture_merge can leave out (its -s/--skip choices)
SKIPPABLE = ("trajectories", "records_camera", "records_depth", "records_lidar", "records_wifi", "keypoints",
             "descriptors", "global_features", "matches", "points3d", "observations")


@dataclass
class MergeOptions:
    copy: bool = False  # copy record files instead of symlinking them (when image_transfer is None)
    force: bool = False  # allow a non-empty output folder
    image_transfer: str | None = None  # kapture's transfer of record files ('skip', 'copy', 'link_absolute'...)
    skip: tuple[str, ...] = ()  # parts left out (SKIPPABLE)
    # False: kapture_merge's default, every sensor renamed sensor0, sensor1, ... and every rig rig0, ...
    # in input order; True: ids kept (one used by two inputs for different devices gets a suffix _1, ...)
    keep_sensor_ids: bool = True


def with_new_ids(kaptures: list[Kapture]) -> list[Kapture]:
    """The inputs with kapture_merge's new ids: sensors ``sensor<n>`` and rigs ``rig<n>``, numbered across
    the inputs in order (a rig's sensors and every row follow their device)."""
    renamed, n_sensors, n_rigs = [], 0, 0
    for k in kaptures:
        sensor_ids = {sid: f"sensor{n_sensors + i}" for i, sid in enumerate(k.sensors)}
        rig_ids = {rid: f"rig{n_rigs + i}" for i, rid in enumerate(k.rigs or {})}
        n_sensors, n_rigs = n_sensors + len(sensor_ids), n_rigs + len(rig_ids)
        mapping = {**sensor_ids, **rig_ids}
        rigs = None if k.rigs is None else {rig_ids[rid]: {mapping.get(s, s): pose for s, pose in rig.items()}
                                            for rid, rig in k.rigs.items()}
        out = replace(k, sensors={sensor_ids[sid]: s for sid, s in k.sensors.items()}, rigs=rigs,
                      records={kind: Records(kind, r.timestamps, _remap(r.device_ids, mapping), r.values)
                               for kind, r in k.records.items()})
        if k.trajectories is not None:
            t = k.trajectories
            out.trajectories = Trajectories(t.timestamps, _remap(t.device_ids, mapping), t.rotations, t.translations)
        renamed.append(out)
    return renamed


def without_parts(k: Kapture, skip: tuple[str, ...] | list[str]) -> Kapture:
    """``k`` without the parts named in ``skip`` (kapture_merge's -s)."""
    unknown = set(skip) - set(SKIPPABLE)
    if unknown:
        raise DatasetToolError(f"cannot skip {sorted(unknown)} (known: {', '.join(SKIPPABLE)})")
    k = replace(k, records=dict(k.records), unknown_device_rows=dict(k.unknown_device_rows))
    for part in skip:
        if part == "trajectories":
            k.trajectories = None
            k.unknown_device_rows.pop("trajectories", None)
        elif part.startswith("records_"):
            k.records.pop(part[len("records_"):], None)
            k.unknown_device_rows.pop(part[len("records_"):], None)
        elif part in ("keypoints", "descriptors", "global_features", "matches"):
            setattr(k, part, {})
        else:
            setattr(k, part, None)
    return k


def _place(device_id: str, value: object, store: dict, before: set[str], taken: set[str], keys_collide: bool,
           mapping: dict[str, str]) -> None:
    """Put a sensor or rig of one input into the merged ``store``, recording its id in ``mapping``.

    An id an earlier input already has is kept when that input holds the same device and none of
    their (timestamp, device) keys collide; otherwise the device gets a free id.
    """
    if device_id in before and store.get(device_id) == value and not keys_collide:
        mapping[device_id] = device_id
        return
    mapping[device_id] = device_id if device_id not in before else _free_id(device_id, taken)
    taken.add(mapping[device_id])
    store[mapping[device_id]] = value


def _free_id(base: str, taken: set[str]) -> str:
    i = 1
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


def merge(inputs: list[str | Path], out: str | Path, options: MergeOptions | None = None) -> Kapture:
    """Merge datasets; a sensor/rig id already used by a different definition gets a suffix _1, _2, ..."""
    options = options or MergeOptions()
    roots = [Path(p) for p in inputs]
    refuse_overlap(out, roots)
    loaded = [without_parts(load_kapture(r), options.skip) for r in roots]
    for k, root in zip(loaded, roots):
        check_record_paths(root, k)  # before writing anything
    merged = merge_kaptures(loaded if options.keep_sensor_ids else with_new_ids(loaded))
    out = prepare_output(out, options.force)
    for k, root in zip(loaded, roots):
        place_records_data(k, root, out, options.image_transfer or options.copy)
        copy_features(k, root, out)
    save_kapture(merged, out)
    return merged



def _device_keys(k: Kapture) -> dict[str, set[int]]:
    """Device id -> timestamps it has records or poses at."""
    keys: dict[str, set[int]] = defaultdict(set)
    for part in [*k.records.values(), *([k.trajectories] if k.trajectories is not None else [])]:
        for ts, dev in part.keys():
            keys[dev].add(ts)
    return keys


def _remap(devices: np.ndarray, mapping: dict[str, str]) -> np.ndarray:
    return np.array([mapping.get(d, d) for d in devices.tolist()], dtype=object)


def merge_kaptures(kaptures: list[Kapture]) -> Kapture:
    """One dataset from several, in memory (see ``merge``).

    A sensor (or rig) id already taken is shared when both definitions are equal and their records
    and poses never share a timestamp; otherwise it is renamed with a suffix _1, _2, ...
    Observations' point ids are offset by the number of points of the inputs before.
    """
    merged = Kapture(sensors={})
    merged_keys: dict[str, set[int]] = defaultdict(set)
    image_owner: dict[str, int] = {}
    points: list[np.ndarray] = []
    observations: list[Observations] = []
    n_points = 0
    for index, k in enumerate(kaptures):
        keys = _device_keys(k)
        before = set(merged.sensors) | set(merged.rigs or {})  # ids of earlier inputs
        taken = before | set(k.sensors) | set(k.rigs or {})  # new ids must not clash with this input's
        mapping: dict[str, str] = {}
        for sid, sensor in k.sensors.items():
            _place(sid, sensor, merged.sensors, before, taken, bool(keys[sid] & merged_keys[sid]), mapping)
        for rig_id, rig in (k.rigs or {}).items():
            rig = {mapping.get(s, s): pose for s, pose in rig.items()}
            merged.rigs = merged.rigs if merged.rigs is not None else {}
            _place(rig_id, rig, merged.rigs, before, taken, bool(keys[rig_id] & merged_keys[rig_id]), mapping)
        for dev, ts in keys.items():
            merged_keys[mapping.get(dev, dev)] |= ts
        if k.trajectories is not None:
            t = k.trajectories
            t = Trajectories(t.timestamps, _remap(t.device_ids, mapping), t.rotations, t.translations)
            merged.trajectories = t if merged.trajectories is None else merged.trajectories.concat(t)
        for kind, recs in k.records.items():
            recs = Records(kind, recs.timestamps, _remap(recs.device_ids, mapping), recs.values)
            merged.records[kind] = recs if kind not in merged.records else merged.records[kind].concat(recs)
        for name in k.image_names():
            if image_owner.setdefault(name, index) != index:
                raise DatasetToolError(f"image '{name}' is in input {image_owner[name] + 1} and input "
                                       f"{index + 1}")
        for kind in FEATURE_KINDS:
            target = getattr(merged, kind)
            for name, ftype in getattr(k, kind).items():
                if name in target and not target[name].same_type(ftype):
                    raise DatasetToolError(f"{kind} type '{name}' differs between inputs "
                                           f"({target[name].dtype_name} x {target[name].dsize} vs "
                                           f"{ftype.dtype_name} x {ftype.dsize})")
                if name in target:
                    target[name].images |= ftype.images
                else:
                    target[name] = replace(ftype, images=set(ftype.images))
        for ktype, pairs in k.matches.items():
            merged.matches.setdefault(ktype, set()).update(pairs)
        for part, rows in k.unknown_device_rows.items():  # kept apart and written back, as read
            before_rows = merged.unknown_device_rows.get(part)
            merged.unknown_device_rows[part] = rows if before_rows is None else before_rows.concat(rows)
        if k.observations is not None:
            o = k.observations
            observations.append(Observations(o.point_ids + n_points, o.keypoints_types, o.image_names,
                                             o.feature_ids))
        if k.points3d is not None:
            points.append(k.points3d)
            n_points += len(k.points3d)
    if points:
        width = min(p.shape[1] for p in points)  # colours are kept only when every input has them
        merged.points3d = np.concatenate([p[:, :width] for p in points])
    if observations:
        merged.observations = Observations(*(np.concatenate([getattr(o, c) for o in observations]) for c in
                                             ("point_ids", "keypoints_types", "image_names", "feature_ids")))
    if merged.trajectories is not None:
        merged.trajectories.index  # noqa: B018 -- raises on a (timestamp, device) present twice
    return merged
