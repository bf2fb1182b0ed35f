"""Build a ``pycolmap.Reconstruction`` (pycolmap 4.x) from plain data: cameras, posed images, keypoints.

pycolmap 4.x puts every image in a frame of a rig. A kapture camera is not part of a rig here, so each
camera gets its own trivial rig (rig_id = camera_id, the camera is the reference sensor) and each image
its own frame (frame_id = image_id) whose ``rig_from_world`` is the image's ``cam_from_world``.

Ids are deterministic so callers can map back without a lookup table: cameras are numbered 1.. in the
iteration order of the ``cameras`` mapping, images 1.. in the order of the ``images`` list.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol

import numpy as np
import pycolmap

from kapturelike.errors import KapturelikeError


@contextlib.contextmanager
def pycolmap_warnings_only() -> Iterator[None]:
    """pycolmap's INFO log lines (one per SIFT extractor, per vocabulary-tree query...) silenced meanwhile."""
    level = pycolmap.logging.minloglevel
    pycolmap.logging.minloglevel = max(level, 1)
    try:
        yield
    finally:
        pycolmap.logging.minloglevel = level


class ReconstructionInputError(KapturelikeError, ValueError):
    """Inconsistent input to :func:`build_reconstruction` (names the image / camera / field)."""


class CameraLike(Protocol):
    """Anything with kapture / COLMAP camera attributes (``kapturelike.core.sensors.Camera`` fits)."""

    model: str
    width: int
    height: int
    params: Sequence[float]


# (image_name, camera key in ``cameras``, q = (qw, qx, qy, qz) world-to-camera or None, t (3,) or None)
ImageEntry = tuple[str, str, np.ndarray | None, np.ndarray | None]

# kapture uses COLMAP's model names verbatim; UNKNOWN_CAMERA has no COLMAP counterpart.
_PYCOLMAP_MODELS = frozenset(pycolmap.CameraModelId.__members__) - {"INVALID"}


def camera_ids(cameras: Mapping[str, CameraLike]) -> dict[str, int]:
    """The pycolmap camera id :func:`build_reconstruction` gives each camera key (1-based, in order)."""
    return {key: i + 1 for i, key in enumerate(cameras)}


def to_pycolmap_camera(camera: CameraLike, camera_id: int, name: str = "") -> pycolmap.Camera:
    """A ``pycolmap.Camera`` with the same model name and parameters (pixel conventions are identical).

    The one bridge from kapture cameras to pycolmap; ``camera.model`` may be a name or pycolmap's enum.
    """
    where = f"camera '{name}'" if name else "camera"
    model = str(getattr(camera.model, "name", camera.model))
    if model not in _PYCOLMAP_MODELS:
        raise ReconstructionInputError(
            f"{where}: model '{model}' has no pycolmap equivalent (an UNKNOWN_CAMERA must be "
            "calibrated first)")
    params = np.atleast_1d(np.asarray(camera.params, dtype=np.float64))
    cam = pycolmap.Camera(model=model, width=int(camera.width), height=int(camera.height), params=params,
                          camera_id=int(camera_id))
    if not cam.verify_params():
        raise ReconstructionInputError(
            f"{where}: model {model} got {len(params)} parameters, pycolmap expects {cam.params_info}")
    return cam


def _quaternion(q: np.ndarray, where: str) -> np.ndarray:
    q = np.asarray(q, dtype=np.float64)
    if q.shape != (4,) or not np.all(np.isfinite(q)):
        raise ReconstructionInputError(
            f"{where}: rotation must be 4 finite numbers (qw, qx, qy, qz), got {q}")
    norm = np.linalg.norm(q)
    if norm < 1e-12:
        raise ReconstructionInputError(f"{where}: rotation quaternion has zero norm")
    return q / norm


