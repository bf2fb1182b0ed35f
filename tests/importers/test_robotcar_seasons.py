"""kapture_import_RobotCar_Seasons on a tiny two-location dataset in its raw layout, against kapture's importer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kapturelike.core import pose as P
from kapturelike.importers.common import TransferAction
from kapturelike.importers.robotcar_seasons import RobotCarOptions, import_robotcar_seasons
from kapturelike.io.dataset import load_kapture, records_data_path
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.tools import kapture_import_RobotCar_Seasons

from .oracle import assert_same_kapture, kapture_tool, transfer
from .test_7scenes import camera_to_world

# location -> COLMAP images (id, camera id, name)
MODELS = {1: [(1, 2, "overcast-reference/rear/1000.png"), (2, 1, "overcast-reference/left/1000.png"),
              (3, 2, "overcast-reference/rear/2000.png")],
          2: [(1, 3, "overcast-reference/right/3000.png")]}
QUERIES = {1: ["night/rear/5000.jpg", "night/left/5000.jpg", "night/right/5000.jpg", "dawn/rear/6000.jpg"],
           2: ["snow/rear/7000.jpg"]}


def write_model(folder: Path, images: list[tuple[int, int, str]]) -> None:
    folder.mkdir(parents=True)
    (folder / "cameras.txt").write_text("".join(f"{c} SIMPLE_RADIAL 1024 1024 {400 + c} 512 512 0.0{c}\n"
                                                for c in (1, 2, 3)))
    lines, tracks = [], {0: [], 1: []}
    for image_id, cam, name in images:
        q, t = P.from_matrix(np.linalg.inv(camera_to_world(image_id + 10 * cam)))
        lines.append(" ".join(map(repr, [image_id, *q.tolist(), *t.tolist(), cam])) + f" {name}")
        lines.append(f"{10.5 * image_id} 20.25 0 30 40.5 1 50.75 60 -1")
        tracks[0].append(f"{image_id} 0")
        tracks[1].append(f"{image_id} 1")
    (folder / "images.txt").write_text("\n".join(lines) + "\n")
    (folder / "points3D.txt").write_text(f"0 1 2 3 255 0 0 0.5 {' '.join(tracks[0])}\n"
                                         f"1 -1 2.5 4 0 255 0 0.25 {' '.join(tracks[1])}\n")


def make_robotcar(root: Path) -> None:
    for cam, c in (("left", 1), ("rear", 2), ("right", 3)):
        (root / "intrinsics").mkdir(parents=True, exist_ok=True)
        (root / "intrinsics" / f"{cam}_intrinsics.txt").write_text(
            f"fx: {964.8 + c}\nfy: {964.8 + c}\ncx: 613.5\ncy: {514.6 + c}\n")
        (root / "extrinsics").mkdir(exist_ok=True)
        M = camera_to_world(100 + c)
        (root / "extrinsics" / f"{cam}_extrinsics.txt").write_text(
            "\n".join(",".join(repr(float(v)) for v in row) for row in M) + "\n")
    individual = root / "3D-models" / "individual"
    for loc, images in MODELS.items():
        write_model(individual / "colmap_reconstructions" / f"{loc:02d}_overcast-reference", images)
        (individual / "queries_per_location").mkdir(parents=True, exist_ok=True)
        (individual / "queries_per_location" / f"queries_location_{loc}.txt").write_text("\n".join(QUERIES[loc]))
    M = camera_to_world(77)
    (root / "robotcar_v2_train.txt").write_text(
        "night/rear/5000.png " + " ".join(repr(float(v)) for v in M.reshape(-1)) + "\n")
    (root / "images").mkdir()


def test_robotcar_by_hand(tmp_path: Path) -> None:
    make_robotcar(tmp_path / "raw")
    out = tmp_path / "kapture"
    assert kapture_import_RobotCar_Seasons.main(["-i", str(tmp_path / "raw"), "-o", str(out), "-q"]) == 0
    mapping = load_kapture(out / "01" / "mapping")
    # v2: the training query moved to mapping with its left/right images, its pose the file's inverse
    pose = mapping.trajectories[5000, "rear"]
    np.testing.assert_allclose(P.to_matrix(pose.q, pose.t) @ camera_to_world(77), np.eye(4), atol=1e-12)
    assert mapping.records["camera"][5000, "left"] == "night/left/5000.jpg"
    assert mapping.records["camera"][1000, "rear"] == "overcast-reference/rear/1000.jpg"
    assert set(mapping.sensors) == {"left", "rear", "right"} and mapping.sensors["rear"].model == "PINHOLE"
    assert len(mapping.points3d) == 2 and len(mapping.observations) == 6
    kpts = KaptureFeatureStore(out / "01" / "mapping").read("keypoints", "SIFT", "overcast-reference/rear/2000.jpg")
    assert kpts[0].tolist() == [31.5, 20.25]
    query = load_kapture(out / "01" / "query")
    assert query.records["camera"].paths == ["dawn/rear/6000.jpg"]
    assert records_data_path(out / "01" / "query").is_symlink()  # root_link by default
    car = mapping.rigs["car"]["rear"]  # sensor-from-car: the inverse of the extrinsics file
    np.testing.assert_allclose(P.to_matrix(car.q, car.t) @ camera_to_world(102), np.eye(4), atol=1e-12)
    assert kapture_import_RobotCar_Seasons.main(["-i", str(tmp_path / "raw"), "-o", str(out), "-q", "-f",
                                                 "--rig_collapse", "--skip_reconstruction", "--v1"]) == 0
    mapping = load_kapture(out / "01" / "mapping")
    assert set(mapping.trajectories.device_ids) == {"car"} and len(mapping.trajectories) == 2
    assert mapping.points3d is None and len(load_kapture(out / "01" / "query").records["camera"]) == 4


def test_robotcar_feature_db(tmp_path: Path) -> None:
    """--import_feature_db: 3D-models/overcast-reference.db becomes <out>/mapping (keypoints type SIFT)."""
    from kapturelike.converters.colmap_database import export_database
    from kapturelike.converters.features_io import add_feature_arrays
    from kapturelike.core.reconstruction import Kapture
    from kapturelike.core.records import Records
    from kapturelike.core.sensors import Camera
    from kapturelike.io.dataset import save_kapture

    make_robotcar(tmp_path / "raw")
    src = tmp_path / "db_source"
    names = ["overcast-reference/rear/1000.jpg", "overcast-reference/rear/2000.jpg"]
    k = Kapture(sensors={"cam": Camera("SIMPLE_RADIAL", 1024, 1024, (400.0, 512.0, 512.0, 0.0))},
                records={"camera": Records.camera(((i, "cam"), n) for i, n in enumerate(names))})
    add_feature_arrays(src, k, "keypoints", "sift", ((n, np.full((3, 2), i, np.float32)) for i, n in enumerate(names)))
    save_kapture(k, src)
    export_database(src, tmp_path / "raw" / "3D-models" / "overcast-reference.db")
    out = tmp_path / "kapture"
    assert kapture_import_RobotCar_Seasons.main(["-i", str(tmp_path / "raw"), "-o", str(out), "-q",
                                                 "--import_feature_db", "--image_transfer", "skip"]) == 0
    db = load_kapture(out / "mapping")
    assert sorted(db.records["camera"].paths) == names and set(db.keypoints) == {"SIFT"}
    assert KaptureFeatureStore(out / "mapping").read("keypoints", "SIFT", names[1]).tolist() == [[1.0, 1.0]] * 3


def test_robotcar_same_as_kapture(tmp_path: Path) -> None:
    oracle = kapture_tool("kapture_import_RobotCar_Seasons")
    make_robotcar(tmp_path / "raw")
    for flags in ((False, False, False), (True, True, True)):
        skip, collapse, colmap_intrinsics = flags
        ours, theirs = tmp_path / f"ours_{skip}", tmp_path / f"theirs_{skip}"
        import_robotcar_seasons(tmp_path / "raw", ours, RobotCarOptions(TransferAction.skip, False, skip, collapse,
                                                                        colmap_intrinsics, progress=False))
        oracle.import_robotcar_seasons(str(tmp_path / "raw"), str(theirs), True, transfer("skip"), False, skip,
                                       collapse, colmap_intrinsics, False)
        for part in ("01/mapping", "01/query", "02/mapping", "02/query"):
            assert_same_kapture(ours / part, theirs / part)
        if not skip:
            a, b = load_kapture(ours / "01" / "mapping"), load_kapture(theirs / "01" / "mapping")
            np.testing.assert_allclose(a.points3d, b.points3d)
            assert a.observations == b.observations
            name = "overcast-reference/left/1000.jpg"
            np.testing.assert_array_equal(KaptureFeatureStore(ours / "01/mapping").read("keypoints", "SIFT", name),
                                          KaptureFeatureStore(theirs / "01/mapping").read("keypoints", "SIFT", name))
