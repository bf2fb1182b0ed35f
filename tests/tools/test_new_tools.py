"""The tools kapturelike gained as kapture drop-in: upgrade 1.0 -> 1.1, rename features, slice pairs files,
observation pairs, recover timestamps and ids, kapture-localization proxies, depth images, date ranges,
pose approximation, run_colmap_gv. Each on a tiny dataset written here; kapture's tool is the oracle
where kapture ships it."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import cv2
import kapture
import kapture.algo.compare as kcompare
import kapture.io.csv as kcsv
import numpy as np
import pytest

from kapturelike.core.reconstruction import FeatureType, Kapture, Observations
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.io.dataset import load_kapture, save_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import read_pairs, write_pairs
from kapturelike.tools import (
    kapture_colmap_build_map,
    kapture_compute_observations_pairs,
    kapture_create_kapture_proxy,
    kapture_data_date_ranges,
    kapture_export_depth_images,
    kapture_import_colmap,
    kapture_pose_approximation,
    kapture_pose_approximation_from_pairsfile,
    kapture_pycolmap_localize,
    kapture_recover_timestamps_and_ids,
    kapture_rename_features,
    kapture_slice_pairsfile,
    kapture_upgrade_1_0_to_1_1,
    kapture_upgrade_1_0_to_1_1_inplace,
)

KAPTURE_TOOLS = Path(kapture.__file__).resolve().parents[1] / "tools"
V10 = "# kapture format: 1.0\n"
CAM = Camera("SIMPLE_PINHOLE", 8, 6, (5.0, 4.0, 3.0))


def _kapture_tool(name: str, *args: str) -> None:
    done = subprocess.run([sys.executable, str(KAPTURE_TOOLS / f"{name}.py"), *args], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def _v10(root: Path) -> Path:
    """A kapture 1.0 dataset: one keypoints and one descriptors type without folders, one matches file."""
    files = {"sensors/sensors.txt": V10 + "cam, , camera, SIMPLE_PINHOLE, 8, 6, 5, 4, 3\n",
             "sensors/records_camera.txt": V10 + "0, cam, a.jpg\n1, cam, b.jpg\n",
             "sensors/trajectories.txt": V10 + "0, cam, 1, 0, 0, 0, 0, 0, 0\n1, cam, 1, 0, 0, 0, 1, 0, 0\n",
             "reconstruction/keypoints/keypoints.txt": V10 + "sift, float32, 2\n",
             "reconstruction/descriptors/descriptors.txt": V10 + "sift, uint8, 4\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    for i, image in enumerate(("a.jpg", "b.jpg")):
        (np.arange(6, dtype=np.float32) + i).tofile(root / f"reconstruction/keypoints/{image}.kpt")
        np.full(12, i, np.uint8).tofile(root / f"reconstruction/descriptors/{image}.desc")
    (root / "reconstruction/matches/a.jpg.overlapping").mkdir(parents=True)
    np.array([[0, 1, 0.5]]).tofile(root / "reconstruction/matches/a.jpg.overlapping/b.jpg.matches")
    return root


def test_upgrade_1_0_to_1_1(tmp_path: Path) -> None:
    """kapture's own upgrade tool fails on numpy 2 (it imports numpy.float): kapture reads our output."""
    src = _v10(tmp_path / "v10")
    flags = ["--keypoints-type", "sift_kp", "--descriptors-type", "sift_desc"]
    assert kapture_upgrade_1_0_to_1_1.main(["-i", str(src), "-o", str(tmp_path / "ours"), *flags]) == 0
    ours = tmp_path / "ours"
    theirs = kcsv.kapture_from_dir(str(ours))
    assert theirs.format_version == "1.1" and set(theirs.keypoints) == {"sift_kp"}
    assert theirs.descriptors["sift_desc"].keypoints_type == "sift_kp"
    assert theirs.descriptors["sift_desc"].metric_type == "L2"
    assert set(theirs.matches["sift_kp"]) == {("a.jpg", "b.jpg")}
    for old, new in (("keypoints/a.jpg.kpt", "keypoints/sift_kp/a.jpg.kpt"),
                     ("descriptors/b.jpg.desc", "descriptors/sift_desc/b.jpg.desc"),
                     ("matches/a.jpg.overlapping/b.jpg.matches", "matches/sift_kp/a.jpg.overlapping/b.jpg.matches")):
        assert (ours / "reconstruction" / new).read_bytes() == (src / "reconstruction" / old).read_bytes()
    inplace = _v10(tmp_path / "inplace")
    assert kapture_upgrade_1_0_to_1_1_inplace.main(["-i", str(inplace), *flags]) == 0
    assert kcompare.equal_kapture(kcsv.kapture_from_dir(str(inplace)), theirs)


