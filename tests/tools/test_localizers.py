"""kapture-localization's localizers (colmap_localize, pyransaclib_localize, pycolmap_rig_localize, the local-SfM
variants, the SIFT variants) run with kapture-localization's documented flags on a tiny exact scene: the query poses
they find match the ground truth, and the real ``kapture`` package reads what they write."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import kapture
import kapture.io.csv as kcsv
import numpy as np
import pycolmap
import pytest

from kapturelike.core.image_poses import image_poses
from kapturelike.core.pose import compose
from kapturelike.core.reconstruction import FeatureType, Kapture, Observations
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.dataset_tools.sift_map import map_pairs
from kapturelike.io.dataset import load_kapture, save_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import read_pairs, write_pairs
from kapturelike.pipeline_tools import kapture_pipeline_colmap_vocab_tree
from kapturelike.retrieval.vocab_tree import build_vocab_tree
from kapturelike.synthetic.export import write_synthetic_kapture
from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset
from kapturelike.tools import (
    kapture_colmap_build_map,
    kapture_colmap_build_sift_map,
    kapture_colmap_localize,
    kapture_colmap_localize_localsfm,
    kapture_colmap_localize_sift,
    kapture_import_colmap,
    kapture_pycolmap_localsfm,
    kapture_pycolmap_rig_localize,
    kapture_pycolmap_rig_localsfm,
    kapture_pyransaclib_localize,
    kapture_pyransaclib_localsfm,
)

KAPTURE_TOOLS = Path(kapture.__file__).resolve().parents[1] / "tools"
CAMERA = Camera("PINHOLE", 640, 480, (500.0, 500.0, 320.0, 240.0))
MAP_CENTRES = (-0.6, -0.2, 0.2, 0.6)  # map cameras along x, looking along +z
QUERIES = {"query/q0.jpg": ([0.9998, 0.01, -0.015, 0.005], [0.2, -0.1, 0.3]),
           "query/q1.jpg": ([0.9997, -0.02, 0.01, 0.0], [-0.1, 0.05, -0.2])}


def _rotation(q: np.ndarray) -> np.ndarray:
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def _project(points: np.ndarray, q, t) -> np.ndarray:
    cam = points @ _rotation(np.asarray(q, float)).T + np.asarray(t, float)
    return (cam[:, :2] / cam[:, 2:] * 500.0 + [320.0, 240.0]).astype(np.float32)


def _points(n: int = 120, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(-1.5, 1.5, n), rng.uniform(-1.0, 1.0, n), rng.uniform(4, 7, n)])


def _write_scene(root: Path, queries: dict[str, tuple], query_sensor: dict[str, str] | None = None,
                 rigs: dict | None = None, num_matches: dict[str, int] | None = None) -> tuple[Path, Path, Path, Path]:
    """mapping/ (posed map images, keypoints, map-map matches), mapping_query/ (the same plus the queries'
    keypoints and query-map matches, no query pose, the map's points and observations), query/ (query sensors,
    records, rigs) and pairs.txt. Each image's keypoint i is the projection of point i, so every match is (i, i);
    a query of ``num_matches`` keeps only its first matches."""
    points = _points()
    map_names = [f"map/m{i}.jpg" for i in range(len(MAP_CENTRES))]
    map_poses = {n: (np.array([1.0, 0, 0, 0]), np.array([-x, 0.0, 0.0])) for n, x in zip(map_names, MAP_CENTRES)}
    query_sensor = query_sensor or {n: "cam" for n in queries}
    sensors = {"cam": CAMERA, **{s: CAMERA for s in query_sensor.values()}}
    map_records = [((i, "cam"), n) for i, n in enumerate(map_names)]
    query_ts = {n: 100 + (i if rigs is None else i // 2) for i, n in enumerate(queries)}
    query_records = [((query_ts[n], query_sensor[n]), n) for n in queries]
    map_traj = Trajectories.from_items(((i, "cam"), Pose(*map_poses[n])) for i, n in enumerate(map_names))
    identity = np.column_stack([np.arange(len(points))] * 2)
    ktype = FeatureType("keypoints", "sift", np.float32, 2)
    folders = {}
    for folder, names, records in (("mapping", map_names, map_records),
                                   ("mapping_query", map_names + list(queries), map_records + query_records)):
        k = Kapture(sensors=sensors if folder == "mapping_query" else {"cam": CAMERA},
                    records={"camera": Records.camera(records)}, trajectories=map_traj)
        save_kapture(k, root / folder)
        store = KaptureFeatureStore(root / folder)
        store.write_type(ktype)
        for name in names:
            q, t = map_poses[name] if name in map_poses else queries[name]
            store.write("keypoints", "sift", name, _project(points, q, t))
        for i, a in enumerate(map_names):
            for b in map_names[i + 1:]:
                store.write_matches("sift", a, b, identity)
        if folder == "mapping_query":
            for name in queries:
                for m in map_names:
                    store.write_matches("sift", name, m, identity[:(num_matches or {}).get(name, len(points))])
            k.points3d = np.column_stack([points, np.full((len(points), 3), 128.0)])
            k.observations = Observations.from_lists([(i, "sift", n, i) for i in range(len(points))
                                                      for n in map_names])
            save_kapture(k, root / folder)
        folders[folder] = root / folder
    query = Kapture(sensors={s: CAMERA for s in query_sensor.values()},
                    records={"camera": Records.camera(query_records)})
    if rigs is not None:
        query.rigs = rigs
    save_kapture(query, root / "query")
    write_pairs(root / "pairs.txt", [(q, m, 1.0) for q in queries for m in map_names])
    return folders["mapping"], folders["mapping_query"], root / "query", root / "pairs.txt"


def _assert_pose(found: tuple[np.ndarray, np.ndarray], q_true, t_true, atol: float = 1e-3) -> None:
    q_true = np.asarray(q_true) / np.linalg.norm(q_true)
    np.testing.assert_allclose(found[1], t_true, atol=atol)
    assert abs(float(np.dot(found[0], q_true))) == pytest.approx(1.0, abs=1e-6)


def _kapture_tool(name: str, *args: str) -> None:
    done = subprocess.run([sys.executable, str(KAPTURE_TOOLS / f"{name}.py"), *args], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def _kapture_poses(root: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """image name -> (q, t) world-to-camera, as the real kapture package reads ``root``."""
    k = kcsv.kapture_from_dir(str(root))
    poses = {}
    for ts, sensor, name in kapture.flatten(k.records_camera):
        if (ts, sensor) in k.trajectories:
            pose = k.trajectories[ts, sensor]
            poses[name] = (np.asarray(pose.r_raw, float), np.asarray(pose.t_raw, float).ravel())
    return poses


def test_colmap_localize_tutorial_command_registers_queries(tmp_path: Path, monkeypatch, capsys) -> None:
    """The tutorial's command line (COLMAP options included) registers both queries into the map built by
    kapture_colmap_build_map; kapture's own kapture_import_colmap reads the result with the true poses."""
    mapping, mapping_query, _, pairs = _write_scene(tmp_path, QUERIES)
    monkeypatch.chdir(tmp_path)
    assert kapture_colmap_build_map.main(["-i", "mapping", "-o", "map_colmap"]) == 0
    assert (tmp_path / "map_colmap/colmap.db").is_file()
    command = ("-v info -i ./mapping_query --pairsfile-path ./pairs.txt -db ./map_colmap/colmap.db -txt "
               "./map_colmap/reconstruction -o ./localized_colmap --use-colmap-matches-importer "
               "--Mapper.ba_refine_focal_length 0 --Mapper.abs_pose_min_num_inliers 4")
    assert kapture_colmap_localize.main(command.split()) == 0
    assert "2 / 2 image(s) registered" in capsys.readouterr().out
    images = (tmp_path / "localized_colmap/reconstruction/images.txt").read_text()
    assert "query/q0.jpg" in images and "query/q1.jpg" in images
    # kapture's importer reads the database (its COLMAP 3.x prior columns included) with the model
    _kapture_tool("kapture_import_colmap", "-db", "localized_colmap/colmap.db", "-txt",
                  "localized_colmap/reconstruction", "-o", "imported", "--skip_reconstruction")
    poses = _kapture_poses(tmp_path / "imported")
    for name, (q, t) in QUERIES.items():
        _assert_pose(poses[name], q, t)
    # the database holds the map and the queries with the model's ids: our importer joins the two
    assert kapture_import_colmap.main(["-db", "localized_colmap/colmap.db", "-txt", "localized_colmap/reconstruction",
                                       "-o", "ours"]) == 0
    ours = load_kapture(tmp_path / "ours")
    assert len(ours.trajectories) == len(MAP_CENTRES) + len(QUERIES)
    assert set(QUERIES) <= next(iter(ours.keypoints.values())).images
    pairs_in_db = next(iter(ours.matches.values()))
    assert ("map/m0.jpg", "query/q0.jpg") in pairs_in_db and ("map/m0.jpg", "map/m1.jpg") in pairs_in_db
    for name, (q, t) in QUERIES.items():
        pose = ours.trajectories[ours.image_keys()[name]]
        _assert_pose((pose.q, pose.t), q, t)


