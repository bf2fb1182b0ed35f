"""kapture-localization's ``kapture_colmap_build_map`` without the COLMAP executable: the matches of a posed
dataset triangulated with pycolmap (known poses, COLMAP's point_triangulator defaults), written as a COLMAP
text model in ``<output>/reconstruction`` that ``kapture_import_colmap -txt`` reads back."""

from __future__ import annotations

from pathlib import Path

from kapturelike.core.image_poses import image_poses
from kapturelike.dataset_tools.output import DatasetToolError, prepare_output, refuse_overlap
from kapturelike.geometry.triangulation import TriangulationOptions, TriangulationResult, triangulate_known_poses
from kapturelike.io.dataset import load_kapture
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import read_unordered_pairs


def build_map(src: str | Path, out: str | Path, pairsfile: str | Path | None = None,
              keypoints_type: str | None = None, force: bool = False,
              options: TriangulationOptions | None = None) -> TriangulationResult:
    """Triangulate the stored matches (of the pairs of ``pairsfile`` only, when given) of the posed images."""
    k = load_kapture(src)
    ktype = keypoints_type or (next(iter(k.keypoints)) if len(k.keypoints) == 1 else None)
    if ktype is None or ktype not in k.keypoints:
        known = ", ".join(sorted(k.keypoints)) or "none"
        raise DatasetToolError(f"{src}: give the keypoints type (-kpt; known: {known})")
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
    refuse_overlap(out, [src])
    out = prepare_output(out, force)
    (out / "reconstruction").mkdir(exist_ok=True)
    result.reconstruction.write_text(str(out / "reconstruction"))
    return result
