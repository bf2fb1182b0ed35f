import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from kapturelike.core import pose as P

finite = st.floats(-1.0, 1.0, allow_nan=False, allow_infinity=False)
quats = arrays(np.float64, 4, elements=finite).filter(lambda q: np.linalg.norm(q) > 0.1).map(
    lambda q: q / np.linalg.norm(q))
vecs = arrays(np.float64, 3, elements=st.floats(-10, 10, allow_nan=False, allow_infinity=False))
poses = st.tuples(quats, vecs)
fractions = st.floats(0.0, 1.0)
SETTINGS = settings(max_examples=60, deadline=None)


def same_rotation(q1, q2, atol=1e-9):
    # q and -q are the same rotation, so compare up to sign
    q1, q2 = np.asarray(q1), np.asarray(q2)
    return np.allclose(q1, q2, atol=atol) or np.allclose(q1, -q2, atol=atol)


def test_identity_and_known_rotation():
    assert np.allclose(P.quat_to_rotmat([1, 0, 0, 0]), np.eye(3))
    q = P.quat_from_axis_angle([0, 0, np.pi / 2])  # 90 deg about z: x -> y
    assert np.allclose(P.rotate(q, [1, 0, 0]), [0, 1, 0])
    assert np.allclose(P.rotation_error_deg(q, [1, 0, 0, 0]), 90.0)


@SETTINGS
@given(quats)
def test_rotmat_roundtrip_and_sign(q):
    R = P.quat_to_rotmat(q)
    assert np.allclose(R @ R.T, np.eye(3), atol=1e-12)
    assert np.isclose(np.linalg.det(R), 1.0)
    assert np.allclose(P.quat_to_rotmat(-q), R)
    q2 = P.rotmat_to_quat(R)
    assert q2[0] >= 0
    assert same_rotation(q2, q)
    assert P.rotation_error_deg(q, -q) < 1e-6


def test_shepperd_near_180_degrees():
    # trace close to -1: the naive qw formula would divide by ~0
    for axis in np.eye(3):
        q = P.quat_from_axis_angle(axis * (np.pi - 1e-9))
        assert same_rotation(P.rotmat_to_quat(P.quat_to_rotmat(q)), q, atol=1e-8)


@SETTINGS
@given(poses, poses, poses)
def test_compose_associative_and_invert(a, b, c):
    ab = P.compose(*a, *b)
    abc1 = P.compose(*ab, *c)
    abc2 = P.compose(*a, *P.compose(*b, *c))
    assert same_rotation(abc1[0], abc2[0], 1e-9)
    assert np.allclose(abc1[1], abc2[1], atol=1e-8)
    ident = P.compose(*a, *P.invert(*a))
    assert same_rotation(ident[0], [1, 0, 0, 0])
    assert np.allclose(ident[1], 0, atol=1e-9)
    inv_inv = P.invert(*P.invert(*a))
    assert same_rotation(inv_inv[0], a[0]) and np.allclose(inv_inv[1], a[1])


@SETTINGS
@given(poses, poses, arrays(np.float64, (5, 3), elements=st.floats(-5, 5)))
def test_apply_matches_matrix(a, b, pts):
    M = P.to_matrix(*a)
    homog = np.c_[pts, np.ones(len(pts))]
    assert np.allclose(P.apply(*a, pts), (homog @ M.T)[:, :3], atol=1e-9)
    # composition = matrix product, and apply(compose) = apply(apply)
    assert np.allclose(P.to_matrix(*P.compose(*a, *b)), M @ P.to_matrix(*b), atol=1e-9)
    assert np.allclose(P.apply(*P.compose(*a, *b), pts), P.apply(*a, P.apply(*b, pts)), atol=1e-8)
    q2, t2 = P.from_matrix(P.to_matrix(*a, homogeneous=False))
    assert same_rotation(q2, a[0]) and np.allclose(t2, a[1])


@SETTINGS
@given(poses)
def test_centres_and_directions(a):
    q, t = a
    C = P.camera_centers(q, t)
    assert np.allclose(P.apply(q, t, C), 0, atol=1e-9)  # the centre maps to the device origin
    d = P.viewing_directions(q)
    assert np.allclose(P.rotate(q, d), [0, 0, 1], atol=1e-12)
    assert np.allclose(P.poses_from_centers(q, C), t, atol=1e-9)