def test_colmap_build_map_steps_importer_and_mapper(tmp_path: Path, monkeypatch) -> None:
    """kapture_colmap_build_map's other flags: --use-colmap-matches-importer keeps the raw matches in the database's
    matches table and the RANSAC-verified ones in two_view_geometries (the outliers left out of the map);
    -s model_converter leaves the model binary; priors_for_reconstruction/ holds the posed images without points;
    -s triangulation writes no model; COLMAP's triangulation options are applied. Without poses, the mapper
    reconstructs the map (its camera centres equal the true ones up to a similarity)."""
    from kapturelike.dataset_tools.build_map import triangulation_options

    _write_scene(tmp_path, QUERIES)
    monkeypatch.chdir(tmp_path)
    store = KaptureFeatureStore(tmp_path / "mapping")
    rng = np.random.default_rng(5)
    clean = store.read_matches("sift", "map/m0.jpg", "map/m1.jpg")
    wrong = np.column_stack([np.arange(20), rng.permutation(np.arange(20, 120))[:20]]).astype(clean.dtype)
    store.write_matches("sift", "map/m0.jpg", "map/m1.jpg", np.concatenate([clean[:, :2], wrong]))
    assert kapture_colmap_build_map.main("-i mapping -o built --use-colmap-matches-importer -s model_converter "
                                         "--Mapper.ba_refine_focal_length 0".split()) == 0
    db = sqlite3.connect(tmp_path / "built/colmap.db")
    pid = int(db.execute("SELECT image_id FROM images WHERE name = 'map/m0.jpg'").fetchone()[0]) * 2147483647 + int(
        db.execute("SELECT image_id FROM images WHERE name = 'map/m1.jpg'").fetchone()[0])
    raw = db.execute("SELECT rows FROM matches WHERE pair_id = ?", (pid,)).fetchone()[0]
    verified = db.execute("SELECT rows FROM two_view_geometries WHERE pair_id = ?", (pid,)).fetchone()[0]
    db.close()
    assert raw == len(clean) + 20 and len(clean) - 5 <= verified <= len(clean)
    assert (tmp_path / "built/reconstruction/images.bin").is_file()
    assert not (tmp_path / "built/reconstruction/images.txt").exists()
    priors = pycolmap.Reconstruction(str(tmp_path / "built/priors_for_reconstruction"))
    assert priors.num_reg_images() == len(MAP_CENTRES) and priors.num_points3D() == 0
    assert kapture_colmap_build_map.main("-i mapping -o built -s triangulation".split()) == 1  # not without -f
    assert kapture_colmap_build_map.main("-i mapping -o built2 -s triangulation".split()) == 0
    assert (tmp_path / "built2/colmap.db").is_file() and not (tmp_path / "built2/reconstruction").exists()
    options, unused = triangulation_options(["--Mapper.filter_max_reproj_error", "2", "--Mapper.tri_min_angle=3",
                                             "--Mapper.ba_refine_focal_length", "0", "--Mapper.ba_refine_extra_params",
                                             "1", "--Mapper.num_threads", "4"])
    assert (options.max_reproj_error, options.min_tri_angle) == (2.0, 3.0)
    assert unused == ["--Mapper.num_threads", "4", "--Mapper.ba_refine_extra_params", "1"]
    # no poses: pycolmap's incremental mapper, as kapture runs COLMAP's mapper
    store.write_matches("sift", "map/m0.jpg", "map/m1.jpg", clean)
    k = load_kapture(tmp_path / "mapping")
    k.trajectories = None
    save_kapture(k, tmp_path / "mapping")
    assert kapture_colmap_build_map.main("-i mapping -o mapped".split()) == 0
    model = pycolmap.Reconstruction(str(tmp_path / "mapped/reconstruction"))
    assert model.num_reg_images() == len(MAP_CENTRES) and model.num_points3D() > 50
    centres = {img.name: img.projection_center() for img in model.images.values()}
    found = np.array([centres[f"map/m{i}.jpg"] for i in range(len(MAP_CENTRES))])
    truth = np.array([[x, 0.0, 0.0] for x in MAP_CENTRES])
    found, truth = found - found.mean(0), truth - truth.mean(0)
    scale = np.linalg.norm(truth) / np.linalg.norm(found)
    u, _, vt = np.linalg.svd((found * scale).T @ truth)
    assert np.abs(found * scale @ (u @ vt) - truth).max() < 1e-3


