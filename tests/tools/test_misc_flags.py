"""kapture flags that act: kapture_evaluate's image choice and plot options, kapture_import_opensfm's
--transfer / --keypoints-type / --descriptors-type, kapture_export_ply's lidar point clouds."""

from __future__ import annotations

import gzip
import importlib.util
import json
import math
import os
import pickle
from pathlib import Path

import cv2
import kapture
import kapture.io.csv as kcsv
import numpy as np
import pytest

from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera, Sensor
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.errors import FormatError
from kapturelike.evaluation.threshold_plot import _CAP_EM, PIXELS_PER_POINT, PlotOptions, render_plot
from kapturelike.io.dataset import save_kapture
from kapturelike.io.point_cloud import lzf_decompress, read_point_cloud
from kapturelike.tools import kapture_evaluate, kapture_export_ply, kapture_import_opensfm


# ------------------------------------------------------------------------------------------ kapture_evaluate
def _posed(root: Path, names: list[str], offsets: dict[str, float]) -> Path:
    """One camera; image i at x = i + offsets[name] metres; an image without an offset has no pose."""
    records = Records.camera([((i, "cam"), n) for i, n in enumerate(names)])
    traj = Trajectories.from_items(((i, "cam"), Pose([1, 0, 0, 0], [-(i + offsets[n]), 0, 0]))
                                   for i, n in enumerate(names) if n in offsets)
    save_kapture(Kapture(sensors={"cam": Camera("SIMPLE_PINHOLE", 8, 6, (5.0, 4.0, 3.0))}, trajectories=traj,
                         records={"camera": records}), root)
    return root


def _scores(path: Path) -> dict[str, tuple[float, float]]:
    return {name: (float(p), float(r)) for name, p, r in (line.split() for line in path.read_text().splitlines())}


def test_evaluate_without_image_list_takes_every_ground_truth_image(tmp_path: Path) -> None:
    """Without -l, kapture-localization's kapture_evaluate (tools/kapture_evaluate.py, evaluate_command_line:
    ``image_set = set(image_name for _, _, image_name in kapture.flatten(gt_kapture.records_camera))``) takes
    every image of the ground truth's camera records, posed or not; its ``evaluate``
    (kapture_localization/evaluation.py) scores the images posed in both, appends (name, nan, nan) for every
    other image of the set and sorts; stats.txt divides by the size of the set. Worked here: the ground truth
    records a, b, c, d and poses a, b, c; the input poses a (0.1 m off) and b (1 m off): 2 of 4 images found,
    25 % within 0.25 m / 0.5 m, 50 % within 5 m (the rule 'posed ground-truth images only' gives 3 images).
    An input posing d, which has no ground-truth pose, makes kapture-localization fail on a missing key:
    here a one-line error that points to -l."""
    names = ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
    gt = _posed(tmp_path / "gt", names, {"a.jpg": 0.0, "b.jpg": 0.0, "c.jpg": 0.0})
    estimate = _posed(tmp_path / "est", names, {"a.jpg": 0.1, "b.jpg": 1.0})
    out = tmp_path / "eval"
    assert kapture_evaluate.main(["-i", str(estimate), "--labels", "run", "-gt", str(gt), "-o", str(out)]) == 0
    scores = _scores(out / "scores_run.txt")
    assert list(scores) == names
    assert scores["a.jpg"][0] == pytest.approx(0.1) and scores["b.jpg"][0] == pytest.approx(1.0)
    assert all(math.isnan(v) for n in ("c.jpg", "d.jpg") for v in scores[n])
    stats = (out / "stats.txt").read_text()
    assert "Found 2 / 4 image positions (50.00 %)." in stats
    assert "(0.25m, 2.0 deg): 25.00%\n(0.5m, 5.0 deg): 25.00%\n(5.0m, 10.0 deg): 50.00%\n" in stats
    # -l keeps its meaning: only the listed images
    (tmp_path / "list.txt").write_text("a.jpg\nc.jpg\n")
    assert kapture_evaluate.main(["-i", str(estimate), "--labels", "run", "-gt", str(gt), "-o", str(out), "-f",
                                  "-l", str(tmp_path / "list.txt")]) == 0
    assert "Found 1 / 2 image positions (50.00 %)." in (out / "stats.txt").read_text()
    # an estimate for an image the ground truth does not pose cannot be scored
    unscorable = _posed(tmp_path / "est_d", names, {"a.jpg": 0.1, "d.jpg": 0.0})
    assert kapture_evaluate.main(["-i", str(unscorable), "-gt", str(gt), "-o", str(tmp_path / "e2")]) == 1


