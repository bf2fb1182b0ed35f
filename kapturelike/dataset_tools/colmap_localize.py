"""kapture-localization's ``kapture_colmap_localize`` without the COLMAP executable: the images of a kapture
dataset that the map's COLMAP model does not hold are registered into it with pycolmap, as COLMAP's
image_registrator does (no bundle adjustment, no triangulation).

Input: a dataset with the keypoints of map and query images and the query-map matches (kapture's
tutorial merges mapping and query for it), the map's COLMAP model (``-txt``, text or binary) and
optionally its database (``-db``). A query's 2D-3D correspondences go through its matched map images:
a map keypoint is a point2D of the model (the model's keypoints are the dataset's, in order). Output in
``out``: ``reconstruction/`` (the map model plus each registered query, its inlier observations added to
the tracks, COLMAP text format, for ``kapture_import_colmap -txt``) and ``colmap.db`` (the map database
plus the queries' cameras, images, keypoints and matches) when the map database is given.

COLMAP's image_registrator options (``--Mapper.abs_pose_max_error 20``...) set the RANSAC and the
acceptance thresholds; COLMAP's defaults are the first preset of
:mod:`kapturelike.geometry.absolute_pose` (12 px, 30 inliers, ratio 0.25, 15 matches).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pycolmap
from tqdm import tqdm

from kapturelike.converters.colmap_common import colmap_camera
from kapturelike.converters.colmap_database import database_images, extend_database
from kapturelike.core.sensors import Camera
from kapturelike.dataset_tools.output import DatasetToolError, prepare_output, refuse_overlap
from kapturelike.dataset_tools.pycolmap_localize import query_matches, resolve_keypoints_type
from kapturelike.geometry.absolute_pose import LocalizationOptions, LocalizationResult, localize_image
from kapturelike.geometry.colmap_model import pose_to_rigid3d, to_pycolmap_camera
from kapturelike.io.dataset import load_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import read_unordered_pairs
from kapturelike.matching.verification import VerificationOptions, verify_pairs

# COLMAP's image_registrator option -> LocalizationOptions field
MAPPER_OPTIONS = {"--Mapper.abs_pose_max_error": ("max_error", float),
                  "--Mapper.abs_pose_min_num_inliers": ("min_num_inliers", int),
                  "--Mapper.abs_pose_min_inlier_ratio": ("min_inlier_ratio", float),
                  "--Mapper.min_num_matches": ("min_num_matches", int),
                  "--Mapper.abs_pose_refine_focal_length": ("refine_focal_length", lambda v: v not in ("0", "false")),
                  "--Mapper.abs_pose_refine_extra_params": ("refine_extra_params", lambda v: v not in ("0", "false"))}
LOCALIZE_STEPS = ("delete_existing", "import_to_db", "image_registrator", "model_converter")


def colmap_option_values(colmap_options: Sequence[str], known: dict[str, tuple[str, Callable[[str], object]]]
                         ) -> tuple[dict[str, object], list[str]]:
    """``known`` options (COLMAP flag -> (field, type)) of COLMAP's command-line options (``--Section.x value`` or
    ``--Section.x=value``) as field -> value, and the other options' words as they were given."""
    values, unused = {}, []
    items = list(colmap_options)
    while items:
        flag = items.pop(0)
        name, _, value = flag.partition("=")
        words = [flag]
        if not value and items and not items[0].startswith("--"):
            value = items.pop(0)
            words.append(value)
        if name in known:
            field, kind = known[name]
            try:
                values[field] = kind(value)
            except ValueError:
                raise DatasetToolError(f"{name}: '{value}' is not a {getattr(kind, '__name__', 'boolean')}") from None
        else:
            unused.extend(words)
    return values, unused


def registrator_options(colmap_options: Sequence[str]) -> tuple[LocalizationOptions, list[str]]:
    """LocalizationOptions from COLMAP's command-line options (``--Mapper.x value`` pairs, COLMAP's defaults
    otherwise), and the options that have no effect here."""
    values, unused = colmap_option_values(colmap_options, MAPPER_OPTIONS)
    return dataclasses.replace(LocalizationOptions(), **values), unused


def model_observations(rec: pycolmap.Reconstruction) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], np.ndarray,
                                                              np.ndarray]:
    """image name -> (point2D indices, point indices) of its observations, (P, 3) points, (P,) point3D ids."""
    point_ids = np.array(sorted(rec.points3D), dtype=np.int64)
    xyz = np.array([rec.points3D[int(p)].xyz for p in point_ids], dtype=np.float64).reshape(-1, 3)
    per_image: dict[int, tuple[list[int], list[int]]] = {}
    for index, point_id in enumerate(point_ids.tolist()):
        for element in rec.points3D[point_id].track.elements:
            kpts, pts = per_image.setdefault(element.image_id, ([], []))
            kpts.append(element.point2D_idx)
            pts.append(index)
    observed = {rec.images[i].name: (np.array(k, np.int64), np.array(p, np.int64)) for i, (k, p) in per_image.items()}
    return observed, xyz, point_ids


