"""kapture-localization's ``kapture_colmap_build_map`` without the COLMAP executable: the matches of a posed
dataset triangulated with pycolmap (known poses, COLMAP's point_triangulator defaults), written as a COLMAP
text model in ``<output>/reconstruction`` that ``kapture_import_colmap -txt`` reads back, the COLMAP database
``<output>/colmap.db`` as kapture's tool fills it (cameras, images with their pose priors, keypoints, matches
and two-view geometries; no descriptors), with the model's image and camera ids, and the input model of the
triangulation in ``<output>/priors_for_reconstruction`` (posed images, no points). A dataset without poses is
reconstructed by pycolmap's incremental mapper, as kapture's tool runs COLMAP's mapper.

kapture's steps (-s skips them): ``delete_existing`` (with it skipped, an existing output is written over without
-f), ``colmap_db``, ``priors_for_reconstruction``, ``triangulation``, ``model_converter`` (skipped: the model stays
in COLMAP's binary format, as COLMAP's triangulator writes it).
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pycolmap

from kapturelike.converters.colmap_common import colmap_camera
from kapturelike.converters.colmap_database import write_database
from kapturelike.core.image_poses import image_poses
from kapturelike.core.reconstruction import Kapture
from kapturelike.dataset_tools.colmap_localize import colmap_option_values
from kapturelike.dataset_tools.output import DatasetToolError, prepare_output, refuse_overlap
from kapturelike.dataset_tools.pycolmap_localize import resolve_keypoints_type
from kapturelike.geometry.colmap_model import build_reconstruction, image_ids_by_name
from kapturelike.geometry.triangulation import TriangulationOptions, TriangulationResult, triangulate
from kapturelike.io.dataset import load_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import read_unordered_pairs
from kapturelike.matching.verification import VerificationOptions, verify_pairs

BUILD_MAP_STEPS = ("delete_existing", "colmap_db", "priors_for_reconstruction", "triangulation", "model_converter")
MAP_PARTS = ("reconstruction", "colmap.db", "priors_for_reconstruction")


@dataclass
class MapBuild:
    """A map (triangulated, or only its input model) and what it was made from."""

    result: TriangulationResult | None  # None: triangulation skipped
    kapture: Kapture
    store: KaptureFeatureStore
    keypoints_type: str
    pairs: list[tuple[str, str]]
    priors: pycolmap.Reconstruction  # cameras and posed images, no points: the triangulator's input model
    verified: dict[tuple[str, str], np.ndarray] | None = field(default=None)  # RANSAC-verified matches, if asked
    mapped: pycolmap.Reconstruction | None = None  # the mapper's model, for a dataset without poses

    @property
    def model(self) -> pycolmap.Reconstruction:
        if self.result is not None:
            return self.result.reconstruction
        return self.mapped if self.mapped is not None else self.priors

    @property
    def num_points(self) -> int:
        return 0 if self.result is None and self.mapped is None else self.model.num_points3D()


# COLMAP's point_triangulator options -> TriangulationOptions field
TRIANGULATOR_OPTIONS = {"--Mapper.filter_max_reproj_error": ("max_reproj_error", float),
                        "--Mapper.tri_min_angle": ("min_tri_angle", float),
                        "--Mapper.filter_min_tri_angle": ("min_tri_angle", float),
                        "--Mapper.tri_create_max_angle_error": ("create_max_angle_error", float),
                        "--Mapper.tri_continue_max_angle_error": ("continue_max_angle_error", float),
                        "--Mapper.tri_ignore_two_view_tracks": ("ignore_two_view_tracks",
                                                                lambda v: v not in ("0", "false"))}
FIXED_INTRINSICS = ("--Mapper.ba_refine_focal_length", "--Mapper.ba_refine_principal_point",
                    "--Mapper.ba_refine_extra_params")


def triangulation_options(colmap_options: Sequence[str]) -> tuple[TriangulationOptions, list[str]]:
    """TriangulationOptions from COLMAP's point_triangulator options (COLMAP's defaults otherwise), and the options
    with no effect here. ``--Mapper.ba_refine_* 0`` (kapture's mapping configs) is what is done anyway: intrinsics
    and poses stay fixed."""
    known = {**TRIANGULATOR_OPTIONS, **{flag: (flag, lambda v: v not in ("0", "false")) for flag in FIXED_INTRINSICS}}
    values, unused = colmap_option_values(colmap_options, known)
    for flag in FIXED_INTRINSICS:
        if values.pop(flag, False):
            unused.extend([flag, "1"])
    return replace(TriangulationOptions(), **values), unused


def build_map(src: str | Path, out: str | Path, pairsfile: str | Path | None = None,
              keypoints_type: str | None = None, force: bool = False,
              options: TriangulationOptions | None = None, skip: Sequence[str] = (),
              verify_matches: bool = False) -> MapBuild:
    """Triangulate the stored matches (of the pairs of ``pairsfile`` only, when given) of the posed images, or
    reconstruct an unposed dataset with pycolmap's mapper; write what the steps not in ``skip`` write.
    ``verify_matches`` (kapture's --use-colmap-matches-importer): the matches are verified (RANSAC, as COLMAP's
    matches importer) first; the database keeps the raw ones in ``matches`` and the verified ones in
    ``two_view_geometries``."""
    unknown = sorted(set(skip) - set(BUILD_MAP_STEPS))
    if unknown:
        raise DatasetToolError(f"unknown step(s) {', '.join(unknown)} (known: {', '.join(BUILD_MAP_STEPS)})")
    refuse_overlap(out, [src])
    k = load_kapture(src)
    if not image_poses(k):
        return _map_unposed(k, src, out, pairsfile, keypoints_type, force, skip, verify_matches)
    build = _triangulated(k, src, pairsfile, keypoints_type, options, verify_matches, "triangulation" not in skip)
    target = prepare_output(out, force, skip, MAP_PARTS)
    write_map(build, target, "colmap_db" not in skip, binary="model_converter" in skip,
              priors="priors_for_reconstruction" not in skip)
    return build


def triangulate_map(src: str | Path, pairsfile: str | Path | None = None, keypoints_type: str | None = None,
                    options: TriangulationOptions | None = None, verify_matches: bool = False,
                    triangulate_points: bool = True) -> MapBuild:
    """The matches of the posed images of ``src`` (of the pairs of ``pairsfile`` only, when given) triangulated
    (or only the input model, without ``triangulate_points``)."""
    return _triangulated(load_kapture(src), src, pairsfile, keypoints_type, options, verify_matches,
                         triangulate_points)


def _triangulated(k: Kapture, src: str | Path, pairsfile: str | Path | None, keypoints_type: str | None,
                  options: TriangulationOptions | None, verify_matches: bool, triangulate_points: bool) -> MapBuild:
    build, inputs = _map_inputs(k, src, pairsfile, keypoints_type, verify_matches)
    if triangulate_points:
        cameras, entries, keypoints, matches = inputs
        build.result = triangulate(build_reconstruction(cameras, entries, keypoints),
                                   build.verified if build.verified is not None else matches,
                                   options or TriangulationOptions())
    return build


def _map_inputs(k: Kapture, src: str | Path, pairsfile: str | Path | None, keypoints_type: str | None,
                verify_matches: bool) -> tuple[MapBuild, tuple]:
    """The map's images (the posed ones with a camera and keypoints; all of them when none is posed), their
    stored matches (verified when asked) and the input model, as a MapBuild not triangulated yet; and the
    plain inputs of the triangulation: (cameras, image entries, keypoints, raw matches)."""
    ktype = resolve_keypoints_type(k, keypoints_type, src, "-kpt")
    poses, keys, cameras = image_poses(k), k.image_keys(), k.cameras()
    what = "posed image" if poses else "image"
    names = sorted(n for n in (poses or keys) if keys[n][1] in cameras and n in k.keypoints[ktype].images)
    if not names:
        raise DatasetToolError(f"{src}: no {what} with a camera and '{ktype}' keypoints")
    store = KaptureFeatureStore(src, k.version)
    pairs = read_unordered_pairs(pairsfile) if pairsfile else sorted(k.matches.get(ktype, set()))
    used = set(names)
    matches = {(a, b): store.read_matches(ktype, a, b)[:, :2].astype("int64") for a, b in pairs
               if a in used and b in used and store.has_matches(ktype, a, b)}
    if not matches:
        raise DatasetToolError(f"{src}: no '{ktype}' matches between {what}s"
                               + (f" of the pairs of {pairsfile}" if pairsfile else ""))
    keypoints = {n: store.read("keypoints", ktype, n)[:, :2] for n in names}
    verified = _verify(matches, keypoints, {n: cameras[keys[n][1]] for n in names}) if verify_matches else None
    image_cameras = {c: cameras[c] for c in {keys[n][1] for n in names}}
    entries = [(n, keys[n][1], *poses.get(n, (None, None))) for n in names]
    build = MapBuild(None, k, store, ktype, list(pairs), build_reconstruction(image_cameras, entries), verified)
    return build, (image_cameras, entries, keypoints, matches)


def _verify(matches: Mapping[tuple[str, str], np.ndarray], keypoints: Mapping[str, np.ndarray],
            cameras: Mapping[str, object]) -> dict[tuple[str, str], np.ndarray]:
    """The RANSAC-verified matches of each pair (from the matches alone, as COLMAP's matches importer)."""
    pairs = list(matches)
    results = verify_pairs(pairs, [matches[p] for p in pairs], keypoints, cameras, {},
                           VerificationOptions(method="ransac"))
    return {p: (r.matches[:, :2].astype(np.int64) if r.status in ("ok", "too_few_inliers")
                else np.zeros((0, 2), np.int64)) for p, r in zip(pairs, results)}


def _map_unposed(k: Kapture, src: str | Path, out: str | Path, pairsfile: str | Path | None,
                 keypoints_type: str | None, force: bool, skip: Sequence[str], verify_matches: bool) -> MapBuild:
    """kapture's tool without trajectories: COLMAP's (pycolmap's) incremental mapper on the database; the largest
    model is the map."""
    build, _ = _map_inputs(k, src, pairsfile, keypoints_type, verify_matches)
    target = prepare_output(out, force, skip, MAP_PARTS)
    with tempfile.TemporaryDirectory(prefix="mapper_", dir=target) as tmp:
        database = target / "colmap.db" if "colmap_db" not in skip else Path(tmp) / "colmap.db"
        write_map_database(database, build.priors, k, build.store, build.keypoints_type, build.pairs, None,
                           build.verified)
        if "triangulation" in skip:
            return build
        options = pycolmap.IncrementalPipelineOptions()
        options.random_seed = 0
        options.extract_colors = False
        models = pycolmap.incremental_mapping(str(database), str(Path(src) / "sensors" / "records_data"),
                                              str(Path(tmp) / "models"), options)
    if not models:
        raise DatasetToolError(f"{src}: pycolmap's mapper reconstructed nothing from the matches")
    build.mapped = max(models.values(), key=lambda m: m.num_reg_images())
    (target / "reconstruction").mkdir(exist_ok=True)
    (build.mapped.write_binary if "model_converter" in skip else build.mapped.write_text)(
        str(target / "reconstruction"))
    return build


def write_map(build: MapBuild, out: Path, database: bool = True, descriptors_type: str | None = None,
              binary: bool = False, priors: bool = False) -> None:
    """``out/reconstruction`` (COLMAP text, or ``binary``; when triangulated) and, with ``database``,
    ``out/colmap.db`` (with the descriptors of ``descriptors_type`` when given, quantised to COLMAP's uint8 as
    SIFT's); with ``priors``, the input model in ``out/priors_for_reconstruction``."""
    if build.result is not None:
        (out / "reconstruction").mkdir(parents=True, exist_ok=True)
        model = build.result.reconstruction
        (model.write_binary if binary else model.write_text)(str(out / "reconstruction"))
    if priors:
        (out / "priors_for_reconstruction").mkdir(parents=True, exist_ok=True)
        build.priors.write_text(str(out / "priors_for_reconstruction"))
    if database:
        write_map_database(out / "colmap.db", build.model, build.kapture, build.store, build.keypoints_type,
                           build.pairs, descriptors_type, build.verified)


def write_map_database(target: Path, rec: pycolmap.Reconstruction, k: Kapture, store: KaptureFeatureStore,
                       ktype: str, pairs: Sequence[tuple[str, str]], descriptors_type: str | None = None,
                       verified: Mapping[tuple[str, str], np.ndarray] | None = None) -> None:
    """Every image of ``k`` with a camera (the model's ids, then new ones), its ``ktype`` keypoints, and the
    matches of ``pairs`` (two-view geometries: the ``verified`` ones when given, else the same)."""
    ids = image_ids_by_name(rec)
    keys, cameras = k.image_keys(), k.cameras()
    camera_ids = {keys[rec.images[i].name][1]: rec.images[i].camera_id for i in ids.values()}
    next_camera = max([*camera_ids.values(), 0]) + 1
    for sensor in sorted({keys[n][1] for n in keys if keys[n][1] in cameras} - set(camera_ids)):
        camera_ids[sensor], next_camera = next_camera, next_camera + 1
    next_image = max([*ids.values(), 0]) + 1
    for name in sorted(n for n in keys if n not in ids and keys[n][1] in cameras):
        ids[name], next_image = next_image, next_image + 1
    with_keypoints = k.keypoints[ktype].images
    with_descriptors = k.descriptors[descriptors_type].images if descriptors_type else set()
    write_database(target, {c: colmap_camera(s, cameras[s], approximate=True) for s, c in camera_ids.items()},
                   sorted((i, n, camera_ids[keys[n][1]]) for n, i in ids.items()),
                   lambda n: store.read("keypoints", ktype, n) if n in with_keypoints else None,
                   lambda n: store.read("descriptors", descriptors_type, n) if n in with_descriptors else None,
                   ((a, b, store.read_matches(ktype, a, b)[:, :2]) for a, b in pairs
                    if a in ids and b in ids and store.has_matches(ktype, a, b)), approximate=True,
                   priors=image_poses(k), two_view_matches=verified)