def _dataset(root: Path, n: int = 4, observations: bool = False) -> Path:
    names = [f"im{i}.jpg" for i in range(n)]
    records = Records.camera([((i, "cam"), m) for i, m in enumerate(names)])
    poses = Trajectories.from_items(((i, "cam"), Pose([1.0, 0, 0, 0], [float(i), 0, 0])) for i in range(n))
    k = Kapture(sensors={"cam": CAM}, records={"camera": records}, trajectories=poses)
    if observations:  # point p seen by images p and p+1
        k.points3d = np.zeros((n - 1, 3))
        k.observations = Observations.from_lists([(p, "sift", names[p + d], 0) for p in range(n - 1) for d in (0, 1)])
    save_kapture(k, root)
    store = KaptureFeatureStore(root)
    store.write_type(FeatureType("keypoints", "sift", np.float32, 2))
    store.write_type(FeatureType("global_features", "gem", np.float32, 2))
    for i, name in enumerate(names):
        store.write("keypoints", "sift", name, np.zeros((3, 2), np.float32))
        angle = 0.3 * i
        store.write("global_features", "gem", name, np.array([np.cos(angle), np.sin(angle)], np.float32))
    return root


def test_rename_features_as_kapture(tmp_path: Path) -> None:
    for who in ("ours", "theirs"):
        root = _dataset(tmp_path / who, observations=True)
        KaptureFeatureStore(root).write_matches("sift", "im0.jpg", "im1.jpg", np.array([[0, 1]]))
    args = ["--feature-type", "keypoints", "--current-name", "sift", "--new-name", "orb"]
    assert kapture_rename_features.main(["-i", str(tmp_path / "ours"), *args]) == 0
    _kapture_tool("kapture_rename_features", "-i", str(tmp_path / "theirs"), *args)
    assert kcompare.equal_kapture(kcsv.kapture_from_dir(str(tmp_path / "ours")),
                                  kcsv.kapture_from_dir(str(tmp_path / "theirs")))
    assert set(load_kapture(tmp_path / "ours").keypoints) == {"orb"}


def test_slice_pairsfile(tmp_path: Path) -> None:
    pairs = [("q", f"m{i}", 1.0 - 0.1 * i) for i in range(6)] + [("r", "m0", 0.05)]
    write_pairs(tmp_path / "pairs.txt", pairs)
    argv = ["-i", str(tmp_path / "pairs.txt"), "-o", str(tmp_path / "out.txt"), "--startk", "1", "--topk", "4",
            "--threshold", "0.65"]
    assert kapture_slice_pairsfile.main(argv) == 0
    assert read_pairs(tmp_path / "out.txt") == [("q", "m1", 0.9), ("q", "m2", 0.8), ("q", "m3", 0.7)]


def test_observation_pairs(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "map", observations=True)
    assert kapture_compute_observations_pairs.main(["--mapping", str(root), "-o", str(tmp_path / "p.txt")]) == 0
    got = {(a, b): s for a, b, s in read_pairs(tmp_path / "p.txt")}
    assert got == {("im0.jpg", "im1.jpg"): 1.0, ("im1.jpg", "im0.jpg"): 1.0, ("im1.jpg", "im2.jpg"): 1.0,
                   ("im2.jpg", "im1.jpg"): 1.0, ("im2.jpg", "im3.jpg"): 1.0, ("im3.jpg", "im2.jpg"): 1.0}
    assert kapture_compute_observations_pairs.main(["--mapping", str(root), "-o", str(tmp_path / "i.txt"),
                                                    "--iou"]) == 0
    assert {s for _, _, s in read_pairs(tmp_path / "i.txt")} == {1 / 3, 1 / 2}  # im1 and im2 see 2 points


