"""UTBM robocar dataset (ROS bags) -> kapture (kapture's ``kapture_import_utbm``).

The images of a UTBM bag (Bumblebee BB2 stereo by default, or the XB3 trinocular camera) with the
cameras of the calibration files the dataset publishes (ROS camera_info YAML, one per camera,
each naming its camera). No trajectory: the bags' GPS is not imported, as in kapture.
Reading follows ``importers.rosbag`` (optional ``rosbags`` package).
"""

from __future__ import annotations

from pathlib import Path

from kapturelike.core.reconstruction import Kapture
from kapturelike.importers.common import prepare_output
from kapturelike.importers.opencv_yaml import read_opencv_calibration
from kapturelike.importers.rosbag import RosbagOptions, read_rosbag
from kapturelike.io.dataset import save_kapture

TOPICS_BB2 = ["/BB2_9211442/left/image_raw", "/BB2_9211442/right/image_raw"]
BB2_CAMERA_IDENTIFIERS = ["bb2_left", "bb2_right"]
TOPICS_XB3 = ["/BBX3_7140017/camera/center/image_raw", "/BBX3_7140017/camera/left/image_raw",
              "/BBX3_7140017/camera/right/image_raw"]
XB3_CAMERA_IDENTIFIERS = ["bb_xb3_center", "bb_xb3_left", "bb_xb3_right"]


def import_utbm(bag: str | Path, camera_info: list[str | Path], output: str | Path,
                options: RosbagOptions | None = None) -> Kapture:
    """Images of ``bag`` (``options.image_topics`` / ``camera_identifiers``) with the cameras of ``camera_info``."""
    o = options or RosbagOptions(TOPICS_BB2, BB2_CAMERA_IDENTIFIERS)
    sensors = dict(read_opencv_calibration(path) for path in camera_info)
    out = prepare_output(output, o.force, inputs=[bag, *camera_info])
    records, _ = read_rosbag(bag, out, sensors, RosbagOptions(**{**o.__dict__, "odometry_topic": None,
                                                                 "all_pose": False, "match_pose": False}))
    k = Kapture(sensors=sensors, records={"camera": records.build()})
    save_kapture(k, out)
    return k
