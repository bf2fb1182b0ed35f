"""kapture-localization's ``kapture_run_colmap_gv``: a copy of a dataset whose matches are geometrically verified
(two-view geometry with pycolmap, known poses where the images have one), no COLMAP executable."""

from __future__ import annotations

from pathlib import Path

from kapturelike.dataset_tools.merge import MergeOptions, merge
from kapturelike.pipelines.config import PipelineConfig
from kapturelike.pipelines.verify_matches import main as verify_kapture


def run_colmap_gv(src: str | Path, out: str | Path, pairsfile: str | Path | None = None,
                  keypoints_type: str | None = None, skip: list[str] | None = None, force: bool = False) -> None:
    """Copy ``src`` (images linked, features copied) to ``out`` and verify its matches there, in place.

    ``skip`` names COLMAP's steps (delete_existing, matches_importer, import, delete_db): they do not
    exist without COLMAP, so it is accepted and has no effect."""
    k = merge([src], out, MergeOptions(image_transfer="link_absolute", force=force))
    ktype = keypoints_type or next(iter(k.matches), None) or next(iter(k.keypoints), None)
    config = PipelineConfig()
    verify_kapture(out, pairsfile, None, config, keypoints_type=ktype)