def test_colmap_localize_without_database_or_model(tmp_path: Path, monkeypatch, capsys) -> None:
    mapping, mapping_query, _, pairs = _write_scene(tmp_path, QUERIES)
    monkeypatch.chdir(tmp_path)
    assert kapture_colmap_build_map.main(["-i", "mapping", "-o", "map_colmap"]) == 0
    assert kapture_colmap_localize.main(["-i", "mapping_query", "-txt", "map_colmap/reconstruction", "-o",
                                         "loc"]) == 0
    assert not (tmp_path / "loc/colmap.db").exists()
    assert "query/q1.jpg" in (tmp_path / "loc/reconstruction/images.txt").read_text()
    assert kapture_colmap_localize.main(["-i", "mapping_query", "-o", "loc2"]) == 1
    assert "-txt" in capsys.readouterr().err


def test_pyransaclib_localize_uses_pycolmap(tmp_path: Path, capsys) -> None:
    _, mapping_query, query, pairs = _write_scene(tmp_path, QUERIES)
    command = (f"-v info -i {mapping_query} --query {query} -o {tmp_path / 'out'} --pairsfile-path {pairs} "
               "--inlier-threshold 8 --number-lo-steps 10 --min-num-iterations 100 --max-num-iterations 1000 "
               "--refine-poses --rerank-strategy matches_count --write-detailed-report")
    assert kapture_pyransaclib_localize.main(command.split()) == 0
    assert (tmp_path / "out/pyransaclib_cache/query/q0.jpg.json").is_file()
    err = capsys.readouterr().err
    assert "pycolmap" in err
    poses = _kapture_poses(tmp_path / "out")
    for name, (q, t) in QUERIES.items():
        _assert_pose(poses[name], q, t)