def _results(errors: list[float]) -> list[tuple[str, float, float]]:
    return [(f"{i}.jpg", e, 0.0) for i, e in enumerate(errors)]


def _legend_box(labels: list[str], results: list, options: PlotOptions) -> tuple[int, int, int, int]:
    """Bounding box (left, top, right, bottom) of what the legend adds to the plot."""
    with_legend, without = render_plot(labels, results, options), render_plot([], results, options)
    rows, cols = np.nonzero((with_legend != without).any(axis=2))
    return cols.min(), rows.min(), cols.max(), rows.max()


@pytest.mark.parametrize("loc, horizontal, vertical", [("upper left", "left", "top"), ("upper right", "right", "top"),
                                                       ("lower left", "left", "bottom"),
                                                       ("lower right", "right", "bottom"),
                                                       ("center", "middle", "middle"),
                                                       ("right", "right", "middle")])
def test_plot_legend_goes_where_asked(loc: str, horizontal: str, vertical: str) -> None:
    results = [_results([0.5] * 4), _results([0.2, 0.9, math.nan, 0.3])]
    left, top, right, bottom = _legend_box(["first", "second"], results, PlotOptions(legend_loc=loc))
    h, w = 600, 800
    centre_x, centre_y = (left + right) / 2, (top + bottom) / 2
    assert {"left": centre_x < w / 3, "right": centre_x > 2 * w / 3, "middle": w / 3 < centre_x < 2 * w / 3}[horizontal]
    assert {"top": centre_y < h / 3, "bottom": centre_y > 2 * h / 3, "middle": h / 3 < centre_y < 2 * h / 3}[vertical]


def test_plot_best_legend_avoids_the_curves() -> None:
    """A curve rising along the diagonal crosses the upper right corner (matplotlib's first choice): 'best'
    takes the next free place in matplotlib's order, upper left; a curve flat at 0 % leaves upper right free."""
    diagonal = [_results(list(np.linspace(0.0, 1.0, 50)))]
    left, top, right, bottom = _legend_box(["run"], diagonal, PlotOptions())
    assert right < 400 and bottom < 300
    nothing_found = [_results([math.nan] * 5)]
    left, top, right, bottom = _legend_box(["run"], nothing_found, PlotOptions())
    assert left > 400 and bottom < 300


def _title_ink_height(img: np.ndarray) -> int:
    """Rows of ink above the axes' frame (the first row with a long black line), in the middle columns."""
    frame_top = int(np.flatnonzero(((img == 0).all(axis=2)).sum(axis=1) > 300)[0])
    rows = np.flatnonzero((img[:frame_top - 1, 300:500] < 128).any(axis=(1, 2)))
    return int(rows.max() - rows.min() + 1)


def test_plot_font_sizes_size_the_text() -> None:
    """--plot-font-size (points; the title is 1.2 times it, as matplotlib's 'large') and
    --plot-legend-font-size scale the drawn text."""
    results = [_results([0.1, 0.4, 0.7])]
    heights = {size: _title_ink_height(render_plot(["run"], results, PlotOptions(title="HH", font_size=size)))
               for size in (10, 15, 25)}
    for size, height in heights.items():  # a capital of 1.2 * size points, at the canvas' pixels per point
        assert abs(height - 1.2 * size * PIXELS_PER_POINT * _CAP_EM) <= 3
    legend = {size: _legend_box(["run"], results, PlotOptions(legend_loc="upper left", legend_font_size=size))
              for size in (8, 16)}
    small, large = ((b[2] - b[0], b[3] - b[1]) for b in (legend[8], legend[16]))
    assert 1.6 < large[0] / small[0] < 2.4 and 1.6 < large[1] / small[1] < 2.4


