"""Vocabulary-tree pairs through pycolmap (kapture-localization's -voc): a tree built here, COLMAP's pairing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kapturelike.retrieval.vocab_tree import (
    VocabTreeOptions,
    VocabTreeUnavailable,
    build_vocab_tree,
    read_vocab_tree,
    vocab_tree_pairs,
)


def _grouped_images(seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Three groups of four images; the images of a group share noisy copies of the same descriptors."""
    rng = np.random.default_rng(seed)
    groups = [rng.integers(0, 256, (400, 128)) for _ in range(3)]
    descriptors, keypoints = {}, {}
    for g, base in enumerate(groups):
        for i in range(4):
            name = f"g{g}/{i}.jpg"
            picked = base[rng.permutation(len(base))[:300]]
            descriptors[name] = np.clip(picked + rng.integers(-8, 9, picked.shape), 0, 255).astype(np.uint8)
            keypoints[name] = (rng.random((300, 2)) * 100).astype(np.float32)
    return keypoints, descriptors


def test_pairs_are_the_most_similar_images(tmp_path: Path) -> None:
    """Each query is paired with the images of its own group only (num_images=4: itself and three more), most
    similar first, never with itself; the tree written is read back."""
    keypoints, descriptors = _grouped_images()
    tree = build_vocab_tree(list(descriptors.values()), tmp_path / "tree.bin", num_visual_words=64,
                            num_iterations=10, num_threads=1)
    assert read_vocab_tree(tree).num_visual_words() == 64
    names = sorted(descriptors)
    queries = ["g0/0.jpg", "g1/2.jpg", "g2/3.jpg"]
    pairs = vocab_tree_pairs(tree, names, queries, keypoints.get, descriptors.get, VocabTreeOptions(num_images=4))
    assert len(pairs) == 9
    for query, image, score in pairs:
        assert image != query and image.split("/")[0] == query.split("/")[0]
        assert score in (1 / 2, 1 / 3, 1 / 4)  # rank 1 is the query itself
    # fewer images asked: the list is cut
    pairs = vocab_tree_pairs(tree, names, ["g1/0.jpg"], keypoints.get, descriptors.get, VocabTreeOptions(num_images=2))
    assert len(pairs) == 1 and pairs[0][1].startswith("g1/")


def test_unreadable_trees_are_named(tmp_path: Path) -> None:
    with pytest.raises(VocabTreeUnavailable, match="no such vocabulary tree file"):
        read_vocab_tree(tmp_path / "vocab_tree_flickr100K_words32K.bin")
    (tmp_path / "legacy.bin").write_bytes(np.arange(4096, dtype=np.uint32).tobytes())
    with pytest.raises(VocabTreeUnavailable, match="legacy.bin: .*flann") as e:
        read_vocab_tree(tmp_path / "legacy.bin")
    assert "pycolmap cannot read" in str(e.value)
