"""COLMAP model (text, binary) and database: round trips, and agreement with pycolmap 4.x."""

from __future__ import annotations

import sqlite3

import numpy as np
import pycolmap
import pytest

from kapturelike.converters.colmap import export_colmap, import_colmap, read_colmap_model, write_colmap_model
from kapturelike.converters.colmap_binary import read_model_binary
from kapturelike.converters.colmap_database import export_database, pair_id
from kapturelike.converters.colmap_text import read_model_text
from kapturelike.converters.common import ConversionError
from kapturelike.core.sensors import Camera
from kapturelike.errors import FormatError
from kapturelike.io.dataset import load_kapture
from kapturelike.io.features import KaptureFeatureStore

from .conftest import make_dataset


def _same_model(a, b):
    assert a.cameras == b.cameras
    assert a.images.ids.tolist() == b.images.ids.tolist() and a.images.names == b.images.names
    np.testing.assert_array_equal(a.images.qvecs, b.images.qvecs)
    np.testing.assert_array_equal(a.images.tvecs, b.images.tvecs)
    for x, y, p, r in zip(a.images.points2d, b.images.points2d, a.images.point3d_ids, b.images.point3d_ids):
        np.testing.assert_array_equal(x, y)
        np.testing.assert_array_equal(p, r)
    for f in ("ids", "xyz", "rgb", "errors", "track_offsets", "track_image_ids", "track_point2d_idx"):
        np.testing.assert_array_equal(getattr(a.points, f), getattr(b.points, f))


@pytest.mark.parametrize("binary", [False, True])
def test_export_loads_in_pycolmap_and_roundtrips(dataset, tmp_path, binary):
    root, kapture, keypoints = dataset
    out = tmp_path / "model"
    model = export_colmap(root, out, binary=binary)
    rec = pycolmap.Reconstruction(str(out))
    assert rec.num_points3D() == len(kapture.points3d)
    assert rec.compute_num_observations() == len(kapture.observations)
    assert rec.num_reg_images() == len(kapture.image_names())
    for image in rec.images.values():
        q = kapture.trajectories[image.image_id, f"cam_{image.camera_id:05d}"].q
        np.testing.assert_allclose(image.cam_from_world().rotation.quat, [*q[1:], q[0]], atol=1e-12)
        np.testing.assert_array_equal(np.array([p.xy for p in image.points2D]), keypoints[image.name])
    # pycolmap rewrites what we wrote; our reader reads both forms identically
    _same_model(read_colmap_model(out), model)
    (tmp_path / "pt").mkdir()
    (tmp_path / "pb").mkdir()
    rec.write_text(str(tmp_path / "pt"))
    rec.write_binary(str(tmp_path / "pb"))
    for m in (read_model_text(tmp_path / "pt"), read_model_binary(tmp_path / "pb")):
        assert m.images.names == model.images.names
        np.testing.assert_allclose(m.images.tvecs, model.images.tvecs, atol=1e-12)
        assert len(m.points.track_image_ids) == len(kapture.observations)
        assert set(m.frames) == set(model.images.ids.tolist()) or not m.frames


def test_text_binary_writers_are_lossless(dataset, tmp_path):
    root, _, _ = dataset
    model = export_colmap(root, tmp_path / "t")
    write_colmap_model(model, tmp_path / "b", binary=True)
    _same_model(read_model_binary(tmp_path / "b"), read_model_text(tmp_path / "t"))


def test_kapture_colmap_kapture(dataset, tmp_path):
    root, kapture, keypoints = dataset
    export_colmap(root, tmp_path / "model", binary=True, database=tmp_path / "db.db")
    back = import_colmap(tmp_path / "back", tmp_path / "model", tmp_path / "db.db", keypoints_type="sift",
                         descriptors_type="sift")
    loaded = load_kapture(tmp_path / "back")
    kapture = load_kapture(root)  # points3d as stored (10 decimals)
    for k in (back, loaded):
        assert k.sensors == kapture.sensors
        assert k.trajectories == kapture.trajectories
        assert k.records_camera == kapture.records_camera
        np.testing.assert_array_equal(k.points3d, kapture.points3d)
        assert k.observations == kapture.observations
        assert k.matches == kapture.matches
    store, src = KaptureFeatureStore(tmp_path / "back"), KaptureFeatureStore(root)
    for name, kp in keypoints.items():
        np.testing.assert_array_equal(store.read("keypoints", "sift", name), kp)
        np.testing.assert_array_equal(store.read("descriptors", "sift", name), src.read("descriptors", "sift", name))
    for a, b in kapture.matches["sift"]:
        np.testing.assert_array_equal(store.read_matches("sift", a, b)[:, :2], src.read_matches("sift", a, b)[:, :2])


