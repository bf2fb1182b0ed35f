"""kapture_import_rosbag and kapture_import_utbm on tiny ROS1 bags written with 'rosbags' (optional extra).

kapture's own importers need a ROS install (the 'rosbag' module): poses and records are checked by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Pose
from kapturelike.io.dataset import load_kapture, records_data_path, save_kapture
from kapturelike.io.images import load_image
from kapturelike.tools import kapture_import_rosbag, kapture_import_utbm

from .test_image_list_with_poses import CALIBRATION

rosbags = pytest.importorskip("rosbags.rosbag1")

S = 10**9
CAM_TOPICS = ["/camera/fisheye1/image_raw", "/camera/fisheye2/image_raw"]


def write_bag(path: Path, image_topics: list[str], groups: list[int], odometry: list[tuple[int, tuple, tuple]],
              skew: int = 0, encoding: str = "mono8") -> None:
    """Image groups at the given stamps (the second topic ``skew`` ns later) and odometry (stamp, xyz, xyzw)."""
    from rosbags.typesys import Stores, get_typestore
    ts = get_typestore(Stores.ROS1_NOETIC)
    T = ts.types
    Time, Header, Image = T["builtin_interfaces/msg/Time"], T["std_msgs/msg/Header"], T["sensor_msgs/msg/Image"]
    Odom, V3 = T["nav_msgs/msg/Odometry"], T["geometry_msgs/msg/Vector3"]

    def header(ns: int):
        return Header(seq=0, stamp=Time(sec=ns // S, nanosec=ns % S), frame_id="f")

    channels = 3 if encoding in ("rgb8", "bgr8") else 1
    messages = []
    for k, stamp in enumerate(groups):
        for i, topic in enumerate(image_topics):
            data = (np.arange(6 * channels, dtype=np.uint8) + 10 * k + i).astype(np.uint8)
            msg = Image(header=header(stamp + i * skew), height=2, width=3, encoding=encoding, is_bigendian=0,
                        step=3 * channels, data=data)
            messages.append((stamp + i * skew, topic, msg, Image.__msgtype__))
    for stamp, xyz, xyzw in odometry:
        pose = T["geometry_msgs/msg/Pose"](position=T["geometry_msgs/msg/Point"](x=xyz[0], y=xyz[1], z=xyz[2]),
                                           orientation=T["geometry_msgs/msg/Quaternion"](x=xyzw[0], y=xyzw[1],
                                                                                        z=xyzw[2], w=xyzw[3]))
        twist = T["geometry_msgs/msg/Twist"](linear=V3(x=0.0, y=0.0, z=0.0), angular=V3(x=0.0, y=0.0, z=0.0))
        msg = Odom(header=header(stamp), child_frame_id="c",
                   pose=T["geometry_msgs/msg/PoseWithCovariance"](pose=pose, covariance=np.zeros(36)),
                   twist=T["geometry_msgs/msg/TwistWithCovariance"](twist=twist, covariance=np.zeros(36)))
        messages.append((stamp, "/camera/odom/sample", msg, Odom.__msgtype__))
    with rosbags.Writer(path) as writer:
        connections = {}
        for stamp, topic, msg, msgtype in sorted(messages, key=lambda m: m[0]):
            if topic not in connections:
                connections[topic] = writer.add_connection(topic, msgtype, typestore=ts)
            writer.write(connections[topic], stamp, ts.serialize_ros1(msg, msgtype))


def make_rig(root: Path) -> Path:
    cam = Camera("OPENCV_FISHEYE", 3, 2, (1.5, 1.5, 1.0, 0.5, 0.0, 0.0, 0.0, 0.0))
    right = Pose(np.array([1.0, 0, 0, 0]), np.array([0.064, 0, 0]))
    k = Kapture(sensors={"left": cam, "right": cam}, rigs={"t265": {"left": Pose.identity(), "right": right}},
                records={"camera": Records("camera")})
    save_kapture(k, root)
    return root


def test_rosbag_pose_by_hand(tmp_path: Path) -> None:
    q_ros = P.normalize_quaternions([0.9, 0.1, -0.2, 0.3])  # qw, qx, qy, qz
    odometry = [(S, (1.0, 2.0, 3.0), (0.0, 0.0, 0.0, 1.0)),
                (2 * S + 400, (4.0, 5.0, 6.0), (q_ros[1], q_ros[2], q_ros[3], q_ros[0]))]
    write_bag(tmp_path / "t265.bag", CAM_TOPICS, [S + 10, 2 * S, 3 * S], odometry)
    out = tmp_path / "kapture"
    argv = ["-b", str(tmp_path / "t265.bag"), "-r", str(make_rig(tmp_path / "rig")), "-c", "left", "right",
            "-k", str(out), "-q"]
    assert kapture_import_rosbag.main(argv) == 0
    k = load_kapture(out)
    assert len(k.records["camera"]) == 6 and k.records["camera"][S + 10, "right"] == "right/frame_000000001.jpg"
    image = load_image(records_data_path(out, "left/frame_000000002.jpg"), grayscale=True)
    assert image.shape == (2, 3)
    # group 1 takes the odometry at 1 s: world-from-rig = (I, (1, 2, 3)) in ROS axes (x fwd, y left, z up);
    # rig-from-world in kapture axes (x right, y down, z fwd): t = R_kr (-(1, 2, 3)) = (2, 3, -1)
    pose = k.trajectories[S + 10, "t265"]
    np.testing.assert_allclose(pose.t, [2.0, 3.0, -1.0], atol=1e-12)
    assert P.rotation_error_deg(pose.q, [1.0, 0, 0, 0]) < 1e-6
    # group 3 (at 3 s) takes the nearest of the recent poses: the one at 2 s
    R_kr = np.array([[0.0, -1, 0], [0, 0, -1], [1, 0, 0]])
    M = np.eye(4)
    M[:3, :3], M[:3, 3] = P.quat_to_rotmat(q_ros), [4.0, 5.0, 6.0]
    K = np.eye(4)
    K[:3, :3] = R_kr
    expected = K @ np.linalg.inv(M) @ K.T
    pose = k.trajectories[3 * S, "t265"]
    np.testing.assert_allclose(P.to_matrix(pose.q, pose.t), expected, atol=1e-12)
    assert len(k.trajectories) == 3 and set(k.rigs) == {"t265"}
    # every odometry pose too (-a); one image group in two (-p 50)
    assert kapture_import_rosbag.main(argv + ["-y", "-a", "-p", "50"]) == 0
    k = load_kapture(out)
    assert len(k.records["camera"]) == 4 and len(k.trajectories) == 2 + 2


def test_rosbag_errors(tmp_path: Path, monkeypatch, capsys) -> None:
    write_bag(tmp_path / "skew.bag", CAM_TOPICS, [S], [(S, (0, 0, 0), (0, 0, 0, 1))], skew=5_000_000)
    rig = make_rig(tmp_path / "rig")
    base = ["-r", str(rig), "-c", "left", "right", "-q"]
    assert kapture_import_rosbag.main(base + ["-b", str(tmp_path / "skew.bag"), "-k", str(tmp_path / "a")]) == 1
    assert "more than 1 ms" in capsys.readouterr().err
    assert kapture_import_rosbag.main(base + ["-b", str(tmp_path / "skew.bag"), "-k", str(tmp_path / "b"),
                                             "-i", "/no/such/topic", "/camera/fisheye2/image_raw"]) == 1
    assert "topic '/no/such/topic' is not in the bag" in capsys.readouterr().err
    assert kapture_import_rosbag.main(base + ["-b", str(tmp_path / "none.bag"), "-k", str(tmp_path / "c")]) == 1
    assert "none.bag: ROS bag is missing" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "rosbags.highlevel", None)  # the extra is not installed
    assert kapture_import_rosbag.main(base + ["-b", str(tmp_path / "skew.bag"), "-k", str(tmp_path / "d")]) == 1
    err = capsys.readouterr().err
    assert "requirements-rosbag.txt" in err and err.count("\n") == 1


def test_utbm(tmp_path: Path) -> None:
    topics = ["/BB2_9211442/left/image_raw", "/BB2_9211442/right/image_raw"]
    write_bag(tmp_path / "utbm.bag", topics, [S, 2 * S], [], skew=3_000_000, encoding="bgr8")
    for name in ("bb2_left", "bb2_right"):
        (tmp_path / f"{name}.yaml").write_text(CALIBRATION.replace("cam0", name))
    out = tmp_path / "kapture"
    argv = ["-b", str(tmp_path / "utbm.bag"), "--camera_info", str(tmp_path / "bb2_left.yaml"),
            str(tmp_path / "bb2_right.yaml"), "-k", str(out), "-q"]
    assert kapture_import_utbm.main(argv) == 1  # images 3 ms apart
    assert kapture_import_utbm.main(argv + ["--no-force_same_time", "--bb2"]) == 0
    k = load_kapture(out)
    assert set(k.sensors) == {"bb2_left", "bb2_right"} and k.sensors["bb2_left"].model == "OPENCV"
    assert k.records["camera"].keys() == [(S, "bb2_left"), (S + 3_000_000, "bb2_right"), (2 * S, "bb2_left"),
                                          (2 * S + 3_000_000, "bb2_right")]
    assert k.trajectories is None
    rgb = load_image(records_data_path(out, "bb2_left/frame_000000001.jpg"))
    assert rgb.shape == (2, 3, 3)