RIG = {"qcam0": Pose([1.0, 0, 0, 0], [0.0, 0, 0]),  # cam_from_rig
       "qcam1": Pose([0.9962, 0.0, 0.0872, 0.0], [-0.3, 0.0, 0.0])}
RIG_POSES = {100: ([0.9998, 0.01, -0.015, 0.005], [0.2, -0.1, 0.3]), 101: ([1.0, 0, 0, 0], [-0.1, 0.05, -0.2])}


def _rig_truth() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """image name -> true cam_from_world = cam_from_rig * rig_from_world of each rig camera and timestamp."""
    truth = {}
    for ts, (q, t) in RIG_POSES.items():
        for cam, cam_from_rig in RIG.items():
            cq, ct = compose(cam_from_rig.q[None], cam_from_rig.t[None], np.array(q, float)[None] / np.linalg.norm(q),
                             np.array(t, float)[None])
            truth[f"query/{ts}_{cam}.jpg"] = (cq[0], ct[0])
    return truth


def _rig_scene(root: Path, num_matches: dict[str, int] | None = None) -> tuple[Path, Path, Path]:
    truth = _rig_truth()
    sensor_of = {name: name.split("_", 1)[1][:-4] for name in truth}
    _, mapping_query, query, pairs = _write_scene(root, truth, sensor_of, {"rig": RIG}, num_matches)
    return mapping_query, query, pairs


def test_pycolmap_rig_localize_finds_rig_poses(tmp_path: Path, capsys) -> None:
    """Both cameras of the rig are localized together: the second camera's 3 matches alone could not give a pose,
    the rig pose from both is exact; --apply-rigs-remove writes each camera's pose."""
    few = {f"query/{ts}_qcam1.jpg": 3 for ts in RIG_POSES}
    mapping_query, query, pairs = _rig_scene(tmp_path, few)
    command = (f"-v info -i {mapping_query} --query {query} -o {tmp_path / 'rig_out'} --pairsfile-path {pairs} "
               "--rig-ids rig --max-error 12 --min-inlier-ratio 0.01 --min-num-iterations 100 "
               "--max-num-iterations 1000 --confidence 0.9999 --keypoints-type sift --duplicate-strategy ignore")
    assert kapture_pycolmap_rig_localize.main([*command.split(), "--write-detailed-report"]) == 0
    report = json.loads((tmp_path / "rig_out/pycolmap_rig_cache/100.json").read_text())
    assert sorted(report["num_correspondences"]) == [3, 120] and sorted(report["num_inliers"]) == [3, 120]
    assert max(report["reprojection_error"]) < 1e-3
    k = kcsv.kapture_from_dir(str(tmp_path / "rig_out"))  # the real kapture reads it, rigs included
    assert set(k.rigs) == {"rig"} and len(k.trajectories) == len(RIG_POSES)
    for ts, (q, t) in RIG_POSES.items():
        pose = k.trajectories[ts, "rig"]
        _assert_pose((np.asarray(pose.r_raw), np.asarray(pose.t_raw).ravel()), q, t)
    assert kapture_pycolmap_rig_localize.main([*command.split(), "--apply-rigs-remove", "-o",
                                               str(tmp_path / "cam_out")]) == 0
    poses = _kapture_poses(tmp_path / "cam_out")
    truth = _rig_truth()
    assert set(poses) == set(truth)
    for name, (q, t) in truth.items():
        _assert_pose(poses[name], q, t)



