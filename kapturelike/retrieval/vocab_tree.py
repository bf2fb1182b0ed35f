"""Image pairs from a COLMAP vocabulary tree (kapture-localization's ``-voc``), as COLMAP's vocab_tree_matcher
pairs them: each query image with its ``num_images`` most similar indexed images; and a tree built from
descriptors, as ``colmap vocab_tree_builder`` builds one.

pycolmap (COLMAP 3.12+) reads faiss-based trees (``pycolmap.VisualIndex``; built with ``colmap
vocab_tree_builder`` or ``VisualIndex.build``). The trees published before May 2025 (flann-based
``vocab_tree_flickr100K_words32K.bin``) cannot be read by it: ``read_vocab_tree`` says so, and the SIFT tools
then pair images without a tree, as they do when the file is absent.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pycolmap

from kapturelike.converters.colmap_database import colmap_descriptors, write_database
from kapturelike.core.sensors import Camera
from kapturelike.errors import KapturelikeError
from kapturelike.geometry.colmap_model import pycolmap_warnings_only

FeatureReader = Callable[[str], np.ndarray | None]


class VocabTreeUnavailable(KapturelikeError):
    """The vocabulary tree file is absent or not one pycolmap reads."""


@dataclass(frozen=True)
class VocabTreeOptions:
    """COLMAP's --VocabTreeMatching.* options that choose the pairs (COLMAP's defaults)."""

    num_images: int = 100
    num_nearest_neighbors: int = 5
    num_checks: int = 64
    max_num_features: int = -1


def read_vocab_tree(path: str | Path) -> pycolmap.VisualIndex:
    """The tree at ``path``; VocabTreeUnavailable (naming the file and why) when pycolmap cannot read it."""
    path = Path(path)
    if not path.is_file():
        raise VocabTreeUnavailable(f"{path}: no such vocabulary tree file")
    try:
        return pycolmap.VisualIndex.read(str(path))
    except ValueError as e:
        raise _unreadable(path, e) from None


def _unreadable(path: Path, error: ValueError) -> VocabTreeUnavailable:
    why = ("a flann-based (pre-2025) vocabulary tree, which pycolmap cannot read" if "flann" in str(error)
           else f"not a vocabulary tree pycolmap reads ({error})")
    return VocabTreeUnavailable(f"{path}: {why}")


def build_vocab_tree(descriptors: Sequence[np.ndarray], path: str | Path, num_visual_words: int = 65536,
                     num_iterations: int = 100, num_threads: int = -1) -> Path:
    """Train a vocabulary tree on ``descriptors`` (one array per image, SIFT: uint8, or float quantised as
    COLMAP's SIFT) and write it at ``path`` (atomically), in the format ``read_vocab_tree`` and COLMAP read."""
    train = np.concatenate([colmap_descriptors(np.asarray(d)) for d in descriptors]).astype(np.float32)
    index = pycolmap.VisualIndex.create(train.shape[1], 64)
    build = pycolmap.VisualIndex.BuildOptions()
    build.num_visual_words = min(num_visual_words, len(train))
    build.num_iterations = num_iterations
    build.num_threads = num_threads
    index.build(build, pycolmap.FeatureDescriptorsFloat(pycolmap.FeatureExtractorType.SIFT, train))
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    index.write(str(tmp))
    tmp.replace(path)
    return path


def vocab_tree_pairs(vocab_tree: str | Path, names: Sequence[str], query_names: Sequence[str],
                     keypoints: FeatureReader, descriptors: FeatureReader,
                     options: VocabTreeOptions | None = None) -> list[tuple[str, str, float]]:
    """(query, image, score) pairs: each of ``query_names`` with its ``num_images - 1`` most similar images among
    ``names``, itself left out: COLMAP's list of ``num_images`` holds the query itself, and its matcher skips that
    pair. Queries that are not in ``names`` are indexed too (COLMAP indexes every database image) but are not
    paired with each other. Descriptors are COLMAP's uint8 SIFT (float ones are quantised as COLMAP's SIFT,
    round(512 d)); the score is 1 / rank in the query's list.
    """
    options = options or VocabTreeOptions()
    if not Path(vocab_tree).is_file():  # the tree itself is read once, by the pairing
        raise VocabTreeUnavailable(f"{vocab_tree}: no such vocabulary tree file")
    ids = {name: i for i, name in enumerate(sorted(set(names) | set(query_names)), 1)}
    with tempfile.TemporaryDirectory(prefix="vocab_tree_") as tmp:
        database = Path(tmp) / "features.db"
        # the pairing reads only keypoints and descriptors: one placeholder camera for every image
        write_database(database, {1: Camera("SIMPLE_PINHOLE", 1, 1, (1.0, 0.5, 0.5))},
                       [(i, name, 1) for name, i in ids.items()], keypoints, descriptors, [], approximate=True)
        pairing = pycolmap.VocabTreePairingOptions()
        pairing.vocab_tree_path = str(vocab_tree)
        others = len(set(query_names) - set(names))  # listed, then dropped
        pairing.num_images = options.num_images + others
        pairing.num_nearest_neighbors = options.num_nearest_neighbors
        pairing.num_checks = options.num_checks
        pairing.max_num_features = options.max_num_features
        db = pycolmap.Database.open(str(database))
        try:
            with pycolmap_warnings_only():
                try:
                    generator = pycolmap.VocabTreePairGenerator(pairing, db, [ids[n] for n in query_names])
                except ValueError as e:
                    raise _unreadable(Path(vocab_tree), e) from None
                found = generator.all_pairs()
        finally:
            db.close()
    by_id = {i: name for name, i in ids.items()}
    wanted = {ids[n] for n in names}
    pairs, rank, kept = [], {}, {}
    for a, b in found:  # each query's images, most similar first
        rank[a] = rank.get(a, 0) + 1
        if a != b and b in wanted and kept.get(a, 0) < options.num_images - 1:
            kept[a] = kept.get(a, 0) + 1
            pairs.append((by_id[a], by_id[b], 1.0 / rank[a]))
    return pairs
