"""GNSS records from the EXIF GPS tags of a dataset's images (kapture_extract_exif).

As kapture's tool: each camera ``CAM`` gets a gnss sensor ``GPS_CAM`` (EPSG:4326), each image a record
at its own timestamp (x longitude, y latitude, z altitude, utc 0, dop); sensors.txt and
records_gnss.txt are rewritten in place, nothing else is touched. Differences from kapture's tool, which
crashes on an image without EXIF, GPS tags or altitude: here an image without GPS position gets no
record (a warning names it), a missing altitude is 0. kapture never negates southern latitudes and
western longitudes (its reference test never matches piexif's bytes) nor altitudes below sea level:
here they are negative.
"""

from __future__ import annotations

import logging
from pathlib import Path

from tqdm import tqdm

from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera, Sensor
from kapturelike.dataset_tools.output import DatasetToolError
from kapturelike.io.dataset import load_kapture, records_data_path, sensors_path
from kapturelike.io.exif import ExifError, gps_position, read_exif
from kapturelike.io.records import write_records
from kapturelike.io.sensors import write_sensors

logger = logging.getLogger("kapturelike")

GPS_PREFIX = "GPS_"
GPS_EPSG = "EPSG:4326"


def extract_gps_from_exif(root: str | Path) -> int:
    """Add the EXIF GPS positions of the images of the kapture at ``root``; returns the records written."""
    root = Path(root)
    k = load_kapture(root, list_features=False)
    cameras = [cam_id for cam_id, s in k.sensors.items() if isinstance(s, Camera)]
    gps_of = {cam_id: GPS_PREFIX + cam_id for cam_id in cameras}
    clash = [g for g in gps_of.values() if g in k.sensors and k.sensors[g].sensor_type != "gnss"]
    if clash:
        raise DatasetToolError(f"{sensors_path(root, 'sensors.txt')}: sensor '{clash[0]}' exists and is not a "
                               "gnss sensor; it would be overwritten")
    records = k.records_camera
    rows: list[tuple[int, str, tuple]] = []
    missing: list[str] = []
    for (timestamp, cam_id), name in tqdm(list(zip(records.keys(), records.paths)), desc="exif",
                                          disable=not logger.isEnabledFor(logging.INFO)):
        path = records_data_path(root, name)
        try:
            exif = read_exif(path)
        except (OSError, ExifError) as e:
            raise DatasetToolError(f"{path}: cannot read EXIF ({e})") from e
        position = None if exif is None else gps_position(exif)
        if position is None:
            missing.append(name)
            continue
        x, y, z, dop = position
        rows.append((timestamp, gps_of[cam_id], (x, y, z, 0, dop)))
    if missing:
        logger.warning(f"{len(missing)} image(s) without EXIF GPS tags get no gnss record "
                       f"(first: {records_data_path(root, missing[0])})")
    sensors = dict(k.sensors)
    for gps_id in gps_of.values():
        sensors[gps_id] = Sensor("gnss", (GPS_EPSG,))
    gnss = Records("gnss", [r[0] for r in rows], [r[1] for r in rows], values=[r[2] for r in rows])
    write_sensors(sensors_path(root, "sensors.txt"), sensors)
    write_records(sensors_path(root, "records_gnss.txt"), gnss)
    logger.info(f"{len(rows)} gnss records written to {sensors_path(root, 'records_gnss.txt')}")
    return len(rows)
