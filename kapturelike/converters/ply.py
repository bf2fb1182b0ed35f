"""PLY export of 3D points (with colours) and camera positions (as coloured vertices).

Vertices: ``double x, y, z`` and ``uchar red, green, blue``; points keep their colour (grey when the
dataset has none), camera centres C = -R^T t get ``camera_color``. ASCII or binary little endian.
Below, kapture_export_ply's folder form: trajectories, points, rigs, and the lidar point clouds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from kapturelike.converters.common import image_table
from kapturelike.core import pose as P
from kapturelike.core.reconstruction import Kapture
from kapturelike.errors import FormatError
from kapturelike.io.dataset import records_data_path
from kapturelike.io.point_cloud import read_point_cloud
from kapturelike.io.text import atomic_write

logger = logging.getLogger("kapturelike")

_VERTEX = np.dtype([("x", "<f8"), ("y", "<f8"), ("z", "<f8"), ("red", "u1"), ("green", "u1"), ("blue", "u1")])


@dataclass
class PlyOptions:
    binary: bool = False  # binary_little_endian instead of ascii
    points: bool = True
    cameras: bool = True
    camera_color: tuple[int, int, int] = (255, 0, 0)
    point_color: tuple[int, int, int] = (128, 128, 128)  # for points without colour


def ply_vertices(kapture: Kapture, options: PlyOptions | None = None) -> np.ndarray:
    """The structured vertex array: points first, then camera centres."""
    options = options or PlyOptions()
    parts = []
    if options.points and kapture.points3d is not None and len(kapture.points3d):
        pts = np.asarray(kapture.points3d, np.float64)
        v = np.empty(len(pts), _VERTEX)
        v["x"], v["y"], v["z"] = pts[:, 0], pts[:, 1], pts[:, 2]
        rgb = np.clip(np.rint(pts[:, 3:6]), 0, 255) if pts.shape[1] >= 6 else np.tile(options.point_color,
                                                                                       (len(pts), 1))
        v["red"], v["green"], v["blue"] = rgb[:, 0], rgb[:, 1], rgb[:, 2]
        parts.append(v)
    if options.cameras:
        table = image_table(kapture)
        ok = table.has_pose
        centres = P.camera_centers(table.q[ok], table.t[ok]).reshape(-1, 3)
        v = np.empty(len(centres), _VERTEX)
        v["x"], v["y"], v["z"] = centres[:, 0], centres[:, 1], centres[:, 2]
        v["red"], v["green"], v["blue"] = options.camera_color
        parts.append(v)
    return np.concatenate(parts) if parts else np.empty(0, _VERTEX)


def write_ply(vertices: np.ndarray, path: str | Path, binary: bool = False) -> None:
    header = ("ply\nformat " + ("binary_little_endian" if binary else "ascii") + " 1.0\n"
              f"element vertex {len(vertices)}\nproperty double x\nproperty double y\nproperty double z\n"
              "property uchar red\nproperty uchar green\nproperty uchar blue\nend_header\n")
    with atomic_write(path, "wb") as f:
        f.write(header.encode("ascii"))
        if binary:
            f.write(np.ascontiguousarray(vertices, _VERTEX).tobytes())
        else:
            xyz = np.stack([vertices["x"], vertices["y"], vertices["z"]], 1)
            rgb = np.stack([vertices["red"], vertices["green"], vertices["blue"]], 1)
            f.write("".join(f"{a!r} {b!r} {c!r} {r} {g} {bl}\n" for (a, b, c), (r, g, bl)
                            in zip(xyz.tolist(), rgb.tolist())).encode("ascii"))


def read_ply(path: str | Path) -> np.ndarray:
    """Read back a file written by ``write_ply`` (this vertex layout only)."""
    path = Path(path)
    data = path.read_bytes()
    end = data.find(b"end_header\n")
    if not data.startswith(b"ply\n") or end < 0:
        raise FormatError("not a PLY file (no 'ply' magic or no end_header)", path, 1, "header")
    header = data[:end].decode("ascii").split("\n")
    count = next((int(h.split()[2]) for h in header if h.startswith("element vertex")), None)
    if count is None:
        raise FormatError("no 'element vertex' line", path, None, "header")
    body = data[end + len(b"end_header\n"):]
    if "format binary_little_endian 1.0" in header:
        if len(body) != count * _VERTEX.itemsize:
            raise FormatError(f"{len(body)} bytes of vertices, expected {count * _VERTEX.itemsize}", path, None,
                              "vertex")
        return np.frombuffer(body, _VERTEX).copy()
    rows = body.decode("ascii").split("\n")[:count]
    out = np.empty(count, _VERTEX)
    for i, row in enumerate(rows):
        f = row.split()
        if len(f) != 6:
            raise FormatError(f"expected 6 values, got {len(f)}", path, len(header) + 2 + i, "vertex")
        out[i] = (float(f[0]), float(f[1]), float(f[2]), int(f[3]), int(f[4]), int(f[5]))
    return out


def export_ply(kapture: Kapture, path: str | Path, options: PlyOptions | None = None) -> int:
    """Write the PLY; returns the number of vertices."""
    options = options or PlyOptions()
    v = ply_vertices(kapture, options)
    write_ply(v, path, options.binary)
    return len(v)


# kapture_export_ply's folder form, written as kapture writes it (ASCII, its padding, an edge element):
# trajectories.ply (per pose: its centre then the tips of its x, y, z axes), points3d.ply, rig_<id>.ply.
_KAPTURE_HEADER = ("ply\nformat ascii 1.0\nelement vertex {vertices}\nproperty double x\nproperty double y\n"
                   "property double z\nproperty uchar red\nproperty uchar green\nproperty uchar blue\n"
                   "element edge {edges}\nproperty int vertex1\nproperty int vertex2\nend_header\n")
_AXIS_COLORS = ((127, 127, 127), (255, 0, 0), (0, 255, 0), (0, 0, 255))  # centre, x, y, z


def axis_points(q: np.ndarray, t: np.ndarray, length: float) -> np.ndarray:
    """(N, 4, 3): the centre and the x, y, z axis tips (at ``length``) of world-to-device poses, in the world."""
    q, t = np.asarray(q, np.float64).reshape(-1, 4), np.asarray(t, np.float64).reshape(-1, 3)
    local = np.array([[0, 0, 0], [length, 0, 0], [0, length, 0], [0, 0, length]], dtype=np.float64)
    q_inv, t_inv = P.invert(q, t)
    return np.stack([P.apply(q_inv, t_inv, np.broadcast_to(p, t.shape)) for p in local], axis=1)


def _axis_lines(axes: np.ndarray, colour: str) -> list[str]:
    lines = []
    for device in axes.tolist():
        for point, rgb in zip(device, _AXIS_COLORS):
            lines.append(" ".join([f"{v:<25}" for v in point] + [format(c, colour) for c in rgb]) + "\n")
    return lines


def write_kapture_trajectories_ply(kapture: Kapture, path: str | Path, axis_length: float = 0.1) -> int:
    """Every posed (timestamp, device) of the trajectories, sorted, as kapture writes trajectories.ply."""
    traj = kapture.trajectories.sorted()
    ok = np.isfinite(traj.translations).all(axis=1) & np.isfinite(traj.rotations).all(axis=1)
    axes = axis_points(traj.rotations[ok], traj.translations[ok], axis_length)
    with atomic_write(path) as f:
        f.write(_KAPTURE_HEADER.format(vertices=4 * len(axes), edges=0))
        f.writelines(_axis_lines(axes, "<4"))
    return 4 * len(axes)


def write_kapture_points3d_ply(kapture: Kapture, path: str | Path) -> int:
    """The 3D points (and their colours) as kapture writes points3d.ply."""
    points = np.asarray(kapture.points3d, np.float64)
    with atomic_write(path) as f:
        f.write(_KAPTURE_HEADER.format(vertices=len(points), edges=0))
        f.writelines("  ".join([f"{v:20}" for v in row[:3]] + [f"{int(c):03d}" for c in row[3:6]]) + "\n"
                     for row in points.tolist())
    return len(points)


def write_kapture_rig_ply(rig: dict, path: str | Path, axis_length: float = 0.1) -> int:
    """A rig's centre and each of its devices (their axes, an edge from the centre), as kapture's rig_<id>.ply."""
    q = np.array([[1.0, 0, 0, 0]] + [p.q for p in rig.values()], dtype=np.float64)
    t = np.array([[0.0, 0, 0]] + [p.t for p in rig.values()], dtype=np.float64)
    axes = axis_points(q, t, axis_length)
    with atomic_write(path) as f:
        f.write(_KAPTURE_HEADER.format(vertices=4 * len(axes), edges=len(axes)))
        f.writelines(_axis_lines(axes, "03"))
        f.writelines(f"{0:2} {4 * i:2}\n" for i in range(len(axes)))
    return 4 * len(axes)


# kapture_export_ply's lidar part: each lidar record's point cloud moved into the world frame, written by
# open3d as kapture writes it: binary little endian, double x, y, z only, open3d's header (its comment
# line included, so that the files are kapture's byte for byte).
_OPEN3D_HEADER = ("ply\nformat binary_little_endian 1.0\ncomment Created by Open3D\nelement vertex {vertices}\n"
                  "property double x\nproperty double y\nproperty double z\nend_header\n")


def write_open3d_ply(points: np.ndarray, path: str | Path) -> None:
    points = np.ascontiguousarray(np.asarray(points, np.float64).reshape(-1, 3), "<f8")
    with atomic_write(path, "wb") as f:
        f.write(_OPEN3D_HEADER.format(vertices=len(points)).encode("ascii"))
        f.write(points.tobytes())


def lidar_poses(kapture: Kapture) -> dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]:
    """(timestamp, lidar id) -> lidar-from-world (q, t): the lidar's own trajectory entry, replaced (as kapture's
    rigs_remove does) by lidar_from_rig * rig_from_world where a rig holding the lidar is posed then."""
    lidars = {s for s, sensor in kapture.sensors.items() if sensor.sensor_type == "lidar"}
    traj = kapture.trajectories
    if traj is None or not len(traj) or not lidars:
        return {}
    in_rigs = {rig_id: [(lidar, pose) for lidar, pose in rig.items() if lidar in lidars and pose.q is not None]
               for rig_id, rig in (kapture.rigs or {}).items()}
    in_rigs = {rig_id: members for rig_id, members in in_rigs.items() if members}
    wanted = np.flatnonzero(np.isin(traj.device_ids, list(lidars | set(in_rigs))))
    poses: dict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = {}
    through_rig = []
    for i in wanted.tolist():
        timestamp, device = int(traj.timestamps[i]), traj.device_ids[i]
        if device in in_rigs:
            through_rig.append((timestamp, device, i))
        else:
            poses.setdefault((timestamp, device), (traj.rotations[i], traj.translations[i]))
    for timestamp, rig_id, i in through_rig:  # after the own poses: the rig's wins, as in kapture
        for lidar, pose in in_rigs[rig_id]:
            q, t = P.compose(np.asarray(pose.q, np.float64), np.asarray(pose.t, np.float64), traj.rotations[i],
                             traj.translations[i])
            poses[(timestamp, lidar)] = (q, t)
    return poses


def write_kapture_lidar_plys(kapture: Kapture, root: str | Path, output: str | Path, progress: bool = True) -> int:
    """``output``/records_data/<lidar id>/<timestamp>.ply for each lidar record (sorted) whose lidar is posed at
    its timestamp, its points (pcd, ply, xyz... file of ``root``'s records_data) in world coordinates;
    returns how many files were written. A record without pose gets its folder and no file, as in kapture."""
    records = kapture.records.get("lidar")
    if records is None or not len(records):
        return 0
    poses = lidar_poses(kapture)
    rows = sorted(zip(records.timestamps.tolist(), records.device_ids.tolist(), records.paths))
    written, empty = 0, []
    for timestamp, lidar, name in tqdm(rows, desc="lidar", unit="cloud", disable=not progress, leave=False):
        target = Path(output) / "records_data" / lidar / f"{timestamp}.ply"
        target.parent.mkdir(parents=True, exist_ok=True)
        if (timestamp, lidar) not in poses:
            continue
        points = read_point_cloud(records_data_path(root, name, "lidar"))
        if not len(points):  # open3d writes no file for an empty cloud
            empty.append(name)
            continue
        q, t = poses[(timestamp, lidar)]
        q_inv, t_inv = P.invert(q[None], t[None])
        write_open3d_ply(P.apply(q_inv, t_inv, points), target)
        written += 1
    if empty:
        logger.warning(f"{len(empty)} empty lidar point cloud(s) not exported (first: {empty[0]})")
    return written
