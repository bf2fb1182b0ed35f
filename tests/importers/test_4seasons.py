"""kapture_import_4seasons on a tiny recording in 4Seasons' layout, against kapture's own importer."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from kapturelike.core import pose as P
from kapturelike.importers.common import TransferAction, read_depth_map
from kapturelike.importers.four_seasons import FourSeasonsOptions, import_4seasons
from kapturelike.io.dataset import load_kapture, records_data_path
from kapturelike.tools import kapture_import_4seasons

from .oracle import assert_same_kapture, kapture_tool, transfer
from .test_7scenes import camera_to_world

SHOTS = [1602078471000000000 + k * 1000000000 for k in range(3)]  # whole seconds: exact as float seconds


def qt_text(M: np.ndarray) -> str:
    """tx, ty, tz, qx, qy, qz, qw of a 4x4 matrix."""
    q, t = P.from_matrix(M)
    return ", ".join(repr(float(v)) for v in [*t, q[1], q[2], q[3], q[0]])


def make_recording(root: Path) -> Path:
    calib = root / "calibration"
    calib.mkdir(parents=True)
    for i in (0, 1):
        (calib / f"undistorted_calib_{i}.txt").write_text(
            f"Pinhole {501.5 + i} {501.25 + i} 421.75 167.5 0.0 0.0 0.0 0.0\n8 6\ncrop\n8 6\n")
    stereo = np.eye(4)
    stereo[:3, 3] = [0.30, 0.001, -0.002]
    stereo[:3, :3] = P.quat_to_rotmat(P.normalize_quaternions([1, 0.01, -0.02, 0.005]))
    np.savetxt(calib / "undistorted_calib_stereo.txt", stereo)
    rec = root / "recording_2020-10-07_14-47-51"
    for cam in ("cam0", "cam1"):
        (rec / "undistorted_images" / cam).mkdir(parents=True)
    (rec / "times.txt").write_text("".join(f"{s} {s // 10**9}.000000 4.5\n" for s in SHOTS))
    for s in SHOTS:
        cv2.imwrite(str(rec / "undistorted_images" / "cam0" / f"{s}.png"), np.zeros((6, 8), np.uint8))
    cv2.imwrite(str(rec / "undistorted_images" / "cam1" / f"{SHOTS[0]}.png"), np.zeros((6, 8), np.uint8))
    (rec / "GNSSPoses.txt").write_text("# frame_id, tx, ty, tz, qx, qy, qz, qw, scale, fusion_quality, v3\n" +
                                       "".join(f"{s}, {qt_text(camera_to_world(i))}, 1.0, 1, 0\n"
                                               for i, s in enumerate(SHOTS[:2])))
    names = ["transform_S_AS", "TS_cam_imu", "transform_w_gpsw", "transform_gps_imu", "transform_e_gpsw"]
    (rec / "Transformations.txt").write_text(
        "".join(f"# {n}: translation, rotation\n{qt_text(camera_to_world(30 + i))}\n\n" for i, n in enumerate(names)) +
        "# GNSS scale: scale\n0.875\n")
    (rec / "KeyFrameData").mkdir()
    (rec / "KeyFrameData" / f"KeyFrame_{SHOTS[1]}.txt").write_text(
        "# timestamp\n1\n# camToWorld: translation vector, rotation quaternion\n"
        f"{qt_text(camera_to_world(5))}\n# fx, fy, cx, cy, width, height, npoints\n501.5, 501.25, 4, 3, 8, 6, 2\n"
        "# color information\n2, 3, 0.5, 1, 1\n10,20,30\n7, 5, 0.0, 1, 1\n40,50,60\n")
    (rec / "imu.txt").write_text(f"{SHOTS[0]} 0.1 0.2 0.3 1.5 2.5 9.75\n1602078471500000000 0.4 0.5 0.6 1 2 3\n")
    (rec / "septentrio.nmea").write_text(
        "$GPGGA,124637.00,4811.7605691,N,01137.1631304,E,4,25,0.6,494.6412,M,46.8,M,1.2,0000*00\n"
        "$GPRMC,124638.20,A,4811.7605691,N,01137.1631304,E,0.0,0.0,071020,,,A*00\n"
        "$GPGGA,124638.20,4811.7605691,N,01137.1631304,W,4,25,0.6,494.6412,M,46.8,M,1.2,0000*00\n"
        "$GPGGA,124639.4,4811.7605700,S,01137.1631400,E,4,25,0.7,495.5,M,46.8,M,1.2,0000*00\n")
    return rec


def test_4seasons_by_hand(tmp_path: Path) -> None:
    rec = make_recording(tmp_path)
    out = tmp_path / "kapture"
    assert kapture_import_4seasons.main(["-i", str(rec), "-o", str(out), "-q"]) == 0
    k = load_kapture(out)
    assert len(k.records["camera"]) == 4 and len(k.trajectories) == 2
    assert k.records["camera"][SHOTS[0], "cam1"] == f"undistorted_images/cam1/{SHOTS[0]}.png"
    depth = read_depth_map(records_data_path(out, f"undistorted_images/depth/{SHOTS[1]}.depth"), 8, 6)
    assert depth[3, 2] == 2.0 and depth[5, 7] == 0.0 and depth[0, 0] == -1.0
    assert k.records["accelerometer"][SHOTS[0], "accelero"] == (1.5, 2.5, 9.75)
    assert (1602078471500000, "gyro") in k.records["gyroscope"]  # not in times.txt: kapture's microsecond guess
    gnss = k.records["gnss"]
    assert len(gnss) == 2  # the first GGA comes before any date
    x, y, z, utc, dop = gnss[1602074798200000000, "GNSS"]
    assert (x, y, z, utc, dop) == (-(11 + 37.1631304 / 60), 48 + 11.7605691 / 60, 494.6412, 1602074798200000000, 0.6)
    assert set(k.rigs["car"]) == {"cam0", "cam1", "accelero", "gyro", "GNSS"}


def test_4seasons_same_as_kapture(tmp_path: Path) -> None:
    oracle = kapture_tool("kapture_import_4seasons")
    rec = make_recording(tmp_path)
    import_4seasons(rec, tmp_path / "ours", FourSeasonsOptions(transfer=TransferAction.skip, progress=False))
    oracle.import_4seasons_sequence(str(tmp_path / "calibration"), str(rec), str(tmp_path / "theirs"),
                                    transfer("skip"), True)
    assert_same_kapture(tmp_path / "ours", tmp_path / "theirs", atol=1e-6)
    name = f"undistorted_images/depth/{SHOTS[1]}.depth"
    assert records_data_path(tmp_path / "ours", name).read_bytes() == records_data_path(tmp_path / "theirs",
                                                                                        name).read_bytes()
