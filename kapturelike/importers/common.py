"""What every dataset importer shares: output preparation, record file transfer, pose conversion,
columnar builders of trajectories and records, depth maps.

An importer reads the raw dataset file by file, appends poses and records to the builders (numpy
columns, about 100 bytes a pose: never one Python object per pose, never an image in memory),
transfers record files one at a time with a progress bar, and writes the kapture text files last,
each atomically. An interrupted import can therefore be run again: record files already in place
are skipped, and no text file of a half-done import exists.
"""

from __future__ import annotations

import enum
import filecmp
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from kapturelike.core import pose as P
from kapturelike.core.records import Records
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.errors import KapturelikeError
from kapturelike.io.dataset import SENSORS_DIR, records_data_path
from kapturelike.io.output import refuse_overlap
from kapturelike.io.text import atomic_write

logger = logging.getLogger("kapturelike.importers")


class DatasetImportError(KapturelikeError, ValueError):
    """The raw dataset cannot be imported (missing file, unexpected layout); names the file."""


class TransferAction(str, enum.Enum):
    """How record files (images, depth maps, point clouds) reach the kapture tree: kapture's names."""

    skip = "skip"  # only the text files are written
    root_link = "root_link"  # sensors/records_data is one link to the raw folder
    copy = "copy"
    move = "move"
    link_absolute = "link_absolute"
    link_relative = "link_relative"

    def __str__(self) -> str:  # argparse prints choices with str()
        return self.value


# ------------------------------------------------------------------------------------------ output
def kapture_text_files(out: Path) -> list[Path]:
    """The kapture files of a previous import at ``out`` (record files are not listed: kept to resume)."""
    found = sorted((out / SENSORS_DIR).glob("*.txt")) if (out / SENSORS_DIR).is_dir() else []
    if (out / "reconstruction").exists():
        found.append(out / "reconstruction")
    return found


def prepare_output(out: str | Path, force: bool = False, inputs: Iterable[str | Path | None] = ()) -> Path:
    """Create ``out``; refuse to overwrite the kapture files of a previous import unless ``force``, and
    an ``out`` overlapping one of the ``inputs`` in any case (``io.output.refuse_overlap``).

    Record files already transferred stay, so that a second run skips them (resume); only the text
    files (and the reconstruction folder) are removed with ``force``, as kapture does.
    """
    refuse_overlap(out, inputs)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DatasetImportError(f"{out}: output exists and is not a folder")
    existing = kapture_text_files(out) if out.is_dir() else []
    if existing:
        if not force:
            raise DatasetImportError(f"{out}: holds a kapture dataset already ({existing[0].name}); "
                                     "use -f/--force to overwrite it")
        for p in existing:
            shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    out.mkdir(parents=True, exist_ok=True)
    return out


def require_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise DatasetImportError(f"{path}: {what} is missing")
    return path


