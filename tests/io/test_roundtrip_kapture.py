"""Round trips against the real kapture 1.1.12 package: it writes, we read; we write, it reads;
and for the same data both writers produce identical directory trees, byte for byte."""

from __future__ import annotations

import filecmp
import os
from pathlib import Path

import numpy as np
import pytest

from kapturelike.core.reconstruction import FeatureType, Kapture, Observations
from kapturelike.core.records import Records
from kapturelike.core.sensors import CAMERA_MODEL_PARAMS, OTHER_SENSOR_TYPES, Camera, Sensor
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.errors import FormatError
from kapturelike.io.dataset import load_kapture, save_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.records import write_records
from kapturelike.io.sensors import write_sensors
from kapturelike.io.trajectories import write_trajectories

kapture = pytest.importorskip("kapture")
kcsv = pytest.importorskip("kapture.io.csv")
kfeat = pytest.importorskip("kapture.io.features")
kcompare = pytest.importorskip("kapture.algo.compare")

IMAGES = ["map/0001.jpg", "map/dir with space/0002.jpg", "query/été-ß.jpg", "query/z.png"]
RNG = np.random.default_rng(0)


def _quat(rng: np.random.Generator) -> np.ndarray:
    q = rng.normal(size=4)
    return q / np.linalg.norm(q)


def _camera_params(model: str) -> list[float]:
    # a mix of integral and fractional values: kapture writes integral ones without '.0'
    return [640.0, 480.0] + [float(i + 1) if i % 2 else 0.1 * (i + 1) + 100.0
                             for i in range(len(CAMERA_MODEL_PARAMS[model]))]


