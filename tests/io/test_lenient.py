"""Published data is read as kapture reads it: each quirk is a warning (file, line, field), the data is kept
and a copy (kapture_merge with one input) writes it back; kapture_check exits 0 on warnings (1 with --strict)."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import kapture.algo.compare as kcompare
import kapture.io.csv as kcsv
import numpy as np
import pytest

from kapturelike.core.pose import quat_to_rotmat
from kapturelike.errors import FormatError, FormatWarning
from kapturelike.io.dataset import load_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.tools import kapture_check, kapture_merge, kapture_print

V = "# kapture format: 1.1\n"
Q = "1, 0, 0, 0, 0, 0, 0"
SENSORS = V + "# sensor_id, name, sensor_type, [sensor_params]+\ncam, , camera, SIMPLE_PINHOLE, 4, 4, 2, 2, 2\n"
TUTORIAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "virtual_gallery_tutorial"


def _dataset(root: Path, files: dict[str, str | bytes]) -> Path:
    images = {f"sensors/records_data/{n}": b"image" for n in ("a.jpg", "b.jpg")}
    for name, content in {"sensors/sensors.txt": SENSORS, **images, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def _warnings(root: Path) -> list[FormatError]:
    problems: list[FormatError] = []
    load_kapture(root, on_error=problems.append)
    assert all(isinstance(p, FormatWarning) for p in problems), problems
    return problems


def _check_and_copy(root: Path, tmp_path: Path, n_warnings: int, capsys) -> Path:
    """kapture_check lists the warnings (exit 0, 1 with --strict); kapture_merge copies the dataset."""
    assert kapture_check.main(["-i", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.count("warning: ") == n_warnings and f"0 error(s), {n_warnings} warning(s)" in out, out
    assert kapture_check.main(["-i", str(root), "--strict"]) == 1
    copy = tmp_path / "copy"
    assert kapture_merge.main(["-i", str(root), "-o", str(copy), "--keep-sensor-ids"]) == 0
    capsys.readouterr()
    return copy


def test_rig_naming_absent_sensors(tmp_path: Path, capsys) -> None:
    rigs = V + "# rig_id, sensor_id, qw, qx, qy, qz, tx, ty, tz\nrig, cam, " + Q + "\nrig, cam_9, " + Q + "\n"
    root = _dataset(tmp_path / "ds", {"sensors/rigs.txt": rigs})
    [warning] = _warnings(root)
    assert (warning.path, warning.line, warning.field) == (str(root / "sensors/rigs.txt"), 4, "sensor_id")
    assert "cam_9" in str(warning)
    assert set(load_kapture(root).rigs["rig"]) == {"cam", "cam_9"}  # kept
    copy = _check_and_copy(root, tmp_path, 1, capsys)
    assert set(load_kapture(copy).rigs["rig"]) == {"cam", "cam_9"}
    assert kcompare.equal_kapture(kcsv.kapture_from_dir(str(root)), kcsv.kapture_from_dir(str(copy)))


def test_rows_of_unknown_devices_are_kept_apart_and_written_back(tmp_path: Path, capsys) -> None:
    traj = V + f"0, cam, {Q}\n1, ghost, {Q}\n2, ghost, {Q}\n"
    root = _dataset(tmp_path / "ds", {"sensors/trajectories.txt": traj,
                                      "sensors/records_camera.txt": V + "0, cam, a.jpg\n5, phantom, b.jpg\n"})
    warnings = _warnings(root)
    assert [(w.line, w.field) for w in warnings] == [(3, "device_id"), (3, "device_id")]
    assert "2 row(s)" in str(warnings[0]) and "phantom" in str(warnings[1])
    k = load_kapture(root)
    assert k.trajectories.device_ids.tolist() == ["cam"] and k.image_names() == ["a.jpg"]  # out of computations
    copy = _check_and_copy(root, tmp_path, 2, capsys)
    back = load_kapture(copy)
    assert len(back.unknown_device_rows["trajectories"]) == 2
    assert back.unknown_device_rows["camera"].paths == ["b.jpg"]
    assert kcompare.equal_kapture(kcsv.kapture_from_dir(str(root)), kcsv.kapture_from_dir(str(copy)))


def test_non_unit_quaternions_kept_as_written_warned_once(tmp_path: Path, capsys) -> None:
    traj = V + f"0, cam, {Q}\n1, cam, 2.0, 0.0, 0.0, 0.0, 0, 0, 0\n2, cam, 0.0, 3.4, 0.0, 0.0, 0, 0, 0\n"
    root = _dataset(tmp_path / "ds", {"sensors/trajectories.txt": traj})
    [warning] = _warnings(root)
    assert (warning.line, warning.field) == (3, "qw") and "norm is 2" in str(warning)
    k = load_kapture(root)
    np.testing.assert_array_equal(k.trajectories.rotations[2], [0.0, 3.4, 0.0, 0.0])  # as written
    rotation = quat_to_rotmat(k.trajectories.rotations[2])  # normalised where a rotation is computed
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-12)
    copy = _check_and_copy(root, tmp_path, 1, capsys)
    assert "0.0,  3.4,  0.0,  0.0" in (copy / "sensors/trajectories.txt").read_text()


def test_matches_stored_under_the_reversed_pair_order(tmp_path: Path, capsys) -> None:
    kpt_type = V + "# name, dtype, dsize\nsift, float32, 2\n"
    matches = np.array([[0, 1, 0.5], [1, 0, 0.25]], dtype=np.float64)  # columns: b.jpg's, then a.jpg's keypoints
    root = _dataset(tmp_path / "ds", {
        "sensors/records_camera.txt": V + "0, cam, a.jpg\n1, cam, b.jpg\n",
        "reconstruction/keypoints/sift/keypoints.txt": kpt_type,
        "reconstruction/keypoints/sift/a.jpg.kpt": np.zeros((2, 2), np.float32).tobytes(),
        "reconstruction/keypoints/sift/b.jpg.kpt": np.zeros((2, 2), np.float32).tobytes(),
        "reconstruction/matches/sift/b.jpg.overlapping/a.jpg.matches": matches.tobytes()})
    [warning] = _warnings(root)
    assert warning.field == "image_path" and "reversed" in str(warning) and "b.jpg.overlapping" in str(warning)
    k = load_kapture(root)
    assert k.matches == {"sift": {("a.jpg", "b.jpg")}}
    store = KaptureFeatureStore(root)
    np.testing.assert_array_equal(store.read_matches("sift", "a.jpg", "b.jpg"), matches[:, [1, 0, 2]])
    np.testing.assert_array_equal(store.read_matches("sift", "b.jpg", "a.jpg"), matches)
    copy = _check_and_copy(root, tmp_path, 1, capsys)
    assert (copy / "reconstruction/matches/sift/b.jpg.overlapping/a.jpg.matches").read_bytes() == matches.tobytes()


def test_feature_type_keyed_by_its_folder(tmp_path: Path, capsys) -> None:
    root = _dataset(tmp_path / "ds", {
        "sensors/records_camera.txt": V + "0, cam, a.jpg\n",
        "reconstruction/keypoints/r2d2_500/keypoints.txt": V + "# name, dtype, dsize\nr2d2, float32, 3\n",
        "reconstruction/keypoints/r2d2_500/a.jpg.kpt": np.ones((5, 3), np.float32).tobytes()})
    [warning] = _warnings(root)
    assert (warning.line, warning.field) == (3, "name") and "'r2d2'" in str(warning)
    k = load_kapture(root)
    assert set(k.keypoints) == {"r2d2_500"} and k.keypoints["r2d2_500"].images == {"a.jpg"}
    assert KaptureFeatureStore(root).read("keypoints", "r2d2_500", "a.jpg").shape == (5, 3)
    copy = _check_and_copy(root, tmp_path, 1, capsys)
    assert (copy / "reconstruction/keypoints/r2d2_500/keypoints.txt").read_text() == \
        (root / "reconstruction/keypoints/r2d2_500/keypoints.txt").read_text()


def _tar(path: Path, members: dict[str, bytes]) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path.read_bytes()


def test_kapture_tar_containers(tmp_path: Path, capsys) -> None:
    kpts = {n: np.arange(6, dtype=np.float32).reshape(3, 2) + i for i, n in enumerate(("a.jpg", "b.jpg"))}
    matches = np.array([[0, 2, 1.0]], dtype=np.float64)
    root = _dataset(tmp_path / "ds", {
        "sensors/records_camera.txt": V + "0, cam, a.jpg\n1, cam, b.jpg\n",
        "reconstruction/keypoints/sift/keypoints.txt": V + "# name, dtype, dsize\nsift, float32, 2\n"})
    _tar(root / "reconstruction/keypoints/sift/keypoints.tar", {f"{n}.kpt": a.tobytes() for n, a in kpts.items()})
    _tar(root / "reconstruction/matches/sift/matches.tar", {"a.jpg.overlapping/b.jpg.matches": matches.tobytes()})
    assert _warnings(root) == []
    k = load_kapture(root)
    assert k.keypoints["sift"].images == {"a.jpg", "b.jpg"} and k.matches == {"sift": {("a.jpg", "b.jpg")}}
    store = KaptureFeatureStore(root)
    np.testing.assert_array_equal(store.read("keypoints", "sift", "b.jpg"), kpts["b.jpg"])
    np.testing.assert_array_equal(store.read_matches("sift", "b.jpg", "a.jpg"), matches[:, [1, 0, 2]])
    assert kapture_check.main(["-i", str(root)]) == 0
    copy = tmp_path / "copy"
    assert kapture_merge.main(["-i", str(root), "-o", str(copy), "--keep-sensor-ids"]) == 0
    for kind in ("keypoints", "matches"):
        assert (copy / f"reconstruction/{kind}/sift/{kind}.tar").read_bytes() == \
            (root / f"reconstruction/{kind}/sift/{kind}.tar").read_bytes()


def test_empty_files_and_missing_version_lines(tmp_path: Path, capsys) -> None:
    root = _dataset(tmp_path / "ds", {"sensors/records_camera.txt": "",
                                      "sensors/trajectories.txt": f"0, cam, {Q}\n"})
    warnings = _warnings(root)
    assert sorted((Path(w.path).name, w.line, w.field) for w in warnings) == [
        ("records_camera.txt", 1, "version"), ("trajectories.txt", 1, "version")]
    assert any("empty file" in str(w) for w in warnings)
    k = load_kapture(root)
    assert len(k.trajectories) == 1 and len(k.records_camera) == 0
    copy = _check_and_copy(root, tmp_path, 2, capsys)
    assert len(load_kapture(copy).trajectories) == 1


@pytest.mark.skipif(not TUTORIAL.is_dir(), reason="../shared/data/virtual_gallery_tutorial is absent")
def test_tutorial_mapping_read_printed_checked_and_copied(tmp_path: Path, capsys) -> None:
    root = tmp_path / "mapping"
    shutil.copytree(TUTORIAL / "mapping", root, symlinks=True)
    warnings = _warnings(root)
    assert [(w.line, w.field) for w in warnings] == [(n, "sensor_id") for n in (5, 6, 7, 8)]
    k = load_kapture(root)
    assert len(k.image_names()) == 12 and len(k.rigs["training_rig"]) == 6
    assert kapture_print.main(["-i", str(root)]) == 0
    capsys.readouterr()
    copy = _check_and_copy(root, tmp_path, 4, capsys)
    assert kcompare.equal_kapture(kcsv.kapture_from_dir(str(root)), kcsv.kapture_from_dir(str(copy)))


@pytest.mark.parametrize("folder", ["mapping", "query"])
@pytest.mark.parametrize("flags", [[], ["-a"]])
def test_tutorial_printed_as_kapture_prints_it(tmp_path: Path, folder: str, flags: list[str], capsys) -> None:
    """kapture_print on the published tutorial folders (the mapping's rigs.txt quirk included) prints what kapture's
    own kapture_print prints, field for field; the query folder reads without warnings and copies equal."""
    import subprocess
    import sys

    import kapture

    root = tmp_path / folder
    shutil.copytree(TUTORIAL / folder, root, symlinks=True)
    assert kapture_print.main(["-i", str(root), *flags]) == 0
    ours = capsys.readouterr().out
    tool = Path(kapture.__file__).resolve().parents[1] / "tools" / "kapture_print.py"
    done = subprocess.run([sys.executable, str(tool), "-i", str(root), *flags], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert ours == done.stdout
    if folder == "query":
        assert _warnings(root) == []
        assert kapture_check.main(["-i", str(root), "--strict"]) == 0
        assert kapture_merge.main(["-i", str(root), "-o", str(tmp_path / "copy"), "--keep-sensor-ids"]) == 0
        assert kcompare.equal_kapture(kcsv.kapture_from_dir(str(root)), kcsv.kapture_from_dir(str(tmp_path / "copy")))