def add_registered_image(rec: pycolmap.Reconstruction, name: str, image_id: int, camera_id: int,
                         keypoints: np.ndarray, result: LocalizationResult, kpt: np.ndarray,
                         point3d_ids: np.ndarray) -> None:
    """Register image ``name`` with its pose and add its inlier observations (one per keypoint and per point,
    as a track holds) to the tracks."""
    image = pycolmap.Image(name=name, keypoints=np.ascontiguousarray(keypoints[:, :2], np.float64),
                           camera_id=camera_id, image_id=image_id)
    rec.add_image_with_trivial_frame(image, pose_to_rigid3d(result.q, result.t, f"pose of image '{name}'"))
    kpt, point3d_ids = kpt[result.inlier_mask], point3d_ids[result.inlier_mask]
    _, first_kpt = np.unique(kpt, return_index=True)
    kpt, point3d_ids = kpt[first_kpt], point3d_ids[first_kpt]
    _, first_point = np.unique(point3d_ids, return_index=True)
    for k, p in zip(kpt[first_point].tolist(), point3d_ids[first_point].tolist()):
        rec.add_observation(p, pycolmap.TrackElement(image_id, k))


def _camera_ids(rec: pycolmap.Reconstruction, sensors: dict, camera_of: dict[str, str], db: dict[str, tuple[int, int]],
                queries: list[str]) -> dict[str, int]:
    """COLMAP camera id of each query camera: the id its map images have (in the database, else the model), or a
    new one."""
    ids = {camera_of[n]: cam for n, (_, cam) in db.items() if n in camera_of}
    ids.update({camera_of[image.name]: image.camera_id for image in rec.images.values()
                if image.name in camera_of and camera_of[image.name] not in ids})
    next_id = max([*rec.cameras, *(cam for _, cam in db.values()), 0]) + 1
    for sensor in sorted({camera_of[n] for n in queries}):
        if sensor not in ids:
            ids[sensor], next_id = next_id, next_id + 1
    return ids


def colmap_localize(src: str | Path, out: str | Path, database: str | Path | None, reconstruction: str | Path,
                    pairsfile: str | Path | None = None, keypoints_type: str | None = None,
                    options: LocalizationOptions | None = None, skip: Sequence[str] = (), force: bool = False,
                    verify_matches: bool = False) -> dict[str, LocalizationResult]:
    """Register the images of ``src`` missing from the model ``reconstruction`` into it; returns each tried
    image's result (poses are ``cam_from_world``). ``verify_matches`` (kapture's --use-colmap-matches-importer):
    the query-map matches are geometrically verified (RANSAC) first, as COLMAP's matches importer does. ``skip``:
    kapture's steps (LOCALIZE_STEPS) left out; without model_converter, the model is written in COLMAP's binary
    format."""
    refuse_overlap(out, [src])
    return register_into_model(src, prepare_output(out, force, skip, ("reconstruction", "colmap.db")), database,
                               reconstruction, pairsfile, keypoints_type, options, skip, verify_matches)


