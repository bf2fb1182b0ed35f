"""Pairs files from pairs files and from observations: slicing retrieval lists, co-visibility pairs."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import sparse

from kapturelike.dataset_tools.output import DatasetToolError
from kapturelike.io.dataset import load_kapture
from kapturelike.io.pairs import Pair, ordered_pairs, read_pairs, write_pairs
from kapturelike.io.text import data_rows, read_lines


def _read_pairs_lenient(path: Path, skip_if_na: bool) -> list[Pair]:
    """Pairs of a file; with ``skip_if_na``, rows whose score is not a number are left out."""
    if not skip_if_na:
        return read_pairs(path)
    pairs = []
    for _, fields in data_rows(read_lines(path, require_version=False)[1]):
        try:
            score = float(fields[2]) if len(fields) == 3 else math.nan
        except ValueError:
            score = math.nan
        if math.isfinite(score):
            pairs.append((fields[0], fields[1], score))
    return pairs


def slice_pairsfile(path: str | Path, out: str | Path, topk: float = math.inf, threshold: float = 0.0,
                    startk: int = 0, skip_if_na: bool = False) -> list[Pair]:
    """For each query, its pairs ranked ``startk`` to ``topk`` (exclusive) by descending score, those
    with a score of at least ``threshold``; written to ``out`` and returned."""
    stop = None if math.isinf(topk) else int(topk)
    sliced = [(query, name, score)
              for query, items in ordered_pairs(_read_pairs_lenient(Path(path), skip_if_na)).items()
              for name, score in items[startk:stop] if score >= threshold]
    write_pairs(out, sliced)
    return sliced


def observation_pairs(mapping: str | Path, out: str | Path, query: str | Path | None = None,
                      keypoints_type: str | None = None, iou: bool = False, topk: int | None = None) -> list[Pair]:
    """Pairs of images that observe common 3D points, scored by the number of points they share (or its
    intersection over union with ``iou``): query images (or, without a query, map images) against the
    map images, ``topk`` best per image."""
    kmap = load_kapture(mapping)
    kquery = load_kapture(query) if query else kmap
    for k, where in ((kmap, mapping), (kquery, query)):
        if k.observations is None:
            raise DatasetToolError(f"{where}: no reconstruction/observations.txt")
    ktype = keypoints_type or next(iter(kmap.keypoints), None) or str(kmap.observations.keypoints_types[0])

    def incidence(k, names: list[str]) -> sparse.csr_matrix:
        obs = k.observations.select(k.observations.keypoints_types == ktype)
        row_of = {n: i for i, n in enumerate(names)}
        keep = np.array([n in row_of for n in obs.image_names.tolist()], dtype=bool)
        rows = np.array([row_of[n] for n in obs.image_names[keep].tolist()], dtype=np.int64)
        points = obs.point_ids[keep]
        matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, points)),
                                   shape=(len(names), int(points.max(initial=-1)) + 1))
        matrix.data[:] = 1.0  # an image seeing a point twice counts it once
        return matrix

    map_names = sorted(set(kmap.observations.image_names.tolist()))
    query_names = sorted(set(kquery.observations.image_names.tolist()))
    m_map, m_query = incidence(kmap, map_names), incidence(kquery, query_names)
    width = max(m_map.shape[1], m_query.shape[1])
    m_map.resize((m_map.shape[0], width))
    m_query.resize((m_query.shape[0], width))
    shared = (m_query @ m_map.T).tocoo()
    counts = shared.data
    if iou:
        sizes_q, sizes_m = np.asarray(m_query.sum(axis=1)).ravel(), np.asarray(m_map.sum(axis=1)).ravel()
        counts = counts / (sizes_q[shared.row] + sizes_m[shared.col] - counts)
    pairs = [(query_names[r], map_names[c], float(s)) for r, c, s in zip(shared.row.tolist(), shared.col.tolist(),
                                                                         counts.tolist())
             if query_names[r] != map_names[c] and s > 0]
    pairs = [(q, n, s) for q, items in ordered_pairs(pairs, topk).items() for n, s in items]
    write_pairs(out, pairs)
    return pairs
