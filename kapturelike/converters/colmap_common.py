"""In-memory COLMAP sparse model, shared by the text and binary readers/writers.

COLMAP and kapture agree on the pose convention (``IMAGE qvec, tvec`` is the world-to-camera pose,
quaternion qw, qx, qy, qz) and on the pixel convention (centre of the top-left pixel at (0.5, 0.5)),
so poses and keypoints pass through unchanged. Tracks are held as flat columns (one row per
observation, ``track_offsets`` delimiting each point) so that a million observations cost three arrays.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kapturelike.converters.common import ConversionError
from kapturelike.core.sensors import CAMERA_MODEL_PARAMS, Camera, unknown_camera_guess
from kapturelike.errors import FormatError

# COLMAP's CameraModelId values (colmap/sensor/models.h); the names are shared with kapture.
COLMAP_MODEL_IDS: dict[str, int] = {
    "SIMPLE_PINHOLE": 0, "PINHOLE": 1, "SIMPLE_RADIAL": 2, "RADIAL": 3, "OPENCV": 4, "OPENCV_FISHEYE": 5,
    "FULL_OPENCV": 6, "FOV": 7, "SIMPLE_RADIAL_FISHEYE": 8, "RADIAL_FISHEYE": 9, "THIN_PRISM_FISHEYE": 10,
}
COLMAP_MODEL_NAMES = {v: k for k, v in COLMAP_MODEL_IDS.items()}
INVALID_POINT3D_ID = -1  # text files; binary files store 2**64 - 1, read back as -1
TEXT_FILES = ("cameras.txt", "images.txt", "points3D.txt")
BINARY_FILES = ("cameras.bin", "images.bin", "points3D.bin")


@dataclass
class ColmapImages:
    """Registered images as columns; ``points2d[i]`` (K, 2) float64 and ``point3d_ids[i]`` (K,) int64."""

    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    qvecs: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    tvecs: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    camera_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    names: list[str] = field(default_factory=list)
    points2d: list[np.ndarray] = field(default_factory=list)
    point3d_ids: list[np.ndarray] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class ColmapPoints:
    """3D points as columns; the track of point i is rows ``track_offsets[i]:track_offsets[i + 1]``."""

    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    xyz: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    rgb: np.ndarray = field(default_factory=lambda: np.zeros((0, 3), np.uint8))
    errors: np.ndarray = field(default_factory=lambda: np.zeros(0))
    track_offsets: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    track_image_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    track_point2d_idx: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def track_point_ids(self) -> np.ndarray:
        """The 3D point id of every track row."""
        return np.repeat(self.ids, np.diff(self.track_offsets))


@dataclass
class ColmapModel:
    """cameras: camera_id -> Camera. rigs (COLMAP >= 3.12 rigs.txt): rig_id -> camera_id -> sensor-from-rig
    (q, t), the reference camera having the identity."""

    cameras: dict[int, Camera] = field(default_factory=dict)
    images: ColmapImages = field(default_factory=ColmapImages)
    points: ColmapPoints = field(default_factory=ColmapPoints)
    rigs: dict[int, dict[int, tuple[np.ndarray, np.ndarray]]] = field(default_factory=dict)
    frames: dict[int, int] = field(default_factory=dict)  # image_id -> frame_id, when frames are known


def camera_from_colmap(model: str, width: int, height: int, params: list[float] | np.ndarray, path: Path,
                       line: int | None) -> Camera:
    """A Camera, or a FormatError naming the file and line."""
    if model not in CAMERA_MODEL_PARAMS or model == "UNKNOWN_CAMERA":
        raise FormatError(f"camera model '{model}' is not supported (known: {', '.join(COLMAP_MODEL_IDS)})",
                          path, line, "MODEL")
    expected = len(CAMERA_MODEL_PARAMS[model])
    if len(params) != expected:
        raise FormatError(f"camera model {model} takes {expected} parameters, got {len(params)}", path, line,
                          "PARAMS")
    return Camera(model, int(width), int(height), tuple(float(p) for p in params))


def model_format(path: str | Path) -> str:
    """'text' or 'binary': which complete set of model files the folder holds (binary first, as COLMAP)."""
    path = Path(path)
    if all((path / f).is_file() for f in BINARY_FILES):
        return "binary"
    if all((path / f).is_file() for f in TEXT_FILES):
        return "text"
    raise FormatError(f"no COLMAP model here: need {', '.join(TEXT_FILES)} or {', '.join(BINARY_FILES)}", path)


def tracks_from_lists(image_ids: list[np.ndarray], idxs: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """(offsets, image ids, point2d indices) from per-point track arrays."""
    lengths = np.array([len(a) for a in image_ids], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    def cat(arrs: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(arrs).astype(np.int64) if arrs else np.zeros(0, np.int64)

    return offsets, cat(image_ids), cat(idxs)


def rig_tables(model: ColmapModel) -> tuple[list, list]:
    """The rigs and frames to write (COLMAP >= 3.12), both empty when the model has no rig.

    rigs: (rig_id, [(camera_id, sensor_from_rig (q, t) or None for the reference)]); every camera outside
    a rig gets a trivial rig. frames: (frame_id, rig_id, rig_from_world (q, t), [(camera_id, image_id)]);
    rig_from_world comes from the frame's first image: inverse(sensor_from_rig) * cam_from_world.
    """
    if not model.rigs:
        return [], []
    from kapturelike.core import pose as P

    rigs, rig_of, from_rig = [], {}, {}
    for rig_id, sensors in model.rigs.items():
        rigs.append((rig_id, [(c, None if i == 0 else pose) for i, (c, pose) in enumerate(sensors.items())]))
        for c, pose in sensors.items():
            rig_of[c], from_rig[c] = rig_id, pose
    next_rig = max(model.rigs) + 1
    for c in model.cameras:
        if c not in rig_of:
            rigs.append((next_rig, [(c, None)]))
            rig_of[c], from_rig[c] = next_rig, (np.array([1.0, 0, 0, 0]), np.zeros(3))
            next_rig += 1
    im = model.images
    frame_of = dict(model.frames)
    next_frame = max(frame_of.values(), default=0) + 1
    members: dict[int, list[int]] = {}
    for row, image_id in enumerate(im.ids.tolist()):
        if image_id not in frame_of:
            frame_of[image_id] = next_frame
            next_frame += 1
        members.setdefault(frame_of[image_id], []).append(row)
    frames = []
    for frame_id in sorted(members):
        rows = members[frame_id]
        cam = int(im.camera_ids[rows[0]])
        q_sr, t_sr = P.invert(*from_rig[cam])
        q, t = P.compose(q_sr, t_sr, im.qvecs[rows[0]], im.tvecs[rows[0]])
        frames.append((frame_id, rig_of[cam], (q, t), [(int(im.camera_ids[r]), int(im.ids[r])) for r in rows]))
    return rigs, frames


_CAM_ID = re.compile(r"^cam_(\d+)$")


def camera_sensor_id(colmap_camera_id: int) -> str:
    """kapture's sensor id of COLMAP camera ``colmap_camera_id`` (kapture's own importer naming)."""
    return f"cam_{colmap_camera_id:05d}"


def camera_numbers(camera_ids: list[str]) -> dict[str, int]:
    """COLMAP camera ids of kapture sensors: N of sensors named cam_N when unique, else 1.. in order."""
    nums = [int(m.group(1)) if (m := _CAM_ID.match(c)) else None for c in camera_ids]
    if None not in nums and len(set(nums)) == len(nums) and all(0 < n < 2**31 for n in nums):
        return dict(zip(camera_ids, nums))
    return {c: i for i, c in enumerate(camera_ids, 1)}


def colmap_camera(sensor_id: str, cam: Camera, approximate: bool) -> Camera:
    """A camera COLMAP can hold: ``cam`` itself, or for UNKNOWN_CAMERA with ``approximate`` the usual guess."""
    if cam.model != "UNKNOWN_CAMERA":
        return cam
    if not approximate:
        raise ConversionError(f"camera '{sensor_id}' is UNKNOWN_CAMERA, which COLMAP cannot hold "
                              "(pass approximate=True for a SIMPLE_PINHOLE with focal 1.2 x max(width, height))")
    return unknown_camera_guess(cam.width, cam.height, "SIMPLE_PINHOLE")
