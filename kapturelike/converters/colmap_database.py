"""COLMAP ``database.db`` (sqlite3) <-> kapture cameras, images, keypoints, descriptors and matches.

Tables (COLMAP 4.x schema, older databases read too): cameras (model id, width, height, params f64 blob),
images (image_id, name, camera_id, and COLMAP 3.x's pose prior prior_qw..prior_tz, which kapture reads and
writes as the image's world-to-camera pose), keypoints / descriptors (rows x cols blobs, float32 / uint8),
matches and two_view_geometries (pair_id, uint32 (M, 2)), pair_id = id1 * 2147483647 + id2 with id1 < id2.
Rows are read through sqlite cursors one image or pair at a time and written straight to the kapture
feature files, so memory stays at one image's data. Keypoints share the pixel convention: no shift.
Inlier matches (two_view_geometries) are preferred over raw matches when the table has them.
Export writes COLMAP 4.x's schema with one trivial rig per camera and one frame per image, plus the 3.x
prior columns in ``images`` (pycolmap ignores them; kapture's import_colmap needs them).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

from kapturelike.converters.colmap_common import (
    COLMAP_MODEL_IDS,
    COLMAP_MODEL_NAMES,
    camera_from_colmap,
    camera_numbers,
    camera_sensor_id,
    colmap_camera,
)
from kapturelike.converters.common import ConversionError, cameras_required
from kapturelike.converters.features_io import add_feature_arrays, add_matches
from kapturelike.core.image_poses import image_poses
from kapturelike.core.reconstruction import Kapture
from kapturelike.core.records import Records
from kapturelike.core.sensors import Camera
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.errors import FormatError
from kapturelike.io.dataset import load_kapture, save_kapture
from kapturelike.io.features import KaptureFeatureStore

MAX_IMAGE_ID = 2147483647
PRIOR_COLUMNS = ("prior_qw", "prior_qx", "prior_qy", "prior_qz", "prior_tx", "prior_ty", "prior_tz")
PosePriors = Mapping[str, tuple[np.ndarray, np.ndarray]]  # image name -> world-to-camera (q (4,), t (3,))
SENSOR_TYPE_CAMERA = 0  # colmap::SensorType::CAMERA
TWO_VIEW_CALIBRATED = 2  # colmap::TwoViewGeometry::CALIBRATED

SCHEMA = """
CREATE TABLE IF NOT EXISTS rigs (rig_id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    ref_sensor_id INTEGER NOT NULL, ref_sensor_type INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS rig_ref_sensor_assignment ON rigs(ref_sensor_id, ref_sensor_type);
CREATE TABLE IF NOT EXISTS rig_sensors (rig_id INTEGER NOT NULL, sensor_id INTEGER NOT NULL,
    sensor_type INTEGER NOT NULL, sensor_from_rig BLOB,
    FOREIGN KEY(rig_id) REFERENCES rigs(rig_id) ON DELETE CASCADE);
CREATE UNIQUE INDEX IF NOT EXISTS rig_sensor_assignment ON rig_sensors(sensor_id, sensor_type);
CREATE TABLE IF NOT EXISTS cameras (camera_id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    model INTEGER NOT NULL, width INTEGER NOT NULL, height INTEGER NOT NULL, params BLOB,
    prior_focal_length INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS frames (frame_id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, rig_id INTEGER NOT NULL,
    FOREIGN KEY(rig_id) REFERENCES rigs(rig_id) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS frame_data (frame_id INTEGER NOT NULL, data_id INTEGER NOT NULL,
    sensor_id INTEGER NOT NULL, sensor_type INTEGER NOT NULL,
    FOREIGN KEY(frame_id) REFERENCES frames(frame_id) ON DELETE CASCADE);
CREATE UNIQUE INDEX IF NOT EXISTS frame_sensor_assignment ON frame_data(data_id, sensor_type);
CREATE TABLE IF NOT EXISTS images (image_id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL UNIQUE, camera_id INTEGER NOT NULL,
    prior_qw REAL, prior_qx REAL, prior_qy REAL, prior_qz REAL, prior_tx REAL, prior_ty REAL, prior_tz REAL,
    CONSTRAINT image_id_check CHECK(image_id >= 0 and image_id < 2147483647),
    FOREIGN KEY(camera_id) REFERENCES cameras(camera_id));
CREATE UNIQUE INDEX IF NOT EXISTS index_name ON images(name);
CREATE TABLE IF NOT EXISTS pose_priors (pose_prior_id INTEGER PRIMARY KEY NOT NULL,
    corr_data_id INTEGER NOT NULL, corr_sensor_id INTEGER NOT NULL, corr_sensor_type INTEGER NOT NULL,
    position BLOB, position_covariance BLOB, gravity BLOB, coordinate_system INTEGER NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS pose_prior_data_assignment
    ON pose_priors(corr_data_id, corr_sensor_id, corr_sensor_type);
CREATE TABLE IF NOT EXISTS keypoints (image_id INTEGER PRIMARY KEY NOT NULL, rows INTEGER NOT NULL,
    cols INTEGER NOT NULL, data BLOB, FOREIGN KEY(image_id) REFERENCES images(image_id) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS descriptors (image_id INTEGER PRIMARY KEY NOT NULL, type INTEGER NOT NULL,
    rows INTEGER NOT NULL, cols INTEGER NOT NULL, data BLOB,
    FOREIGN KEY(image_id) REFERENCES images(image_id) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS matches (pair_id INTEGER PRIMARY KEY NOT NULL, rows INTEGER NOT NULL,
    cols INTEGER NOT NULL, data BLOB);
CREATE TABLE IF NOT EXISTS two_view_geometries (pair_id INTEGER PRIMARY KEY NOT NULL, rows INTEGER NOT NULL,
    cols INTEGER NOT NULL, data BLOB, config INTEGER NOT NULL, F BLOB, E BLOB, H BLOB, qvec BLOB, tvec BLOB,
    camera1 BLOB, camera2 BLOB);
"""


def pair_id(image_id1: int | np.ndarray, image_id2: int | np.ndarray) -> int | np.ndarray:
    """COLMAP's pair id (order-free: the smaller id goes first)."""
    a, b = np.minimum(image_id1, image_id2), np.maximum(image_id1, image_id2)
    return a * MAX_IMAGE_ID + b if isinstance(a, np.ndarray) else int(a) * MAX_IMAGE_ID + int(b)


def pair_id_to_image_ids(pid: int | np.ndarray) -> tuple:
    return pid // MAX_IMAGE_ID, pid % MAX_IMAGE_ID


def _blob(path: Path, row_id: int, rows: int, cols: int, data: bytes | None, dtype: str, field: str) -> np.ndarray:
    if rows == 0 or data is None:
        return np.zeros((0, cols), dtype)
    arr = np.frombuffer(data, dtype=dtype)
    if arr.size != rows * cols:
        raise FormatError(f"row {row_id}: blob holds {arr.size} values, rows x cols = {rows} x {cols}", path, None,
                          field)
    return arr.reshape(rows, cols)


def read_cameras(conn: sqlite3.Connection, path: Path) -> dict:
    cams = {}
    for cam_id, model_id, width, height, params in conn.execute(
            "SELECT camera_id, model, width, height, params FROM cameras"):
        if model_id not in COLMAP_MODEL_NAMES:
            raise FormatError(f"camera {cam_id}: unknown model id {model_id}", path, None, "cameras.model")
        values = np.frombuffer(params or b"", np.float64)
        cams[cam_id] = camera_from_colmap(COLMAP_MODEL_NAMES[model_id], width, height, values, path, None)
    return cams


def iter_rows(conn: sqlite3.Connection, path: Path, table: str, dtype: str) -> Iterator[tuple[int, np.ndarray]]:
    """(image_id or pair_id, array) of a keypoints / descriptors / matches table, one row at a time."""
    key = "pair_id" if table in ("matches", "two_view_geometries") else "image_id"
    for row_id, rows, cols, data in conn.execute(f"SELECT {key}, rows, cols, data FROM {table}"):
        yield row_id, _blob(path, row_id, rows, cols, data, dtype, f"{table}.data")


def import_database(database: str | Path, output: str | Path, kapture: Kapture | None = None,
                    keypoints_type: str = "colmap", descriptors_type: str = "colmap",
                    geometric_filtering: bool = True) -> Kapture:
    """Add the database's cameras, images and features to ``kapture`` (new if None) and save it at ``output``.
    Matches: the verified ones (two_view_geometries) when the database has any, unless ``geometric_filtering``
    is off (kapture's --no_geometric_filtering): then the raw ``matches`` table.

    Images already in ``kapture`` (by name) keep their sensor and timestamp; new ones get the COLMAP camera
    ``cam_%05d`` and their image id as timestamp. Images the database has keypoints for replace any keypoints
    the model gave. When ``kapture`` has no trajectories (no model), the pose priors of COLMAP 3.x's images
    table become the trajectories, as kapture reads them; a prior of NULLs or a zero quaternion (what kapture
    writes for an image without pose) is no pose.
    """
    path = Path(database)
    if not path.is_file():
        raise FormatError("no such COLMAP database", path)
    kapture = kapture if kapture is not None else Kapture()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _import(conn, path, output, kapture, keypoints_type, descriptors_type, geometric_filtering)
    except sqlite3.DatabaseError as e:
        raise FormatError(f"not a readable COLMAP database ({e})", path, None, "sqlite") from None
    finally:
        conn.close()


def _import(conn: sqlite3.Connection, path: Path, output: str | Path, kapture: Kapture, keypoints_type: str,
            descriptors_type: str, geometric_filtering: bool = True) -> Kapture:
    cams = read_cameras(conn, path)
    for cam_id, cam in cams.items():
        kapture.sensors.setdefault(camera_sensor_id(cam_id), cam)
    known = kapture.records_camera.image_index() if kapture.records_camera is not None else {}
    names: dict[int, str] = {}
    new = []
    columns = {row[1] for row in conn.execute("PRAGMA table_info(images)")}
    with_priors = set(PRIOR_COLUMNS) <= columns and kapture.trajectories is None
    select = ", ".join(("image_id", "name", "camera_id", *(PRIOR_COLUMNS if with_priors else ())))
    priors = []
    for image_id, name, cam_id, *prior in conn.execute(f"SELECT {select} FROM images"):
        names[image_id] = name
        if name not in known:
            new.append(((image_id, camera_sensor_id(cam_id)), name))
            if prior and None not in prior and any(prior[:4]):
                priors.append(((image_id, camera_sensor_id(cam_id)), Pose(np.asarray(prior[:4], np.float64),
                                                                          np.asarray(prior[4:], np.float64))))
    if new:
        recs = Records.camera(new)
        kapture.records["camera"] = recs if kapture.records_camera is None else kapture.records_camera.concat(recs)
    if priors:
        kapture.trajectories = Trajectories.from_items(priors)

    def named(rows):
        for image_id, arr in rows:
            if image_id not in names:
                raise FormatError(f"row for image id {image_id}, which is not in the images table", path)
            yield names[image_id], arr

    add_feature_arrays(output, kapture, "keypoints", keypoints_type,
                       named(iter_rows(conn, path, "keypoints", "<f4")))
    add_feature_arrays(output, kapture, "descriptors", descriptors_type,
                       named(iter_rows(conn, path, "descriptors", "<u1")), metric_type="L2",
                       keypoints_type=keypoints_type)
    table = "two_view_geometries" if geometric_filtering and conn.execute(
        "SELECT count(*) FROM sqlite_master WHERE name='two_view_geometries'").fetchone()[0] and conn.execute(
        "SELECT count(*) FROM two_view_geometries WHERE rows > 0").fetchone()[0] else "matches"

    def pairs():
        for pid, arr in iter_rows(conn, path, table, "<u4"):
            if len(arr) == 0:
                continue
            a, b = pair_id_to_image_ids(pid)
            if a not in names or b not in names:
                raise FormatError(f"pair_id {pid} names image ids {a}, {b}; not both are in the images table", path,
                                  None, f"{table}.pair_id")
            yield names[a], names[b], arr.astype(np.float64)

    add_matches(output, kapture, keypoints_type, pairs())
    if kapture.observations is not None and keypoints_type not in kapture.keypoints:
        raise ConversionError("the model has observations but the database has no keypoints")
    save_kapture(kapture, output)
    return kapture


def export_database(kapture_root: str | Path, database: str | Path, keypoints_type: str | None = None,
                    descriptors_type: str | None = None, approximate: bool = False,
                    two_view_config: int = TWO_VIEW_CALIBRATED,
                    pairs: Collection[tuple[str, str]] | None = None) -> dict[str, int]:
    """Write a new COLMAP database from the dataset at ``kapture_root``; returns image name -> image id.
    ``pairs``: only the matches of these image pairs (either order; kapture's --pairsfile-path). Each posed
    image's pose is its prior, as kapture's export writes it.

    Matches go to both ``matches`` and ``two_view_geometries`` (kapture matches are usually verified);
    descriptors must be uint8 (COLMAP's type) unless ``approximate`` (float -> round(512 d) clipped, as SIFT).
    """
    root = Path(kapture_root)
    kapture = load_kapture(root)
    store = KaptureFeatureStore(root, kapture.version)
    kpt_type = keypoints_type or (next(iter(kapture.keypoints)) if kapture.keypoints else None)
    desc_type = descriptors_type or next((d.name for d in kapture.descriptors.values()
                                          if d.keypoints_type == kpt_type), None)
    names = kapture.records_camera.sorted() if kapture.records_camera is not None else Records("camera")
    cam_ids = [str(d) for d in names.device_ids.tolist()]
    cams = cameras_required(kapture, cam_ids)
    numbers = camera_numbers(sorted(cams))
    cameras = {numbers[c]: colmap_camera(c, cams[c], approximate) for c in sorted(cams)}
    calibrated = {numbers[c]: cams[c].is_calibrated for c in cams}
    images = [(image_id, name, numbers[cam]) for image_id, (name, cam) in enumerate(zip(names.paths, cam_ids), 1)]
    kpt_names = kapture.keypoints[kpt_type].images if kpt_type is not None else set()
    desc_names = kapture.descriptors[desc_type].images if desc_type is not None else set()
    wanted = None if pairs is None else {tuple(sorted(p)) for p in pairs}
    pairs = sorted(p for p in (kapture.matches.get(kpt_type, set()) if kpt_type is not None else set())
                   if wanted is None or tuple(sorted(p)) in wanted)
    return write_database(
        database, cameras, images,
        lambda n: store.read("keypoints", kpt_type, n) if n in kpt_names else None,
        lambda n: store.read("descriptors", desc_type, n) if n in desc_names else None,
        ((a, b, store.read_matches(kpt_type, a, b)[:, :2]) for a, b in pairs),
        approximate, two_view_config, calibrated, image_poses(kapture))


def write_database(database: str | Path, cameras: Mapping[int, Camera], images: Sequence[tuple[int, str, int]],
                   keypoints: Callable[[str], np.ndarray | None], descriptors: Callable[[str], np.ndarray | None],
                   matches: Iterable[tuple[str, str, np.ndarray]], approximate: bool = False,
                   two_view_config: int = TWO_VIEW_CALIBRATED,
                   calibrated: Mapping[int, bool] | None = None, priors: PosePriors | None = None) -> dict[str, int]:
    """Write a new COLMAP database (atomically): ``cameras`` by COLMAP id, ``images`` as (image id, name,
    camera id), an image's keypoints / descriptors (None: none), (image1, image2, (M, 2)) matches, and the
    pose priors of the images in ``priors``. Returns image name -> image id."""
    ids = {name: image_id for image_id, name, _ in images}
    with _atomic(database, None) as conn:
        _insert_rows(conn, cameras, images, ids, keypoints, descriptors, matches, approximate, two_view_config,
                     calibrated, fresh=True, priors=priors)
    return ids


def database_images(database: str | Path) -> dict[str, tuple[int, int]]:
    """image name -> (image id, camera id) of a COLMAP database."""
    path = Path(database)
    if not path.is_file():
        raise FormatError("no such COLMAP database", path)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {name: (image_id, cam_id)
                for image_id, name, cam_id in conn.execute("SELECT image_id, name, camera_id FROM images")}
    except sqlite3.DatabaseError as e:
        raise FormatError(f"not a readable COLMAP database ({e})", path, None, "sqlite") from None
    finally:
        conn.close()


def extend_database(source: str | Path, database: str | Path, cameras: Mapping[int, Camera],
                    images: Sequence[tuple[int, str, int]], keypoints: Callable[[str], np.ndarray | None],
                    matches: Iterable[tuple[str, str, np.ndarray]], two_view_config: int = TWO_VIEW_CALIBRATED) -> None:
    """Write at ``database`` (atomically) a copy of the database ``source`` with new ``cameras`` (by COLMAP id),
    new ``images`` (image id, name, camera id), their keypoints and the matches of new images with any image."""
    ids = {name: image_id for name, (image_id, _) in database_images(source).items()}
    ids.update({name: image_id for image_id, name, _ in images})
    with _atomic(database, Path(source)) as conn:
        _insert_rows(conn, cameras, images, ids, keypoints, lambda _: None, matches, True, two_view_config, None,
                     fresh=False)


@contextlib.contextmanager
def _atomic(database: str | Path, source: Path | None) -> Iterator[sqlite3.Connection]:
    """A connection to a temporary database (a copy of ``source``, or new) renamed to ``database`` on success."""
    database = Path(database)
    database.parent.mkdir(parents=True, exist_ok=True)
    tmp = database.with_name(f".{database.name}.tmp")
    tmp.unlink(missing_ok=True)
    if source is not None:
        shutil.copyfile(source, tmp)
    conn = sqlite3.connect(tmp)
    try:
        conn.executescript(SCHEMA)
        yield conn
        conn.commit()
    except BaseException:
        conn.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    conn.close()
    os.replace(tmp, database)


def _insert_rows(conn: sqlite3.Connection, cameras: Mapping[int, Camera], images: Sequence[tuple[int, str, int]],
                 ids: Mapping[str, int], keypoints: Callable[[str], np.ndarray | None],
                 descriptors: Callable[[str], np.ndarray | None], matches: Iterable[tuple[str, str, np.ndarray]],
                 approximate: bool, two_view_config: int, calibrated: Mapping[int, bool] | None,
                 fresh: bool, priors: PosePriors | None = None) -> None:
    """Cameras (each with its trivial rig), images (each with its frame), their features, and the matches
    between images of ``ids`` (name -> image id). In a ``fresh`` database rig ids are camera ids and frame ids
    image ids; added to an existing one, they are the next free ones."""
    rig_of: dict[int, int] = {}
    for number, cam in cameras.items():
        conn.execute("INSERT INTO cameras VALUES (?, ?, ?, ?, ?, ?)",
                     (number, COLMAP_MODEL_IDS[cam.model], cam.width, cam.height,
                      np.asarray(cam.params, np.float64).tobytes(),
                      int(calibrated[number] if calibrated is not None else True)))
        rig = conn.execute("INSERT INTO rigs VALUES (?, ?, ?)", (number if fresh else None, number,
                                                                 SENSOR_TYPE_CAMERA)).lastrowid
        rig_of[number] = rig
    for image_id, name, number in images:
        conn.execute("INSERT INTO images (image_id, name, camera_id) VALUES (?, ?, ?)", (image_id, name, number))
        if priors is not None and name in priors:
            q, t = priors[name]
            conn.execute(f"UPDATE images SET {', '.join(f'{c} = ?' for c in PRIOR_COLUMNS)} WHERE image_id = ?",
                         (*np.asarray(q, np.float64).tolist(), *np.asarray(t, np.float64).tolist(), image_id))
        if number not in rig_of:
            row = conn.execute("SELECT rig_id FROM rig_sensors WHERE sensor_id = ? AND sensor_type = ? UNION "
                               "SELECT rig_id FROM rigs WHERE ref_sensor_id = ? AND ref_sensor_type = ?",
                               (number, SENSOR_TYPE_CAMERA, number, SENSOR_TYPE_CAMERA)).fetchone()
            rig_of[number] = row[0] if row else number
        frame = conn.execute("INSERT INTO frames VALUES (?, ?)", (image_id if fresh else None,
                                                                  rig_of[number])).lastrowid
        conn.execute("INSERT INTO frame_data VALUES (?, ?, ?, ?)", (frame, image_id, number, SENSOR_TYPE_CAMERA))
    _insert_features(conn, {name: image_id for image_id, name, _ in images}, keypoints, descriptors, approximate)
    for a, b, m in matches:
        if a not in ids or b not in ids:
            continue
        if ids[a] > ids[b]:
            m = m[:, ::-1]
        m = np.ascontiguousarray(m, np.uint32)
        pid = pair_id(ids[a], ids[b])
        conn.execute("INSERT INTO matches VALUES (?, ?, ?, ?)", (pid, *m.shape, m.tobytes()))
        conn.execute("INSERT INTO two_view_geometries (pair_id, rows, cols, data, config) VALUES (?, ?, ?, ?, ?)",
                     (pid, *m.shape, m.tobytes(), two_view_config))


def colmap_descriptors(descriptors: np.ndarray) -> np.ndarray:
    """Descriptors as COLMAP stores them: uint8 as they are, float ones quantised as COLMAP's SIFT (round(512 d),
    clipped to 0..255)."""
    if descriptors.dtype != np.uint8:
        descriptors = np.clip(np.rint(512.0 * descriptors), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(descriptors)


def _insert_features(conn: sqlite3.Connection, ids: Mapping[str, int], keypoints: Callable[[str], np.ndarray | None],
                     descriptors: Callable[[str], np.ndarray | None], approximate: bool) -> None:
    """Keypoints (float32, 2, 4 or 6 columns) and descriptors (uint8) of each image that has them."""
    for name in sorted(ids):
        kp = keypoints(name)
        if kp is None:
            continue
        kp = np.ascontiguousarray(kp, np.float32)
        if kp.shape[1] not in (2, 4, 6):
            if not approximate:
                raise ConversionError(f"keypoints of '{name}' have {kp.shape[1]} columns; COLMAP holds 2, 4 "
                                      "or 6 (pass approximate=True to keep x, y only)")
            kp = np.ascontiguousarray(kp[:, :2])
        conn.execute("INSERT INTO keypoints VALUES (?, ?, ?, ?)", (ids[name], *kp.shape, kp.tobytes()))
    for name in sorted(ids):
        d = descriptors(name)
        if d is None:
            continue
        if d.dtype != np.uint8 and not approximate:
            raise ConversionError(f"descriptors of '{name}' are {d.dtype}; COLMAP stores uint8 "
                                  "(pass approximate=True to quantise as SIFT: round(512 d))")
        d = colmap_descriptors(d)
        conn.execute("INSERT INTO descriptors VALUES (?, 0, ?, ?, ?)", (ids[name], *d.shape, d.tobytes()))