def test_recover_timestamps_and_ids(tmp_path: Path) -> None:
    ref = _dataset(tmp_path / "ref")
    renumbered = Kapture(sensors={"sensor0": CAM},
                         records={"camera": Records.camera([((7, "sensor0"), "im2.jpg"), ((8, "sensor0"), "x.jpg")])},
                         trajectories=Trajectories.from_items([((7, "sensor0"), Pose([1.0, 0, 0, 0], [5.0, 0, 0])),
                                                               ((8, "sensor0"), Pose([1.0, 0, 0, 0], [6.0, 0, 0]))]))
    save_kapture(renumbered, tmp_path / "loc")
    assert kapture_recover_timestamps_and_ids.main(["-i", str(tmp_path / "loc"), "-ref", str(ref),
                                                    "-o", str(tmp_path / "out")]) == 0
    k = load_kapture(tmp_path / "out")  # x.jpg is not in the reference: left out, as kapture's tool does
    assert k.image_keys() == {"im2.jpg": (2, "cam")} and k.trajectories[(2, "cam")].t.tolist() == [5.0, 0, 0]
    assert len(k.trajectories) == 1


def test_proxy_links_separate_feature_folders(tmp_path: Path) -> None:
    root = _dataset(tmp_path / "ds")
    features = tmp_path / "local_features" / "r2d2_500"
    (features / "keypoints").mkdir(parents=True)
    (root / "reconstruction/keypoints/sift/keypoints.txt").replace(features / "keypoints/keypoints.txt")
    for f in (root / "reconstruction/keypoints/sift").iterdir():
        f.replace(features / "keypoints" / f.name)
    (root / "reconstruction/keypoints/sift").rmdir()
    assert kapture_create_kapture_proxy.main(["-i", str(root), "-o", str(tmp_path / "proxy"),
                                              "-kpt", str(features / "keypoints")]) == 0
    k = load_kapture(tmp_path / "proxy")
    assert set(k.keypoints) == {"r2d2_500"} and len(k.keypoints["r2d2_500"].images) == 4
    assert set(k.global_features) == {"gem"} and len(k.image_names()) == 4


def test_depth_images_and_date_ranges(tmp_path: Path, capsys) -> None:
    root = tmp_path / "ds"
    k = Kapture(sensors={"d": Camera("SIMPLE_PINHOLE", 4, 3, (2.0, 2.0, 1.5), sensor_type="depth")},
                records={"depth": Records("depth", [1_600_000_000_000_000], ["d"], columns=[["d0.depth"]])})
    save_kapture(k, root)
    depth = np.linspace(1.0, 2.0, 12, dtype=np.float32)
    depth[0] = 0.0  # no depth
    (root / "sensors/records_data").mkdir(parents=True, exist_ok=True)
    depth.tofile(root / "sensors/records_data/d0.depth")
    assert kapture_export_depth_images.main(["-i", str(root), "-o", str(tmp_path / "png"), "-r", "1", "2"]) == 0
    image = cv2.imread(str(tmp_path / "png/d0.depth.png"), cv2.IMREAD_UNCHANGED)
    assert image.dtype == np.uint16 and image.shape == (3, 4) and image[0, 0] == 0 and image[2, 3] == 65535
    capsys.readouterr()
    assert kapture_data_date_ranges.main(["-k", str(root)]) == 0
    assert capsys.readouterr().out == ("sensors/records_depth.txt                  timestamp 16 digits from "
                                       "2020/09/13 12:26:40.000000 -> 12:26:40.000000 GMT :            1 records\n")


