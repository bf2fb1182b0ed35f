"""Every malformed input gives a FormatError / MissingDataError naming the file, line and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kapturelike.core.reconstruction import FeatureType
from kapturelike.errors import FormatError, FormatWarning, KapturelikeError, MissingDataError
from kapturelike.io.dataset import load_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.reconstruction import read_feature_type, read_observations, read_points3d
from kapturelike.io.records import read_records
from kapturelike.io.sensors import read_rigs, read_sensors
from kapturelike.io.trajectories import read_trajectories

V = "# kapture format: 1.1\n"
SENSORS = V + "# sensor_id, name, sensor_type, [sensor_params]+\ncam, , camera, PINHOLE, 10, 10, 5, 5, 5, 5\n"
Q = "1, 0, 0, 0, 0, 0, 0"


def _file(tmp_path: Path, text: str, name: str = "f.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _expect(error: KapturelikeError, path: Path, line: int | None, field: str) -> None:
    message = str(error)
    assert str(path) in message, message
    if line is not None:
        assert error.line == line and f"line {line}" in message, message
    assert error.field == field and f"'{field}'" in message, message


CASES = [
    # (reader, text, line, field, message fragment)
    (read_sensors, V + "#\ncam, , camera, PINHOLE, 10, 10, 5\n", 3, "sensor_params", "takes 6"),
    (read_sensors, V + "cam, , camera, NOT_A_MODEL, 10, 10\n", 2, "model", "unknown camera model"),
    (read_sensors, V + "cam, , camera, SIMPLE_PINHOLE, 10, 10, 5, x, 5\n", 2, "cx", "not a number"),
    (read_sensors, V + "cam, , camera, SIMPLE_PINHOLE, 10.5, 10, 5, 5, 5\n", 2, "width", "integers"),
    (read_sensors, V + "cam, name\n", 2, "sensor_type", "at least 3"),
    (read_sensors, V + "a, , wifi\na, , gnss\n", 3, "sensor_id", "twice"),
    (read_rigs, V + "rig, cam, 1, 0, 0, 0, 0, 0\n", 2, "rig_id", "expected 9"),
    (read_trajectories, V + f"0, cam, {Q}\n1, cam, 1, 0, 0\n", 3, "timestamp", "expected 9"),
    (read_trajectories, V + f"0, cam, {Q}\n\n# c\nx, cam, {Q}\n", 5, "timestamp", "integer"),
    (read_trajectories, V + f"0, cam, {Q}\n1, cam, 0, 0, 0, 0, 0, 0, 0\n", 3, "qw", "quaternion is zero"),
    (read_trajectories, V + "0, cam, 1, 0, 0, 0, 0, abc, 0\n", 2, "ty", "not a number"),
    (read_trajectories, V + f"99999999999999999999, cam, {Q}\n", 2, "timestamp", "64-bit integer"),
    (read_trajectories, V + "0, cam, 1, 0, , 0, 0, 0, 0\n", 2, "qy", "partly empty"),
    (read_points3d, V + "# X, Y, Z\n1, 2, 3\n4, 5\n", 4, "X", "expected 3"),
    (read_points3d, V + "# X, Y, Z\n1, 2, 3\n4, y, 6\n", 4, "Y", "not a number"),
    (read_observations, V + "0, sift, a.jpg\n", 2, "image_path", "pairs"),
    (read_observations, V + "0, sift, a.jpg, one\n", 2, "feature_id", "integer"),
]


@pytest.mark.parametrize("reader, text, line, field, fragment", CASES)
def test_malformed_line(tmp_path: Path, reader, text: str, line: int, field: str, fragment: str) -> None:
    path = _file(tmp_path, text)
    with pytest.raises(FormatError, match=fragment) as info:
        reader(path)
    _expect(info.value, path, line, field)


@pytest.mark.parametrize("kind, row, line, field", [
    ("camera", "0, cam, a.jpg, extra", 3, "image_path"),
    ("wifi", "0, w, aa, 2400, -50.0, ssid, 1", 3, "BSSID"),
    ("wifi", "0, w, aa, 2.4GHz, -50.0, ssid, 1, 2", 3, "frequency"),
    ("gnss", "0, g, 1, 2, x, 4, 5", 3, "z"),
    ("accelerometer", "t, a, 1, 2, 3", 3, "timestamp"),
    ("camera", "-9999999999999999999, cam, a.jpg", 3, "timestamp"),
    ("camera", "0, cam, a.jpg\n1, cam", 4, "device_id"),
])
def test_malformed_records(tmp_path: Path, kind: str, row: str, line: int, field: str) -> None:
    path = _file(tmp_path, V + "# header\n" + row + "\n")
    with pytest.raises(FormatError) as info:
        read_records(path, kind)
    _expect(info.value, path, line, field)


def test_missing_version_line_is_a_warning_and_unsupported_version_an_error(tmp_path: Path) -> None:
    for reader in (read_sensors, read_trajectories, read_rigs, read_points3d, read_observations):
        path = _file(tmp_path, "cam, , wifi\n")
        problems: list[FormatError] = []
        reader(path, on_error=problems.append)
        assert [type(p) for p in problems if p.field == "version"] == [FormatWarning], (reader, problems)
        _expect(problems[0], path, 1, "version")
    path = _file(tmp_path, "# kapture format: 9.9\n")
    with pytest.raises(FormatError, match="unsupported") as info:
        read_sensors(path)
    _expect(info.value, path, 1, "version")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(V.encode() + b"cam, \xff, wifi\n")
    with pytest.raises(FormatError, match="UTF-8") as info:
        read_sensors(path)
    assert str(path) in str(info.value)


def test_unknown_dtype_and_bad_type_file(tmp_path: Path) -> None:
    path = _file(tmp_path, V + "# name, dtype, dsize\nsift, complex128, 4\n")
    with pytest.raises(FormatError, match="unknown dtype") as info:
        read_feature_type(path, "keypoints")
    _expect(info.value, path, 3, "dtype")
    path = _file(tmp_path, V + "# name, dtype, dsize\nsift, float32, -4\n")
    with pytest.raises(FormatError, match="positive") as info:
        read_feature_type(path, "keypoints")
    _expect(info.value, path, 3, "dsize")
    path = _file(tmp_path, V + "sift, float32, 4, sift, L2, extra\n")
    with pytest.raises(FormatError, match="expected 5") as info:
        read_feature_type(path, "descriptors")
    assert info.value.line == 2
    # dtype names are looked up, never evaluated
    path = _file(tmp_path, V + "sift, __import__('os').getcwd(), 4\n")
    with pytest.raises(FormatError, match="unknown dtype"):
        read_feature_type(path, "keypoints")


def test_binary_size_mismatch(tmp_path: Path) -> None:
    store = KaptureFeatureStore(tmp_path)
    store.write_type(FeatureType("keypoints", "sift", np.float32, 4))
    path = store.path("keypoints", "sift", "a.jpg")
    np.zeros(7, np.float32).tofile(path)  # 7 values: not a multiple of dsize 4
    with pytest.raises(FormatError, match="not a multiple of dsize 4") as info:
        KaptureFeatureStore(tmp_path).read("keypoints", "sift", "a.jpg")
    assert str(path) in str(info.value) and info.value.field == "dsize"
    mpath = store.matches_path("sift", "a.jpg", "b.jpg")
    mpath.parent.mkdir(parents=True)
    np.zeros(4, np.float64).tofile(mpath)
    with pytest.raises(FormatError, match="multiple of 3") as info:
        store.read_matches("sift", "b.jpg", "a.jpg")
    assert str(mpath) in str(info.value)
    with pytest.raises(FormatError, match="float32 x 4") as info:
        store.write("keypoints", "sift", "b.jpg", np.zeros((2, 4), np.uint8))
    assert info.value.field == "dtype"


def _dataset(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in {"sensors/sensors.txt": SENSORS, **files}.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def test_unknown_device_reported_with_line(tmp_path: Path) -> None:
    root = _dataset(tmp_path, {"sensors/trajectories.txt": V + "#\n" + f"0, cam, {Q}\n\n1, ghost, {Q}\n",
                               "sensors/records_camera.txt": V + "#\n0, cam, a.jpg\n1, nobody, b.jpg\n"})
    problems: list = []
    k = load_kapture(root, on_error=problems.append)
    assert len(k.trajectories) == 1 and len(k.records_camera) == 1  # rows of unknown devices are set apart
    assert len(k.unknown_device_rows["trajectories"]) == 1 and k.unknown_device_rows["camera"].paths == ["b.jpg"]
    assert [(p.line, p.field) for p in problems] == [(5, "device_id"), (4, "device_id")]
    assert all(isinstance(p, FormatWarning) for p in problems)
    _expect(problems[0], root / "sensors" / "trajectories.txt", 5, "device_id")
    assert "nobody" in str(problems[1]) and str(root / "sensors" / "records_camera.txt") in str(problems[1])


def test_missing_image(tmp_path: Path) -> None:
    root = _dataset(tmp_path, {"sensors/records_camera.txt": V + "#\n0, cam, a.jpg\n1, cam, b.jpg\n",
                               "sensors/records_data/a.jpg": "x"})
    assert len(load_kapture(root).records_camera) == 2  # images are not looked at unless asked
    with pytest.raises(FormatError, match="missing") as info:
        load_kapture(root, check_images=True)
    _expect(info.value, root / "sensors" / "records_camera.txt", 4, "image_path")
    assert "b.jpg" in str(info.value)
    # line numbers come from the file, whatever its comments, blank lines and dropped rows
    text = V + "0, ghost, c.jpg\n\n1, cam, b.jpg\n0, cam, a.jpg\n"
    (root / "sensors" / "records_camera.txt").write_text(text)
    problems: list = []
    load_kapture(root, on_error=problems.append, check_images=True)
    assert [(p.line, p.field) for p in problems] == [(2, "device_id"), (4, "image_path")]


def test_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match="sensors.txt"):
        load_kapture(tmp_path)


def test_collector_gets_every_problem(tmp_path: Path) -> None:
    path = _file(tmp_path, V + f"0, cam, {Q}\nbad\n2, cam, 0, 0, 0, 0, 0, 0, 0\n3, cam, {Q}\n")
    problems: list = []
    traj = read_trajectories(path, on_error=problems.append)
    assert [p.line for p in problems] == [3, 4] and len(traj) == 2
