"""kapture_import_stereolabs: the svo part says in one line that pyzed is needed; the IMU csv is imported."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kapturelike.io.dataset import load_kapture
from kapturelike.tools import kapture_import_stereolabs


def test_svo_needs_pyzed(tmp_path: Path, capsys) -> None:
    assert kapture_import_stereolabs.main(["-s", str(tmp_path / "rec.svo"), "-o", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pyzed" in err
    assert not (tmp_path / "out").exists()


def test_imu_csv(tmp_path: Path) -> None:
    csv = tmp_path / "imu.csv"
    csv.write_text("idx,imu_Timestamp[sec],mag_Timestamp[sec],baro_Timestamp[sec],accX[m/s^2],accY[m/s^2],"
                   "accZ[m/s^2],gyroX[deg/s],gyroY[deg/s],gyroZ[deg/s]\n"
                   "0,1602078471.25,0,0,0.1,-9.81,0.2,90,0,-180\n1,1602078471.5,0,0,0.1,-9.8,0.25,1,2,3\n")
    out = tmp_path / "kapture"
    assert kapture_import_stereolabs.main(["-u", str(csv), "-o", str(out), "-q"]) == 0
    k = load_kapture(out)
    stamp = int(float("1602078471.25") * 1e9)  # as kapture stamps them (seconds as a float, times 1e9)
    assert k.records["accelerometer"][stamp, "Accelerometer"] == (0.1, -9.81, 0.2)
    np.testing.assert_allclose(k.records["gyroscope"][stamp, "Gyroscope"], [np.pi / 2, 0, -np.pi])
    assert len(k.records["gyroscope"]) == 2