class Spec:
    """One dataset, built both as a kapture.Kapture and as our Kapture, plus its binary arrays."""

    def __init__(self) -> None:
        rng = np.random.default_rng(1)
        self.cameras = {f"cam_{m.lower()}": m for m in CAMERA_MODEL_PARAMS}
        self.others = {f"s_{t}": t for t in OTHER_SENSOR_TYPES}
        self.rig_poses = {("rig", "cam_pinhole"): (_quat(rng), rng.normal(size=3)),
                          ("rig", "cam_opencv"): (_quat(rng), rng.normal(size=3))}
        self.poses = {(int(ts), dev): (_quat(rng), rng.normal(size=3)) for ts, dev in
                      [(5, "cam_pinhole"), (1, "rig"), (3, "cam_simple_radial"), (1, "cam_pinhole"),
                       (123456789012, "cam_radial")]}
        self.poses[(7, "cam_fov")] = (None, rng.normal(size=3))
        self.poses[(8, "cam_fov")] = (_quat(rng), None)
        self.camera_records = {(0, "cam_pinhole"): IMAGES[0], (1, "cam_pinhole"): IMAGES[1],
                               (0, "cam_opencv"): IMAGES[2], (2, "cam_opencv"): IMAGES[3]}
        self.kpts = {n: rng.random((5 + i, 4), dtype=np.float32) for i, n in enumerate(IMAGES)}
        self.descs = {n: rng.integers(0, 255, (5 + i, 16)).astype(np.uint8) for i, n in enumerate(IMAGES)}
        self.gfeats = {n: rng.random(8, dtype=np.float32) for n in IMAGES}
        # pairs given in both orders: storage must be lexical
        self.matches = {(IMAGES[2], IMAGES[0]): np.array([[0, 1, 0.5], [2, 3, 0.25]]),
                        (IMAGES[0], IMAGES[1]): np.array([[4, 4, 1.0]])}
        self.points = rng.normal(size=(6, 3))
        self.colors = rng.integers(0, 255, (6, 3)).astype(np.float64)
        self.obs = [(0, "sift", IMAGES[0], 1), (0, "sift", IMAGES[2], 0), (3, "sift", IMAGES[1], 4),
                    (1, "sift", IMAGES[3], 2)]

    # ---------------------------------------------------------------- kapture's objects
    def theirs(self, colors: bool = True) -> kapture.Kapture:
        sensors = kapture.Sensors()
        for sid, model in self.cameras.items():
            sensors[sid] = kapture.Camera(model, _camera_params(model), name=f"name {sid}")
        sensors["depth0"] = kapture.Camera("PINHOLE", [64, 48, 50, 50, 32, 24], name="d", sensor_type="depth")
        for sid, typ in self.others.items():
            sensors[sid] = kapture.create_sensor(typ, ["p1", "2.5"], name="")
        rigs = kapture.Rigs()
        for (rig, sid), (q, t) in self.rig_poses.items():
            rigs[rig, sid] = kapture.PoseTransform(q, t)
        traj = kapture.Trajectories()
        for key, (q, t) in self.poses.items():
            traj[key] = kapture.PoseTransform(q, t)
        rc = kapture.RecordsCamera()
        for key, path in self.camera_records.items():
            rc[key] = path
        rd = kapture.RecordsDepth()
        rd[0, "depth0"] = "depth/0.depth"
        rl = kapture.RecordsLidar()
        rl[0, "s_lidar"] = "lidar/0.pcd"
        rw = kapture.RecordsWifi()
        rw[1, "s_wifi"] = kapture.RecordWifi({"aa:bb": kapture.RecordWifiSignal(2400, -50.5, "net 1", 10, 20),
                                              "cc:dd": kapture.RecordWifiSignal(5000, -70.0, "", 11, 21)})
        rb = kapture.RecordsBluetooth()
        rb[2, "s_bluetooth"] = kapture.RecordBluetooth(
            {"00:11": kapture.RecordBluetoothSignal(-60.25, "phone")})
        rg = kapture.RecordsGnss()
        rg[3, "s_gnss"] = kapture.RecordGnss(2.3522, 48.8566, 35.0, 1600000000, 1.5)
        ra = kapture.RecordsAccelerometer()
        ra[4, "s_accelerometer"] = kapture.RecordAccelerometer(0.1, 9.81, -0.2)
        ry = kapture.RecordsGyroscope()
        ry[5, "s_gyroscope"] = kapture.RecordGyroscope(0.01, 0.02, 0.03)
        rm = kapture.RecordsMagnetic()
        rm[6, "s_magnetic"] = kapture.RecordMagnetic(20.0, -3.5, 40.125)
        kpts = {"sift": kapture.Keypoints("sift", np.float32, 4, set(IMAGES))}
        descs = {"sift_desc": kapture.Descriptors("sift_desc", np.uint8, 16, "sift", "L2", set(IMAGES))}
        gfeats = {"netvlad": kapture.GlobalFeatures("netvlad", np.float32, 8, "L2", set(IMAGES))}
        matches = kapture.Matches()
        for a, b in self.matches:
            matches.add(*kapture.Matches.lexical_order(a, b))
        points = np.hstack([self.points, self.colors]) if colors else self.points
        p3d = kapture.Points3d(points) if colors else kapture.Points3d(points, size=3)
        obs = kapture.Observations()
        for pid, ktype, name, fid in self.obs:
            obs.add(pid, ktype, name, fid)
        return kapture.Kapture(sensors=sensors, rigs=rigs, trajectories=traj, records_camera=rc,
                               records_depth=rd, records_lidar=rl, records_wifi=rw, records_bluetooth=rb,
                               records_gnss=rg,
                               records_accelerometer=ra, records_gyroscope=ry, records_magnetic=rm,
                               keypoints=kpts, descriptors=descs, global_features=gfeats,
                               matches={"sift": matches}, points3d=p3d, observations=obs)

    def write_theirs_binaries(self, root: Path) -> None:
        for n in IMAGES:
            kfeat.image_keypoints_to_file(kfeat.get_keypoints_fullpath("sift", str(root), n), self.kpts[n])
            kfeat.image_descriptors_to_file(kfeat.get_descriptors_fullpath("sift_desc", str(root), n),
                                            self.descs[n])
            kfeat.image_global_features_to_file(kfeat.get_global_features_fullpath("netvlad", str(root), n),
                                                self.gfeats[n])
        for (a, b), m in self.matches.items():
            (a2, b2) = kapture.Matches.lexical_order(a, b)
            m2 = m if (a2, b2) == (a, b) else m[:, [1, 0, 2]]
            kfeat.image_matches_to_file(kfeat.get_matches_fullpath((a2, b2), "sift", str(root)), m2)

    # ---------------------------------------------------------------- our objects
    def ours(self, colors: bool = True) -> Kapture:
        sensors: dict = {}
        for sid, model in self.cameras.items():
            p = _camera_params(model)
            sensors[sid] = Camera(model, int(p[0]), int(p[1]), tuple(p[2:]), f"name {sid}")
        sensors["depth0"] = Camera("PINHOLE", 64, 48, (50, 50, 32, 24), "d", "depth")
        for sid, typ in self.others.items():
            sensors[sid] = Sensor(typ, ("p1", "2.5"), "")
        rigs: dict = {}
        for (rig, sid), (q, t) in self.rig_poses.items():
            rigs.setdefault(rig, {})[sid] = Pose(q, t)
        traj = Trajectories.from_items((k, Pose(q, t)) for k, (q, t) in self.poses.items())
        records = {
            "camera": Records.camera(self.camera_records.items()),
            "depth": Records.camera([((0, "depth0"), "depth/0.depth")], "depth"),
            "lidar": Records.camera([((0, "s_lidar"), "lidar/0.pcd")], "lidar"),
            "wifi": Records("wifi", [1, 1], ["s_wifi"] * 2, [("aa:bb", 2400, -50.5, "net 1", 10, 20),
                                                             ("cc:dd", 5000, -70.0, "", 11, 21)]),
            "bluetooth": Records("bluetooth", [2], ["s_bluetooth"], [("00:11", -60.25, "phone")]),
            "gnss": Records("gnss", [3], ["s_gnss"], [(2.3522, 48.8566, 35.0, 1600000000, 1.5)]),
            "accelerometer": Records("accelerometer", [4], ["s_accelerometer"], [(0.1, 9.81, -0.2)]),
            "gyroscope": Records("gyroscope", [5], ["s_gyroscope"], [(0.01, 0.02, 0.03)]),
            "magnetic": Records("magnetic", [6], ["s_magnetic"], [(20.0, -3.5, 40.125)]),
        }
        k = Kapture(sensors=sensors, rigs=rigs, trajectories=traj, records=records)
        k.keypoints["sift"] = FeatureType("keypoints", "sift", np.float32, 4, images=set(IMAGES))
        k.descriptors["sift_desc"] = FeatureType("descriptors", "sift_desc", np.uint8, 16, "sift", "L2",
                                                 images=set(IMAGES))
        k.global_features["netvlad"] = FeatureType("global_features", "netvlad", np.float32, 8, None, "L2",
                                                   images=set(IMAGES))
        k.matches["sift"] = {tuple(sorted(p)) for p in self.matches}
        k.points3d = np.hstack([self.points, self.colors]) if colors else self.points.copy()
        k.observations = Observations.from_lists(self.obs)
        return k

    def write_our_binaries(self, root: Path) -> None:
        store = KaptureFeatureStore(root)
        for n in IMAGES:
            store.write("keypoints", "sift", n, self.kpts[n])
            store.write("descriptors", "sift_desc", n, self.descs[n])
            store.write("global_features", "netvlad", n, self.gfeats[n])
        for (a, b), m in self.matches.items():
            store.write_matches("sift", a, b, m)


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def assert_same_tree(a: Path, b: Path) -> None:
    files_a, files_b = _tree(a), _tree(b)
    assert files_a == files_b
    _, mismatch, errors = filecmp.cmpfiles(a, b, files_a, shallow=False)
    diffs = {f: ((a / f).read_bytes()[:400], (b / f).read_bytes()[:400]) for f in mismatch}
    assert not mismatch and not errors, diffs


