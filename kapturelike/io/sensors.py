"""sensors/sensors.txt and sensors/rigs.txt."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kapturelike.core.sensors import CAMERA_MODEL_PARAMS, CAMERA_SENSOR_TYPES, Camera, Sensor
from kapturelike.core.trajectories import Pose
from kapturelike.errors import FormatError, FormatWarning
from kapturelike.io.paths import quote
from kapturelike.io.text import (
    ErrorHandler,
    check_field,
    data_rows,
    float_str,
    read_lines,
    report,
    write_table,
)

SENSORS_HEADER = "# sensor_id, name, sensor_type, [sensor_params]+"
RIGS_HEADER = "# rig_id, sensor_id, qw, qx, qy, qz, tx, ty, tz"
POSE_FIELDS = ("qw", "qx", "qy", "qz", "tx", "ty", "tz")
ID_PADDING = 3
POSE_PADDING = 4
QUATERNION_TOLERANCE = 1e-3


def camera_param_str(value: float) -> str:
    """kapture writes integral camera parameters without a decimal point."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def sensor_row(sensor_id: str, sensor: Camera | Sensor) -> list[str]:
    check_field(sensor_id, None, "sensor_id")
    check_field(sensor.name, None, "name")
    if isinstance(sensor, Camera):
        params = [sensor.model] + [camera_param_str(v) for v in (sensor.width, sensor.height, *sensor.params)]
    else:
        params = [check_field(p, None, "sensor_params") for p in sensor.params]
    return [sensor_id, sensor.name, sensor.sensor_type, *params]


def write_sensors(path: str | Path, sensors: dict[str, Camera | Sensor]) -> None:
    write_table(path, SENSORS_HEADER, (sensor_row(k, s) for k, s in sensors.items()))


def parse_camera(fields: list[str], path: Path, line: int, sensor_type: str) -> Camera:
    name = fields[1]
    if len(fields) < 4:
        raise FormatError("a camera needs a model, a width and a height", path, line, "sensor_params")
    model, values = fields[3], fields[4:]
    if model not in CAMERA_MODEL_PARAMS:
        raise FormatError(f"unknown camera model '{model}' (known: {', '.join(CAMERA_MODEL_PARAMS)})",
                          path, line, "model")
    names = ("width", "height", *CAMERA_MODEL_PARAMS[model])
    if len(values) != len(names):
        raise FormatError(f"camera model {model} takes {len(names)} parameters ({', '.join(names)}), "
                          f"got {len(values)}", path, line, "sensor_params")
    numbers = []
    for field_name, value in zip(names, values):
        try:
            numbers.append(float(value))
        except ValueError:
            raise FormatError(f"{quote(value)} is not a number", path, line, field_name) from None
    if not (numbers[0].is_integer() and numbers[1].is_integer()) or numbers[0] < 0 or numbers[1] < 0:
        raise FormatError("width and height must be non-negative integers", path, line, "width")
    return Camera(model, int(numbers[0]), int(numbers[1]), tuple(numbers[2:]), name, sensor_type)


def read_sensors(path: str | Path, on_error: ErrorHandler = None) -> tuple[str, dict[str, Camera | Sensor]]:
    """(format version, sensors) from sensors.txt."""
    path = Path(path)
    version, lines = read_lines(path, on_error=on_error)
    sensors: dict[str, Camera | Sensor] = {}
    for line, fields in data_rows(lines):
        if len(fields) < 3:
            report(on_error, FormatError(f"expected at least 3 fields (sensor_id, name, sensor_type), got "
                                         f"{len(fields)}", path, line, "sensor_type"))
            continue
        sensor_id, name, sensor_type = fields[:3]
        if sensor_id in sensors:
            report(on_error, FormatError(f"sensor id '{sensor_id}' defined twice", path, line, "sensor_id"))
            continue
        try:
            if sensor_type in CAMERA_SENSOR_TYPES:
                sensors[sensor_id] = parse_camera(fields, path, line, sensor_type)
            else:
                sensors[sensor_id] = Sensor(sensor_type, tuple(fields[3:]), name)
        except FormatError as e:
            report(on_error, e)
    return version or "1.1", sensors


