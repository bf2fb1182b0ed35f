"""Load and save a whole kapture dataset folder (format 1.1; 1.0 is read too).

Layout:
  sensors/sensors.txt, rigs.txt, trajectories.txt, records_<kind>.txt, records_data/<image files>
  reconstruction/{keypoints,descriptors,global_features}/<type>/<type-file>.txt + binary files,
  reconstruction/matches/<keypoints type>/..., points3d.txt, observations.txt
Read leniently, as kapture reads published data, each quirk reported as a ``FormatWarning`` (file,
line, field) and its data kept so that a copy is exact:
  - a rig naming a sensor absent from sensors.txt;
  - trajectories or records naming a device defined nowhere (kapture drops them): kept apart in
    ``Kapture.unknown_device_rows``, out of every computation, written back on save;
  - quaternions that are not unit length (kept as written; see ``io.sensors``);
  - empty files and files without a version line (read as the current version);
  - a feature type whose folder name differs from the name in its type file (keyed by folder);
  - matches stored under the reversed pair order, and kapture's tar containers (see ``io.features``).
Warnings are handed to ``on_error`` like errors (``kapture_check`` lists them) or logged without one.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from kapturelike.core.reconstruction import FEATURE_KINDS, Kapture
from kapturelike.core.records import FILE_RECORD_KINDS, RECORD_KINDS
from kapturelike.errors import FormatError, FormatWarning, MissingDataError
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.paths import inside, line_of, regular_file_size
from kapturelike.io.reconstruction import (
    read_feature_type,
    read_observations,
    read_points3d,
    type_file_path,
    write_feature_type,
    write_observations,
    write_points3d,
)
from kapturelike.io.records import read_records, write_records
from kapturelike.io.sensors import read_rigs, read_sensors, write_rigs, write_sensors
from kapturelike.io.text import ErrorHandler, data_rows, read_lines, report
from kapturelike.io.trajectories import read_trajectories, write_trajectories

logger = logging.getLogger(__name__)
T = TypeVar("T")

SENSORS_DIR = "sensors"
RECONSTRUCTION_DIR = "reconstruction"
RECORDS_DATA_DIR = "records_data"


def sensors_path(root: str | Path, name: str) -> Path:
    return Path(root) / SENSORS_DIR / name


def records_data_path(root: str | Path, image_name: str = "", kind: str = "camera") -> Path:
    """Where a record's file (image, depth map, point cloud) lives; the records folder without a name.

    A name leaving the records folder is refused (see ``record_file``).
    """
    base = Path(root) / SENSORS_DIR / RECORDS_DATA_DIR
    return record_file(base, image_name, kind) if image_name else base


def record_file(records_folder: str | Path, name: str, kind: str = "camera") -> Path:
    """``records_folder / name``; a name leaving the folder is refused with an error naming the line of
    ``records_<kind>.txt`` (beside the folder) that holds it."""
    try:
        return inside(records_folder, name)
    except FormatError as e:
        records = Path(records_folder).parent / RECORD_KINDS[kind].filename
        raise FormatError(e.reason, records, line_of(records, 2, name), RECORD_KINDS[kind].fields[0][0]) from None


def _known_device_rows(path: Path, devices: np.ndarray, known: set[str], on_error: ErrorHandler) -> np.ndarray:
    """Mask of rows whose device is known; each unknown device is warned about once, at its first line."""
    keep = np.isin(devices.astype(str), np.array(sorted(known), dtype=str)) if len(devices) else \
        np.ones(0, dtype=bool)
    if keep.all():
        return keep
    _, lines = read_lines(path, require_version=False)
    data_lines = [number for number, _ in data_rows(lines)]
    first_row: dict[str, int] = {}
    for row in np.flatnonzero(~keep).tolist():
        first_row.setdefault(devices[row], row)
    for device, row in first_row.items():
        count = int(np.count_nonzero(devices[~keep] == device))
        report(on_error, FormatWarning(f"device '{device}' is defined in neither sensors.txt nor rigs.txt: its "
                                       f"{count} row(s) are kept, and left out of computations",
                                       path, data_lines[row] if row < len(data_lines) else None, "device_id"))
    return keep


def check_record_paths(root: str | Path, kapture: Kapture, on_error: ErrorHandler = None) -> None:
    """Refuse (or report) every record path of ``kapture`` that leaves ``root``'s records folder: a tool
    calls it before writing anything, so that a bad path stops it with nothing half done."""
    for kind in FILE_RECORD_KINDS:
        for name in kapture.records[kind].paths if kind in kapture.records else []:
            try:
                records_data_path(root, name, kind)
            except FormatError as e:
                report(on_error, e)


def _check_record_files(root: Path, kind: str, names: list[str], on_error: ErrorHandler) -> None:
    """Report record paths leaving the records folder and missing record files (camera records only:
    kapture lets depth maps and point clouds be absent)."""
    missing = []
    for name in names:
        try:
            path = records_data_path(root, name, kind)
        except FormatError as e:
            report(on_error, e)
            continue
        if kind == "camera" and not path.is_file():
            missing.append(name)
    if missing:  # line numbers from the file: rows may have been dropped, lines may be blank
        path = sensors_path(root, RECORD_KINDS[kind].filename)
        line_of_name = {fields[2]: line for line, fields in data_rows(read_lines(path)[1]) if len(fields) == 3}
        for name in missing:
            report(on_error, FormatError(f"image file is missing: {records_data_path(root, name)}",
                                         path, line_of_name.get(name), "image_path"))


def _read_part(path: Path, read: Callable[[Path], T], on_error: ErrorHandler) -> T | None:
    """``read(path)`` when something is at ``path``, else None. A part that is not a readable regular file
    (a directory, a FIFO, a looping link) or fails as a whole is an error, or, with ``on_error``,
    handed to it and skipped so that the other parts are still read."""
    if not os.path.lexists(path):
        return None
    try:
        regular_file_size(path)
        return read(path)
    except OSError as e:
        report(on_error, FormatError(f"cannot read: {e.strerror or e}", path))
    except FormatError as e:
        report(on_error, e)
    return None


def _deduplicated(on_error: ErrorHandler) -> ErrorHandler:
    """``on_error`` that hands each problem on once (a file read twice reports its version line once)."""
    seen: set[str] = set()

    def handle(problem: FormatError) -> None:
        if str(problem) not in seen:
            seen.add(str(problem))
            report(on_error, problem)
    return handle


def _rig_lines(path: Path) -> dict[tuple[str, str], int]:
    _, lines = read_lines(path, require_version=False)
    return {(fields[0], fields[1]): number for number, fields in data_rows(lines) if len(fields) >= 2}


def load_kapture(root: str | Path, on_error: ErrorHandler = None, check_images: bool = False,
                 list_features: bool = True) -> Kapture:
    """Read every part of the dataset at ``root`` that exists; feature arrays stay on disk.

    ``list_features`` False reads the feature type files but does not walk the feature and matches
    folders (their image and pair lists stay empty): what a step needing only points and observations wants.
    """
    root = Path(root)
    on_error = _deduplicated(on_error)
    path = sensors_path(root, "sensors.txt")
    if not os.path.lexists(path):
        raise MissingDataError(f"{path}: not a kapture dataset (sensors/sensors.txt is missing)")
    read = _read_part(path, lambda p: read_sensors(p, on_error), on_error)
    if read is None:  # reported: without sensors nothing else can be checked
        return Kapture(sensors={})
    version, sensors = read
    kapture = Kapture(sensors=sensors, version=version)
    path = sensors_path(root, "rigs.txt")
    rigs = _read_part(path, lambda p: read_rigs(p, on_error), on_error)
    if rigs is not None:
        kapture.rigs = rigs
        line_of: dict[tuple[str, str], int] = {}
        for rig_id, rig in kapture.rigs.items():
            for sensor_id in rig:
                unknown = sensor_id not in sensors and sensor_id not in kapture.rigs
                if rig_id in sensors or unknown:
                    line_of = line_of or _rig_lines(path)
                if rig_id in sensors and sensor_id == next(iter(rig)):
                    report(on_error, FormatError(f"rig id '{rig_id}' is also a sensor id", path,
                                                 line_of.get((rig_id, sensor_id)), "rig_id"))
                if unknown:
                    report(on_error, FormatWarning(f"rig '{rig_id}' names sensor '{sensor_id}', absent from "
                                                   "sensors.txt (kept)", path, line_of.get((rig_id, sensor_id)),
                                                   "sensor_id"))
    known = set(sensors) | set(kapture.rigs or {})
    path = sensors_path(root, "trajectories.txt")
    traj = _read_part(path, lambda p: read_trajectories(p, on_error), on_error)
    if traj is not None:
        keep = _known_device_rows(path, traj.device_ids, known, on_error)
        kapture.trajectories = traj.select(keep)
        if not keep.all():
            kapture.unknown_device_rows["trajectories"] = traj.select(~keep)
    for kind, spec in RECORD_KINDS.items():
        path = sensors_path(root, spec.filename)
        recs = _read_part(path, lambda p, kind=kind: read_records(p, kind, on_error), on_error)
        if recs is not None:
            keep = _known_device_rows(path, recs.device_ids, set(sensors), on_error)
            kapture.records[kind] = recs.select(keep)
            if not keep.all():
                kapture.unknown_device_rows[kind] = recs.select(~keep)
    if check_images:
        for kind in FILE_RECORD_KINDS:
            if kind in kapture.records:
                _check_record_files(root, kind, kapture.records[kind].paths, on_error)
    store = KaptureFeatureStore(root, version)
    for kind in FEATURE_KINDS:
        for type_name in _feature_types(root, kind, version, on_error):
            path = type_file_path(root, kind, type_name, version)
            ftype = _read_part(path, lambda p, kind=kind, type_name=type_name: store.read_type(kind, type_name),
                               on_error)
            if ftype is None:
                continue
            if ftype.declared_name is not None:
                report(on_error, FormatWarning(f"the type file names the type '{ftype.declared_name}' while its "
                                               f"folder is '{type_name}': keyed by the folder, as kapture does",
                                               path, next(n for n, _ in data_rows(read_lines(path, False)[1])),
                                               "name"))
            if list_features:
                ftype.images = store.names(kind, type_name)
            getattr(kapture, kind)[ftype.name] = ftype
    for type_name in _match_types(root, version, kapture) if list_features else []:
        pairs = store.match_pairs(type_name)
        if pairs:
            kapture.matches[type_name] = pairs
        reversed_pairs = sorted(store.reversed_pairs(type_name))
        if reversed_pairs:
            first, second = reversed_pairs[0]
            report(on_error, FormatWarning(f"{len(reversed_pairs)} matches file(s) stored under the reversed pair "
                                           f"order (image1 > image2), read as kapture reads them",
                                           store.matches_path(type_name, first, second), None, "image_path"))
    kapture.points3d = _read_part(root / RECONSTRUCTION_DIR / "points3d.txt",
                                  lambda p: read_points3d(p, on_error), on_error)
    default_type = next(iter(kapture.keypoints), "")
    kapture.observations = _read_part(root / RECONSTRUCTION_DIR / "observations.txt",
                                      lambda p: read_observations(p, version, default_type, on_error), on_error)
    return kapture


def _feature_types(root: Path, kind: str, version: str, on_error: ErrorHandler) -> list[str]:
    """Type names of ``kind``: the folders holding a type file (1.0: the one type file's name)."""
    base = root / RECONSTRUCTION_DIR / kind
    if version == "1.0":  # one type file, whose name is its first field
        name = _read_part(base / f"{kind}.txt", lambda p: read_feature_type(p, kind, "1.0").name, on_error)
        return [] if name is None else [name]
    try:
        return sorted(p.name for p in base.iterdir() if p.is_dir() and os.path.lexists(p / f"{kind}.txt"))
    except FileNotFoundError:
        return []
    except OSError as e:  # a file where the folder should be, a link loop, no permission
        report(on_error, FormatError(f"cannot list: {e.strerror or e}", base))
        return []


def _match_types(root: Path, version: str, kapture: Kapture) -> list[str]:
    base = root / RECONSTRUCTION_DIR / "matches"
    if not base.is_dir():
        return []
    if version == "1.0":
        return [next(iter(kapture.keypoints), "")]
    return sorted(p.name for p in base.iterdir() if p.is_dir())


def save_kapture(kapture: Kapture, root: str | Path) -> None:
    """Write the text files of every part present (binary features are written by a FeatureStore)."""
    root = Path(root)
    write_sensors(sensors_path(root, "sensors.txt"), kapture.sensors)
    if kapture.rigs is not None:
        write_rigs(sensors_path(root, "rigs.txt"), kapture.rigs)
    extra = kapture.unknown_device_rows
    trajectories = kapture.trajectories
    if "trajectories" in extra:
        trajectories = extra["trajectories"] if trajectories is None else trajectories.concat(extra["trajectories"])
    if trajectories is not None:
        write_trajectories(sensors_path(root, "trajectories.txt"), trajectories)
    for kind in [*kapture.records, *(k for k in extra if k != "trajectories" and k not in kapture.records)]:
        recs = kapture.records.get(kind)
        if kind in extra:
            recs = extra[kind] if recs is None else recs.concat(extra[kind])
        write_records(sensors_path(root, RECORD_KINDS[kind].filename), recs)
    for kind in FEATURE_KINDS:
        for ftype in getattr(kapture, kind).values():
            write_feature_type(root, ftype)
    if kapture.points3d is not None:
        write_points3d(root / RECONSTRUCTION_DIR / "points3d.txt", kapture.points3d)
    if kapture.observations is not None:
        write_observations(root / RECONSTRUCTION_DIR / "observations.txt", kapture.observations)