def _save_ours(k: Kapture, spec: Spec, root: Path) -> None:
    save_kapture(k, root)
    spec.write_our_binaries(root)


@pytest.fixture(scope="module")
def spec() -> Spec:
    return Spec()


@pytest.mark.parametrize("colors", [True, False])
def test_same_bytes_as_kapture(tmp_path: Path, spec: Spec, colors: bool) -> None:
    kcsv.kapture_to_dir(str(tmp_path / "theirs"), spec.theirs(colors))
    spec.write_theirs_binaries(tmp_path / "theirs")
    _save_ours(spec.ours(colors), spec, tmp_path / "ours")
    assert_same_tree(tmp_path / "theirs", tmp_path / "ours")


@pytest.mark.parametrize("colors", [True, False])
def test_we_read_what_kapture_writes(tmp_path: Path, spec: Spec, colors: bool) -> None:
    kcsv.kapture_to_dir(str(tmp_path), spec.theirs(colors))
    spec.write_theirs_binaries(tmp_path)
    got, want = load_kapture(tmp_path), spec.ours(colors)
    assert got.sensors == want.sensors
    assert got.rigs == want.rigs
    assert got.trajectories == want.trajectories
    assert set(got.records) == set(want.records)
    for kind in want.records:
        assert got.records[kind] == want.records[kind], kind
    for kind in ("keypoints", "descriptors", "global_features"):
        g, w = getattr(got, kind), getattr(want, kind)
        assert set(g) == set(w)
        for name in w:
            assert g[name].same_type(w[name]) and g[name].images == w[name].images
    assert got.matches == want.matches
    np.testing.assert_allclose(got.points3d, want.points3d, atol=1e-9)
    assert got.observations == want.observations
    store = KaptureFeatureStore(tmp_path)
    for n in IMAGES:
        np.testing.assert_array_equal(store.read("keypoints", "sift", n), spec.kpts[n])
        np.testing.assert_array_equal(store.read("descriptors", "sift_desc", n), spec.descs[n])
        np.testing.assert_array_equal(store.read("global_features", "netvlad", n), spec.gfeats[n])
    for (a, b), m in spec.matches.items():
        np.testing.assert_array_equal(store.read_matches("sift", a, b), m)
        np.testing.assert_array_equal(store.read_matches("sift", b, a), m[:, [1, 0, 2]])


