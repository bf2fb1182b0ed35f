"""kapture tools made real in the second drop-in round: extract_exif (EXIF read without Pillow),
export_4seasons_pairs, create_3D_model_from_depth. Inputs are written here; kapture reads our outputs."""

from __future__ import annotations

import gzip
import json
import pickle
import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import kapture
import kapture.io.csv as kcsv
import kapture.io.features as kfeatures
import numpy as np
import pytest

from kapturelike.core.reconstruction import FeatureType, Kapture
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.dataset_tools.pycolmap_localize import deduplicated
from kapturelike.io.dataset import save_kapture
from kapturelike.io.exif import gps_position, read_exif
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import read_pairs, write_pairs
from kapturelike.tools import (
    kapture_compute_distance_pairs,
    kapture_compute_sequence_pairs,
    kapture_create_3D_model_from_depth,
    kapture_evaluate,
    kapture_export_4seasons_pairs,
    kapture_export_colmap,
    kapture_export_opensfm,
    kapture_export_ply,
    kapture_extract_exif,
    kapture_import_colmap,
    kapture_import_image_folder,
)

KAPTURE_TOOLS = Path(kapture.__file__).resolve().parents[1] / "tools"


def _tiff(order: str, gps: list[tuple[int, int, bytes]]) -> bytes:
    """A TIFF structure: IFD0 with one entry (the GPS IFD pointer), then the GPS IFD with ``gps`` entries
    (tag, type, value bytes); values longer than 4 bytes go after the IFD."""
    fmt = "<" if order == "II" else ">"
    ifd0_at = 8
    gps_at = ifd0_at + 2 + 12 + 4
    data_at = gps_at + 2 + 12 * len(gps) + 4
    head = order.encode() + struct.pack(fmt + "HL", 42, ifd0_at)
    ifd0 = struct.pack(fmt + "H", 1) + struct.pack(fmt + "HHLL", 0x8825, 4, 1, gps_at) + struct.pack(fmt + "L", 0)
    entries, data = b"", b""
    sizes = {1: 1, 2: 1, 3: 2, 5: 8}
    for tag, type_id, value in gps:
        count = len(value) // sizes[type_id]
        if len(value) <= 4:
            entries += struct.pack(fmt + "HHL", tag, type_id, count) + value.ljust(4, b"\0")
        else:
            entries += struct.pack(fmt + "HHLL", tag, type_id, count, data_at + len(data))
            data += value
    return head + ifd0 + struct.pack(fmt + "H", len(gps)) + entries + struct.pack(fmt + "L", 0) + data


def _rationals(order: str, *pairs: tuple[int, int]) -> bytes:
    fmt = "<" if order == "II" else ">"
    return b"".join(struct.pack(fmt + "LL", n, d) for n, d in pairs)


def _jpeg_with_exif(path: Path, tiff: bytes | None) -> None:
    ok, jpeg = cv2.imencode(".jpg", np.full((6, 8, 3), 128, np.uint8))
    assert ok
    jpeg = jpeg.tobytes()
    if tiff is not None:
        body = b"Exif\0\0" + tiff
        jpeg = jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body + jpeg[2:]
    path.write_bytes(jpeg)


def _gps_tiff(order: str, lat: tuple, lat_ref: str, lon: tuple, lon_ref: str, alt: tuple | None,
              below_sea: bool = False) -> bytes:
    entries = [(1, 2, lat_ref.encode() + b"\0"), (2, 5, _rationals(order, *lat)),
               (3, 2, lon_ref.encode() + b"\0"), (4, 5, _rationals(order, *lon))]
    if alt is not None:
        entries += [(5, 1, b"\x01" if below_sea else b"\x00"), (6, 5, _rationals(order, alt))]
    entries.append((11, 5, _rationals(order, (5, 2))))
    return _tiff(order, entries)


def test_exif_parser_reads_both_byte_orders(tmp_path: Path) -> None:
    for order in ("II", "MM"):
        image = tmp_path / f"{order}.jpg"
        _jpeg_with_exif(image, _gps_tiff(order, ((52, 1), (31, 1), (810, 100)), "N", ((13, 1), (24, 1), (106, 100)),
                                         "W", (27, 1), below_sea=True))
        lon, lat, alt, dop = gps_position(read_exif(image))
        assert lat == pytest.approx(52 + 31 / 60 + 8.10 / 3600)
        assert lon == pytest.approx(-(13 + 24 / 60 + 1.06 / 3600))
        assert (alt, dop) == (-27.0, 2.5)  # AltitudeRef 1: below sea level
    plain = tmp_path / "plain.jpg"
    _jpeg_with_exif(plain, None)
    assert read_exif(plain) is None