def require_dir(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise DatasetImportError(f"{path}: {what} is missing (not a folder)")
    return path


# ------------------------------------------------------------------------------------------ transfer
def _same_file(src: Path, dst: Path) -> bool:
    try:
        if os.path.realpath(dst) == os.path.realpath(src):
            return True
        return dst.is_file() and not dst.is_symlink() and filecmp.cmp(src, dst, shallow=True)
    except OSError:
        return False


def transfer_file(src: Path, dst: Path, action: TransferAction) -> bool:
    """Put ``src`` at ``dst``; False when it was there already (resume), True when transferred."""
    if dst.is_symlink() or dst.exists():
        if _same_file(src, dst) or (action == TransferAction.move and not src.exists()):
            return False
        dst.unlink()
    if not src.exists():
        raise FileNotFoundError(src)
    dst.parent.mkdir(parents=True, exist_ok=True)
    if action == TransferAction.copy:
        tmp = dst.with_name(f".{dst.name}.part")
        shutil.copyfile(src, tmp)
        os.replace(tmp, dst)
    elif action == TransferAction.move:
        shutil.move(src, dst)
    elif action == TransferAction.link_absolute:
        os.symlink(os.path.realpath(src), dst)
    elif action == TransferAction.link_relative:
        os.symlink(os.path.relpath(os.path.realpath(src), os.path.realpath(dst.parent)), dst)
    return True


def transfer_records_data(source_dir: str | Path, out: str | Path, names: Sequence[str],
                          action: TransferAction, sources: Sequence[str | Path] | None = None,
                          progress: bool = True) -> int:
    """Transfer the record files ``names`` (relative to ``source_dir``, or given one by one in
    ``sources``) into ``out``/sensors/records_data; returns how many were transferred (not skipped)."""
    action = TransferAction(action)
    if action == TransferAction.skip:
        return 0
    out = Path(out)
    if action == TransferAction.root_link:
        link = records_data_path(out)
        target = os.path.realpath(source_dir)
        if link.is_symlink() and os.path.realpath(link) == target:
            return 0
        if link.exists() or link.is_symlink():
            raise DatasetImportError(f"{link}: exists already; root_link needs it absent")
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, link)
        return 1
    done, missing = 0, []
    srcs = sources if sources is not None else [Path(source_dir) / n for n in names]
    for name, src in tqdm(zip(names, srcs), total=len(names), desc=f"{action.value} records",
                          disable=not progress or not names, unit="file", leave=False):
        try:
            done += transfer_file(Path(src), records_data_path(out, name), action)
        except FileNotFoundError:
            missing.append(src)
    if missing:  # a partly downloaded dataset: the records are kept, the files are not there
        logger.warning("%d record file(s) missing, not transferred (first: %s)", len(missing), missing[0])
    return done