def test_evaluate_tool_applies_plot_flags(tmp_path: Path) -> None:
    names = ["a.jpg", "b.jpg", "c.jpg"]
    gt = _posed(tmp_path / "gt", names, {n: 0.0 for n in names})
    estimate = _posed(tmp_path / "est", names, {"a.jpg": 0.1, "b.jpg": 0.3, "c.jpg": 0.6})
    plots = {}
    for loc in ("upper left", "lower right"):
        out = tmp_path / loc.replace(" ", "_")
        assert kapture_evaluate.main(["-i", str(estimate), "-gt", str(gt), "-o", str(out), "--plot-loc", loc,
                                      "--plot-font-size", "12", "--plot-legend-font-size", "14"]) == 0
        plots[loc] = cv2.imread(str(out / "plot.png"))
    changed = np.nonzero((plots["upper left"] != plots["lower right"]).any(axis=2))
    assert changed[0].min() < 300 < changed[0].max() and changed[1].min() < 400 < changed[1].max()


# ------------------------------------------------------------------------------------------ kapture_import_opensfm
def _opensfm_folder(root: Path) -> Path:
    """A tiny OpenSfM project: three shots of one perspective camera (not in name order, with capture times),
    four points (ids 0, 1, 10, 2), images, EXIF GPS for two images, HAHOG-like features for all three,
    matches a-b (in a.jpg's file) and c-a (in c.jpg's file: reversed order)."""
    names = ["a.jpg", "b.jpg", "c.jpg"]
    shots = {n: {"camera": "cam", "rotation": [0.1 * i, 0.0, 0.2], "translation": [float(i), 0.5, -1.0],
                 "capture_time": 1500000000.0 + 7 * i} for i, n in ((2, "c.jpg"), (0, "a.jpg"), (1, "b.jpg"))}
    points = {str(i): {"coordinates": [1.0 + i, 2.0, 3.0 - i], "color": [255, i, 10]} for i in (0, 1, 10, 2)}
    cameras = {"cam": {"projection_type": "perspective", "width": 64, "height": 48, "focal": 0.9, "k1": 0.01,
                       "k2": -0.002}}
    root.mkdir(parents=True)
    (root / "reconstruction.json").write_text(json.dumps([{"cameras": cameras, "shots": shots, "points": points}]))
    rng = np.random.default_rng(0)
    for sub in ("images", "exif", "features", "matches"):
        (root / sub).mkdir()
    for i, n in enumerate(names):
        cv2.imwrite(str(root / "images" / n), np.full((48, 64, 3), 40 * i, np.uint8))
        np.savez(root / "features" / f"{n}.features.npz", points=rng.random((5 + i, 4)).astype(np.float32),
                 descriptors=rng.integers(0, 255, (5 + i, 128)).astype(np.uint8))
    for i, n in enumerate(names[:2]):
        (root / "exif" / f"{n}.exif").write_text(json.dumps({"gps": {"latitude": 48.0 + i, "longitude": 2.5,
                                                                     "altitude": 30.0 * i, "dop": 5.0}}))
    for first, second, m in (("a.jpg", "b.jpg", [[0, 1], [2, 3]]), ("c.jpg", "a.jpg", [[4, 0]])):
        with gzip.open(root / "matches" / f"{first}_matches.pkl.gz", "wb") as f:
            pickle.dump({second: np.array(m, np.int32)}, f)
    return root


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_import_opensfm_folder_as_kapture(tmp_path: Path) -> None:
    """kapture's import_opensfm (kapture/converter/opensfm/import_opensfm.py, called as a function) and ours on
    the same OpenSfM folder, with --transfer copy and given feature types: the same files, byte for byte
    (sensors with GPS_cam, records and trajectories timestamped 0, 1, 2 in the file's shot order, records_gnss,
    points in the text order of their ids, copied images, keypoints, descriptors, matches with c-a kept in its
    reversed order)."""
    from kapture.converter.opensfm.import_opensfm import import_opensfm
    from kapture.io.records import TransferAction

    folder = _opensfm_folder(tmp_path / "opensfm")
    import_opensfm(str(folder), str(tmp_path / "theirs"), True, TransferAction.copy, "HAHOG_kpt", "HAHOG_desc")
    assert kapture_import_opensfm.main(["-i", str(folder), "-o", str(tmp_path / "ours"), "--transfer", "copy",
                                        "--keypoints-type", "HAHOG_kpt", "--descriptors-type", "HAHOG_desc"]) == 0
    theirs, ours = _tree(tmp_path / "theirs"), _tree(tmp_path / "ours")
    assert sorted(theirs) == sorted(ours)
    assert "reconstruction/keypoints/HAHOG_kpt/a.jpg.kpt" in ours
    assert "reconstruction/matches/HAHOG_kpt/c.jpg.overlapping/a.jpg.matches" in ours
    assert "sensors/records_gnss.txt" in ours and "sensors/records_data/b.jpg" in ours
    assert ours["sensors/records_camera.txt"].decode().splitlines()[-3:] == ["0, cam, c.jpg", "1, cam, a.jpg",
                                                                              "2, cam, b.jpg"]
    for name in theirs:
        assert ours[name] == theirs[name], name
    assert not (tmp_path / "ours/sensors/records_data/a.jpg").is_symlink()