def test_extract_exif_documented_command(tmp_path: Path) -> None:
    """kapture's command line ``kapture_extract_exif.py -i DATASET``; kapture reads the sensors and the gnss
    records we add (kapture's own tool needs Pillow and piexif, absent here)."""
    root = tmp_path / "dataset"
    images = root / "sensors/records_data"
    images.mkdir(parents=True)
    (root / "sensors/sensors.txt").write_text("# kapture format: 1.1\n# sensor_id, name, sensor_type, model, "
                                              "model_params+\ncam, , camera, SIMPLE_PINHOLE, 8, 6, 5, 4, 3\n")
    (root / "sensors/records_camera.txt").write_text("# kapture format: 1.1\n# timestamp, device_id, image_path\n"
                                                     "1, cam, a.jpg\n2, cam, b.jpg\n3, cam, c.jpg\n")
    _jpeg_with_exif(images / "a.jpg", _gps_tiff("MM", ((48, 1), (51, 1), (2400, 100)), "N",
                                                ((2, 1), (21, 1), (300, 100)), "E", (35, 1)))
    _jpeg_with_exif(images / "b.jpg", _gps_tiff("II", ((33, 1), (52, 1), (0, 1)), "S",
                                                ((151, 1), (12, 1), (3600, 100)), "E", None))
    _jpeg_with_exif(images / "c.jpg", None)  # no EXIF: no record, a warning (kapture's tool crashes)
    assert kapture_extract_exif.main(["-v", "info", "-i", str(root)]) == 0
    theirs = kcsv.kapture_from_dir(str(root))
    assert theirs.sensors["GPS_cam"].sensor_type == "gnss"
    assert theirs.sensors["GPS_cam"].sensor_params == ["EPSG:4326"]
    assert theirs.sensors["cam"].sensor_type == "camera"
    gnss = theirs.records_gnss
    assert sorted(gnss.keys()) == [1, 2]
    a, b = gnss[1]["GPS_cam"], gnss[2]["GPS_cam"]
    assert (a.x, a.y, a.z, a.dop) == pytest.approx((2 + 21 / 60 + 3 / 3600, 48 + 51 / 60 + 24 / 3600, 35.0, 2.5))
    assert (b.x, b.y, b.z) == pytest.approx((151 + 12 / 60 + 36 / 3600, -(33 + 52 / 60), 0.0))
    assert a.utc == 0


def _kapture_tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(KAPTURE_TOOLS / f"{name}.py"), *args], capture_output=True, text=True,
                          timeout=120)


def _four_seasons(root: Path) -> None:
    """Two sequences of a rig 'car' (two cameras) in one kapture; records carry made-up timestamps, the image
    names the real ones (what kapture's healing is for)."""
    rng = np.random.default_rng(4)
    sensors = ["# kapture format: 1.1", "cam0, , camera, PINHOLE, 8, 6, 5, 5, 4, 3",
               "cam1, , camera, PINHOLE, 8, 6, 5, 5, 4, 3"]
    rigs = ["# kapture format: 1.1", "car, cam0, 1, 0, 0, 0, 0, 0, 0", "car, cam1, 1, 0, 0, 0, 0.3, 0, 0"]
    records, traj = ["# kapture format: 1.1"], ["# kapture format: 1.1"]
    for i, real in enumerate([1000, 1001, 2000, 2001]):
        records += [f"{i}, cam0, seq/cam0/{real}.png", f"{i}, cam1, seq/cam1/{real}.png"]
        q = rng.normal(size=4)
        q /= np.linalg.norm(q)
        t = rng.normal(size=3)
        traj.append(f"{i}, car, " + ", ".join(map(str, [*q, *t])))
    for name, lines in (("sensors", sensors), ("rigs", rigs), ("records_camera", records), ("trajectories", traj)):
        (root / "sensors").mkdir(parents=True, exist_ok=True)
        (root / f"sensors/{name}.txt").write_text("\n".join(lines) + "\n")