# ------------------------------------------------------------------------------------------ poses
def world_to_camera_from_camera_to_world(matrices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, 4, 4) or (N, 3, 4) camera-to-world matrices -> world-to-camera (q (N, 4), t (N, 3))."""
    q, t = P.from_matrix(matrices)
    return P.invert(q, t)


@dataclass
class TrajectoriesBuilder:
    """Poses appended in chunks, kept as numpy columns until :meth:`build`."""

    _timestamps: list[np.ndarray] = field(default_factory=list)
    _devices: list[np.ndarray] = field(default_factory=list)
    _q: list[np.ndarray] = field(default_factory=list)
    _t: list[np.ndarray] = field(default_factory=list)

    def add(self, timestamps: Iterable[int] | np.ndarray, devices: Iterable[str] | np.ndarray | str,
            q: np.ndarray, t: np.ndarray) -> None:
        ts = np.asarray(timestamps, dtype=np.int64).reshape(-1)
        dev = np.full(len(ts), devices, dtype=object) if isinstance(devices, str) else np.asarray(devices, object)
        self._timestamps.append(ts)
        self._devices.append(dev.reshape(-1))
        self._q.append(np.asarray(q, np.float64).reshape(len(ts), 4))
        self._t.append(np.asarray(t, np.float64).reshape(len(ts), 3))

    def __len__(self) -> int:
        return sum(len(t) for t in self._timestamps)

    def build(self) -> Trajectories:
        if not self._timestamps:
            return Trajectories()
        return Trajectories(np.concatenate(self._timestamps), np.concatenate(self._devices),
                            np.concatenate(self._q), np.concatenate(self._t))


@dataclass
class RecordsBuilder:
    """Records of one kind appended row by row or in chunks, kept as columns until :meth:`build`."""

    kind: str
    _timestamps: list[int] = field(default_factory=list)
    _devices: list[str] = field(default_factory=list)
    _columns: list[list] | None = None

    def add(self, timestamp: int, device: str, *values) -> None:
        if self._columns is None:
            self._columns = [[] for _ in values]
        self._timestamps.append(int(timestamp))
        self._devices.append(device)
        for column, value in zip(self._columns, values):
            column.append(value)

    def __len__(self) -> int:
        return len(self._timestamps)

    def build(self, last_wins: bool = False) -> Records:
        """The records; with ``last_wins``, of rows sharing (timestamp, device) only the last is kept
        (kapture's dict semantics, for sources that repeat a key)."""
        if self._columns is None:
            return Records(self.kind)
        stamps, devices, columns = np.asarray(self._timestamps, np.int64), np.asarray(self._devices, object), \
            self._columns
        if last_wins:
            last = {key: i for i, key in enumerate(zip(self._timestamps, self._devices))}
            if len(last) < len(stamps):
                keep = sorted(last.values())
                stamps, devices = stamps[keep], devices[keep]
                columns = [[c[i] for i in keep] for c in columns]
        return Records(self.kind, stamps, devices, columns=columns)


# ------------------------------------------------------------------------------------------ depth
def write_depth_map(path: str | Path, depth: np.ndarray) -> None:
    """kapture's depth map file: raw float32, row-major, no header (atomic)."""
    with atomic_write(path, "wb") as f:
        f.write(np.ascontiguousarray(depth, dtype=np.float32).tobytes())


def read_depth_map(path: str | Path, width: int, height: int) -> np.ndarray:
    return np.fromfile(path, dtype=np.float32).reshape(height, width)


def register_depth(K_depth: np.ndarray, K_color: np.ndarray, color_from_depth: np.ndarray, depth: np.ndarray,
                   width: int, height: int) -> np.ndarray:
    """Depth map (H, W) of the depth camera re-projected into the colour camera's pixel grid.

    Pixels are rounded to the nearest colour pixel; where several land on one pixel the last in
    raster order wins, as in kapture's importers (so the two give the same file).
    """
    h, w = depth.shape
    y, x = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    z = depth.reshape(-1).astype(np.float64)
    rays = np.stack([(x.reshape(-1) - K_depth[0, 2]) / K_depth[0, 0] * z,
                     (y.reshape(-1) - K_depth[1, 2]) / K_depth[1, 1] * z, z])
    pts = K_color @ (color_from_depth[:3, :3] @ rays + color_from_depth[:3, 3:])
    with np.errstate(divide="ignore", invalid="ignore"):
        px, py = np.round(pts[0] / pts[2]), np.round(pts[1] / pts[2])
    inside = (px >= 0) & (py >= 0) & (px < width) & (py < height)
    registered = np.zeros((height, width), np.float32)
    registered[py[inside].astype(int), px[inside].astype(int)] = pts[2, inside]
    return registered


def intrinsic_matrix(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def collapse_to_rig(trajectories: Trajectories, rigs: dict[str, dict[str, Pose]],
                    master_sensors: Sequence[str] | None = None) -> Trajectories:
    """Poses of rig sensors replaced by the rig's: rig-from-world = (sensor-from-rig)^-1 x sensor-from-world.

    Only ``master_sensors`` (all when None) give rig poses, the first in (timestamp, sensor) order
    when several do at one timestamp; other sensors of a rig lose their pose, as in kapture.
    """
    rig_of = {s: (rig, pose) for rig, sensors in rigs.items() for s, pose in sensors.items()}
    t = trajectories.sorted()
    in_rig = np.array([d in rig_of for d in t.device_ids], dtype=bool)
    master = in_rig & np.array([master_sensors is None or d in master_sensors for d in t.device_ids], dtype=bool)
    idx = np.flatnonzero(master)
    if len(idx):
        rig_ids = np.array([rig_of[d][0] for d in t.device_ids[idx]], dtype=object)
        q_rig = np.stack([rig_of[d][1].q for d in t.device_ids[idx]])
        t_rig = np.stack([rig_of[d][1].t for d in t.device_ids[idx]])
        q, tr = P.compose(*P.invert(q_rig, t_rig), t.rotations[idx], t.translations[idx])
        keys = list(zip(t.timestamps[idx].tolist(), rig_ids.tolist()))
        first = sorted({k: i for i, k in reversed(list(enumerate(keys)))}.values())
        collapsed = Trajectories(t.timestamps[idx][first], rig_ids[first], q[first], tr[first])
    else:
        collapsed = Trajectories()
    return t.select(~in_rig).concat(collapsed).sorted()
