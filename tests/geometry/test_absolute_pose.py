from types import SimpleNamespace

import numpy as np
import pycolmap
import pytest

from kapturelike.core import pose as P
from kapturelike.core.sensors import Camera
from kapturelike.geometry.absolute_pose import (
    PRESETS,
    LocalizationOptions,
    localize_image,
    options_from_dict,
)


def synthetic(camera, n=200, outlier_fraction=0.3, seed=0):
    """Exact projections (COLMAP pixel convention) of points in front of a random pose, plus outliers."""
    rng = np.random.default_rng(seed)
    q = P.quat_from_axis_angle(rng.normal(size=3) * 0.4)
    t = rng.normal(size=3)
    xc = np.c_[rng.uniform(-2, 2, (n, 2)), rng.uniform(4, 8, n)]
    pts3d = P.apply(*P.invert(q, t), xc)
    cam = pycolmap.Camera(model=camera.model, width=camera.width, height=camera.height,
                          params=list(camera.params))
    pts2d = cam.img_from_cam(xc)
    n_out = int(outlier_fraction * n)
    pts2d[:n_out] = rng.uniform(0, [camera.width, camera.height], (n_out, 2))
    return pts2d, pts3d, q, t


CAMERA = Camera("SIMPLE_RADIAL", 640, 480, (700.0, 320.0, 240.0, 0.01))


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_presets_recover_pose_with_outliers(preset):
    p2, p3, q, t = synthetic(CAMERA)
    res = localize_image(p2, p3, CAMERA, options_from_dict(preset, {"random_seed": 0}))
    assert res.success, res.failure_reason
    assert res.failure_reason == ""
    te, re = P.pose_errors(res.q, res.t, q, t)
    assert te < 1e-3 and re < 1e-3
    assert res.num_correspondences == 200
    assert res.num_inliers == 140 == res.inlier_mask.sum()
    assert not res.inlier_mask[:60].any()  # the outliers
    assert np.allclose(res.camera.params, CAMERA.params, atol=1e-3)


def test_preset_values_follow_the_paper():
    c1, c2, c3 = PRESETS["config1"], PRESETS["config2"], PRESETS["config3"]
    assert (c1.min_num_matches, c1.min_num_inliers, c1.min_inlier_ratio, c1.max_error) == (15, 30, 0.25, 12.0)
    assert (c2.min_num_matches, c2.min_num_inliers, c2.min_inlier_ratio, c2.max_error) == (4, 4, 0.05, 20.0)
    assert not c1.refine_focal_length and not c2.refine_focal_length
    assert c3.refine_focal_length and c3.refine_extra_params
    assert c3.max_error == c2.max_error and c3.min_num_inliers == c2.min_num_inliers
    o = options_from_dict("config2", {"max_error": 8.0})
    assert o.max_error == 8.0 and PRESETS["config2"].max_error == 20.0
    with pytest.raises(ValueError, match="unknown localization preset 'config9'"):
        options_from_dict("config9")
    with pytest.raises(ValueError, match="max_eror"):
        options_from_dict("config1", {"max_eror": 3})
    with pytest.raises(ValueError, match="min_inlier_ratio"):
        LocalizationOptions(min_inlier_ratio=2.0)


def test_failure_reasons():
    p2, p3, _, _ = synthetic(CAMERA, n=60, outlier_fraction=0.0)
    c1 = options_from_dict("config1", {"random_seed": 0})
    r = localize_image(p2[:3], p3[:3], CAMERA, c1)
    assert not r.success and r.failure_reason == "too few correspondences: 3 < 15"
    assert r.q is None and r.t is None and r.inlier_mask.shape == (3,)
    r = localize_image(p2[:20], p3[:20], CAMERA, c1)
    assert not r.success and r.failure_reason == "too few inliers: 20 < 30" and r.num_inliers == 20
    rng = np.random.default_rng(1)
    p2r = np.r_[p2[:40], rng.uniform(0, 640, (200, 2))]
    p3r = np.r_[p3[:40], rng.uniform(-3, 3, (200, 3)) + [0, 0, 6]]
    r = localize_image(p2r, p3r, CAMERA, c1)
    assert not r.success and r.failure_reason.startswith("inlier ratio 0.1") and r.failure_reason.endswith("< 0.25")
    r = localize_image(p2r, p3r, CAMERA, options_from_dict("config2", {"random_seed": 0}))
    assert r.success  # the permissive preset accepts 40 of 240
    r = localize_image(p2[:20], np.zeros((20, 3)), CAMERA, c1)  # degenerate: one 3D point
    assert not r.success and r.failure_reason == "RANSAC failed"
    with pytest.raises(ValueError, match="differ in length"):
        localize_image(p2[:5], p3[:4], CAMERA, c1)
    with pytest.raises(ValueError, match="points3d"):
        localize_image(p2, p2, CAMERA, c1)