def test_import_opensfm_transfer_and_default_types(tmp_path: Path) -> None:
    """kapture's tool defaults: images linked (link_absolute), features as HessianAffine / HOG; skip leaves
    the images out; a matches pickle holding anything but arrays is refused, not run."""
    folder = _opensfm_folder(tmp_path / "opensfm")
    assert kapture_import_opensfm.main(["-i", str(folder), "-o", str(tmp_path / "linked")]) == 0
    image = tmp_path / "linked/sensors/records_data/a.jpg"
    assert image.is_symlink() and Path(os.readlink(image)) == (folder / "images/a.jpg").resolve()
    reference = kcsv.kapture_from_dir(str(tmp_path / "linked"))
    assert set(reference.keypoints) == {"HessianAffine"} and set(reference.descriptors) == {"HOG"}
    assert reference.descriptors["HOG"].keypoints_type == "HessianAffine"
    assert set(reference.matches["HessianAffine"]) == {("a.jpg", "b.jpg"), ("c.jpg", "a.jpg")}  # as stored
    assert kapture_import_opensfm.main(["-i", str(folder), "-o", str(tmp_path / "skipped"), "--transfer",
                                        "skip"]) == 0
    assert not (tmp_path / "skipped/sensors/records_data").exists()
    with gzip.open(folder / "matches" / "b.jpg_matches.pkl.gz", "wb") as f:
        pickle.dump({"c.jpg": Path("x")}, f)
    assert kapture_import_opensfm.main(["-i", str(folder), "-o", str(tmp_path / "bad")]) == 1


