"""ROS bags (ROS1 .bag or ROS2 folders) -> kapture, read with the pure-Python ``rosbags`` package (no ROS
install): kapture's ``kapture_import_rosbag`` (RealSense T265 by default) and the reader behind
``kapture_import_utbm``. ``rosbags`` is an optional extra (requirements-rosbag.txt).

What is read: groups of images, one from each image topic (``sensor_msgs/Image``), are kept when
every topic has delivered one (their stamps must agree within 1 ms, or only a warning with
``force_same_time`` off); with an odometry topic (``nav_msgs/Odometry``) each group gets the pose of
the odometry message nearest in time among the last 20 received, as kapture does.

Conventions:
- Timestamps are the message header stamps in nanoseconds.
- Images are written as ``<camera id>/frame_<n:09>.jpg`` (16-bit images as .png), n counting
  image groups from 1; a file already written is kept (resume).
- Odometry gives the pose of the rig in ROS axes (x forward, y left, z up): the trajectory holds
  its inverse turned into kapture's camera axes (x right, y down, z forward):
  kapture-from-ROS x (world-from-rig)^-1 x ROS-from-kapture, for the rig id of the rig kapture.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.sensors import Camera, Sensor
from kapturelike.core.trajectories import Trajectories
from kapturelike.importers.common import DatasetImportError, RecordsBuilder, prepare_output
from kapturelike.io.dataset import records_data_path, save_kapture
from kapturelike.io.images import save_image

logger = logging.getLogger("kapturelike.importers.rosbag")

TOPIC_ODOMETRY = "/camera/odom/sample"
DEFAULT_IMAGE_TOPICS = ["/camera/fisheye1/image_raw", "/camera/fisheye2/image_raw"]
# kapture camera axes from ROS body axes
KAPTURE_FROM_ROS_Q = P.rotmat_to_quat(np.array([[0.0, -1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]]))
MAX_TIME_DELTA_NS = 1_000_000
RECENT_POSES = 20


def rosbags_reader():
    """``rosbags.highlevel.AnyReader``, or a one-line error naming the missing extra."""
    try:
        from rosbags.highlevel import AnyReader
    except ImportError:
        raise DatasetImportError("reading ROS bags needs the optional 'rosbags' package: "
                                 "pip install -r requirements-rosbag.txt") from None
    return AnyReader


@dataclass
class RosbagOptions:
    image_topics: list[str] = field(default_factory=lambda: list(DEFAULT_IMAGE_TOPICS))
    camera_identifiers: list[str] = field(default_factory=list)  # one per image topic
    odometry_topic: str | None = TOPIC_ODOMETRY  # None or '': no trajectory
    rig_id: str | None = None  # the trajectory's device (required with odometry)
    all_pose: bool = False  # every odometry message becomes a pose, not only those matched to images
    match_pose: bool = True  # images get the nearest odometry pose (groups without one are dropped)
    force_same_time: bool = True  # images of a group more than 1 ms apart: error (else a warning)
    percent: int = 100  # keep one image group in int(100 / percent)
    force: bool = False
    progress: bool = True


def stamp_ns(msg) -> int:
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


def image_array(msg) -> np.ndarray:
    """The pixels of a sensor_msgs/Image as (H, W) or (H, W, C), RGB order for colour."""
    dtype = np.uint16 if msg.encoding.endswith("16") else np.uint8
    if msg.encoding and not msg.encoding.endswith(("8", "16")):
        raise DatasetImportError(f"unsupported image encoding '{msg.encoding}'")
    channels = int(msg.step // (msg.width * np.dtype(dtype).itemsize)) if msg.step else 1
    data = np.frombuffer(bytes(msg.data), dtype=dtype)
    image = data.reshape(msg.height, msg.width, channels) if channels > 1 else data.reshape(msg.height, msg.width)
    if msg.encoding.startswith("bgr"):
        image = image[..., [2, 1, 0] + list(range(3, channels))]
    return image


def odometry_pose(q_xyzw: tuple, t: tuple) -> tuple[np.ndarray, np.ndarray]:
    """kapture pose (rig-from-world in kapture axes) of a ROS odometry pose (world-from-rig in ROS axes)."""
    q = np.array([q_xyzw[3], q_xyzw[0], q_xyzw[1], q_xyzw[2]], dtype=np.float64)
    zero = np.zeros(3)
    q_i, t_i = P.invert(q, np.asarray(t, np.float64))
    q_a, t_a = P.compose(KAPTURE_FROM_ROS_Q, zero, q_i, t_i)
    return P.compose(q_a, t_a, *P.invert(KAPTURE_FROM_ROS_Q, zero))


def read_rosbag(bag: str | Path, output: Path, sensors: dict[str, Camera | Sensor], o: RosbagOptions
                ) -> tuple[RecordsBuilder, Trajectories | None]:
    """Write the images of ``bag`` under ``output`` and return their records and the trajectory."""
    AnyReader = rosbags_reader()
    topics = list(o.image_topics)
    if len(topics) != len(o.camera_identifiers):
        raise DatasetImportError(f"{len(o.camera_identifiers)} camera identifiers for {len(topics)} image topics: "
                                 "give one camera identifier per image topic")
    for camera_id in o.camera_identifiers:
        if camera_id not in sensors:
            raise DatasetImportError(f"camera identifier '{camera_id}' is not defined in the sensors "
                                     f"({', '.join(sensors) or 'none'})")
    odometry = o.odometry_topic or None
    match_pose = o.match_pose and odometry is not None
    camera_of = dict(zip(topics, o.camera_identifiers))
    records = RecordsBuilder("camera")
    poses: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    skip = int(100 / o.percent) if o.percent < 100 else 1
    if not Path(bag).exists():
        raise DatasetImportError(f"{bag}: ROS bag is missing")
    with AnyReader([Path(bag)]) as reader:
        available = {c.topic: c for c in reader.connections}
        for topic in topics + ([odometry] if odometry else []):
            if topic not in available:
                raise DatasetImportError(f"{bag}: topic '{topic}' is not in the bag "
                                         f"(topics: {', '.join(sorted(available))})")
        counts = {t: sum(c.msgcount for c in reader.connections if c.topic == t) for t in topics}
        if len(set(counts.values())) > 1:
            raise DatasetImportError(f"{bag}: the image topics hold different numbers of images {counts}")
        wanted = [c for c in reader.connections if c.topic in set(topics) | {odometry}]
        recent: deque = deque(maxlen=RECENT_POSES)
        group: dict[str, tuple[int, object]] = {}
        number = 1
        progress = tqdm(total=next(iter(counts.values()), 0), desc="image groups", unit="group",
                        disable=not o.progress, leave=False)
        for connection, _, raw in reader.messages(connections=wanted):
            msg = reader.deserialize(raw, connection.msgtype)
            stamp = stamp_ns(msg)
            if connection.topic == odometry:
                p = msg.pose.pose
                pose = odometry_pose((p.orientation.x, p.orientation.y, p.orientation.z, p.orientation.w),
                                     (p.position.x, p.position.y, p.position.z))
                recent.append((stamp, pose))
                if o.all_pose:
                    poses[stamp] = pose
                continue
            group[connection.topic] = (stamp, msg)
            if len(group) < len(topics):
                continue
            stamps = [s for s, _ in group.values()]
            if max(stamps) - min(stamps) > MAX_TIME_DELTA_NS:
                text = f"image group {number}: stamps differ by {(max(stamps) - min(stamps)) * 1e-9:.6f} s"
                if o.force_same_time:
                    raise DatasetImportError(f"{bag}: {text} (more than 1 ms)")
                logger.warning("%s", text)
            pose = min(recent, key=lambda sp: abs(stamp - sp[0]))[1] if match_pose and recent else None
            if pose is not None or not match_pose:
                if (number - 1) % skip == 0:
                    for topic in topics:
                        image_stamp, image_msg = group[topic]
                        image = image_array(image_msg)
                        ext = "png" if image.dtype == np.uint16 else "jpg"
                        name = f"{camera_of[topic]}/frame_{number:09d}.{ext}"
                        path = records_data_path(output, name)
                        if not path.is_file():
                            save_image(path, image)
                            os.utime(path, ns=(image_stamp, image_stamp))
                        records.add(image_stamp, camera_of[topic], name)
                    if pose is not None:
                        poses[stamp] = pose
                number += 1
                group.clear()
                progress.update(1)
        progress.close()
    if poses and o.rig_id is None:
        raise DatasetImportError("the trajectory needs a rig id: give a rig kapture with one rig")
    trajectories = None
    if poses:
        stamps = np.array(sorted(poses), np.int64)
        trajectories = Trajectories(stamps, np.full(len(stamps), o.rig_id, object),
                                    np.stack([poses[s][0] for s in stamps]), np.stack([poses[s][1] for s in stamps]))
    return records, trajectories


def import_rosbag(bag: str | Path, rig_kapture: str | Path, output: str | Path,
                  options: RosbagOptions | None = None) -> Kapture:
    """kapture_import_rosbag: sensors and rig from ``rig_kapture``, images and trajectory from ``bag``."""
    from kapturelike.io.dataset import load_kapture

    o = options or RosbagOptions()
    rig = load_kapture(rig_kapture)
    rig_id = None
    if o.odometry_topic:
        if not rig.rigs:
            raise DatasetImportError(f"{rig_kapture}: no rig defined (the odometry gives the rig's pose)")
        if len(rig.rigs) > 1:
            raise DatasetImportError(f"{rig_kapture}: {len(rig.rigs)} rigs ({', '.join(rig.rigs)}); one is expected")
        rig_id = next(iter(rig.rigs))
    if not rig.cameras:
        raise DatasetImportError(f"{rig_kapture}: no camera defined")
    out = prepare_output(output, o.force, inputs=[bag, rig_kapture])
    o = RosbagOptions(**{**o.__dict__, "rig_id": rig_id})
    records, trajectories = read_rosbag(bag, out, rig.sensors, o)
    k = Kapture(sensors=rig.sensors, rigs=rig.rigs, trajectories=trajectories, records={"camera": records.build()})
    save_kapture(k, out)
    return k
