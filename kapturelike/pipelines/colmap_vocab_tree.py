"""kapture-localization's ``kapture_pipeline_colmap_vocab_tree`` without the COLMAP executable, from kapturelike's
steps: a SIFT map of the map dataset (``kapture_colmap_build_sift_map``, unless --colmap-map gives one), the
query images' SIFT registered into it (``kapture_colmap_localize_sift``), the result imported to kapture with the
query's timestamps and sensor ids, evaluated against the query's poses when it has some, and exported in the
LTVL2020 format. Output folder, as kapture-localization's::

  colmap_map/                  the SIFT map (without --colmap-map): reconstruction/, colmap.db
  colmap_localized/            the map model with the queries registered, colmap.db
  kapture_localized/           imported, then kapture_localized_recover/ with the query's ids
  eval/                        stats.txt, scores_<label>.txt (label sift_colmap_vocab_tree_config_<N>)
  LTVL2020_style_result.txt
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kapturelike.converters.colmap import import_colmap
from kapturelike.converters.ltvl import export_ltvl
from kapturelike.dataset_tools.recover import recover_timestamps_and_ids
from kapturelike.dataset_tools.sift_map import build_sift_map, colmap_localize_sift
from kapturelike.evaluation.compare_inputs import evaluate_inputs
from kapturelike.geometry.absolute_pose import options_from_dict
from kapturelike.io.dataset import RECONSTRUCTION_DIR, load_kapture

# kapture-localization's parser spells its first two steps as one choice (a missing comma): it skips both here
BUILD_AND_LOCALIZE = "colmap_build_sift_mapcolmap_localize_sift.py"
STEPS = (BUILD_AND_LOCALIZE, "import_colmap", "evaluate", "export_LTVL2020")


@dataclass
class VocabTreeRun:
    colmap_map: Path
    localized: Path | None = None  # kapture_localized_recover
    stats: str | None = None
    ltvl: Path | None = None


def colmap_vocab_tree_pipeline(kapture_map: str | Path, query: str | Path | None, out: str | Path,
                               colmap_map: str | Path | None = None, localize_config: int = 1,
                               ltvl_convention: str = "full", bins: Sequence[str] = ("0.25 2", "0.5 5", "5 10"),
                               skip: Sequence[str] = (), force: bool = False, device: str = "auto",
                               vocab_tree: str | Path | None = None, remove_intermediate: bool = False
                               ) -> VocabTreeRun:
    """Build (or reuse) the SIFT map, then localize, import, evaluate and export the query (when given); image pairs
    from ``vocab_tree`` when pycolmap reads it. ``remove_intermediate``: the registration output and its first
    import (colmap_localized/, kapture_localized/) are removed at the end; the recovered kapture stays."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    run = VocabTreeRun(Path(colmap_map) if colmap_map is not None else out / "colmap_map")
    if colmap_map is None and BUILD_AND_LOCALIZE not in skip:
        build_sift_map(kapture_map, run.colmap_map, force, device, vocab_tree)
    if query is None:
        return run
    localized_colmap = out / "colmap_localized"
    imported, recovered = out / "kapture_localized", out / "kapture_localized_recover"
    if BUILD_AND_LOCALIZE not in skip:
        options = options_from_dict(f"config{max(localize_config, 1)}")
        colmap_localize_sift(query, localized_colmap, run.colmap_map / "colmap.db",
                             run.colmap_map / "reconstruction", options, force, device, vocab_tree)
    if "import_colmap" not in skip:
        import_colmap(imported, localized_colmap / "reconstruction", localized_colmap / "colmap.db", force=force)
        shutil.rmtree(imported / RECONSTRUCTION_DIR, ignore_errors=True)  # kapture's --skip_reconstruction
        recover_timestamps_and_ids(imported, query, recovered, "skip", force)
    run.localized = recovered
    gt = load_kapture(query)
    if "evaluate" not in skip and gt.trajectories is not None and len(gt.trajectories):
        run.stats = evaluate_inputs([recovered], [f"sift_colmap_vocab_tree_config_{localize_config}"], query,
                                    out / "eval", bins, force=True)
    if "export_LTVL2020" not in skip:
        run.ltvl = out / "LTVL2020_style_result.txt"
        export_ltvl(recovered, run.ltvl, ltvl_convention, skip_missing=True)
    if remove_intermediate:
        for folder in (localized_colmap, imported):
            shutil.rmtree(folder, ignore_errors=True)
    return run
