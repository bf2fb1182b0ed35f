import numpy as np
import pycolmap
import pytest

from kapturelike.core import pose as P
from kapturelike.core.sensors import Camera
from kapturelike.geometry.absolute_pose import options_from_dict
from kapturelike.geometry.rig_pose import localize_rig

CAMS = [Camera("PINHOLE", 640, 480, (500.0, 500.0, 320.0, 240.0)),
        Camera("SIMPLE_RADIAL", 800, 600, (650.0, 400.0, 300.0, 0.0))]
# camera 0 at the rig origin, camera 1 looking 90 degrees to the side, 0.5 m away
CAMS_FROM_RIG = [(np.array([1.0, 0, 0, 0]), np.zeros(3)),
                 (P.quat_from_axis_angle([0, np.pi / 2, 0]), np.array([-0.5, 0.0, 0.1]))]


def rig_scene(n_per_cam=(80, 80), outliers=0.25, seed=0):
    rng = np.random.default_rng(seed)
    q_rig, t_rig = P.quat_from_axis_angle(rng.normal(size=3) * 0.3), rng.normal(size=3)
    p2s, p3s = [], []
    for cam, (qc, tc), n in zip(CAMS, CAMS_FROM_RIG, n_per_cam):
        qw, tw = P.compose(qc, tc, q_rig, t_rig)
        xc = np.c_[rng.uniform(-2, 2, (n, 2)), rng.uniform(4, 8, n)]
        p3 = P.apply(*P.invert(qw, tw), xc)
        p2 = pycolmap.Camera(model=cam.model, width=cam.width, height=cam.height,
                             params=list(cam.params)).img_from_cam(xc)
        k = int(outliers * n)
        p2[:k] = rng.uniform(0, [cam.width, cam.height], (k, 2))
        p2s.append(p2)
        p3s.append(p3)
    return p2s, p3s, q_rig, t_rig


def test_two_camera_rig_recovers_rig_and_camera_poses():
    p2s, p3s, q_rig, t_rig = rig_scene()
    res = localize_rig(p2s, p3s, CAMS, CAMS_FROM_RIG, options_from_dict("config1", {"random_seed": 0}))
    assert res.success, res.failure_reason
    te, re = P.pose_errors(res.q, res.t, q_rig, t_rig)
    assert te < 1e-3 and re < 1e-3
    for i, (qc, tc) in enumerate(CAMS_FROM_RIG):
        q_gt, t_gt = P.compose(qc, tc, q_rig, t_rig)
        te, re = P.pose_errors(res.cam_q[i], res.cam_t[i], q_gt, t_gt)
        assert te < 1e-3 and re < 1e-3
    assert res.num_correspondences == 160 and res.num_inliers == 120
    assert [m.shape for m in res.inlier_masks] == [(80,), (80,)]
    assert not res.inlier_masks[0][:20].any() and res.inlier_masks[1][20:].all()


def test_rig_camera_with_few_matches_gets_pose_from_sibling():
    # camera 1 alone (5 matches) would fail config1; jointly the rig localizes it
    p2s, p3s, q_rig, t_rig = rig_scene(n_per_cam=(80, 5), outliers=0.0, seed=2)
    res = localize_rig(p2s, p3s, CAMS, CAMS_FROM_RIG, options_from_dict("config1", {"random_seed": 0}))
    assert res.success
    q_gt, t_gt = P.compose(*CAMS_FROM_RIG[1], q_rig, t_rig)
    assert P.translation_error(res.cam_q[1], res.cam_t[1], q_gt, t_gt) < 1e-3


def test_rig_failures_and_bad_input():
    p2s, p3s, _, _ = rig_scene(n_per_cam=(5, 5), outliers=0.0)
    opts = options_from_dict("config1", {"random_seed": 0})
    res = localize_rig(p2s, p3s, CAMS, CAMS_FROM_RIG, opts)
    assert not res.success and res.failure_reason == "too few correspondences: 10 < 15"
    p2s, p3s, _, _ = rig_scene(n_per_cam=(10, 10), outliers=0.0)
    res = localize_rig(p2s, p3s, CAMS, CAMS_FROM_RIG, opts)
    assert not res.success and res.failure_reason == "too few inliers: 20 < 30" and res.q is None
    with pytest.raises(ValueError, match="must agree"):
        localize_rig(p2s[:1], p3s, CAMS, CAMS_FROM_RIG, opts)
    with pytest.raises(ValueError, match="no intrinsics"):
        localize_rig(p2s, p3s, [CAMS[0], Camera("UNKNOWN_CAMERA", 640, 480)], CAMS_FROM_RIG, opts)