def test_export_4seasons_pairs_as_kapture(tmp_path: Path) -> None:
    """kapture's own tool is the oracle: same pairs, same relative poses (up to the quaternion's sign)."""
    root = tmp_path / "kapture"
    _four_seasons(root)
    pairs = tmp_path / "pairs.txt"
    pairs.write_text("1000 2000\n1001 2001\n2000 1000\n")
    ours, theirs = tmp_path / "ours.txt", tmp_path / "theirs.txt"
    assert kapture_export_4seasons_pairs.main(["-i", str(root), "-p", str(pairs), "-o", str(ours)]) == 0
    done = _kapture_tool("kapture_export_4seasons_pairs", "-i", str(root), "-p", str(pairs), "-o", str(theirs))
    assert done.returncode == 0, done.stderr
    a, b = np.loadtxt(ours, ndmin=2), np.loadtxt(theirs, ndmin=2)
    assert a.shape == b.shape == (3, 9)
    assert np.array_equal(a[:, :2], b[:, :2])
    np.testing.assert_allclose(a[:, 2:5], b[:, 2:5], atol=1e-9)
    sign = np.sign(np.sum(a[:, 5:] * b[:, 5:], axis=1, keepdims=True))
    np.testing.assert_allclose(a[:, 5:], sign * b[:, 5:], atol=1e-9)
    # without healing the record timestamps (0..3) are the keys (kapture's tool fails on a single pair)
    pairs.write_text("0 2\n3 1\n")
    assert kapture_export_4seasons_pairs.main(["-i", str(root), "-p", str(pairs), "-o", str(ours), "--no_heal"]) == 0
    assert _kapture_tool("kapture_export_4seasons_pairs", "-i", str(root), "-p", str(pairs), "-o", str(theirs),
                         "--no_heal").returncode == 0
    np.testing.assert_allclose(np.abs(np.loadtxt(ours)), np.abs(np.loadtxt(theirs)), atol=1e-9)
    pairs.write_text("0 7\n")
    assert kapture_export_4seasons_pairs.main(["-i", str(root), "-p", str(pairs), "-o", str(ours), "--no_heal"]) == 1


