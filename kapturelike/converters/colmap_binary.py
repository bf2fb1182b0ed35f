"""COLMAP sparse model, binary form: cameras.bin, images.bin, points3D.bin (little endian).

Written without pycolmap, with struct and numpy. Layouts (colmap/scene/reconstruction_io.cc):
  cameras.bin   u64 n; per camera: u32 id, i32 model id, u64 width, u64 height, f64 params[]
  images.bin    u64 n; per image: u32 id, f64 qw qx qy qz tx ty tz (world-to-camera), u32 camera id,
                NUL-terminated name, u64 k, k x (f64 x, f64 y, u64 point3D id; 2**64-1 = none)
  points3D.bin  u64 n; per point: u64 id, f64 xyz, u8 rgb, f64 error, u64 l, l x (u32 image id, u32 idx)
  rigs.bin      u64 n; per rig: u32 id, u32 k, (i32 type, u32 id) of the reference sensor, then k - 1 x
                (i32 type, u32 id, u8 has_pose, [f64 qw qx qy qz tx ty tz] sensor-from-rig)
  frames.bin    u64 n; per frame: u32 id, u32 rig id, f64 x 7 rig-from-world, u32 k, k x (i32 type,
                u32 sensor id, u64 data id)
Point arrays of one image or track are read with one ``np.frombuffer`` each. rigs.bin and frames.bin
(COLMAP >= 3.12) are read when present and written only for models with rigs: without them COLMAP makes
one trivial rig per camera and one frame per image, which is what a model without rigs means.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from kapturelike.converters.colmap_common import (
    COLMAP_MODEL_IDS,
    COLMAP_MODEL_NAMES,
    ColmapImages,
    ColmapModel,
    ColmapPoints,
    camera_from_colmap,
    rig_tables,
    tracks_from_lists,
)
from kapturelike.core.sensors import CAMERA_MODEL_PARAMS
from kapturelike.errors import FormatError
from kapturelike.io.text import atomic_write

_POINT2D = np.dtype([("x", "<f8"), ("y", "<f8"), ("id", "<i8")])
_TRACK = np.dtype([("image", "<u4"), ("idx", "<u4")])
SENSOR_CAMERA = 0  # colmap::SensorType::CAMERA


class _Reader:
    """Sequential reads from a bytes buffer; truncation becomes a FormatError naming the file and field."""

    def __init__(self, path: Path):
        self.path = path
        self.data = path.read_bytes()
        self.pos = 0

    def unpack(self, fmt: str, field: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise FormatError(f"file ends at byte {len(self.data)} inside field {field}", self.path, None, field)
        out = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return out

    def array(self, dtype: np.dtype, count: int, field: str) -> np.ndarray:
        size = dtype.itemsize * count
        if self.pos + size > len(self.data):
            raise FormatError(f"file ends at byte {len(self.data)} inside field {field}", self.path, None, field)
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += size
        return out

    def cstring(self, field: str) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise FormatError("unterminated string", self.path, None, field)
        out = self.data[self.pos:end].decode("utf-8")
        self.pos = end + 1
        return out


def read_cameras_binary(path: str | Path) -> dict:
    r = _Reader(Path(path))
    cameras = {}
    for _ in range(r.unpack("<Q", "num_cameras")[0]):
        cam_id, model_id, width, height = r.unpack("<IiQQ", "camera")
        if model_id not in COLMAP_MODEL_NAMES:
            raise FormatError(f"unknown camera model id {model_id} (camera {cam_id})", r.path, None, "model_id")
        model = COLMAP_MODEL_NAMES[model_id]
        params = r.array(np.dtype("<f8"), len(CAMERA_MODEL_PARAMS[model]), "params")
        cameras[cam_id] = camera_from_colmap(model, width, height, params, r.path, None)
    return cameras


def read_images_binary(path: str | Path) -> ColmapImages:
    r = _Reader(Path(path))
    n = r.unpack("<Q", "num_reg_images")[0]
    ids, poses, cams, names, pts, pids = [], [], [], [], [], []
    for _ in range(n):
        ids.append(r.unpack("<I", "image_id")[0])
        poses.append(r.unpack("<7d", "qvec_tvec"))
        cams.append(r.unpack("<I", "camera_id")[0])
        names.append(r.cstring("name"))
        k = r.unpack("<Q", "num_points2D")[0]
        arr = r.array(_POINT2D, k, "points2D")
        pts.append(np.stack([arr["x"], arr["y"]], 1))
        pids.append(arr["id"].astype(np.int64))  # u64 max reads as -1
    poses_arr = np.array(poses, np.float64).reshape(-1, 7)
    return ColmapImages(np.array(ids, np.int64), poses_arr[:, :4].copy(), poses_arr[:, 4:].copy(),
                        np.array(cams, np.int64), names, pts, pids)


def read_points3d_binary(path: str | Path) -> ColmapPoints:
    r = _Reader(Path(path))
    n = r.unpack("<Q", "num_points3D")[0]
    ids = np.zeros(n, np.int64)
    xyz = np.zeros((n, 3))
    rgb = np.zeros((n, 3), np.uint8)
    err = np.zeros(n)
    timg, tidx = [], []
    for i in range(n):
        head = r.unpack("<Q3d3Bd", "point3D")
        ids[i], xyz[i], rgb[i], err[i] = head[0], head[1:4], head[4:7], head[7]
        track = r.array(_TRACK, r.unpack("<Q", "track_length")[0], "track")
        timg.append(track["image"])
        tidx.append(track["idx"])
    offsets, timgs, tidxs = tracks_from_lists(timg, tidx)
    return ColmapPoints(ids, xyz, rgb, err, offsets, timgs, tidxs)


def read_rigs_binary(path: str | Path) -> dict[int, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """rig_id -> camera_id -> sensor_from_rig (q, t); non-camera sensors are skipped."""
    r = _Reader(Path(path))
    rigs = {}
    for _ in range(r.unpack("<Q", "num_rigs")[0]):
        rig_id, k = r.unpack("<II", "rig")
        rig = {}
        if k:
            stype, sid = r.unpack("<iI", "ref_sensor")
            if stype == SENSOR_CAMERA:
                rig[sid] = (np.array([1.0, 0, 0, 0]), np.zeros(3))
        for _ in range(max(k - 1, 0)):
            stype, sid, has_pose = r.unpack("<iIB", "sensor")
            pose = np.array(r.unpack("<7d", "sensor_from_rig")) if has_pose else None
            if stype == SENSOR_CAMERA and pose is not None:
                rig[sid] = (pose[:4], pose[4:])
        rigs[rig_id] = rig
    return rigs


def read_frames_binary(path: str | Path) -> dict[int, int]:
    """image_id -> frame_id (camera data only)."""
    r = _Reader(Path(path))
    frames = {}
    for _ in range(r.unpack("<Q", "num_frames")[0]):
        frame_id, _rig, *_pose, k = r.unpack("<II7dI", "frame")
        for _ in range(k):
            stype, _sid, data_id = r.unpack("<iIQ", "data_id")
            if stype == SENSOR_CAMERA:
                frames[data_id] = frame_id
    return frames


def read_model_binary(path: str | Path) -> ColmapModel:
    path = Path(path)
    model = ColmapModel(read_cameras_binary(path / "cameras.bin"), read_images_binary(path / "images.bin"),
                        read_points3d_binary(path / "points3D.bin"))
    if (path / "rigs.bin").is_file():
        model.rigs = read_rigs_binary(path / "rigs.bin")
    if (path / "frames.bin").is_file():
        model.frames = read_frames_binary(path / "frames.bin")
    return model


def _write_rigs_binary(model: ColmapModel, path: Path) -> None:
    rigs, frames = rig_tables(model)
    if not rigs:
        return
    with atomic_write(path / "rigs.bin", "wb") as f:
        f.write(struct.pack("<Q", len(rigs)))
        for rig_id, sensors in rigs:
            f.write(struct.pack("<IIiI", rig_id, len(sensors), SENSOR_CAMERA, sensors[0][0]))
            for c, (q, t) in sensors[1:]:
                f.write(struct.pack("<iIB7d", SENSOR_CAMERA, c, 1, *np.asarray(q).tolist(), *np.asarray(t).tolist()))
    with atomic_write(path / "frames.bin", "wb") as f:
        f.write(struct.pack("<Q", len(frames)))
        for frame_id, rig_id, (q, t), data in frames:
            f.write(struct.pack("<II7dI", frame_id, rig_id, *np.asarray(q).tolist(), *np.asarray(t).tolist(),
                                len(data)))
            f.write(b"".join(struct.pack("<iIQ", SENSOR_CAMERA, c, i) for c, i in data))


def write_model_binary(model: ColmapModel, path: str | Path) -> None:
    """cameras.bin, images.bin, points3D.bin (+ rigs.bin, frames.bin with rigs), each written atomically."""
    path = Path(path)
    _write_rigs_binary(model, path)
    with atomic_write(path / "cameras.bin", "wb") as f:
        f.write(struct.pack("<Q", len(model.cameras)))
        for cam_id, cam in model.cameras.items():
            f.write(struct.pack("<IiQQ", cam_id, COLMAP_MODEL_IDS[cam.model], cam.width, cam.height))
            f.write(np.asarray(cam.params, "<f8").tobytes())
    im = model.images
    with atomic_write(path / "images.bin", "wb") as f:
        f.write(struct.pack("<Q", len(im)))
        for i in range(len(im)):
            f.write(struct.pack("<I7dI", int(im.ids[i]), *im.qvecs[i].tolist(), *im.tvecs[i].tolist(),
                                int(im.camera_ids[i])))
            f.write(im.names[i].encode("utf-8") + b"\0")
            arr = np.empty(len(im.points2d[i]), _POINT2D)
            arr["x"], arr["y"], arr["id"] = im.points2d[i][:, 0], im.points2d[i][:, 1], im.point3d_ids[i]
            f.write(struct.pack("<Q", len(arr)) + arr.tobytes())
    pts = model.points
    with atomic_write(path / "points3D.bin", "wb") as f:
        f.write(struct.pack("<Q", len(pts)))
        off = pts.track_offsets
        for i in range(len(pts)):
            track = np.empty(int(off[i + 1] - off[i]), _TRACK)
            track["image"] = pts.track_image_ids[off[i]:off[i + 1]]
            track["idx"] = pts.track_point2d_idx[off[i]:off[i + 1]]
            f.write(struct.pack("<Q3d3BdQ", int(pts.ids[i]), *pts.xyz[i].tolist(), *pts.rgb[i].tolist(),
                                float(pts.errors[i]), len(track)))
            f.write(track.tobytes())
