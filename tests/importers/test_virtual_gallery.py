"""kapture_import_virtual_gallery on a tiny gallery in its raw layout, against kapture's own importer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kapturelike.core import pose as P
from kapturelike.importers.virtual_gallery import VirtualGalleryOptions, import_virtual_gallery
from kapturelike.io.dataset import load_kapture
from kapturelike.tools import kapture_import_virtual_gallery

from .oracle import assert_same_kapture, kapture_tool, transfer
from .test_7scenes import camera_to_world

RIG_Q = {0: (1.0, 0.0, 0.0, 0.0), 1: (-0.8660254037844386, 0.0, 0.5, 0.0)}


def write_tables(folder: Path, rows: list[tuple[int, int, np.ndarray]]) -> None:
    folder.mkdir(parents=True)
    intr = ["frame cameraID K[0,0] K[1,1] K[0,2] K[1,2]"]
    extr = ["frame cameraID r1,1 r1,2 r1,3 t1 r2,1 r2,2 r2,3 t2 r3,1 r3,2 r3,3 t3 0 0 0 1"]
    for frame, cam, M in rows:
        intr.append(f"{frame} {cam} {800 + cam} {801 + cam} 960 540")
        extr.append(f"{frame} {cam} " + " ".join(repr(float(v)) for v in M.reshape(-1)))
    (folder / "intrinsic.txt").write_text("\n".join(intr) + "\n")
    (folder / "extrinsic.txt").write_text("\n".join(extr) + "\n")


def make_gallery(root: Path) -> None:
    """Lights 1-2, loop 1, two training cameras of a rig moving over two frames; two testing images."""
    for light in (1, 2):
        rows = []
        for frame in (0, 1):
            rig_from_world = P.from_matrix(camera_to_world(10 * light + frame))
            for cam in (0, 1):
                cam_from_rig = (np.array(RIG_Q[cam]), np.array([0.0, 0.0, -0.10]))
                q, t = P.compose(*cam_from_rig, *rig_from_world)
                rows.append((frame, cam, P.to_matrix(q, t)))
        write_tables(root / "training" / f"gallery_light{light}_loop1", rows)
        write_tables(root / "testing" / f"gallery_light{light}_occlusion1",
                     [(frame, 0, camera_to_world(50 + frame)) for frame in (3, 7)])


def test_virtual_gallery_pose_by_hand(tmp_path: Path) -> None:
    make_gallery(tmp_path / "raw")
    out = tmp_path / "kapture"
    args = ["-i", str(tmp_path / "raw"), "-o", str(out), "-q", "--light-range", "1", "2", "--loop-range", "1",
            "--camera-range", "0", "1", "--occlusion-range", "1"]
    assert kapture_import_virtual_gallery.main(args) == 0
    k = load_kapture(out)
    assert len(k.records["camera"]) == 8 + 4 and len(k.trajectories) == 12
    # training light 2, frame 1 is the 4th (light, loop, frame) triple: timestamp 3; pose as in the file
    name = "training/gallery_light2_loop1/frames/rgb/camera_1/rgb_00001.jpg"
    assert k.records["camera"][3, "training_camera_1"] == name
    pose = k.trajectories[3, "training_camera_1"]
    row = (tmp_path / "raw/training/gallery_light2_loop1/extrinsic.txt").read_text().splitlines()[4].split()
    assert row[:2] == ["1", "1"]
    np.testing.assert_allclose(P.to_matrix(pose.q, pose.t), np.array(row[2:], float).reshape(4, 4), atol=1e-12)
    # testing stamps start after the 8 training rows; one camera per testing image
    assert k.records["camera"][9, "testing_light_1_occlusion_1_frame_7"].endswith("camera_0/rgb_00007.jpg")
    # as a rig: one pose per frame, the rig's
    assert kapture_import_virtual_gallery.main(args + ["-f", "--as-rig", "-c", "training"]) == 0
    rig = load_kapture(out).trajectories
    assert len(rig) == 4 and set(rig.device_ids) == {"training_rig"}
    expected = P.from_matrix(camera_to_world(21))
    assert np.allclose(rig[3, "training_rig"].t, expected[1], atol=1e-9)


def test_virtual_gallery_same_as_kapture(tmp_path: Path) -> None:
    kapture_tool("kapture_import_virtual_gallery")  # skips when kapture is absent
    from kapture.converter.virtual_gallery import import_virtual_gallery as convert
    make_gallery(tmp_path / "raw")
    for configuration, as_rig in (("all", False), ("training", True)):
        ours, theirs = tmp_path / f"ours_{as_rig}", tmp_path / f"theirs_{as_rig}"
        options = VirtualGalleryOptions(configuration, [1, 2], [1], [0, 1], [1], as_rig, progress=False)
        import_virtual_gallery(tmp_path / "raw", ours, options)
        convert.import_virtual_gallery(str(tmp_path / "raw"), configuration, [1, 2], [1], [0, 1], [1], as_rig,
                                       transfer("skip"), str(theirs), True)
        # kapture's rig lists all six cameras, outside --camera-range too (sensors it did not write)
        rigs = theirs / "sensors" / "rigs.txt"
        rigs.write_text("".join(line for line in rigs.read_text().splitlines(True)
                                if not any(f"training_camera_{c}" in line for c in range(2, 6))))
        assert_same_kapture(ours, theirs)
