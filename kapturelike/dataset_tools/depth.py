"""Depth maps of a dataset (kapture's raw float32 files) as 16-bit PNG images."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from kapturelike.core.sensors import Camera
from kapturelike.dataset_tools.output import DatasetToolError
from kapturelike.io.dataset import load_kapture, records_data_path


def export_depth_images(root: str | Path, out: str | Path | None = None,
                        depth_range: list[float] | None = None) -> int:
    """Write each depth map as ``<out>/<depth map path>.png`` (``out`` defaults to the records_data folder):
    depth scaled linearly from ``depth_range`` (min, max; default: each map's own range) to 0..65535,
    invalid depths (not finite, or <= 0) as 0. Returns the number of images written."""
    root = Path(root)
    k = load_kapture(root)
    records = k.records.get("depth")
    if records is None or not len(records):
        raise DatasetToolError(f"{root}: no depth records (sensors/records_depth.txt)")
    if depth_range is not None and len(depth_range) != 2:
        raise DatasetToolError(f"--range takes two values (min max), got {len(depth_range)}")
    out = Path(out) if out else records_data_path(root)
    written = 0
    for device, name in zip(records.device_ids.tolist(), records.paths):
        sensor = k.sensors.get(device)
        if not isinstance(sensor, Camera):
            raise DatasetToolError(f"depth sensor '{device}' has no size (width, height) in sensors.txt")
        path = records_data_path(root, name)
        depth = np.fromfile(path, dtype=np.float32)
        if depth.size != sensor.width * sensor.height:
            raise DatasetToolError(f"{path}: {depth.size} values for a {sensor.width} x {sensor.height} depth map")
        depth = depth.reshape(sensor.height, sensor.width)
        valid = np.isfinite(depth) & (depth > 0)
        low, high = depth_range if depth_range else (depth[valid].min(initial=0.0), depth[valid].max(initial=1.0))
        scaled = np.clip((depth - low) / max(high - low, 1e-12), 0.0, 1.0) * 65535.0
        image = np.where(valid, np.rint(scaled), 0).astype(np.uint16)
        target = out / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(target), image):
            raise DatasetToolError(f"{target}: cannot write the PNG image")
        written += 1
    return written