# ------------------------------------------------------------------------------------------ kapture_export_ply lidar
def _lidar_dataset(root: Path) -> dict[str, np.ndarray]:
    """Two lidars: lidar0 posed itself at 0, lidar1 in a rig posed at 0 and 1; four point cloud records in
    four formats (ascii pcd, binary ply with an intensity, binary pcd, xyz), the last (at 2) without pose.
    Returns each record's points in the lidar frame."""
    rng = np.random.default_rng(1)
    clouds = {name: rng.normal(size=(n, 3)) for name, n in (("l0/0.pcd", 4), ("l1/0.ply", 5), ("l1/1.pcd", 3),
                                                            ("l0/2.xyz", 2))}
    folder = root / "sensors/records_data"
    for name in clouds:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
    header = "VERSION .7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH {n}\nHEIGHT 1\n" \
             "VIEWPOINT 0 0 0 1 0 0 0\nPOINTS {n}\nDATA {kind}\n"
    ascii_points = clouds["l0/0.pcd"].astype(np.float32)
    (folder / "l0/0.pcd").write_text(header.format(n=4, kind="ascii")
                                     + "".join(f"{x!r} {y!r} {z!r}\n" for x, y, z in ascii_points.tolist()))
    clouds["l0/0.pcd"] = ascii_points.astype(np.float64)
    binary_points = clouds["l1/1.pcd"].astype(np.float32)
    (folder / "l1/1.pcd").write_bytes(header.format(n=3, kind="binary").encode() + binary_points.tobytes())
    clouds["l1/1.pcd"] = binary_points.astype(np.float64)
    vertex = np.zeros(5, [("x", "<f8"), ("y", "<f8"), ("z", "<f8"), ("intensity", "<f4")])
    vertex["x"], vertex["y"], vertex["z"] = clouds["l1/0.ply"].T
    (folder / "l1/0.ply").write_bytes(b"ply\nformat binary_little_endian 1.0\nelement vertex 5\nproperty double x\n"
                                      b"property double y\nproperty double z\nproperty float intensity\nend_header\n"
                                      + vertex.tobytes())
    (folder / "l0/2.xyz").write_text("".join(f"{x!r} {y!r} {z!r}\n" for x, y, z in clouds["l0/2.xyz"].tolist()))
    rig_pose = Pose([np.cos(0.2), 0, np.sin(0.2), 0], [0.5, -0.1, 0.3])
    traj = Trajectories.from_items([((0, "lidar0"), Pose([np.cos(0.4), np.sin(0.4), 0, 0], [1.0, 2.0, 3.0])),
                                    ((0, "rig"), Pose([1, 0, 0, 0], [0.0, 0.0, -2.0])),
                                    ((1, "rig"), Pose([np.cos(0.3), 0, 0, np.sin(0.3)], [4.0, 0.0, 1.0]))])
    records = Records("lidar", [0, 0, 1, 2], ["lidar0", "lidar1", "lidar1", "lidar0"],
                      values=[("l0/0.pcd",), ("l1/0.ply",), ("l1/1.pcd",), ("l0/2.xyz",)])
    save_kapture(Kapture(sensors={"lidar0": Sensor("lidar"), "lidar1": Sensor("lidar")},
                         rigs={"rig": {"lidar1": rig_pose}}, trajectories=traj, records={"lidar": records}), root)
    return clouds


def _open3d_ply(path: Path) -> np.ndarray:
    data = path.read_bytes()
    header = data[:data.index(b"end_header\n") + len(b"end_header\n")]
    assert header.startswith(b"ply\nformat binary_little_endian 1.0\ncomment Created by Open3D\nelement vertex ")
    assert header.endswith(b"property double x\nproperty double y\nproperty double z\nend_header\n")
    return np.frombuffer(data[len(header):], "<f8").reshape(-1, 3)


def test_export_ply_lidar_point_clouds_in_the_world(tmp_path: Path) -> None:
    """Worked from kapture's export_ply (kapture/tools/kapture_export_ply.py, its CHOICE_LIDAR part): each lidar
    record's cloud, moved by the inverse of its lidar-from-world pose (through the rig: lidar_from_rig *
    rig_from_world, kapture's rigs_remove), goes to OUT/records_data/<lidar>/<timestamp>.ply as open3d writes
    it (binary, double x y z); a record without pose gets its folder and no file; --skip lidar writes none."""
    clouds = _lidar_dataset(tmp_path / "k")
    out = tmp_path / "ply"
    assert kapture_export_ply.main(["-i", str(tmp_path / "k"), "-o", str(out), "--only", "lidar"]) == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.ply"))
    assert written == ["records_data/lidar0/0.ply", "records_data/lidar1/0.ply", "records_data/lidar1/1.ply"]
    assert (out / "records_data/lidar0").is_dir() and not (out / "records_data/lidar0/2.ply").exists()
    lidar0 = Pose([np.cos(0.4), np.sin(0.4), 0, 0], [1.0, 2.0, 3.0])
    rig_pose = Pose([np.cos(0.2), 0, np.sin(0.2), 0], [0.5, -0.1, 0.3])
    expected = {"lidar0/0": (lidar0, clouds["l0/0.pcd"])}
    for timestamp, rig in ((0, Pose([1, 0, 0, 0], [0.0, 0.0, -2.0])),
                           (1, Pose([np.cos(0.3), 0, 0, np.sin(0.3)], [4.0, 0.0, 1.0]))):
        q, t = P.compose(np.array(rig_pose.q), np.array(rig_pose.t), np.array(rig.q), np.array(rig.t))
        expected[f"lidar1/{timestamp}"] = (Pose(q, t), clouds["l1/0.ply" if timestamp == 0 else "l1/1.pcd"])
    for name, (pose, points) in expected.items():
        q, t = P.normalize_quaternions(np.array(pose.q)), np.array(pose.t)
        world = (P.quat_to_rotmat(q).T @ (points - t).T).T  # lidar_from_world^-1
        assert np.allclose(_open3d_ply(out / f"records_data/{name}.ply"), world, atol=1e-12), name
    assert kapture_export_ply.main(["-i", str(tmp_path / "k"), "-o", str(tmp_path / "none"), "--skip",
                                    "lidar"]) == 0
    assert not (tmp_path / "none/records_data").exists()