@pytest.mark.parametrize("method", ["equal_weighted_barycenter", "cosine_similarity",
                                    "barycentric_descriptor_interpolation"])
def test_pose_approximation(tmp_path: Path, method: str) -> None:
    mapping = _dataset(tmp_path / "map")
    query = tmp_path / "query"
    save_kapture(Kapture(sensors={"q": CAM}, records={"camera": Records.camera([((0, "q"), "query.jpg")])}), query)
    store = KaptureFeatureStore(query)
    store.write_type(FeatureType("global_features", "gem", np.float32, 2))
    store.write("global_features", "gem", "query.jpg", np.array([np.cos(0.45), np.sin(0.45)], np.float32))
    assert kapture_pose_approximation.main(["--mapping", str(mapping), "--query", str(query), "-o",
                                            str(tmp_path / "out"), "--topk", "2", method]) == 0
    pose = load_kapture(tmp_path / "out").trajectories[(0, "q")]
    # the two nearest map images are im1 and im2 (centres x = -1, -2): the estimate lies between them
    assert 1.0 <= pose.t[0] <= 2.0 and pose.q.tolist() == pytest.approx([1.0, 0, 0, 0])
    write_pairs(tmp_path / "pairs.txt", [("query.jpg", "im3.jpg", 0.5), ("query.jpg", "im1.jpg", 0.5)])
    assert kapture_pose_approximation_from_pairsfile.main(
        ["--mapping", str(mapping), "--query", str(query), "-o", str(tmp_path / "out2"), "--pairsfile-path",
         str(tmp_path / "pairs.txt"), "equal_weighted_barycenter"]) == 0
    assert load_kapture(tmp_path / "out2").trajectories[(0, "q")].t.tolist() == pytest.approx([2.0, 0, 0])