def test_localizer_threads_and_local_optimization(tmp_path: Path) -> None:
    """--max-number-of-threads: the same poses, byte for byte, on 1 or 2 threads; pyransaclib without
    --refine-poses and with 0 or 5 local-optimisation steps still finds the true poses."""
    _, mapping_query, query, pairs = _write_scene(tmp_path, QUERIES)
    common = f"-i {mapping_query} --query {query} --pairsfile-path {pairs} --keypoints-type sift --max-error 8"
    for threads in (1, 2):
        assert kapture_pycolmap_localsfm.main(
            [*common.split(), "-o", str(tmp_path / f"t{threads}"), "--max-number-of-threads", str(threads)]) == 0
    assert ((tmp_path / "t1/sensors/trajectories.txt").read_bytes()
            == (tmp_path / "t2/sensors/trajectories.txt").read_bytes())
    for steps in (0, 5):
        assert kapture_pyransaclib_localize.main(
            [*f"-i {mapping_query} --query {query} --pairsfile-path {pairs}".split(), "-o",
             str(tmp_path / f"lo{steps}"), "--number-lo-steps", str(steps)]) == 0
        poses = _kapture_poses(tmp_path / f"lo{steps}")
        for name, (q, t) in QUERIES.items():
            _assert_pose(poses[name], q, t)


@pytest.mark.parametrize("tool", ["pycolmap", "pyransaclib"])
def test_localsfm_localizes_from_locally_triangulated_keypoints(tmp_path: Path, tool: str, capsys) -> None:
    """No map points are used: each query keypoint is triangulated from the map keypoints matched to it."""
    _, mapping_query, query, pairs = _write_scene(tmp_path, QUERIES)
    kmap = load_kapture(mapping_query)
    kmap.points3d, kmap.observations = None, None  # the local models must come from the matches alone
    save_kapture(kmap, mapping_query)
    common = f"-v info -i {mapping_query} --query {query} -o {tmp_path / 'out'} --pairsfile-path {pairs} "
    if tool == "pycolmap":
        command = common + ("--max-error 8 --min-inlier-ratio 0.01 --min-num-iterations 100 --max-num-iterations 1000 "
                            "--confidence 0.9999 --keypoints-type sift --max-number-of-threads 2 "
                            "--write-detailed-report")
        assert kapture_pycolmap_localsfm.main(command.split()) == 0
        report = json.loads((tmp_path / "out/pycolmap_cache/query/q0.jpg.json").read_text())
        assert report["num_correspondences"] == 120 and report["reprojection_error"] < 1e-2
    else:
        command = common + "--inlier-threshold 8 --number-lo-steps 10 --min-num-iterations 100 --refine-poses"
        assert kapture_pyransaclib_localsfm.main(command.split()) == 0
        assert "pycolmap" in capsys.readouterr().err
    poses = _kapture_poses(tmp_path / "out")
    assert set(poses) == set(QUERIES)
    for name, (q, t) in QUERIES.items():
        _assert_pose(poses[name], q, t)


def test_pycolmap_rig_localsfm_finds_rig_poses(tmp_path: Path) -> None:
    few = {f"query/{ts}_qcam1.jpg": 3 for ts in RIG_POSES}
    mapping_query, query, pairs = _rig_scene(tmp_path, few)
    command = (f"-i {mapping_query} --query {query} -o {tmp_path / 'out'} --pairsfile-path {pairs} --rig-ids rig "
               "--apply-rigs-remove --max-error 8")
    assert kapture_pycolmap_rig_localsfm.main(command.split()) == 0
    poses = _kapture_poses(tmp_path / "out")
    truth = _rig_truth()
    assert set(poses) == set(truth)
    for name, (q, t) in truth.items():
        _assert_pose(poses[name], q, t)


