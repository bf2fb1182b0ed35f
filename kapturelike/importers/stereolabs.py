"""Stereolabs ZED recordings -> kapture (kapture's ``kapture_import_stereolabs``), the part that needs no
proprietary SDK.

kapture reads the ``.svo`` recording (stereo images, depth, SLAM poses, calibration) through
Stereolabs' proprietary ``pyzed`` (ZED SDK, NVIDIA GPU): kapturelike does not, and says so. What it
reads is the sensors CSV of the ZED data CSV sink (``idx, imu_Timestamp[sec], mag_Timestamp[sec],
baro_Timestamp[sec], accX, accY, accZ [m/s^2], gyroX, gyroY, gyroZ [deg/s], ...``): accelerometer
records in m/s^2 and gyroscope records in rad/s (``Accelerometer``, ``Gyroscope``), stamped in ns.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kapturelike.core.reconstruction import Kapture
from kapturelike.core.sensors import Sensor
from kapturelike.importers.common import RecordsBuilder, prepare_output, require_file
from kapturelike.io.dataset import save_kapture

ACCELEROMETER_ID = "Accelerometer"
GYROSCOPE_ID = "Gyroscope"
SVO_NEEDS = ("reading the .svo recording needs Stereolabs' proprietary pyzed (ZED SDK), which kapturelike "
             "does not use; only the IMU file (-u/--imu) can be imported")


def import_stereolabs_imu(imu_csv: str | Path, output: str | Path, force: bool = False) -> Kapture:
    path = require_file(imu_csv, "IMU file")
    accel, gyro = RecordsBuilder("accelerometer"), RecordsBuilder("gyroscope")
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            fields = line.split(",")
            try:
                stamp = int(float(fields[1]) * 1e9)
                a = [float(v) for v in fields[4:7]]
                g = np.deg2rad([float(v) for v in fields[7:10]]).tolist()
            except (ValueError, IndexError):
                continue  # the header line, or a line cut short
            if len(a) == 3 and len(g) == 3:
                accel.add(stamp, ACCELEROMETER_ID, *a)
                gyro.add(stamp, GYROSCOPE_ID, *g)
    out = prepare_output(output, force, inputs=[imu_csv])
    k = Kapture(sensors={ACCELEROMETER_ID: Sensor("accelerometer", (), ACCELEROMETER_ID),
                         GYROSCOPE_ID: Sensor("gyroscope", (), GYROSCOPE_ID)},
                records={"accelerometer": accel.build(True), "gyroscope": gyro.build(True)})
    save_kapture(k, out)
    return k
