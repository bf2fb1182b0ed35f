"""sensors/trajectories.txt: timestamp, device_id, qw, qx, qy, qz, tx, ty, tz.

Reading converts whole columns from the file's bytes with numpy (``io.field_table``), which is
what makes a million-line file load several times faster than kapture; the per-line parser
only runs when a line is irregular, to locate and explain it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kapturelike.core.trajectories import Trajectories
from kapturelike.errors import FormatError
from kapturelike.io.field_table import read_field_table
from kapturelike.io.paths import quote
from kapturelike.io.sensors import (
    ID_PADDING,
    POSE_PADDING,
    first_non_unit_quaternion,
    non_unit_quaternion_warning,
    parse_pose,
)
from kapturelike.io.text import (
    ErrorHandler,
    check_field,
    data_rows,
    number_texts,
    read_text,
    report,
    split_lines,
    write_columns,
)

TRAJECTORIES_HEADER = "# timestamp, device_id, qw, qx, qy, qz, tx, ty, tz"
TIMESTAMP_PADDING = 8


def _pose_columns(values: np.ndarray) -> list[list[str]]:
    """Each column's texts; '' in every column of a row holding a NaN (absent rotation or translation)."""
    columns = [number_texts(values[:, j]) for j in range(values.shape[1])]
    absent = np.flatnonzero(np.isnan(values).any(axis=1)).tolist()
    for column in columns:
        for i in absent:
            column[i] = ""
    return columns


def write_trajectories(path: str | Path, trajectories: Trajectories) -> None:
    traj = trajectories.sorted()
    for dev in traj.device_ids_set():
        check_field(dev, path, "device_id")
    columns = [number_texts(traj.timestamps), traj.device_ids.tolist(),
               *_pose_columns(traj.rotations), *_pose_columns(traj.translations)]
    write_columns(path, TRAJECTORIES_HEADER, columns, [TIMESTAMP_PADDING, ID_PADDING] + [POSE_PADDING] * 7)


def _slow_parse(path: Path, lines: list[str], on_error: ErrorHandler) -> Trajectories:
    ts, devs, qs, tss, line_numbers = [], [], [], [], []
    for line, fields in data_rows(lines):
        if len(fields) != 9:
            report(on_error, FormatError(f"expected 9 fields (timestamp, device_id, qw..tz), got {len(fields)}",
                                         path, line, "timestamp"))
            continue
        try:
            timestamp = int(fields[0])
            if not -2**63 <= timestamp < 2**63:
                raise ValueError("beyond int64")
        except ValueError:
            report(on_error, FormatError(f"{quote(fields[0])} is not a 64-bit integer timestamp", path, line,
                                         "timestamp"))
            continue
        try:
            pose = parse_pose(fields[2:], path, line)
        except FormatError as e:
            report(on_error, e)
            continue
        ts.append(timestamp)
        line_numbers.append(line)
        devs.append(fields[1])
        qs.append(pose.q if pose.q is not None else np.full(4, np.nan))
        tss.append(pose.t if pose.t is not None else np.full(3, np.nan))
    if not ts:
        return Trajectories()
    rotations = np.stack(qs)
    bad = first_non_unit_quaternion(np.nan_to_num(rotations, nan=1.0 / 2))  # absent rotation: [.5]*4, unit
    if bad is not None:
        report(on_error, non_unit_quaternion_warning(path, line_numbers[bad], rotations[bad]))
    return Trajectories(np.array(ts), np.array(devs, dtype=object), rotations, np.stack(tss))


def _fast_parse(path: Path, on_error: ErrorHandler = None) -> Trajectories | None:
    """Whole columns converted from the file's bytes; None when a line needs the per-line parser."""
    table = read_field_table(path, 9, on_error)
    if table is None:
        return None
    if not len(table):
        return Trajectories()
    timestamps, bad_timestamps = table.ints(0)
    values, bad_values = table.floats(range(2, 9))
    if len(bad_timestamps):
        return None
    if len(bad_values):  # only empty fields may be refused: a whole rotation or translation left out
        rows, columns = np.divmod(bad_values, 7)
        if not table.blank(rows, columns + 2).all():
            return None
        absent = np.zeros(values.shape, dtype=bool)
        absent[rows, columns] = True
        for part in (absent[:, :4], absent[:, 4:]):
            if (part.any(axis=1) != part.all(axis=1)).any():
                return None  # partly empty: the line parser names it
        values[absent] = np.nan
    if (values[:, :4] == 0).all(axis=1).any():
        return None  # a zero quaternion: the line parser names it
    bad = first_non_unit_quaternion(np.nan_to_num(values[:, :4], nan=1.0 / 2))  # absent rotation: unit
    if bad is not None:  # the line number, from the file's lines (rare: only for such a file)
        line = next(number for i, (number, _) in enumerate(data_rows(split_lines(read_text(path, False)[1])))
                    if i == bad)
        report(on_error, non_unit_quaternion_warning(path, line, values[bad, :4]))
    return Trajectories(timestamps, table.strings(1), values[:, :4], values[:, 4:])


def read_trajectories(path: str | Path, on_error: ErrorHandler = None) -> Trajectories:
    path = Path(path)
    trajectories = _fast_parse(path, on_error)
    if trajectories is None:  # finds, names and reports the bad lines (the version line was checked)
        _, text = read_text(path, require_version=False)
        trajectories = _slow_parse(path, split_lines(text), on_error)
    return trajectories