def register_into_model(src: str | Path, out: Path, database: str | Path | None, reconstruction: str | Path,
                        pairsfile: str | Path | None = None, keypoints_type: str | None = None,
                        options: LocalizationOptions | None = None, skip: Sequence[str] = (),
                        verify_matches: bool = False) -> dict[str, LocalizationResult]:
    """:func:`colmap_localize` into the prepared output folder ``out``."""
    options = options or LocalizationOptions()
    k = load_kapture(src)
    ktype = resolve_keypoints_type(k, keypoints_type, src, "-kpt")
    if ktype not in k.matches:
        raise DatasetToolError(f"{src}: no matches of '{ktype}' keypoints")
    if not Path(reconstruction, "images.txt").is_file() and not Path(reconstruction, "images.bin").is_file():
        raise DatasetToolError(f"{reconstruction}: not a COLMAP model folder (no images.txt or images.bin); "
                               "give the map's model with -txt")
    rec = pycolmap.Reconstruction(str(reconstruction))
    store = KaptureFeatureStore(src, k.version)
    in_model = {image.name for image in rec.images.values()}
    camera_of = {n: key[1] for n, key in k.image_keys().items()}
    queries = [n for n in k.image_names() if n not in in_model and n in k.keypoints[ktype].images]
    wanted = set(read_unordered_pairs(pairsfile)) if pairsfile else None
    partners: dict[str, list[str]] = {}
    for a, b in sorted(k.matches[ktype]):
        if wanted is None or (a, b) in wanted or (b, a) in wanted:
            partners.setdefault(a, []).append(b)
            partners.setdefault(b, []).append(a)
    db = database_images(database) if database else {}
    cameras = k.cameras()
    cam_ids = _camera_ids(rec, cameras, camera_of, db, queries)
    next_image = max([*rec.images, *(i for i, _ in db.values()), 0]) + 1
    image_ids = {}
    for name in queries:
        image_ids[name] = db[name][0] if name in db else next_image
        next_image += name not in db

    results: dict[str, LocalizationResult] = {}
    model_cameras: dict[int, Camera] = {}  # the cameras added to the model, by id
    if "image_registrator" not in skip:
        observed, xyz, point3d_ids = model_observations(rec)
        for name in tqdm(queries, desc="registering", unit="image", disable=None):
            verified = (_verified_matches(store, ktype, name, [m for m in partners.get(name, []) if m in observed],
                                          cameras, camera_of) if verify_matches else None)
            kpt, pts = query_matches(store, ktype, name, partners.get(name, []), observed, len(xyz),
                                     matches_of=verified)
            keypoints = store.read("keypoints", ktype, name)
            results[name] = result = localize_image(keypoints[kpt, :2], xyz[pts], cameras[camera_of[name]], options)
            if not result.success:
                continue
            cam_id = cam_ids[camera_of[name]]
            if cam_id not in rec.cameras:  # a camera without intrinsics gets the ones its first image estimated
                rec.add_camera_with_trivial_rig(to_pycolmap_camera(result.camera, cam_id, camera_of[name]))
                model_cameras[cam_id] = result.camera
            add_registered_image(rec, name, image_ids[name], cam_id, keypoints, result, kpt, point3d_ids[pts])
    (out / "reconstruction").mkdir(exist_ok=True)
    (rec.write_binary if "model_converter" in skip else rec.write_text)(str(out / "reconstruction"))
    if database and "import_to_db" not in skip:
        _write_database(database, out / "colmap.db", store, ktype, k.matches[ktype], db, queries, image_ids,
                        cam_ids, camera_of, cameras, model_cameras, wanted)
    return results


def _verified_matches(store: KaptureFeatureStore, ktype: str, query: str, map_names: list[str],
                      cameras: dict[str, Camera], camera_of: dict[str, str]) -> dict[str, np.ndarray]:
    """map image -> the RANSAC-verified matches of ``query`` with it (from the matches alone, as COLMAP's)."""
    pairs = [(query, m) for m in map_names if store.has_matches(ktype, query, m)]
    raw = [store.read_matches(ktype, a, b)[:, :2].astype(np.int64) for a, b in pairs]
    names = {query, *(m for _, m in pairs)}
    results = verify_pairs(pairs, raw, {n: store.read("keypoints", ktype, n) for n in names},
                           {n: cameras[camera_of[n]] for n in names}, {}, VerificationOptions(method="ransac"))
    return {m: (r.matches if r.status in ("ok", "too_few_inliers") else np.zeros((0, 2), np.int64))
            for (_, m), r in zip(pairs, results)}


def _write_database(database: str | Path, target: Path, store: KaptureFeatureStore, ktype: str, pairs: set,
                    db: dict[str, tuple[int, int]], queries: list[str], image_ids: dict[str, int],
                    cam_ids: dict[str, int], camera_of: dict[str, str], cameras: dict[str, Camera],
                    model_cameras: dict[int, Camera], wanted: set | None) -> None:
    """The map database plus the queries' cameras, images, keypoints and their matches with any image."""
    new_images = [(image_ids[n], n, cam_ids[camera_of[n]]) for n in queries if n not in db]
    known_cams = {cam for _, cam in db.values()}
    new_cams = {cam_ids[s]: model_cameras.get(cam_ids[s]) or colmap_camera(s, cameras[s], approximate=True)
                for s in sorted({camera_of[n] for n in queries}) if cam_ids[s] not in known_cams}
    added = {n for _, n, _ in new_images}
    new_pairs = [(a, b) for a, b in sorted(pairs) if (a in added or b in added) and (a in db or a in added)
                 and (b in db or b in added) and (wanted is None or (a, b) in wanted or (b, a) in wanted)]
    extend_database(database, target, new_cams, new_images, lambda n: store.read("keypoints", ktype, n),
                    ((a, b, store.read_matches(ktype, a, b)[:, :2]) for a, b in new_pairs))