@SETTINGS
@given(poses, poses, fractions)
def test_slerp_and_interpolation(a, b, f):
    (q0, t0), (q1, t1) = a, b
    assert same_rotation(P.slerp(q0, q1, 0.0), q0, 1e-8)
    assert same_rotation(P.slerp(q0, q1, 1.0), q1, 1e-8)
    assert same_rotation(P.slerp(q0, -q1, f), P.slerp(q0, q1, f), 1e-8)
    qm = P.slerp(q0, q1, f)
    total = P.rotation_error_deg(q0, q1)
    assert np.isclose(P.rotation_error_deg(q0, qm), f * total, atol=1e-5)
    assert np.isclose(P.rotation_error_deg(qm, q1), (1 - f) * total, atol=1e-5)
    qi, ti = P.interpolate_poses(q0, t0, q1, t1, f)
    c0, c1 = P.camera_centers(q0, t0), P.camera_centers(q1, t1)
    assert np.allclose(P.camera_centers(qi, ti), c0 + f * (c1 - c0), atol=1e-8)


def test_batched_shapes_and_broadcast():
    rng = np.random.default_rng(0)
    q = P.normalize_quaternions(rng.normal(size=(7, 4)))
    t = rng.normal(size=(7, 3))
    qi, ti = P.invert(q, t)
    assert qi.shape == (7, 4) and ti.shape == (7, 3)
    for i in range(7):
        s = P.invert(q[i], t[i])
        assert same_rotation(s[0], qi[i]) and np.allclose(s[1], ti[i])
    assert P.to_matrix(q, t).shape == (7, 4, 4)
    assert P.rotmat_to_quat(P.quat_to_rotmat(q)).shape == (7, 4)
    fr = np.linspace(0, 1, 5)
    qs, ts = P.interpolate_poses(q[0], t[0], q[1], t[1], fr)
    assert qs.shape == (5, 4) and ts.shape == (5, 3)
    te, re = P.pose_errors(q, t, q, t)
    assert np.allclose(te, 0, atol=1e-9) and np.allclose(re, 0, atol=1e-6)


def test_errors_known_values():
    q0 = np.array([1.0, 0, 0, 0])
    q1 = P.quat_from_axis_angle([0, 0.1, 0])
    # same centre (origin) but rotated: translation error 0, rotation 0.1 rad
    assert np.isclose(P.translation_error(q0, [0, 0, 0], q1, [0, 0, 0]), 0.0)
    assert np.isclose(P.rotation_error_deg(q1, q0), np.degrees(0.1))
    assert np.isclose(P.translation_error(q0, [1, 2, 2], q0, [0, 0, 0]), 3.0)
    assert P.rotation_error_deg(q0, q0 * (1 + 1e-12)) < 1e-6


def test_check_unit_quaternions_names_row():
    q = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [1.0, 1.0, 0, 0]])
    with pytest.raises(ValueError, match="row 2"):
        P.check_unit_quaternions(q)
    with pytest.raises(ValueError, match="row 0"):
        P.check_unit_quaternions([np.nan, 0, 0, 0])
    P.check_unit_quaternions(q[:2] * (1 + 5e-4))
    with pytest.raises(ValueError, match="row 2"):
        P.normalize_quaternions(q, tol=1e-3)
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\)"):
        P.quat_to_rotmat(np.zeros(3))
    with pytest.raises(ValueError, match="zero quaternion"):
        P.normalize_quaternions(np.zeros(4))


def test_matches_kapture_and_scipy_oracles():
    kapture = pytest.importorskip("kapture")
    from kapture.algo.pose_operations import world_pose_transform_distance
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(3)
    q = P.normalize_quaternions(rng.normal(size=(20, 4)))
    t = rng.normal(size=(20, 3)) * 5
    pts = rng.normal(size=(6, 3))
    R_scipy = Rotation.from_quat(q[:, [1, 2, 3, 0]]).as_matrix()  # scipy is scalar-last
    assert np.allclose(P.quat_to_rotmat(q), R_scipy, atol=1e-12)
    for i in range(0, 20, 2):
        a = kapture.PoseTransform(r=q[i].tolist(), t=t[i].tolist())
        b = kapture.PoseTransform(r=q[i + 1].tolist(), t=t[i + 1].tolist())
        ab = kapture.PoseTransform.compose([a, b])
        q_ab, t_ab = P.compose(q[i], t[i], q[i + 1], t[i + 1])
        assert same_rotation(q_ab, ab.r_raw) and np.allclose(t_ab, ab.t_raw)
        inv = a.inverse()
        q_inv, t_inv = P.invert(q[i], t[i])
        assert same_rotation(q_inv, inv.r_raw) and np.allclose(t_inv, inv.t_raw)
        assert np.allclose(P.apply(q[i], t[i], pts), a.transform_points(pts))
        d_t, d_r = world_pose_transform_distance(a, b)
        te, re = P.pose_errors(q[i], t[i], q[i + 1], t[i + 1])
        assert np.isclose(te, d_t) and np.isclose(re, d_r, atol=1e-6)