def pose_fields(pose: Pose) -> list[str]:
    q = [float_str(v) for v in pose.q] if pose.q is not None else [""] * 4
    t = [float_str(v) for v in pose.t] if pose.t is not None else [""] * 3
    return q + t


def parse_pose(fields: list[str], path: Path, line: int) -> Pose:
    """A pose from the 7 fields qw..tz; empty rotation or translation fields mean absent."""
    if len(fields) != 7:
        raise FormatError(f"expected 7 pose fields (qw, qx, qy, qz, tx, ty, tz), got {len(fields)}", path, line,
                          "qw")
    values: list[float | None] = []
    for name, value in zip(POSE_FIELDS, fields):
        if value == "":
            values.append(None)
            continue
        try:
            values.append(float(value))
        except ValueError:
            raise FormatError(f"{quote(value)} is not a number", path, line, name) from None
    q, t = values[:4], values[4:]
    if any(v is None for v in q) and not all(v is None for v in q):
        raise FormatError("rotation is partly empty", path, line, POSE_FIELDS[q.index(None)])
    if any(v is None for v in t) and not all(v is None for v in t):
        raise FormatError("translation is partly empty", path, line, POSE_FIELDS[4 + t.index(None)])
    qa = None if q[0] is None else np.array(q, dtype=np.float64)
    if qa is not None and not np.linalg.norm(qa) > 0:
        raise FormatError("quaternion is zero: it holds no rotation", path, line, "qw")
    return Pose(qa, None if t[0] is None else np.array(t, dtype=np.float64))


def first_non_unit_quaternion(quaternions: np.ndarray) -> int | None:
    """Row of the first quaternion whose norm differs from 1 beyond the tolerance (absent rows ignored)."""
    with np.errstate(over="ignore"):  # a norm past the float range is inf: not unit, as it should be
        norms = np.linalg.norm(np.asarray(quaternions, dtype=np.float64).reshape(-1, 4), axis=1)
    bad = np.flatnonzero(np.abs(norms - 1.0) > QUATERNION_TOLERANCE)
    return int(bad[0]) if len(bad) else None


def non_unit_quaternion_warning(path: Path, line: int | None, quaternion: np.ndarray) -> FormatWarning:
    """kapture keeps such quaternions; so do we (the text stays as written), normalising where a rotation
    is computed. One warning per file, naming its first such line."""
    return FormatWarning(f"quaternion norm is {np.linalg.norm(quaternion):.6g}, not 1: kept as written, normalised "
                         "where a rotation is computed (first such line of the file)", path, line, "qw")


def write_rigs(path: str | Path, rigs: dict[str, dict[str, Pose]]) -> None:
    padding = [ID_PADDING, ID_PADDING] + [POSE_PADDING] * 7
    rows = ([check_field(rig_id, path, "rig_id"), check_field(sensor_id, path, "sensor_id"), *pose_fields(pose)]
            for rig_id, rig in rigs.items() for sensor_id, pose in rig.items())
    write_table(path, RIGS_HEADER, rows, padding)


def read_rigs(path: str | Path, on_error: ErrorHandler = None) -> dict[str, dict[str, Pose]]:
    path = Path(path)
    _, lines = read_lines(path, on_error=on_error)
    rigs: dict[str, dict[str, Pose]] = {}
    warned = False
    for line, fields in data_rows(lines):
        if len(fields) != 9:
            report(on_error, FormatError(f"expected 9 fields (rig_id, sensor_id, qw..tz), got {len(fields)}",
                                         path, line, "rig_id"))
            continue
        try:
            pose = parse_pose(fields[2:], path, line)
        except FormatError as e:
            report(on_error, e)
            continue
        rigs.setdefault(fields[0], {})[fields[1]] = pose
        if not warned and pose.q is not None and first_non_unit_quaternion(pose.q) is not None:
            report(on_error, non_unit_quaternion_warning(path, line, pose.q))
            warned = True
    return rigs