def test_database_reads_in_pycolmap(dataset, tmp_path):
    root, kapture, keypoints = dataset
    ids = export_database(root, tmp_path / "db.db")
    db = pycolmap.Database.open(str(tmp_path / "db.db"))
    try:
        assert db.num_images() == len(keypoints) and db.num_cameras() == 2
        for name, kp in keypoints.items():
            np.testing.assert_array_equal(db.read_keypoints(ids[name])[:, :2], kp)
        a, b = sorted(kapture.matches["sift"])[0]
        m = db.read_two_view_geometry(ids[a], ids[b]).inlier_matches
        expected = KaptureFeatureStore(root).read_matches("sift", a, b)[:, :2].astype(np.uint32)
        np.testing.assert_array_equal(m, expected)
    finally:
        db.close()
    conn = sqlite3.connect(tmp_path / "db.db")
    pids = {r[0] for r in conn.execute("SELECT pair_id FROM matches")}
    conn.close()
    assert pids == {pair_id(ids[a], ids[b]) for a, b in kapture.matches["sift"]}
    assert pair_id(5, 3) == 3 * 2147483647 + 5


def test_import_pycolmap_database(tmp_path):
    """A database written by pycolmap itself imports (schema and blobs as COLMAP writes them)."""
    db = pycolmap.Database.open(str(tmp_path / "p.db"))
    cam = pycolmap.Camera(model="SIMPLE_RADIAL", width=64, height=48, params=[50, 32, 24, 0.1])
    cam_id = db.write_camera(cam)
    ids = []
    for i in range(2):
        image = pycolmap.Image(name=f"im{i}.png", camera_id=cam_id)
        ids.append(db.write_image(image))
        db.write_keypoints(ids[-1], np.arange(12, dtype=np.float32).reshape(6, 2) + i)
    db.write_matches(ids[0], ids[1], np.array([[0, 1], [2, 3]], np.uint32))
    db.close()
    k = import_colmap(tmp_path / "k", database=tmp_path / "p.db")
    assert k.image_names() == ["im0.png", "im1.png"]
    assert k.cameras()["cam_00001"].params == (50.0, 32.0, 24.0, 0.1)
    store = KaptureFeatureStore(tmp_path / "k")
    np.testing.assert_array_equal(store.read("keypoints", "colmap", "im1.png")[0], [1, 2])
    np.testing.assert_array_equal(store.read_matches("colmap", "im0.png", "im1.png")[:, :2], [[0, 1], [2, 3]])


def test_unknown_camera_needs_approximate(tmp_path):
    root = tmp_path / "k"
    make_dataset(root, cameras={"cam_00001": Camera("UNKNOWN_CAMERA", 100, 80)}, n_images=2)
    with pytest.raises(ConversionError, match="cam_00001.*UNKNOWN_CAMERA"):
        export_colmap(root, tmp_path / "m")
    from kapturelike.converters.colmap import ColmapExportOptions

    model = export_colmap(root, tmp_path / "m", options=ColmapExportOptions(approximate=True))
    assert model.cameras[1].model == "SIMPLE_PINHOLE"


@pytest.mark.parametrize("name, text, line, field", [
    ("cameras.txt", "1 PINHOLE 10 x 1 1 1 1\n", 2, "HEIGHT"),
    ("cameras.txt", "1 PINHOLE 10 10 1 1 1\n", 2, "PARAMS"),
    ("images.txt", "1 1 0 0 0 0 0 0 1 a.jpg\n1 2\n", 3, "POINTS2D"),
    ("images.txt", "1 1 0 0 z 0 0 0 1 a.jpg\n\n", 2, "QZ"),
    ("images.txt", "1 1 0 0 0 0 0 0 1 a.jpg\n", 2, "POINTS2D"),
    ("points3D.txt", "1 0 0 0 1 2 3 0.5 1\n", 2, "TRACK"),
])
def test_malformed_text(tmp_path, name, text, line, field):
    good = {"cameras.txt": "1 PINHOLE 10 10 1 1 5 5\n", "images.txt": "", "points3D.txt": ""}
    good[name] = "# comment\n" + text
    for n, t in good.items():
        (tmp_path / n).write_text(t)
    with pytest.raises(FormatError) as e:
        read_model_text(tmp_path)
    assert e.value.path.endswith(name) and e.value.line == line and e.value.field == field


def test_truncated_binary(dataset, tmp_path):
    root, _, _ = dataset
    export_colmap(root, tmp_path, binary=True)
    data = (tmp_path / "points3D.bin").read_bytes()
    (tmp_path / "points3D.bin").write_bytes(data[:-5])
    with pytest.raises(FormatError, match="points3D.bin.*track"):
        read_model_binary(tmp_path)