def test_colmap_localize_localsfm_registers_in_local_models(tmp_path: Path, capsys) -> None:
    """kapture-localization's command line: each query is registered into the model triangulated from its paired
    map images' verified matches; OUTPUT/localized holds the poses; a second run resumes (nothing left to do)."""
    _, mapping_query, query, pairs = _write_scene(tmp_path, QUERIES)
    command = (f"-v info --map_plus_query {mapping_query} --map_plus_query_gv {mapping_query} --query {query} "
               f"-o {tmp_path / 'out'} --pairsfile-path {pairs} -desc sift_desc")
    assert kapture_colmap_localize_localsfm.main(command.split()) == 1  # no such descriptors type
    assert "sift_desc" in capsys.readouterr().err
    command = command.replace(" -desc sift_desc", "")
    assert kapture_colmap_localize_localsfm.main(command.split()) == 0
    poses = _kapture_poses(tmp_path / "out/localized")
    assert set(poses) == set(QUERIES)
    for name, (q, t) in QUERIES.items():
        _assert_pose(poses[name], q, t)
    # a run resumes: a pose already in OUTPUT/localized is kept (here a marked one); -f starts over
    localized = load_kapture(tmp_path / "out/localized")
    key = localized.image_keys()["query/q0.jpg"]
    mark = Pose([1.0, 0, 0, 0], [9.0, 9.0, 9.0])
    marked = Trajectories.from_items([(k, mark if k == key else localized.trajectories[k])
                                      for k in localized.trajectories.keys()])
    save_kapture(Kapture(sensors=localized.sensors, records=localized.records, trajectories=marked),
                 tmp_path / "out/localized")
    assert kapture_colmap_localize_localsfm.main(command.split()) == 0
    assert _kapture_poses(tmp_path / "out/localized")["query/q0.jpg"][1].tolist() == [9.0, 9.0, 9.0]
    assert kapture_colmap_localize_localsfm.main([*command.split(), "-f"]) == 0
    _assert_pose(_kapture_poses(tmp_path / "out/localized")["query/q0.jpg"], *QUERIES["query/q0.jpg"])


def test_colmap_sift_map_and_localize_sift(tmp_path: Path, monkeypatch, capsys) -> None:
    """kapture_pipeline_colmap_vocab_tree's two steps on rendered images: a SIFT map triangulated with the known
    poses, then the query images' SIFT registered into it; imported, kapture reads poses within 5 cm and 1 degree of
    the ground truth."""
    scene = write_synthetic_kapture(generate_dataset(SyntheticOptions(
        seed=0, width=320, height=240, focal=250.0, num_mapping=10, num_sequences=1, sequence_length=2)), tmp_path)
    monkeypatch.chdir(tmp_path)
    assert kapture_colmap_build_sift_map.main(
        "-v info -i ./mapping -o ./colmap_sift -voc ./vocab_tree_flickr100K_words32K.bin --cpu".split()) == 0
    assert "vocabulary tree" in capsys.readouterr().err
    command = ("-v info -i ./query -db ./colmap_sift/colmap.db -txt ./colmap_sift/reconstruction -o ./localized "
               "-voc ./vocab_tree_flickr100K_words32K.bin --Mapper.ba_refine_focal_length 0 "
               "--Mapper.abs_pose_min_num_inliers 10")
    assert kapture_colmap_localize_sift.main(command.split()) == 0
    assert "4 / 4 image(s) registered" in capsys.readouterr().out
    assert kapture_colmap_localize_sift.main(command.split()) == 1  # an output is not overwritten without -f
    assert kapture_colmap_localize_sift.main([*command.split(), "-f"]) == 0
    assert "4 / 4 image(s) registered" in capsys.readouterr().out
    assert kapture_import_colmap.main("-txt localized/reconstruction -o imported --skip_reconstruction".split()) == 0
    truth = image_poses(load_kapture(scene.query))
    _assert_near(_kapture_poses(tmp_path / "imported"), truth)
    # the tutorial's pipeline on the same map (--colmap-map: not rebuilt): localized, evaluated, exported
    command = ("-v info -i ./mapping --query ./query --colmap-map ./colmap_sift -o ./tutorial/sift_colmap_vocab_tree/ "
               "-voc ./vocab_tree_flickr100K_words32K.bin --localize-config 2")
    assert kapture_pipeline_colmap_vocab_tree.main(command.split()) == 0
    out = tmp_path / "tutorial/sift_colmap_vocab_tree"
    _assert_near(_kapture_poses(out / "kapture_localized_recover"), truth)
    stats = (out / "eval/stats.txt").read_text()
    assert stats.startswith("Model: sift_colmap_vocab_tree_config_2\n\nFound 4 / 4 image positions (100.00 %).")
    assert "(0.25m, 2.0 deg): 100.00%" in stats
    assert len((out / "LTVL2020_style_result.txt").read_text().splitlines()) == 4