def _rgbd(root: Path) -> None:
    """A PINHOLE camera 'kinect' (f 10, c (8, 6), 16 x 12) with its registered depth sensor; a plane at depth 2.
    Image a.png at the origin (shifted 13 mm off the voxel boundaries), b.png 0.2 m to the right, c.png without
    depth. Keypoints: a (2,3) (8,6) (14,9: depth 0) (8,6 again); b (7,6: the point of a's (8,6)) (0,0)."""
    params = "PINHOLE, 16, 12, 10, 10, 8, 6"
    files = {
        "sensors/sensors.txt": f"kinect, , camera, {params}\nkinect_depth_reg, , depth, {params}\n",
        "sensors/records_camera.txt": "0, kinect, a.png\n1, kinect, b.png\n2, kinect, c.png\n",
        "sensors/records_depth.txt": "0, kinect_depth_reg, a.depth\n1, kinect_depth_reg, b.depth\n",
        "sensors/trajectories.txt": "0, kinect, 1, 0, 0, 0, -0.013, -0.013, 0\n"
                                    "1, kinect, 1, 0, 0, 0, -0.213, -0.013, 0\n2, kinect, 1, 0, 0, 0, 0, 0, 0\n",
        "reconstruction/keypoints/r2d2/keypoints.txt": "r2d2, float32, 2\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("# kapture format: 1.1\n" + text)
    data = root / "sensors/records_data"
    data.mkdir(parents=True)
    depth = np.full((12, 16), 2.0, np.float32)
    depth[9, 14] = 0
    depth.tofile(data / "a.depth")
    np.full((12, 16), 2.0, np.float32).tofile(data / "b.depth")
    for name, rgb in (("a.png", (10, 20, 30)), ("b.png", (40, 50, 60)), ("c.png", (0, 0, 0))):
        cv2.imwrite(str(data / name), np.full((12, 16, 3), rgb[::-1], np.uint8))
    kpts = {"a.png": [[2, 3], [8, 6], [14, 9], [8, 6]], "b.png": [[7, 6], [0, 0]], "c.png": [[1, 1]]}
    for name, kp in kpts.items():
        np.asarray(kp, np.float32).tofile(root / f"reconstruction/keypoints/r2d2/{name}.kpt")


def test_create_3d_model_from_depth_documented_command(tmp_path: Path, monkeypatch) -> None:
    """run_7scenes_rgbd.sh's command line; kapture reads the model (kapture-localization is not installed:
    the expected points are worked out by hand)."""
    _rgbd(tmp_path / "mapping")
    monkeypatch.chdir(tmp_path)
    command = ("kapture_create_3D_model_from_depth.py -v debug -f -i mapping -o mapping_rgbd -d kinect_depth_reg "
               "--topk 20000 --cellsizes 10 5 1 0.1 0.01 --keypoints-type r2d2")
    assert kapture_create_3D_model_from_depth.main(command.split()[1:]) == 0
    theirs = kcsv.kapture_from_dir(str(tmp_path / "mapping_rgbd"))
    expected = np.array([[-1.187, -0.587, 2, 10, 20, 30], [0.013, 0.013, 2, 10, 20, 30],
                         [-1.387, -1.187, 2, 40, 50, 60]])
    np.testing.assert_allclose(np.asarray(theirs.points3d), expected, atol=1e-9)
    # kapture_from_dir keeps observations of images with keypoint files only (the script links them next)
    observations = kcsv.observations_from_file(str(tmp_path / "mapping_rgbd/reconstruction/observations.txt"))
    observed = {p: sorted(observations[p, "r2d2"]) for p in range(3)}
    assert observed == {0: [("a.png", 0)], 1: [("a.png", 1), ("b.png", 0)], 2: [("b.png", 1)]}
    assert (tmp_path / "mapping_rgbd/reconstruction/keypoints/r2d2/keypoints.txt").is_file()
    # --topk 1 keeps the first keypoint of each image; an existing output needs -f
    assert kapture_create_3D_model_from_depth.main(["-i", "mapping", "-o", "mapping_rgbd", "-d", "kinect_depth_reg",
                                                    "--topk", "1"]) == 1
    assert kapture_create_3D_model_from_depth.main(["-i", "mapping", "-o", "mapping_rgbd", "-d", "kinect_depth_reg",
                                                    "--topk", "1", "-f"]) == 0
    assert len(kcsv.kapture_from_dir(str(tmp_path / "mapping_rgbd")).points3d) == 2


def _posed(root: Path, offsets: dict[str, float]) -> Path:
    """A kapture of three images of one camera; image i at x = i + offsets[name] (metres), missing when absent."""
    cam = Camera("SIMPLE_PINHOLE", 8, 6, (5.0, 4.0, 3.0))
    names = ["a.jpg", "b.jpg", "c.jpg"]
    records = Records.camera([((i, "cam"), n) for i, n in enumerate(names)])
    traj = Trajectories.from_items(((i, "cam"), Pose([1, 0, 0, 0], [-(i + offsets[n]), 0, 0]))
                                   for i, n in enumerate(names) if n in offsets)
    save_kapture(Kapture(sensors={"cam": cam}, trajectories=traj, records={"camera": records}), root)
    return root


def test_evaluate_several_inputs_table_and_plot(tmp_path: Path) -> None:
    """kapture-localization's stats.txt over two inputs ends with tabulate's LaTeX and plain tables (tabulate,
    a dependency of kapture, is the oracle); plot.png is written."""
    gt = _posed(tmp_path / "gt", {"a.jpg": 0.0, "b.jpg": 0.0, "c.jpg": 0.0})
    good = _posed(tmp_path / "good", {"a.jpg": 0.1, "b.jpg": 0.3, "c.jpg": 0.02})
    poor = _posed(tmp_path / "poor", {"a.jpg": 2.0, "b.jpg": 0.4})
    out = tmp_path / "eval"
    argv = ["-i", str(good), str(poor), "--labels", "global_sfm", "EWB", "-gt", str(gt), "-o", str(out),
            "--plot-title", "my_scene", "-p", "5"]
    assert kapture_evaluate.main(argv) == 0
    stats = (out / "stats.txt").read_text()
    tabulate = pytest.importorskip("tabulate").tabulate
    rows = [["global_sfm", "66.67%", "100.00%", "100.00%"], ["EWB", "0.00%", "33.33%", "66.67%"]]
    headers = ("my_scene", (0.25, 2.0), (0.5, 5.0), (5.0, 10.0))
    assert stats.endswith("%\n\n\n" + tabulate(rows, headers=headers, tablefmt="latex") + "\n\n"
                          + tabulate(rows, headers=headers))
    plot = cv2.imread(str(out / "plot.png"))
    assert plot is not None and plot.shape[0] > 100
    assert kapture_evaluate.main(argv) == 1  # existing outputs need -f, as kapture
    assert kapture_evaluate.main([*argv, "-f"]) == 0


def test_pairs_tools_apply_kapture_localization_variants(tmp_path: Path) -> None:
    """--loop / --expand-window (sequence pairs) and --keep-rejected (distance pairs) change the pairs."""
    root = _posed(tmp_path / "map", {"a.jpg": 0.0, "b.jpg": 0.0, "c.jpg": 40.0})
    out = tmp_path / "pairs.txt"
    counts = {}
    for variant in ([], ["--loop"], ["--expand-window"]):
        assert kapture_compute_sequence_pairs.main(["--mapping", str(root), "-o", str(out), "--window-size", "1",
                                                    *variant]) == 0
        counts[tuple(variant)] = len(read_pairs(out))
    assert counts == {(): 4, ("--loop",): 6, ("--expand-window",): 6}
    assert kapture_compute_sequence_pairs.main(["--mapping", str(root), "-o", str(out), "--loop",
                                                "--expand-window"]) == 2  # one or the other, as kapture
    assert kapture_compute_distance_pairs.main(["--mapping", str(root), "-o", str(out)]) == 0
    assert len(read_pairs(out)) == 2  # a-b only: c is 40 m away
    assert kapture_compute_distance_pairs.main(["--mapping", str(root), "-o", str(out), "--keep-rejected"]) == 0
    assert len(read_pairs(out)) == 6


def test_duplicate_strategies_as_kapture_localization() -> None:
    """First come first kept: 'ignore' rejects a correspondence whose keypoint or point is already used."""
    kpt, pts = np.array([0, 0, 1, 1, 2, 0]), np.array([10, 11, 10, 12, 13, 10])
    assert deduplicated(kpt, pts, "keep").tolist() == [0, 1, 2, 3, 4, 5]
    assert deduplicated(kpt, pts, "ignore_strict").tolist() == [0, 1, 2, 3, 4]
    assert deduplicated(kpt, pts, "ignore_same_kpid").tolist() == [0, 2, 4]
    assert deduplicated(kpt, pts, "ignore_same_p3did").tolist() == [0, 1, 3, 4]
    assert deduplicated(kpt, pts, "ignore").tolist() == [0, 3, 4]


def test_import_image_folder_names_cameras_as_kapture(tmp_path: Path) -> None:
    """kapture's own kapture_import_image_folder (it runs here: Pillow comes with kapture) is the oracle: the n-th
    file of the sorted listing is record n of camera sensor<n>; a sensors.txt in the folder names the cameras."""
    images = tmp_path / "images"
    for name, (w, h) in {"a.png": (40, 30), "sub/b.png": (40, 30), "sub/c.png": (20, 10)}.items():
        (images / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(images / name), np.full((h, w), 100, np.uint8))
    (images / "notes.txt").write_text("not an image")
    for case in ("plain", "sensors"):
        if case == "sensors":
            (images / "sensors.txt").write_text("# kapture format: 1.1\n"
                                                "cam, , camera, PINHOLE, 40, 30, 50, 50, 20, 15\n")
        ours, theirs = tmp_path / f"ours_{case}", tmp_path / f"theirs_{case}"
        assert kapture_import_image_folder.main(["-i", str(images), "-o", str(ours), "--image_transfer", "skip"]) == 0
        done = _kapture_tool("kapture_import_image_folder", "-i", str(images), "-o", str(theirs), "--image_transfer",
                             "skip")
        assert done.returncode == 0, done.stderr
        assert (ours / "sensors/sensors.txt").read_text() == (theirs / "sensors/sensors.txt").read_text()
        assert (ours / "sensors/records_camera.txt").read_text() == (
            theirs / "sensors/records_camera.txt").read_text()


def test_extract_exif_as_kapture(tmp_path: Path) -> None:
    """kapture's own kapture_extract_exif (Pillow and piexif come with kapture here) on images it can read (EXIF
    GPS with altitude: it fails on the others) writes the sensors and gnss records we write. Northern and eastern
    hemispheres only: kapture's tool never negates south and west (piexif gives the reference as bytes, which its
    test against 'S' / 'W' never matches); ours does (see test_extract_exif_documented_command)."""
    datasets = []
    for side in ("ours", "theirs"):
        root = tmp_path / side
        (root / "sensors/records_data").mkdir(parents=True)
        (root / "sensors/sensors.txt").write_text("# kapture format: 1.1\n"
                                                  "cam, , camera, SIMPLE_PINHOLE, 8, 6, 5, 4, 3\n"
                                                  "cam2, , camera, SIMPLE_PINHOLE, 8, 6, 5, 4, 3\n")
        (root / "sensors/records_camera.txt").write_text("# kapture format: 1.1\n1, cam, a.jpg\n2, cam2, b.jpg\n")
        _jpeg_with_exif(root / "sensors/records_data/a.jpg", _gps_tiff(
            "MM", ((48, 1), (51, 1), (2400, 100)), "N", ((2, 1), (21, 1), (300, 100)), "E", (35, 1)))
        _jpeg_with_exif(root / "sensors/records_data/b.jpg", _gps_tiff(
            "II", ((33, 1), (52, 1), (0, 1)), "N", ((151, 1), (12, 1), (3600, 100)), "E", (5, 2)))
        datasets.append(root)
    assert kapture_extract_exif.main(["-i", str(datasets[0])]) == 0
    done = _kapture_tool("kapture_extract_exif", "-i", str(datasets[1]))
    assert done.returncode == 0, done.stderr
    for name in ("sensors.txt", "records_gnss.txt"):
        assert (datasets[0] / "sensors" / name).read_text() == (datasets[1] / "sensors" / name).read_text(), name


def test_export_ply_folder_form_as_kapture(tmp_path: Path) -> None:
    """kapture's own kapture_export_ply is the oracle: rig, trajectories (with --axis_length) and 3D points files
    byte for byte."""
    root = tmp_path / "ds"
    files = {"sensors/sensors.txt": "cam0, , camera, SIMPLE_PINHOLE, 8, 6, 5, 4, 3\n"
                                    "cam1, , camera, SIMPLE_PINHOLE, 8, 6, 5, 4, 3\n",
             "sensors/rigs.txt": "rig, cam0, 1, 0, 0, 0, 0, 0, 0\n"
                                 "rig, cam1, 0.7071067811865476, 0, 0.7071067811865476, 0, 0.25, 0, 0\n",
             "sensors/records_camera.txt": "0, cam0, a.jpg\n0, cam1, b.jpg\n1, cam0, c.jpg\n",
             "sensors/trajectories.txt": "0, rig, 0.9238795325112867, 0, 0.3826834323650898, 0, 1.5, -2, 0.5\n"
                                         "1, cam0, 1, 0, 0, 0, 3, 0.125, -1\n",
             "reconstruction/points3d.txt": "1.5, -2.25, 3.125, 255, 0, 10\n-0.1, 0.2, 1e-05, 3, 4, 5\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("# kapture format: 1.1\n" + text)
    assert kapture_export_ply.main(["-i", str(root), "-o", str(tmp_path / "ours"), "--axis_length", "0.5",
                                    "--skip", "lidar"]) == 0
    done = _kapture_tool("kapture_export_ply", "-i", str(root), "-o", str(tmp_path / "theirs"), "--axis_length",
                         "0.5", "--skip", "lidar")
    assert done.returncode == 0, done.stderr
    theirs = sorted(p.name for p in (tmp_path / "theirs").iterdir())
    assert theirs == ["points3d.ply", "rig_rig.ply", "trajectories.ply"]
    for name in theirs:
        ours_text, their_text = (tmp_path / "ours" / name).read_text(), (tmp_path / "theirs" / name).read_text()
        ours_rows, their_rows = ours_text.splitlines(), their_text.splitlines()
        assert len(ours_rows) == len(their_rows), name
        different = [(a, b) for a, b in zip(ours_rows, their_rows) if a != b]
        for a, b in different:  # the same layout; a coordinate may differ in its last bits (rotation arithmetic)
            np.testing.assert_allclose([float(v) for v in a.split()], [float(v) for v in b.split()], atol=1e-12)


def _three_images_matched(tmp_path: Path) -> tuple[Path, KaptureFeatureStore]:
    """Three posed images with 4 keypoints each; a.jpg and b.jpg share 2 matches."""
    root = _posed(tmp_path / "ds", {"a.jpg": 0.0, "b.jpg": 1.0, "c.jpg": 2.0})
    store = KaptureFeatureStore(root)
    store.write_type(FeatureType("keypoints", "sift", np.float32, 2))
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        store.write("keypoints", "sift", name, np.arange(8, dtype=np.float32).reshape(4, 2))
    store.write_matches("sift", "a.jpg", "b.jpg", np.array([[0, 1], [2, 3]]))
    return root, store


def test_export_colmap_pairsfile_keeps_its_pairs_matches(tmp_path: Path) -> None:
    """--pairsfile-path filters the matches written to the database (a pair in either order)."""
    root, store = _three_images_matched(tmp_path)
    store.write_matches("sift", "b.jpg", "c.jpg", np.array([[1, 1]]))
    write_pairs(tmp_path / "pairs.txt", [("c.jpg", "b.jpg", 1.0)])
    counts = {}
    for case, extra in (("all", []), ("pairs", ["--pairsfile-path", str(tmp_path / "pairs.txt")])):
        database = tmp_path / f"{case}.db"
        assert kapture_export_colmap.main(["-i", str(root), "-db", str(database), *extra]) == 0
        with sqlite3.connect(database) as db:
            counts[case] = [row[0] for row in db.execute("SELECT rows FROM matches ORDER BY rows")]
    assert counts == {"all": [1, 2], "pairs": [1]}


def test_import_colmap_no_geometric_filtering_takes_raw_matches(tmp_path: Path) -> None:
    """The database's verified matches by default, its raw ones with --no_geometric_filtering (kapture's rule)."""
    root, store = _three_images_matched(tmp_path)
    database = tmp_path / "colmap.db"
    assert kapture_export_colmap.main(["-i", str(root), "-db", str(database)]) == 0
    with sqlite3.connect(database) as db:  # one raw match fewer survives verification
        pair_id, data = db.execute("SELECT pair_id, data FROM two_view_geometries").fetchone()
        db.execute("UPDATE two_view_geometries SET rows = 1, data = ? WHERE pair_id = ?", (data[:8], pair_id))
    counts = {}
    for case, extra in (("verified", []), ("raw", ["--no_geometric_filtering"])):
        out = tmp_path / case
        assert kapture_import_colmap.main(["-db", str(database), "-o", str(out), *extra]) == 0
        k = kcsv.kapture_from_dir(str(out))
        (pair,) = k.matches["SIFT"]
        counts[case] = len(kfeatures.image_matches_from_file(kfeatures.get_matches_fullpath(pair, "SIFT", str(out))))
    assert counts == {"verified": 1, "raw": 2}


def test_data_date_ranges_prints_as_kapture(tmp_path: Path) -> None:
    """kapture's own kapture_data_date_ranges is the oracle (ranges within one day: kapture garbles the others)."""
    root = tmp_path / "ds"
    files = {"sensors/sensors.txt": "cam, , camera, SIMPLE_PINHOLE, 8, 6, 5, 4, 3\ngps, , gnss, EPSG:4326\n",
             "sensors/records_camera.txt": "1600000000123456, cam, a.jpg\n1600000100654321, cam, b.jpg\n",
             "sensors/records_gnss.txt": "1600000000, gps, 1, 2, 3, 0, 1\n1600003600, gps, 1, 2, 3, 0, 1\n"
                                         "1600007200, gps, 1, 2, 3, 0, 1\n",
             "sensors/trajectories.txt": "1600000000123, cam, 1, 0, 0, 0, 0, 0, 0\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        header = "# timestamp, device_id, values\n" if "sensors.txt" not in name else "# sensor_id, ...\n"
        (root / name).write_text("# kapture format: 1.1\n" + header + text)
    done = _kapture_tool("kapture_data_date_ranges", "-k", str(root))
    assert done.returncode == 0, done.stderr
    ours = subprocess.run([sys.executable, "-m", "kapturelike.tools.kapture_data_date_ranges", "-k", str(root)],
                          capture_output=True, text=True, timeout=60)
    assert ours.returncode == 0 and ours.stdout == done.stdout and len(done.stdout.splitlines()) == 3


def test_export_opensfm_folder_form(tmp_path: Path) -> None:
    """kapture's folder form: reconstruction.json, camera_models.json, images/ (--transfer), features/ (npz:
    points, descriptors) and matches/ (gzip pickle: other image -> (M, 2) indices), as OpenSfM reads them."""
    root = _posed(tmp_path / "ds", {"a.jpg": 0.0, "b.jpg": 1.0, "c.jpg": 2.0})
    (root / "sensors/records_data").mkdir(parents=True)
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        _jpeg_with_exif(root / "sensors/records_data" / name, None)
    store = KaptureFeatureStore(root)
    store.write_type(FeatureType("keypoints", "sift", np.float32, 2))
    store.write_type(FeatureType("descriptors", "sift", np.uint8, 4, "sift"))
    for name in ("a.jpg", "b.jpg"):
        store.write("keypoints", "sift", name, np.arange(8, dtype=np.float32).reshape(4, 2))
        store.write("descriptors", "sift", name, np.full((4, 4), 7, np.uint8))
    store.write_matches("sift", "a.jpg", "b.jpg", np.array([[0, 1], [2, 3]]))
    out = tmp_path / "opensfm"
    assert kapture_export_opensfm.main(["-k", str(root), "-o", str(out), "--transfer", "copy", "-kpt", "sift",
                                        "-desc", "sift"]) == 0
    assert json.loads((out / "camera_models.json").read_text()).keys() == {"cam"}
    assert len(json.loads((out / "reconstruction.json").read_text())[0]["shots"]) == 3
    assert sorted(p.name for p in (out / "images").iterdir()) == ["a.jpg", "b.jpg", "c.jpg"]
    assert not (out / "images/a.jpg").is_symlink()
    features = np.load(out / "features/a.jpg.features.npz")
    assert features["points"].shape == (4, 2) and features["descriptors"].shape == (4, 4)
    assert not (out / "features/c.jpg.features.npz").exists()
    with gzip.open(out / "matches/a.jpg_matches.pkl.gz") as f:
        matches = pickle.load(f)
    assert list(matches) == ["b.jpg"] and matches["b.jpg"].tolist() == [[0, 1], [2, 3]]


def test_export_colmap_rig_json_as_kapture(tmp_path: Path) -> None:
    """-rig writes COLMAP's rig configuration; kapture's own kapture_export_colmap writes the same JSON."""
    root = tmp_path / "ds"
    files = {"sensors/sensors.txt": "left, , camera, SIMPLE_PINHOLE, 8, 6, 5, 4, 3\n"
                                    "right, , camera, SIMPLE_PINHOLE, 8, 6, 5, 4, 3\n",
             "sensors/rigs.txt": "rig, left, 1, 0, 0, 0, 0, 0, 0\nrig, right, 1, 0, 0, 0, -0.5, 0, 0\n",
             "sensors/records_camera.txt": "0, left, l/0.jpg\n0, right, r/0.jpg\n1, left, l/1.jpg\n1, right, r/1.jpg\n",
             "sensors/trajectories.txt": "0, rig, 1, 0, 0, 0, 0, 0, 0\n1, rig, 1, 0, 0, 0, -1, 0, 0\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("# kapture format: 1.1\n" + text)
    for side in ("ours", "theirs"):
        args = ["-i", str(root), "-db", str(tmp_path / side / "colmap.db"), "-txt", str(tmp_path / side / "txt"),
                "-rig", str(tmp_path / side / "rig.json")]
        if side == "ours":
            assert kapture_export_colmap.main(args) == 0
        else:
            (tmp_path / side).mkdir()
            done = _kapture_tool("kapture_export_colmap", *args)
            assert done.returncode == 0, done.stderr
    ours, theirs = (json.loads((tmp_path / side / "rig.json").read_text()) for side in ("ours", "theirs"))
    assert ours == theirs and ours[0]["cameras"][1]["image_prefix"] == "r"


def test_import_colmap_rig_as_kapture(tmp_path: Path) -> None:
    """-rig FILE: kapture's own kapture_import_colmap on the same COLMAP model gives the same rigs, records and
    trajectories (a rig's images re-timed together). Also: a model without 3D points reads back."""
    root = tmp_path / "ds"
    files = {"sensors/sensors.txt": "left, , camera, SIMPLE_PINHOLE, 8, 6, 5, 4, 3\n"
                                    "right, , camera, SIMPLE_PINHOLE, 8, 6, 5, 4, 3\n",
             "sensors/records_camera.txt": "0, left, l/0.jpg\n1, right, r/0.jpg\n2, left, l/1.jpg\n3, right, r/1.jpg\n",
             "sensors/trajectories.txt": "0, left, 1, 0, 0, 0, 0, 0, 0\n1, right, 1, 0, 0, 0, -0.5, 0, 0\n"
                                         "2, left, 1, 0, 0, 0, -1, 0, 0\n3, right, 1, 0, 0, 0, -1.5, 0, 0\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("# kapture format: 1.1\n" + text)
    colmap = tmp_path / "colmap"
    assert kapture_export_colmap.main(["-i", str(root), "-db", str(colmap / "colmap.db"), "-txt",
                                       str(colmap / "txt")]) == 0
    (colmap / "rig.json").write_text(json.dumps([{"cameras": [{"camera_id": 1, "image_prefix": "l/"},
                                                              {"camera_id": 2, "image_prefix": "r/"}],
                                                  "ref_camera_id": 1}]))
    args = ["-db", str(colmap / "colmap.db"), "-txt", str(colmap / "txt"), "-rig", str(colmap / "rig.json")]
    assert kapture_import_colmap.main([*args, "-o", str(tmp_path / "ours")]) == 0
    done = _kapture_tool("kapture_import_colmap", *args, "-o", str(tmp_path / "theirs"))
    assert done.returncode == 0, done.stderr
    for name in ("rigs.txt", "records_camera.txt", "trajectories.txt"):
        ours, theirs = ((tmp_path / side / "sensors" / name).read_text() for side in ("ours", "theirs"))
        assert ours == theirs, name