def test_export_ply_lidar_as_kapture(tmp_path: Path) -> None:
    """kapture's export_ply, whose lidar part needs open3d (not a kapturelike dependency: skipped without
    it), writes the same files, byte for byte; our reader reads what open3d writes in its other formats."""
    pytest.importorskip("open3d")
    script = Path(kapture.__file__).resolve().parents[1] / "tools" / "kapture_export_ply.py"  # pip puts it there
    spec = importlib.util.spec_from_file_location("kapture_tool_export_ply", script)
    theirs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(theirs)

    _lidar_dataset(tmp_path / "k")
    # kapture loads no trajectories without the trajectories part, and then fails on lidar records
    assert kapture_export_ply.main(["-i", str(tmp_path / "k"), "-o", str(tmp_path / "ours"), "--only", "lidar",
                                    "trajectories"]) == 0
    theirs.export_ply(str(tmp_path / "k"), str(tmp_path / "theirs"), 0.1, only=["lidar", "trajectories"])
    ours_files = sorted(p.relative_to(tmp_path / "ours") for p in (tmp_path / "ours").rglob("*"))
    assert ours_files == sorted(p.relative_to(tmp_path / "theirs") for p in (tmp_path / "theirs").rglob("*"))
    for name in ours_files:
        if name.suffix == ".ply":
            assert (tmp_path / "ours" / name).read_bytes() == (tmp_path / "theirs" / name).read_bytes(), name

    import open3d

    cloud = open3d.geometry.PointCloud()
    cloud.points = open3d.utility.Vector3dVector(np.random.default_rng(2).normal(size=(50, 3)))
    for name, options in (("c.pcd", {"compressed": True}), ("b.pcd", {}), ("a.pcd", {"write_ascii": True}),
                          ("a.ply", {"write_ascii": True}), ("p.xyz", {})):
        open3d.io.write_point_cloud(str(tmp_path / name), cloud, **options)
        expected = np.asarray(open3d.io.read_point_cloud(str(tmp_path / name)).points)
        assert np.allclose(read_point_cloud(tmp_path / name), expected, atol=1e-6), name


def test_point_cloud_reader_formats(tmp_path: Path) -> None:
    """LZF streams (literal runs, overlapping back references) and PCD binary_compressed (field by field)."""
    assert lzf_decompress(b"\x02abc\x80\x02", 9) == b"abcabcabc"
    points = np.arange(12, dtype=np.float32).reshape(4, 3)
    columns = points.T.tobytes()  # x x x x y y y y z z z z
    stream = b"".join(bytes([len(columns[i:i + 32]) - 1]) + columns[i:i + 32] for i in range(0, len(columns), 32))
    header = ("VERSION .7\nFIELDS x y z\nSIZE 4 4 4\nTYPE F F F\nCOUNT 1 1 1\nWIDTH 4\nHEIGHT 1\n"
              "VIEWPOINT 0 0 0 1 0 0 0\nPOINTS 4\nDATA binary_compressed\n")
    (tmp_path / "c.pcd").write_bytes(header.encode() + np.array([len(stream), len(columns)], "<u4").tobytes()
                                     + stream)
    assert np.array_equal(read_point_cloud(tmp_path / "c.pcd"), points)
    (tmp_path / "a.ply").write_text("ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n"
                                    "property float z\nproperty uchar red\nend_header\n1 2 3 9\n4 5 6 9\n")
    assert read_point_cloud(tmp_path / "a.ply").tolist() == [[1, 2, 3], [4, 5, 6]]
    (tmp_path / "bad.pcd").write_text("FIELDS x y\nDATA ascii\n")
    with pytest.raises(FormatError, match="bad.pcd"):
        read_point_cloud(tmp_path / "bad.pcd")