def test_colmap_sift_tools_use_the_vocabulary_tree(tmp_path: Path, monkeypatch, capsys) -> None:
    """-voc with a tree pycolmap reads: the map pairs are each image's most similar ones (COLMAP's
    --VocabTreeMatching.num_images applied), each query is matched to its most similar map images only, and the
    queries are still registered near the truth. An absent tree: a warning, and the pairs without it."""
    scene = write_synthetic_kapture(generate_dataset(SyntheticOptions(
        seed=0, width=320, height=240, focal=250.0, num_mapping=10, num_sequences=1, sequence_length=2)), tmp_path)
    monkeypatch.chdir(tmp_path)
    assert kapture_colmap_build_sift_map.main("-i ./mapping -o ./no_tree -voc ./absent.bin --cpu".split()) == 0
    assert "absent.bin: no such vocabulary tree file: image pairs are chosen without it" in capsys.readouterr().err
    assert len(read_pairs(tmp_path / "no_tree/sift_kapture/pairs.txt")) == 45  # every pair of 10 images
    store = KaptureFeatureStore(tmp_path / "no_tree/sift_kapture")
    sift = [store.read("descriptors", "sift", name) for name in load_kapture(scene.mapping).image_names()]
    build_vocab_tree(sift, tmp_path / "tree.bin", num_visual_words=256, num_iterations=10)
    assert kapture_colmap_build_sift_map.main(
        "-i ./mapping -o ./colmap_sift -voc ./tree.bin --cpu --VocabTreeMatching.num_images 7".split()) == 0
    assert "vocabulary tree" not in capsys.readouterr().err
    pairs = read_pairs(tmp_path / "colmap_sift/sift_kapture/pairs.txt")
    partners: dict[str, set[str]] = {}
    for a, b, _ in pairs:
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    # the 6 most similar of each image, unordered and deduplicated: not every pair of the 10 images
    assert 30 <= len(pairs) < 45 and len(partners) == 10
    command = ("-i ./query -db ./colmap_sift/colmap.db -txt ./colmap_sift/reconstruction -o ./localized -voc "
               "./tree.bin --VocabTreeMatching.num_images 6 --Mapper.abs_pose_min_num_inliers 10")
    assert kapture_colmap_localize_sift.main(command.split()) == 0
    assert "4 / 4 image(s) registered" in capsys.readouterr().out
    query_pairs = read_pairs(tmp_path / "localized/sift_kapture/pairs.txt")
    per_query: dict[str, int] = {}
    for q, m, _ in query_pairs:
        assert m.startswith("mapping") or m in partners
        per_query[q] = per_query.get(q, 0) + 1
    assert per_query == dict.fromkeys(per_query, 5) and len(per_query) == 4
    assert kapture_import_colmap.main("-txt localized/reconstruction -o imported --skip_reconstruction".split()) == 0
    _assert_near(_kapture_poses(tmp_path / "imported"), image_poses(load_kapture(scene.query)))
    # kapture's -s: an earlier run's features and matches reused (no -f needed with delete_existing), binary model
    descriptors = next((tmp_path / "colmap_sift/sift_kapture/reconstruction/descriptors").rglob("*.desc"))
    stamp = descriptors.stat().st_mtime_ns
    assert kapture_colmap_build_sift_map.main(
        "-i ./mapping -o ./colmap_sift -voc ./tree.bin -s delete_existing feature_extract matches model_converter "
        "update_db_cameras".split()) == 0
    assert descriptors.stat().st_mtime_ns == stamp and (tmp_path / "colmap_sift/reconstruction/images.bin").is_file()
    assert kapture_colmap_localize_sift.main([*command.split(), "-s", "delete_existing", "feature_extractmatches",
                                              "model_converter"]) == 0
    assert "4 / 4 image(s) registered" in capsys.readouterr().out
    assert (tmp_path / "localized/reconstruction/images.bin").is_file()
    assert kapture_colmap_build_sift_map.main("-i ./query -o ./empty -voc ./tree.bin -s feature_extract".split()) == 1
    assert "the extraction step cannot be skipped" in capsys.readouterr().err


def _assert_near(poses: dict[str, tuple[np.ndarray, np.ndarray]], truth: dict[str, tuple[np.ndarray, np.ndarray]],
                 metres: float = 0.05, degrees: float = 1.0) -> None:
    assert set(truth) <= set(poses)
    for name, (q, t) in truth.items():
        found_q, found_t = poses[name]
        assert np.linalg.norm(found_t - t) < metres
        assert 2 * np.degrees(np.arccos(min(1.0, abs(float(found_q @ q))))) < degrees


