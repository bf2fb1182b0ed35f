"""kapture-localization's ``kapture_colmap_build_map`` without the COLMAP executable: the matches of a posed
dataset triangulated with pycolmap (known poses, COLMAP's point_triangulator defaults), written as a COLMAP
text model in ``<output>/reconstruction`` that ``kapture_import_colmap -txt`` reads back, and the COLMAP database
``<output>/colmap.db`` as kapture's tool fills it: cameras, images, keypoints, matches and two-view geometries
(no descriptors), with the model's image and camera ids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pycolmap

from kapturelike.converters.colmap_common import colmap_camera
from kapturelike.converters.colmap_database import write_database
from kapturelike.core.image_poses import image_poses
from kapturelike.core.reconstruction import Kapture
from kapturelike.dataset_tools.output import DatasetToolError, prepare_output, refuse_overlap
from kapturelike.dataset_tools.pycolmap_localize import resolve_keypoints_type
from kapturelike.geometry.colmap_model import image_ids_by_name
from kapturelike.geometry.triangulation import TriangulationOptions, TriangulationResult, triangulate_known_poses
from kapturelike.io.dataset import load_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import read_unordered_pairs


@dataclass
class MapBuild:
    """A triangulated map and what it was made from."""

    result: TriangulationResult
    kapture: Kapture
    store: KaptureFeatureStore
    keypoints_type: str
    pairs: list[tuple[str, str]]


def build_map(src: str | Path, out: str | Path, pairsfile: str | Path | None = None,
              keypoints_type: str | None = None, force: bool = False,
              options: TriangulationOptions | None = None, database: bool = True) -> TriangulationResult:
    """Triangulate the stored matches (of the pairs of ``pairsfile`` only, when given) of the posed images;
    write the model and (``database``) the COLMAP database."""
    build = triangulate_map(src, pairsfile, keypoints_type, options)
    refuse_overlap(out, [src])
    write_map(build, prepare_output(out, force), database)
    return build.result


def triangulate_map(src: str | Path, pairsfile: str | Path | None = None, keypoints_type: str | None = None,
                    options: TriangulationOptions | None = None) -> MapBuild:
    """The matches of the posed images of ``src`` (of the pairs of ``pairsfile`` only, when given) triangulated."""
    k = load_kapture(src)
    ktype = resolve_keypoints_type(k, keypoints_type, src, "-kpt")
    poses, keys, cameras = image_poses(k), k.image_keys(), k.cameras()
    names = sorted(n for n in poses if keys[n][1] in cameras and n in k.keypoints[ktype].images)
    if not names:
        raise DatasetToolError(f"{src}: no posed image with a camera and '{ktype}' keypoints")
    store = KaptureFeatureStore(src, k.version)
    posed = set(names)
    pairs = read_unordered_pairs(pairsfile) if pairsfile else sorted(k.matches.get(ktype, set()))
    matches = {(a, b): store.read_matches(ktype, a, b)[:, :2].astype("int64") for a, b in pairs
               if a in posed and b in posed and store.has_matches(ktype, a, b)}
    if not matches:
        raise DatasetToolError(f"{src}: no '{ktype}' matches between posed images"
                               + (f" of the pairs of {pairsfile}" if pairsfile else ""))
    keypoints = {n: store.read("keypoints", ktype, n)[:, :2] for n in names}
    entries = [(n, keys[n][1], poses[n][0], poses[n][1]) for n in names]
    result = triangulate_known_poses({c: cameras[c] for c in {keys[n][1] for n in names}}, entries, keypoints,
                                     matches, options or TriangulationOptions())
    return MapBuild(result, k, store, ktype, list(pairs))


def write_map(build: MapBuild, out: Path, database: bool = True, descriptors_type: str | None = None) -> None:
    """``out/reconstruction`` (COLMAP text) and, with ``database``, ``out/colmap.db`` (with the descriptors of
    ``descriptors_type`` when given, quantised to COLMAP's uint8 as SIFT's)."""
    (out / "reconstruction").mkdir(parents=True, exist_ok=True)
    build.result.reconstruction.write_text(str(out / "reconstruction"))
    if database:
        write_map_database(out / "colmap.db", build.result.reconstruction, build.kapture, build.store,
                           build.keypoints_type, build.pairs, descriptors_type)


def write_map_database(target: Path, rec: pycolmap.Reconstruction, k: Kapture, store: KaptureFeatureStore,
                       ktype: str, pairs: Sequence[tuple[str, str]], descriptors_type: str | None = None) -> None:
    """Every image of ``k`` with a camera (the model's ids, then new ones), its ``ktype`` keypoints, and the
    matches of ``pairs``."""
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
                   priors=image_poses(k))