def pose_to_rigid3d(q: np.ndarray, t: np.ndarray, where: str = "pose") -> pycolmap.Rigid3d:
    """kapture world-to-camera pose (qw, qx, qy, qz), t -> ``pycolmap.Rigid3d`` (cam_from_world)."""
    qn = _quaternion(q, where)
    t = np.asarray(t, dtype=np.float64)
    if t.shape != (3,) or not np.all(np.isfinite(t)):
        raise ReconstructionInputError(f"{where}: translation must be 3 finite numbers, got {t}")
    # pycolmap stores quaternions as x, y, z, w
    return pycolmap.Rigid3d(pycolmap.Rotation3d(qn[[1, 2, 3, 0]]), t)


def rigid3d_to_pose(rigid: pycolmap.Rigid3d) -> tuple[np.ndarray, np.ndarray]:
    """``pycolmap.Rigid3d`` -> (q (4,) as qw, qx, qy, qz, unit norm with qw >= 0, t (3,))."""
    q = np.asarray(rigid.rotation.quat, dtype=np.float64)[[3, 0, 1, 2]]
    q = q / np.linalg.norm(q)
    if q[0] < 0:
        q = -q
    return q, np.asarray(rigid.translation, dtype=np.float64).copy()


def _keypoints_xy(keypoints: np.ndarray, name: str) -> np.ndarray:
    kp = np.asarray(keypoints)
    if kp.ndim != 2 or kp.shape[1] < 2:
        raise ReconstructionInputError(
            f"keypoints of image '{name}': expected shape (N, >=2), got {kp.shape}")
    xy = np.ascontiguousarray(kp[:, :2], dtype=np.float64)
    if not np.all(np.isfinite(xy)):
        raise ReconstructionInputError(f"keypoints of image '{name}': non-finite coordinates")
    return xy


def build_reconstruction(cameras: Mapping[str, CameraLike], images: Sequence[ImageEntry],
                         keypoints: Mapping[str, np.ndarray] | None = None) -> pycolmap.Reconstruction:
    """A reconstruction with every camera, every image (registered when posed) and its keypoints.

    Args:
        cameras: camera key (kapture sensor id) -> camera with model, width, height, params.
        images: (image_name, camera key, q, t) with the kapture world-to-camera pose; q and t both None
            for an image without pose (added, not registered).
        keypoints: image_name -> (N, >=2) keypoints in COLMAP pixel convention, passed unshifted;
            images missing here get no 2D points.
    Returns:
        the reconstruction, no 3D points; camera ids from :func:`camera_ids`, image ids 1.. in list order.
    """
    keypoints = keypoints or {}
    rec = pycolmap.Reconstruction()
    ids = camera_ids(cameras)
    for key, cam in cameras.items():
        rec.add_camera_with_trivial_rig(to_pycolmap_camera(cam, ids[key], str(key)))
    seen: set[str] = set()
    for image_id, entry in enumerate(images, start=1):
        if len(entry) != 4:
            raise ReconstructionInputError(
                f"image entry {image_id - 1}: expected (name, camera, q, t), got {entry!r}")
        name, cam_key, q, t = entry
        if name in seen:
            raise ReconstructionInputError(f"image '{name}' appears twice")
        seen.add(name)
        if cam_key not in ids:
            raise ReconstructionInputError(f"image '{name}': unknown camera '{cam_key}'")
        xy = (_keypoints_xy(keypoints[name], name) if name in keypoints else np.zeros((0, 2)))
        image = pycolmap.Image(name=name, keypoints=xy, camera_id=ids[cam_key], image_id=image_id)
        if q is None and t is None:
            rec.add_image_with_trivial_frame(image)
        elif q is None or t is None:
            raise ReconstructionInputError(
                f"image '{name}': rotation and translation must both be given or both None")
        else:
            rec.add_image_with_trivial_frame(image, pose_to_rigid3d(q, t, f"pose of image '{name}'"))
    return rec


def image_ids_by_name(reconstruction: pycolmap.Reconstruction) -> dict[str, int]:
    """image name -> image id of a reconstruction."""
    return {image.name: image_id for image_id, image in reconstruction.images.items()}