def test_colmap_localize_localsfm_computes_missing_matches(tmp_path: Path) -> None:
    """Without any matches, as kapture-localization does: the map-map and query-map pairs of each query are matched
    (descriptors of --map_plus_query) and verified (into --map_plus_query_gv), then the queries are localized."""
    _, mapping_query, query, pairs = _write_scene(tmp_path, QUERIES)
    shutil.rmtree(mapping_query / "reconstruction" / "matches")
    store = KaptureFeatureStore(mapping_query)
    store.write_type(FeatureType("descriptors", "sift", np.float32, 32, keypoints_type="sift"))
    rng = np.random.default_rng(3)
    per_point = rng.normal(size=(len(_points()), 32)).astype(np.float32)  # one descriptor per 3D point
    for name in load_kapture(mapping_query).image_names():
        noisy = per_point + rng.normal(scale=0.01, size=per_point.shape)
        store.write("descriptors", "sift", name, noisy.astype(np.float32))
    shutil.copytree(mapping_query, tmp_path / "map_plus_query_gv", symlinks=True)
    command = (f"--map_plus_query {mapping_query} --map_plus_query_gv {tmp_path / 'map_plus_query_gv'} --query {query} "
               f"-o {tmp_path / 'out'} --pairsfile-path {pairs}")
    assert kapture_colmap_localize_localsfm.main(command.split()) == 0
    gv = KaptureFeatureStore(tmp_path / "map_plus_query_gv")
    assert gv.has_matches("sift", "map/m0.jpg", "map/m3.jpg") and gv.has_matches("sift", "query/q1.jpg", "map/m2.jpg")
    assert KaptureFeatureStore(mapping_query).has_matches("sift", "map/m0.jpg", "map/m3.jpg")
    poses = _kapture_poses(tmp_path / "out/localized")
    for name, (q, t) in QUERIES.items():
        _assert_pose(poses[name], q, t)


def test_sift_map_pairs_stand_in_for_the_vocabulary_tree() -> None:
    """Up to 101 images every pair is matched (COLMAP's vocabulary tree compares each image with its 100 most similar
    ones); beyond, each posed image with its 100 nearest looking the same way."""
    cameras = Trajectories.from_items(((i, "cam"), Pose([1.0, 0, 0, 0], [-float(i), 0, 0])) for i in range(150))
    records = Records.camera([((i, "cam"), f"{i:03d}.jpg") for i in range(150)])
    k = Kapture(sensors={"cam": CAMERA}, records={"camera": records}, trajectories=cameras)
    assert len(map_pairs(k, num_images=149)) == 150 * 149 // 2
    pairs = {(a, b) for a, b, _ in map_pairs(k)}
    assert ("000.jpg", "100.jpg") in pairs and ("000.jpg", "101.jpg") not in pairs
    assert all(a < b for a, b in pairs) and ("074.jpg", "149.jpg") in pairs


def test_colmap_localize_query_camera_without_intrinsics(tmp_path: Path, monkeypatch) -> None:
    """A query camera without intrinsics (UNKNOWN_CAMERA): its focal length is estimated with the pose; the model and
    the database get the estimated camera."""
    _write_scene(tmp_path, {"query/q0.jpg": QUERIES["query/q0.jpg"]}, {"query/q0.jpg": "phone"})
    k = load_kapture(tmp_path / "mapping_query")
    k.sensors["phone"] = Camera("UNKNOWN_CAMERA", 640, 480, ())
    save_kapture(k, tmp_path / "mapping_query")
    monkeypatch.chdir(tmp_path)
    assert kapture_colmap_build_map.main(["-i", "mapping", "-o", "map_colmap"]) == 0
    assert kapture_colmap_localize.main("-i mapping_query -db map_colmap/colmap.db -txt map_colmap/reconstruction "
                                        "-o loc".split()) == 0
    assert kapture_import_colmap.main("-db loc/colmap.db -txt loc/reconstruction -o imported".split()) == 0
    imported = load_kapture(tmp_path / "imported")
    pose = imported.trajectories[imported.image_keys()["query/q0.jpg"]]
    _assert_pose((pose.q, pose.t), *QUERIES["query/q0.jpg"])
    focal = imported.cameras_by_image()["query/q0.jpg"].params[0]
    assert focal == pytest.approx(500.0, rel=1e-3)