def test_unknown_intrinsics_estimates_focal():
    true_cam = SimpleNamespace(model="SIMPLE_RADIAL", width=640, height=480, params=(820.0, 320.0, 240.0, 0.0))
    p2, p3, q, t = synthetic(true_cam, outlier_fraction=0.2, seed=3)
    unknown = Camera("UNKNOWN_CAMERA", 640, 480, ())
    res = localize_image(p2, p3, unknown, options_from_dict("config2", {"random_seed": 0}))
    assert res.success, res.failure_reason
    te, re = P.pose_errors(res.q, res.t, q, t)
    assert te < 1e-3 and re < 1e-3
    assert isinstance(res.camera, Camera) and res.camera.model == "SIMPLE_RADIAL"
    assert abs(res.camera.params[0] - 820.0) < 1e-2


def test_duck_typed_camera_and_refinement():
    cam = SimpleNamespace(model="PINHOLE", width=800, height=600, params=(600.0, 600.0, 400.0, 300.0))
    p2, p3, q, t = synthetic(cam, seed=5)
    res = localize_image(p2, p3, cam, options_from_dict("config3", {"random_seed": 0}))
    assert res.success
    assert P.rotation_error_deg(res.q, q) < 1e-3
    assert np.allclose(res.camera.params, cam.params, atol=1e-2)


def test_local_optimization_steps_and_unrefined_poses():
    """--number-lo-steps (RansacLib's local optimisation after RANSAC): never a worse MSAC score than the RANSAC
    pose it starts from, the same pose on a rerun; refine=False gives the pose LO-RANSAC estimates, unrefined."""
    from kapturelike.geometry.absolute_pose import msac_score
    from kapturelike.geometry.colmap_model import pose_to_rigid3d

    p2, p3, q, t = synthetic(CAMERA, outlier_fraction=0.4, seed=3)
    p2 = p2 + np.random.default_rng(4).normal(scale=1.5, size=p2.shape)  # noisy inliers: LO has work to do
    cam = pycolmap.Camera(model=CAMERA.model, width=CAMERA.width, height=CAMERA.height, params=list(CAMERA.params))
    plain = LocalizationOptions(refine=False, max_error=8.0, min_num_inliers=10, random_seed=0)
    unrefined = localize_image(p2, p3, CAMERA, plain)
    expected = pycolmap.estimate_absolute_pose(p2, p3, cam, pycolmap.AbsolutePoseEstimationOptions(
        ransac=plain.ransac_options()))
    np.testing.assert_allclose(pose_to_rigid3d(unrefined.q, unrefined.t).matrix(),
                               expected["cam_from_world"].matrix(), atol=1e-9)

    def score(result) -> float:
        return msac_score(p2, p3, cam, pose_to_rigid3d(result.q, result.t), 8.0)[0]

    lo = LocalizationOptions(refine=False, lo_steps=10, max_error=8.0, min_num_inliers=10, random_seed=0)
    optimized = localize_image(p2, p3, CAMERA, lo)
    assert optimized.success and score(optimized) < score(unrefined)
    again = localize_image(p2, p3, CAMERA, lo)
    np.testing.assert_array_equal(again.q, optimized.q)
    np.testing.assert_array_equal(again.t, optimized.t)
    assert P.pose_errors(optimized.q, optimized.t, q, t)[0] < 0.05
    assert not optimized.inlier_mask[:80].any() and optimized.num_inliers == optimized.inlier_mask.sum()
    with pytest.raises(ValueError, match="lo_steps"):
        LocalizationOptions(lo_steps=-1)
