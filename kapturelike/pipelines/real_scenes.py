"""Recipe for the Strecha scenes (fountain-P11, Herz-Jesus-P25): import with their ground-truth
cameras, then cut into a map (two thirds of the images) and queries (every third image)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kapturelike.converters.camera_files import import_strecha
from kapturelike.dataset_tools import SplitOptions, split

SCENES = ("fountain-P11", "Herz-Jesus-P25")


@dataclass
class StrechaSplit:
    scene: str
    full: Path
    mapping: Path
    query: Path
    num_mapping: int
    num_query: int


def shared_strecha_dir(repo_root: Path) -> Path:
    """Where ../shared/data/strecha is for a checkout at ``repo_root``."""
    return repo_root.parent / "shared" / "data" / "strecha"


def prepare_strecha(scene_dir: str | Path, out_dir: str | Path, query_every: int = 3) -> StrechaSplit:
    """Import ``scene_dir`` into ``out_dir/full`` and split it into ``out_dir/mapping`` and ``out_dir/query``:
    images 1, 4, 7, ... (0-based index % query_every == 1) are queries, the others the map."""
    scene_dir, out_dir = Path(scene_dir), Path(out_dir)
    kapture = import_strecha(scene_dir, out_dir / "full", force=True)
    names = sorted(kapture.image_names())
    queries = {n for i, n in enumerate(names) if i % query_every == 1}
    split(out_dir / "full", queries, out_dir / "query", out_dir / "mapping", SplitOptions(force=True))
    return StrechaSplit(scene_dir.name, out_dir / "full", out_dir / "mapping", out_dir / "query",
                        len(names) - len(queries), len(queries))