@pytest.mark.parametrize("colors", [True, False])
def test_kapture_reads_what_we_write(tmp_path: Path, spec: Spec, colors: bool) -> None:
    _save_ours(spec.ours(colors), spec, tmp_path)
    got, want = kcsv.kapture_from_dir(str(tmp_path)), spec.theirs(colors)
    assert kcompare.equal_kapture(got, want)
    # pose fields and record values are exact, not only within kapture's tolerance
    for key, (q, t) in spec.poses.items():
        pose = got.trajectories[key]
        assert (pose.r_raw is None) == (q is None) and (pose.t_raw is None) == (t is None)
        if q is not None:
            assert list(pose.r_raw) == list(q)
        if t is not None:
            assert list(pose.t_raw) == list(t)
    assert got.records_wifi[1, "s_wifi"]["aa:bb"].rssi == -50.5
    for n in IMAGES:
        path = kfeat.get_keypoints_fullpath("sift", str(tmp_path), n)
        np.testing.assert_array_equal(kfeat.image_keypoints_from_file(path, np.float32, 4), spec.kpts[n])
    for (a, b), m in spec.matches.items():
        pair = kapture.Matches.lexical_order(a, b)
        stored = kfeat.image_matches_from_file(kfeat.get_matches_fullpath(pair, "sift", str(tmp_path)))
        np.testing.assert_array_equal(stored, m if pair == (a, b) else m[:, [1, 0, 2]])


def test_empty_sections_match_kapture(tmp_path: Path) -> None:
    theirs = kapture.Kapture(sensors=kapture.Sensors(), trajectories=kapture.Trajectories(),
                             records_camera=kapture.RecordsCamera(), records_wifi=kapture.RecordsWifi(),
                             rigs=kapture.Rigs(), observations=kapture.Observations())
    kcsv.kapture_to_dir(str(tmp_path / "theirs"), theirs)
    ours = Kapture(sensors={}, rigs={}, trajectories=Trajectories(), observations=Observations(),
                   records={"camera": Records("camera"), "wifi": Records("wifi")})
    save_kapture(ours, tmp_path / "ours")
    assert_same_tree(tmp_path / "theirs", tmp_path / "ours")
    got = load_kapture(tmp_path / "theirs")
    assert got.sensors == {} and len(got.trajectories) == 0 and len(got.records["camera"]) == 0
    assert len(got.observations) == 0


def test_version_1_0_type_files_read(tmp_path: Path, spec: Spec) -> None:
    """kapture 1.0 datasets (one feature type, no keypoints type in observations) still load."""
    (tmp_path / "sensors").mkdir()
    (tmp_path / "sensors" / "sensors.txt").write_text(
        "# kapture format: 1.0\n# sensor_id, name, sensor_type\n"
        "cam, , camera, SIMPLE_PINHOLE, 10, 10, 5, 5, 5\n")
    kp = tmp_path / "reconstruction" / "keypoints"
    kp.mkdir(parents=True)
    (kp / "keypoints.txt").write_text("# kapture format: 1.0\n# name, dtype, dsize\nsift, float32, 4\n")
    spec.kpts[IMAGES[0]].tofile(kp / "a.jpg.kpt")
    (tmp_path / "reconstruction" / "observations.txt").write_text("# kapture format: 1.0\n0, a.jpg, 3\n")
    got = load_kapture(tmp_path)
    assert got.version == "1.0" and got.keypoints["sift"].images == {"a.jpg"}
    assert got.observations == Observations.from_lists([(0, "sift", "a.jpg", 3)])


@pytest.mark.parametrize("what", ["sensor", "device", "record"])
def test_comma_in_name_refused_and_old_file_kept(tmp_path: Path, what: str) -> None:
    path = tmp_path / "f.txt"
    path.write_text("old content\n")
    with pytest.raises(FormatError, match="comma"):
        if what == "sensor":
            write_sensors(path, {"a,b": Sensor("wifi")})
        elif what == "device":
            write_trajectories(path, Trajectories.from_items([((0, "x,y"), Pose.identity())]))
        else:
            write_records(path, Records.camera([((0, "cam"), "im,1.jpg")]))
    assert path.read_text() == "old content\n"
    assert os.listdir(tmp_path) == ["f.txt"]  # no temporary file left behind
