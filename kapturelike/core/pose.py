"""Pose algebra: the one place where quaternions, rotations and rigid transforms are combined.

Conventions (docs/CONVENTIONS.md): a pose maps world to device, x_dev = R x_world + t. Quaternions
are (qw, qx, qy, qz), float64. Every function accepts a single pose (q (4,), t (3,)) or a batch
(q (N, 4), t (N, 3)) and broadcasts numpy-style over the leading axes; q and -q are the same
rotation everywhere.
"""

from __future__ import annotations

import numpy as np

ArrayLike = np.ndarray


def _q(q) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    if q.shape[-1:] != (4,):
        raise ValueError(f"quaternion array must have shape (..., 4), got {q.shape}")
    return q


def _v(t, name: str = "translation") -> np.ndarray:
    t = np.asarray(t, dtype=np.float64)
    if t.shape[-1:] != (3,):
        raise ValueError(f"{name} array must have shape (..., 3), got {t.shape}")
    return t


def check_unit_quaternions(q, tol: float = 1e-3) -> None:
    """Raise ValueError naming the first row whose norm differs from 1 by more than `tol` (or is NaN)."""
    q = _q(q)
    norms = np.linalg.norm(q.reshape(-1, 4), axis=1)
    bad = np.flatnonzero(~(np.abs(norms - 1.0) <= tol))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"quaternion row {i} has norm {norms[i]:.6g}, expected 1 within {tol} "
                         f"({bad.size} bad row(s))")


def normalize_quaternions(q, tol: float | None = None) -> np.ndarray:
    """Scale to unit norm; with `tol`, first check that the input was already unit within it."""
    q = _q(q)
    if tol is not None:
        check_unit_quaternions(q, tol)
    norms = np.linalg.norm(q, axis=-1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("cannot normalise a zero quaternion")
    return q / norms


def canonical_quaternions(q) -> np.ndarray:
    """Pick the representative with qw >= 0, so that q and -q compare equal."""
    q = _q(q)
    return np.where(q[..., :1] < 0, -q, q)


def quat_conjugate(q) -> np.ndarray:
    q = _q(q)
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def quat_multiply(q1, q2) -> np.ndarray:
    """Hamilton product q1 * q2 (rotation q2 first, then q1)."""
    q1, q2 = _q(q1), _q(q2)
    w1, x1, y1, z1 = np.moveaxis(q1, -1, 0)
    w2, x2, y2, z2 = np.moveaxis(q2, -1, 0)
    return np.stack([w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
                     w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
                     w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
                     w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2], axis=-1)


def quat_to_rotmat(q) -> np.ndarray:
    """(..., 4) unit quaternions -> (..., 3, 3) rotation matrices (input is normalised first)."""
    w, x, y, z = np.moveaxis(normalize_quaternions(q), -1, 0)
    R = np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
                  2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
                  2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=-1)
    return R.reshape(R.shape[:-1] + (3, 3))


def rotmat_to_quat(R) -> np.ndarray:
    """(..., 3, 3) rotation matrices -> (..., 4) unit quaternions with qw >= 0.

    Shepperd's method: of the four candidate formulas, use the one whose pivot (4 qw^2, 4 qx^2, ...)
    is largest, so the division is never by a small number.
    """
    R = np.asarray(R, dtype=np.float64)
    if R.shape[-2:] != (3, 3):
        raise ValueError(f"rotation matrix array must have shape (..., 3, 3), got {R.shape}")
    r = R.reshape(-1, 3, 3)
    tr = np.trace(r, axis1=1, axis2=2)
    d0, d1, d2 = r[:, 0, 0], r[:, 1, 1], r[:, 2, 2]
    pivots = np.stack([1 + tr, 1 + 2 * d0 - tr, 1 + 2 * d1 - tr, 1 + 2 * d2 - tr], axis=1)
    k = np.argmax(pivots, axis=1)
    s = 2.0 * np.sqrt(np.maximum(pivots[np.arange(len(r)), k], 1e-300))  # s = 4 * |q_k|
    a = r[:, 2, 1] - r[:, 1, 2]
    b = r[:, 0, 2] - r[:, 2, 0]
    c = r[:, 1, 0] - r[:, 0, 1]
    xy = r[:, 0, 1] + r[:, 1, 0]
    xz = r[:, 0, 2] + r[:, 2, 0]
    yz = r[:, 1, 2] + r[:, 2, 1]
    cand = np.stack([
        np.stack([s * s / 4, a, b, c], axis=1),
        np.stack([a, s * s / 4, xy, xz], axis=1),
        np.stack([b, xy, s * s / 4, yz], axis=1),
        np.stack([c, xz, yz, s * s / 4], axis=1)], axis=1)
    q = cand[np.arange(len(r)), k] / s[:, None]
    q = canonical_quaternions(q / np.linalg.norm(q, axis=1, keepdims=True))
    return q.reshape(R.shape[:-2] + (4,))


def quat_from_axis_angle(rotvec) -> np.ndarray:
    """(..., 3) rotation vectors (axis * angle in radians) -> (..., 4) quaternions."""
    rotvec = _v(rotvec, "rotation vector")
    angle = np.linalg.norm(rotvec, axis=-1, keepdims=True)
    # sinc form stays exact for tiny angles: sin(a/2)/a -> 1/2.
    half_sinc = 0.5 * np.sinc(angle / (2 * np.pi))
    return np.concatenate([np.cos(angle / 2), rotvec * half_sinc], axis=-1)


def rotate(q, points) -> np.ndarray:
    """Rotate (..., 3) points by q (broadcast: one q for many points, or one per point)."""
    R = quat_to_rotmat(q)
    points = _v(points, "points")
    return np.matmul(R, points[..., None])[..., 0]


