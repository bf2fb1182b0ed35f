"""Step: a pairs file from the global features stored in kapture datasets (kapture_compute_image_pairs).

Without a query dataset (or with the map given as query) every map image is paired with its most
similar other map images (mapping pairs, self pairs excluded). With a query dataset each query image is
paired with map images only: queries are never paired with each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from kapturelike.errors import MissingDataError
from kapturelike.io.features import KaptureFeatureStore
from kapturelike.io.pairs import write_pairs
from kapturelike.pipelines.retrieval_pairs import retrieval_pairs
from kapturelike.pipelines.workspace import load_with_images
from kapturelike.retrieval.expansion import ExpansionOptions

Pair = tuple[str, str, float]


def _image_names(kapture_dir: Path) -> list[str]:
    return load_with_images(kapture_dir)[1]


def _check_types(store: KaptureFeatureStore, root: Path, types: Sequence[str]) -> None:
    """Name the missing type and the available ones up front, rather than failing on the first image."""
    available = store.types("global_features")
    missing = [t for t in types if t not in available]
    if missing:
        raise MissingDataError(f"{root}: no global features of type '{missing[0]}' "
                               f"(available: {', '.join(sorted(available)) or 'none'})")


def main(map_dir: str | Path, output_path: str | Path, query_dir: str | Path | None = None,
         global_types: Sequence[str] = ("densevlad",), topk: int = 20, fusion: str = "generalized_harmonic",
         expansion: ExpansionOptions | None = None) -> list[Pair]:
    """Write the ``topk`` retrieval pairs of the query (or map) images against the map; return them.

    ``global_types``: one type (plain top-k) or several (late fusion with ``fusion``, a
    ``kapturelike.retrieval.fusion.FusionMethod`` value). ``expansion``: alpha-QE / DBA options.
    """
    if isinstance(global_types, str):
        global_types = [global_types]
    if not global_types:
        raise ValueError("compute pairs: give at least one global feature type")
    if topk < 1:
        raise ValueError(f"compute pairs: topk must be >= 1, got {topk}")
    map_dir = Path(map_dir)
    mapping = query_dir is None or Path(query_dir).resolve() == map_dir.resolve()
    map_names = _image_names(map_dir)
    map_store = KaptureFeatureStore(map_dir)
    _check_types(map_store, map_dir, global_types)
    if mapping:
        query_names, query_store = map_names, map_store
    else:
        query_dir = Path(query_dir)
        query_names = _image_names(query_dir)
        query_store = KaptureFeatureStore(query_dir)
        _check_types(query_store, query_dir, global_types)
    pairs = retrieval_pairs(query_names, [query_store], map_names, [map_store], list(global_types), topk,
                            exclude_self=mapping, fusion=fusion, expansion=expansion)
    write_pairs(output_path, pairs)
    return pairs