def test_pycolmap_localize_recovers_a_known_pose(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    camera = Camera("PINHOLE", 640, 480, (500.0, 500.0, 320.0, 240.0))
    points = np.column_stack([rng.uniform(-2, 2, 80), rng.uniform(-1.5, 1.5, 80), rng.uniform(4, 8, 80)])
    q_true, t_true = np.array([0.9998, 0.01, -0.015, 0.005]), np.array([0.2, -0.1, 0.3])
    q_true /= np.linalg.norm(q_true)

    def project(q: np.ndarray, t: np.ndarray) -> np.ndarray:
        w, x, y, z = q
        rotation = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                             [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                             [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
        cam = points @ rotation.T + t
        return (cam[:, :2] / cam[:, 2:] * 500.0 + [320.0, 240.0]).astype(np.float32)

    both = tmp_path / "mapping_query"
    records = Records.camera([((0, "cam"), "map.jpg"), ((1, "cam"), "query.jpg")])
    k = Kapture(sensors={"cam": camera}, records={"camera": records}, points3d=points,
                trajectories=Trajectories.from_items([((0, "cam"), Pose([1.0, 0, 0, 0], [0.0, 0, 0]))]),
                observations=Observations.from_lists([(i, "sift", "map.jpg", i) for i in range(80)]))
    save_kapture(k, both)
    store = KaptureFeatureStore(both)
    store.write_type(FeatureType("keypoints", "sift", np.float32, 2))
    store.write("keypoints", "sift", "map.jpg", project(np.array([1.0, 0, 0, 0]), np.zeros(3)))
    store.write("keypoints", "sift", "query.jpg", project(q_true, t_true))
    store.write_matches("sift", "query.jpg", "map.jpg", np.column_stack([np.arange(80), np.arange(80)]))
    save_kapture(Kapture(sensors={"cam": camera}, records={"camera": Records.camera([((1, "cam"), "query.jpg")])}),
                 tmp_path / "query")
    write_pairs(tmp_path / "pairs.txt", [("query.jpg", "map.jpg", 1.0)])
    command = (f"-i {both} --query {tmp_path / 'query'} -o {tmp_path / 'out'} --pairsfile-path "
               f"{tmp_path / 'pairs.txt'} --max-error 4 --min-inlier-ratio 0.1 --confidence 0.9999")
    assert kapture_pycolmap_localize.main(command.split()) == 0
    pose = load_kapture(tmp_path / "out").trajectories[(1, "cam")]
    np.testing.assert_allclose(pose.t, t_true, atol=1e-4)
    np.testing.assert_allclose(np.abs(pose.q @ q_true), 1.0, atol=1e-6)
    # kapture-localization's re-ranking and detailed report (OUTPUT/pycolmap_cache/<image>.json)
    command += " -f --rerank-strategy correspondences_count --write-detailed-report"
    assert kapture_pycolmap_localize.main(command.split()) == 0
    report = json.loads((tmp_path / "out/pycolmap_cache/query.jpg.json").read_text())
    assert report["num_correspondences"] == 80 and len(report["num_inliers"]) == 80 and all(report["inliers"])
    assert report["reprojection_error"] < 0.01



def test_colmap_build_map_triangulates_known_poses(tmp_path: Path, monkeypatch) -> None:
    """The tutorial's command line (COLMAP options included) triangulates with pycolmap; the model reads back."""
    rng = np.random.default_rng(1)
    camera = Camera("PINHOLE", 640, 480, (500.0, 500.0, 320.0, 240.0))
    points = np.column_stack([rng.uniform(-2, 2, 40), rng.uniform(-1.5, 1.5, 40), rng.uniform(4, 8, 40)])
    centres = {"a.jpg": 0.0, "b.jpg": -0.5}  # translations along x: a baseline of 0.5
    root = tmp_path / "mapping"
    records = Records.camera([((i, "cam"), n) for i, n in enumerate(centres)])
    poses = Trajectories.from_items(((i, "cam"), Pose([1.0, 0, 0, 0], [x, 0.0, 0.0]))
                                    for i, x in enumerate(centres.values()))
    save_kapture(Kapture(sensors={"cam": camera}, records={"camera": records}, trajectories=poses), root)
    store = KaptureFeatureStore(root)
    store.write_type(FeatureType("keypoints", "sift", np.float32, 2))
    for name, x in centres.items():
        cam = points + [x, 0.0, 0.0]
        store.write("keypoints", "sift", name, (cam[:, :2] / cam[:, 2:] * 500.0 + [320.0, 240.0]).astype(np.float32))
    store.write_matches("sift", "a.jpg", "b.jpg", np.column_stack([np.arange(40), np.arange(40)]))
    write_pairs(tmp_path / "pairs.txt", [("a.jpg", "b.jpg", 1.0)])
    monkeypatch.chdir(tmp_path)
    command = ("kapture_colmap_build_map.py -v info -i ./mapping --pairsfile-path ./pairs.txt -o ./mapping_colmap "
               "--use-colmap-matches-importer --Mapper.ba_refine_focal_length 0")
    assert kapture_colmap_build_map.main(command.split()[1:]) == 0
    # colmap.db as kapture's tool fills it, with the model's image ids
    db = sqlite3.connect(tmp_path / "mapping_colmap/colmap.db")
    counts = {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("cameras", "images", "keypoints", "descriptors", "matches", "two_view_geometries")}
    db_ids = dict(db.execute("SELECT name, image_id FROM images"))
    db.close()
    assert counts == {"cameras": 1, "images": 2, "keypoints": 2, "descriptors": 0, "matches": 1,
                      "two_view_geometries": 1}
    model = (tmp_path / "mapping_colmap/reconstruction/images.txt").read_text().splitlines()
    assert {r.split()[-1]: int(r.split()[0]) for r in model if r.endswith(".jpg")} == db_ids
    assert kapture_import_colmap.main(["-db", "mapping_colmap/colmap.db", "-txt", "mapping_colmap/reconstruction",
                                       "-o", "imported"]) == 0
    triangulated = load_kapture(tmp_path / "imported").points3d[:, :3]
    assert len(triangulated) == 40
    nearest = np.linalg.norm(triangulated[:, None] - points[None], axis=2).min(axis=1)
    assert nearest.max() < 1e-3