@pytest.mark.parametrize("binary", [False, True])
def test_rig_roundtrip(tmp_path, binary):
    """A 2-camera rig with rig trajectories: COLMAP rigs/frames that pycolmap loads, and back."""
    from kapturelike.converters.common import image_table
    from kapturelike.core import pose as P
    from kapturelike.core.records import Records
    from kapturelike.core.trajectories import Pose, Trajectories
    from kapturelike.io.dataset import save_kapture

    root = tmp_path / "k"
    kapture, _ = make_dataset(root, n_images=4)
    cams = list(kapture.cameras())
    q_rig = P.quat_from_axis_angle(np.array([[0, 0.1 * i, 0] for i in range(2)]))
    t_rig = np.array([[0.0, 0, 0.1 * i] for i in range(2)])
    kapture.rigs = {"rig": {cams[0]: Pose.identity(), cams[1]: Pose(P.quat_from_axis_angle(np.array([0, 0, 0.2])),
                                                                     np.array([0.3, 0, 0]))}}
    kapture.trajectories = Trajectories(np.array([10, 20]), np.array(["rig", "rig"], dtype=object), q_rig, t_rig)
    kapture.records["camera"] = Records.camera([((ts, c), f"{c}/{ts}.jpg") for ts in (10, 20) for c in cams])
    kapture.points3d, kapture.observations = None, None
    save_kapture(kapture, root)
    model = export_colmap(root, tmp_path / "m", binary=binary)
    assert model.frames == {1: 10, 2: 10, 3: 20, 4: 20}
    rec = pycolmap.Reconstruction(str(tmp_path / "m"))
    assert rec.num_rigs() == 1 and rec.num_frames() == 2 and rec.num_reg_images() == 4
    table = image_table(kapture)
    for image in rec.images.values():
        i = table.names.index(image.name)
        np.testing.assert_allclose(image.cam_from_world().translation, table.t[i], atol=1e-12)
    back = import_colmap(tmp_path / "back", tmp_path / "m")
    tb = image_table(back)
    assert tb.names == table.names and tb.timestamps.tolist() == [10, 10, 20, 20]
    np.testing.assert_allclose(tb.t, table.t, atol=1e-12)
    assert set(back.rigs["rig_00001"]) == set(cams)
    np.testing.assert_allclose(back.rigs["rig_00001"][cams[1]].t, [0.3, 0, 0], atol=1e-12)


def test_database_errors(tmp_path):
    (tmp_path / "x.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(FormatError, match="not a readable COLMAP database") as e:
        import_colmap(tmp_path / "k", database=tmp_path / "x.db")
    assert e.value.path.endswith("x.db")
    conn = sqlite3.connect(tmp_path / "y.db")
    from kapturelike.converters.colmap_database import SCHEMA

    conn.executescript(SCHEMA)
    conn.execute("INSERT INTO cameras VALUES (1, 1, 10, 10, ?, 0)", (np.ones(4).tobytes(),))
    conn.execute("INSERT INTO images (image_id, name, camera_id) VALUES (1, 'a.jpg', 1)")
    conn.execute("INSERT INTO keypoints VALUES (1, 3, 2, ?)", (np.zeros(5, np.float32).tobytes(),))
    conn.commit()
    conn.close()
    with pytest.raises(FormatError, match="blob holds 5 values, rows x cols = 3 x 2") as e:
        import_colmap(tmp_path / "k2", database=tmp_path / "y.db")
    assert e.value.field == "keypoints.data"


def test_rig_disagreeing_poses(dataset, tmp_path):
    from kapturelike.core.trajectories import Pose
    from kapturelike.io.dataset import save_kapture

    root, kapture, _ = dataset
    kapture.rigs = {"rig": {c: Pose.identity() for c in kapture.cameras()}}
    kapture.records["camera"].timestamps[:] = 1  # both cameras at one timestamp, different poses
    kapture.trajectories.timestamps[:] = 1
    kapture.trajectories.timestamps[2:] = 2
    kapture.records["camera"].timestamps[2:] = 2
    save_kapture(kapture, root)
    with pytest.raises(ConversionError, match="disagrees with its rig's pose"):
        export_colmap(root, tmp_path / "m")


def test_pycolmap_triangulates_from_exported_database(tmp_path):
    """Model + database written here drive pycolmap's own triangulation (ids, keypoints, matches agree)."""
    from kapturelike.converters.features_io import add_matches
    from kapturelike.io.dataset import save_kapture

    root = tmp_path / "k"
    kapture, _ = make_dataset(root, cameras={"cam_00001": Camera("PINHOLE", 640, 480, (500, 510, 320.5, 240.25))})
    obs, names = kapture.observations, kapture.image_names()
    seen = {n: {int(p): int(f) for p, m, f in zip(obs.point_ids, obs.image_names, obs.feature_ids) if m == n}
            for n in names}
    pairs = [(a, b, np.array([(seen[a][p], seen[b][p]) for p in sorted(set(seen[a]) & set(seen[b]))]))
             for i, a in enumerate(names) for b in names[i + 1:]]
    kapture.matches = {}
    add_matches(root, kapture, "sift", pairs)
    save_kapture(kapture, root)
    export_colmap(root, tmp_path / "m", database=tmp_path / "db.db")
    rec = pycolmap.Reconstruction(str(tmp_path / "m"))
    for pid in list(rec.point3D_ids()):
        rec.delete_point3D(pid)
    for d in ("empty", "images", "out"):
        (tmp_path / d).mkdir()
    rec.write(str(tmp_path / "empty"))
    out = pycolmap.triangulate_points(pycolmap.Reconstruction(str(tmp_path / "empty")), str(tmp_path / "db.db"),
                                      str(tmp_path / "images"), str(tmp_path / "out"))
    assert out.num_points3D() >= 0.9 * len(kapture.points3d)
    assert out.compute_num_observations() >= 0.9 * len(obs)
