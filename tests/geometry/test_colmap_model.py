"""build_reconstruction: cameras, rigs, frames, poses and keypoints land in pycolmap as given."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pycolmap
import pytest

from kapturelike.geometry.colmap_model import (
    ReconstructionInputError,
    build_reconstruction,
    camera_ids,
    image_ids_by_name,
    pose_to_rigid3d,
    rigid3d_to_pose,
)


@dataclass(frozen=True)
class Cam:
    model: str
    width: int
    height: int
    params: tuple


CAMERAS = {
    "cam_a": Cam("SIMPLE_RADIAL", 640, 480, (500.0, 320.0, 240.0, 0.01)),
    "cam_b": Cam("OPENCV", 800, 600, (600.0, 610.0, 400.5, 299.5, 0.1, -0.01, 0.001, 0.002)),
}


def random_pose(rng):
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)
    q *= np.sign(q[0])
    return q, rng.normal(size=3)


def test_round_trip_poses_and_keypoints():
    rng = np.random.default_rng(0)
    images, keypoints = [], {}
    for k in range(5):
        q, t = random_pose(rng)
        name = f"map/{k:04d}.jpg"
        images.append((name, "cam_a" if k % 2 else "cam_b", q, t))
        keypoints[name] = rng.uniform(0, 600, (10 + k, 3)).astype(np.float32)  # extra column ignored
    images.append(("query/unposed.jpg", "cam_a", None, None))
    rec = build_reconstruction(CAMERAS, images, keypoints)

    assert rec.num_cameras() == 2 and rec.num_rigs() == 2 and rec.num_frames() == 6
    assert rec.num_reg_images() == 5 and rec.num_images() == 6
    ids = camera_ids(CAMERAS)
    for key, cam in CAMERAS.items():
        pc = rec.camera(ids[key])
        assert pc.model_name == cam.model and (pc.width, pc.height) == (cam.width, cam.height)
        np.testing.assert_allclose(pc.params, cam.params)
    by_name = image_ids_by_name(rec)
    assert set(by_name) == {e[0] for e in images}
    for image_id, (name, cam_key, q, t) in enumerate(images, start=1):
        image = rec.image(by_name[name])
        assert image.image_id == image_id and image.camera_id == ids[cam_key]
        assert image.frame_id == image_id
        if q is None:
            assert not image.has_pose
            assert image.num_points2D() == 0
            continue
        q_out, t_out = rigid3d_to_pose(image.cam_from_world())
        np.testing.assert_allclose(q_out, q, atol=1e-12)
        np.testing.assert_allclose(t_out, t, atol=1e-12)
        # a world point maps to R X + t in the camera (CONVENTIONS.md)
        x = rng.normal(size=3)
        r = pycolmap.Rotation3d(q[[1, 2, 3, 0]]).matrix()
        np.testing.assert_allclose(image.cam_from_world() * x, r @ x + t, atol=1e-12)
        xy = np.array([p.xy for p in image.points2D])
        np.testing.assert_allclose(xy, keypoints[name][:, :2].astype(np.float64))  # unshifted


def test_pose_helpers_normalise_and_flip_sign():
    q = np.array([-2.0, 0.0, 0.0, 0.0])
    q_out, t_out = rigid3d_to_pose(pose_to_rigid3d(q, np.array([1.0, 2.0, 3.0])))
    np.testing.assert_allclose(q_out, [1, 0, 0, 0])
    np.testing.assert_allclose(t_out, [1, 2, 3])


def test_reconstruction_survives_write_and_read(tmp_path):
    rng = np.random.default_rng(1)
    q, t = random_pose(rng)
    rec = build_reconstruction(CAMERAS, [("a.jpg", "cam_b", q, t)], {"a.jpg": np.ones((3, 2))})
    rec.write(tmp_path)
    back = pycolmap.Reconstruction(tmp_path)
    np.testing.assert_allclose(rigid3d_to_pose(back.find_image_with_name("a.jpg").cam_from_world())[0], q,
                               atol=1e-12)


@pytest.mark.parametrize("images, keypoints, message", [
    ([("a", "nope", np.array([1.0, 0, 0, 0]), np.zeros(3))], {}, "unknown camera 'nope'"),
    ([("a", "cam_a", np.array([1.0, 0, 0, 0]), np.zeros(3))] * 2, {}, "appears twice"),
    ([("a", "cam_a", np.zeros(4), np.zeros(3))], {}, "zero norm"),
    ([("a", "cam_a", np.ones(3), np.zeros(3))], {}, "4 finite numbers"),
    ([("a", "cam_a", np.array([1.0, 0, 0, 0]), None)], {}, "both be given"),
    ([("a", "cam_a", np.array([1.0, 0, 0, 0]), np.zeros(3))], {"a": np.ones(5)}, "keypoints of image 'a'"),
])
def test_bad_input_raises(images, keypoints, message):
    with pytest.raises(ReconstructionInputError, match=message):
        build_reconstruction(CAMERAS, images, keypoints)


def test_unknown_camera_model_rejected():
    with pytest.raises(ReconstructionInputError, match="UNKNOWN_CAMERA"):
        build_reconstruction({"c": Cam("UNKNOWN_CAMERA", 10, 10, ())}, [])
    with pytest.raises(ReconstructionInputError, match="parameters"):
        build_reconstruction({"c": Cam("PINHOLE", 10, 10, (1.0, 2.0))}, [])


def test_accepts_core_camera():
    from kapturelike.core.sensors import Camera

    cam = Camera("RADIAL", 320, 240, (300.0, 160.0, 120.0, 0.01, -0.002))
    rec = build_reconstruction({"c": cam}, [("x.jpg", "c", np.array([1.0, 0, 0, 0]), np.zeros(3))])
    pc = rec.camera(1)
    assert pc.model_name == "RADIAL" and (pc.width, pc.height) == (320, 240)
    np.testing.assert_allclose(pc.params, cam.params)