def apply(q, t, points) -> np.ndarray:
    """Map points through the pose: R p + t."""
    return rotate(q, points) + _v(t)


def compose(q_ab, t_ab, q_bc, t_bc) -> tuple[np.ndarray, np.ndarray]:
    """T_ac = T_ab * T_bc (apply T_bc first); e.g. cam_from_world = cam_from_rig * rig_from_world."""
    q_ac = canonical_quaternions(normalize_quaternions(quat_multiply(q_ab, q_bc)))
    t_ac = rotate(q_ab, t_bc) + _v(t_ab)
    return q_ac, t_ac


def invert(q, t) -> tuple[np.ndarray, np.ndarray]:
    """T^-1: (R^T, -R^T t)."""
    q_inv = canonical_quaternions(quat_conjugate(normalize_quaternions(q)))
    return q_inv, -rotate(q_inv, t)


def to_matrix(q, t, homogeneous: bool = True) -> np.ndarray:
    """(..., 4, 4) homogeneous matrices, or (..., 3, 4) with homogeneous=False."""
    R = quat_to_rotmat(q)
    t = _v(t)
    shape = np.broadcast_shapes(R.shape[:-2], t.shape[:-1])
    M = np.zeros(shape + ((4 if homogeneous else 3), 4))
    M[..., :3, :3] = R
    M[..., :3, 3] = t
    if homogeneous:
        M[..., 3, 3] = 1.0
    return M


def from_matrix(M) -> tuple[np.ndarray, np.ndarray]:
    """(..., 3, 4) or (..., 4, 4) matrices -> (q (..., 4), t (..., 3))."""
    M = np.asarray(M, dtype=np.float64)
    if M.shape[-2:] not in ((3, 4), (4, 4)):
        raise ValueError(f"pose matrix array must have shape (..., 3, 4) or (..., 4, 4), got {M.shape}")
    return rotmat_to_quat(M[..., :3, :3]), M[..., :3, 3].copy()


def camera_centers(q, t) -> np.ndarray:
    """Device position in world coordinates: C = -R^T t."""
    return -rotate(quat_conjugate(q), t)


def viewing_directions(q) -> np.ndarray:
    """World direction of the device's optical axis: R^T [0, 0, 1] (third row of R)."""
    return quat_to_rotmat(q)[..., 2, :].copy()


def poses_from_centers(q, centers) -> np.ndarray:
    """Translation t = -R C giving the device centre C with rotation q."""
    return -rotate(q, _v(centers, "centers"))


def rotation_error_deg(q_est, q_gt) -> np.ndarray:
    """Angle of R_est R_gt^T in degrees.

    Computed as 2 atan2(|v|, |w|) of the relative quaternion rather than arccos((tr - 1) / 2): same
    value, but exact near 0 and 180 degrees where arccos loses half the digits (no clipping needed,
    and |w| makes q and -q give the same angle).
    """
    rel = quat_multiply(normalize_quaternions(q_est), quat_conjugate(normalize_quaternions(q_gt)))
    return np.degrees(2.0 * np.arctan2(np.linalg.norm(rel[..., 1:], axis=-1), np.abs(rel[..., 0])))


def translation_error(q_est, t_est, q_gt, t_gt) -> np.ndarray:
    """Distance between the estimated and ground-truth device centres (not between the t vectors)."""
    return np.linalg.norm(camera_centers(q_est, t_est) - camera_centers(q_gt, t_gt), axis=-1)


def pose_errors(q_est, t_est, q_gt, t_gt) -> tuple[np.ndarray, np.ndarray]:
    """(translation error, rotation error in degrees)."""
    return translation_error(q_est, t_est, q_gt, t_gt), rotation_error_deg(q_est, q_gt)


def slerp(q0, q1, fraction) -> np.ndarray:
    """Spherical interpolation along the shortest arc; fraction 0 gives q0, 1 gives q1.

    `fraction` broadcasts against the quaternions' leading axes (a scalar, one per pair, or an
    (K,) array against single quaternions).
    """
    q0, q1 = normalize_quaternions(q0), normalize_quaternions(q1)
    f = np.asarray(fraction, dtype=np.float64)[..., None]
    dot = np.sum(q0 * q1, axis=-1, keepdims=True)
    q1 = np.where(dot < 0, -q1, q1)  # q and -q: take the short way round
    dot = np.abs(dot)
    theta = np.arccos(np.clip(dot, -1.0, 1.0))
    sin_theta = np.sin(theta)
    near = sin_theta < 1e-8
    safe = np.where(near, 1.0, sin_theta)
    w0 = np.where(near, 1.0 - f, np.sin((1.0 - f) * theta) / safe)
    w1 = np.where(near, f, np.sin(f * theta) / safe)
    return canonical_quaternions(normalize_quaternions(w0 * q0 + w1 * q1))


def interpolate_poses(q0, t0, q1, t1, fraction) -> tuple[np.ndarray, np.ndarray]:
    """Pose at `fraction` between two poses: slerp the rotation, move the centre linearly.

    The centre C = -R^T t is what moves along the path; t mixes the position with the rotation, so
    interpolating t linearly while the device turns would bend a straight path and put the device
    off it. With linear centres a device moving at constant velocity is reproduced exactly.
    """
    f = np.asarray(fraction, dtype=np.float64)
    q = slerp(q0, q1, f)
    c0, c1 = camera_centers(q0, t0), camera_centers(q1, t1)
    c = c0 + f[..., None] * (c1 - c0)
    return q, poses_from_centers(q, c)
