"""OpenCV camera calibration files (YAML written by OpenCV's FileStorage or ROS' camera_info) -> Camera."""

from __future__ import annotations

from pathlib import Path

import yaml

from kapturelike.core.sensors import Camera
from kapturelike.importers.common import DatasetImportError, require_file


def read_opencv_calibration(path: str | Path) -> tuple[str, Camera]:
    """(camera name, camera) of a calibration file: OPENCV, or FULL_OPENCV when k3 is not zero.

    OpenCV's ``%YAML:1.0`` header and ``!!opencv-matrix`` tags are not YAML 1.1: both are dropped
    before parsing. The name is ``camera_name`` when the file has one, else the file's stem.
    """
    path = require_file(path, "camera calibration file")
    lines = path.read_text().splitlines(keepends=True)
    if lines and lines[0].startswith("%YAML:"):
        lines = lines[1:]
    text = "".join(line[: line.find("!!")] + "\n" if "!!" in line else line for line in lines)
    try:
        info = yaml.safe_load(text)
        name = str(info.get("camera_name", path.stem))
        width, height = int(info["image_width"]), int(info["image_height"])
        K = [float(v) for v in info["camera_matrix"]["data"]]
        dist = [float(v) for v in info["distortion_coefficients"]["data"]]
    except (yaml.YAMLError, KeyError, TypeError, AttributeError, ValueError) as e:
        raise DatasetImportError(f"{path}: not an OpenCV camera calibration file ({e!r})") from None
    fx, cx, fy, cy = K[0], K[2], K[4], K[5]
    dist = dist + [0.0] * (8 - len(dist))
    if dist[4] == 0.0:
        return name, Camera("OPENCV", width, height, (fx, fy, cx, cy, *dist[:4]), name=name)
    return name, Camera("FULL_OPENCV", width, height, (fx, fy, cx, cy, *dist[:8]), name=name)
