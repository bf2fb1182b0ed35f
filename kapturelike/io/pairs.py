"""Image pairs files as kapture-localization reads and writes them.

A pairs file is comma-separated text, one ``query_image, map_image, score`` row per line; lines
starting with '#' are comments and blank lines are skipped; fields are stripped. kapture-localization
writes it with kapture's table writer, i.e. a ``# kapture format: 1.1`` line then the column comment
``# query_image, map_image, score``; readers need neither (both are comments). Rows are written
sorted by query name, then by descending score (ties by map name).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from kapturelike.errors import FormatError
from kapturelike.io.paths import quote
from kapturelike.io.text import VERSION_HEADER, atomic_write

PAIRS_HEADER = "# query_image, map_image, score"
Pair = tuple[str, str, float]


def _check_name(name: str, path: Path, index: int, field: str) -> str:
    if not isinstance(name, str) or not name:
        raise FormatError(f"pair {index}: image name {quote(name)} is not a non-empty string", path, None, field)
    if "," in name or "\n" in name or "\r" in name or name != name.strip() \
            or (field == "query_image" and name.startswith("#")):
        raise FormatError(f"pair {index}: image name {quote(name)} holds a comma, a line break, leading/trailing "
                          "spaces, or starts a line with '#', which a pairs file cannot store", path, None, field)
    return name


def sort_pairs(pairs: Iterable[Pair]) -> list[Pair]:
    """Pairs sorted by query name, then descending score, then map name."""
    return sorted(pairs, key=lambda p: (p[0], -p[2], p[1]))


def name_ranks(names: list[str]) -> np.ndarray:
    """int64 rank of each name in sorted order of the distinct names (a dict pass, then one small sort)."""
    lookup: dict[str, int] = {}
    codes = np.fromiter((lookup.setdefault(n, len(lookup)) for n in names), dtype=np.int64, count=len(names))
    distinct = list(lookup)
    rank = np.empty(len(distinct), dtype=np.int64)
    rank[sorted(range(len(distinct)), key=distinct.__getitem__)] = np.arange(len(distinct))
    return rank[codes]


def write_pairs(path: str | Path, pairs: Iterable[Pair], sort: bool = True) -> None:
    """Write ``pairs`` atomically (temporary file then rename); names holding a comma are refused."""
    path = Path(path)
    pairs = list(pairs)
    for i, pair in enumerate(pairs):
        if len(pair) != 3:
            raise FormatError(f"pair {i}: expected (query, map, score), got {quote(pair)}", path)
    queries = [p[0] for p in pairs]
    maps = [p[1] for p in pairs]
    try:
        scores = np.array([p[2] for p in pairs], dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise FormatError(f"a score is not a number ({e})", path, None, "score") from None
    # names repeat a lot: check each distinct name once, then find the first pair holding a bad one
    for names, field in ((queries, "query_image"), (maps, "map_image")):
        for name in set(names):
            try:
                _check_name(name, path, -1, field)
            except FormatError:
                _check_name(name, path, names.index(name), field)
    bad = np.flatnonzero(~np.isfinite(scores))
    if len(bad):
        raise FormatError(f"pair {bad[0]}: score {quote(scores[bad[0]])} is not finite", path, None, "score")
    order = np.lexsort((name_ranks(maps), -scores, name_ranks(queries))) if sort and pairs \
        else np.arange(len(pairs))
    score_list = scores.tolist()  # Python floats: repr as kapture writes them, and fast to index
    lines = [f"{queries[i]}, {maps[i]}, {score_list[i]!r}\n" for i in order.tolist()]
    with atomic_write(path) as f:
        f.write(VERSION_HEADER + "\n" + PAIRS_HEADER + "\n")
        for c0 in range(0, len(lines), 65536):
            f.write("".join(lines[c0:c0 + 65536]))


def read_pairs(path: str | Path) -> list[Pair]:
    """Every (query, map, score) row of a pairs file, in file order (duplicates kept)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"pairs file {path} does not exist") from None
    except UnicodeDecodeError as e:
        raise FormatError(f"not UTF-8 text ({e.reason} at byte {e.start})", path) from None
    pairs: list[Pair] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 3:
            raise FormatError(f"expected 3 comma-separated fields (query_image, map_image, score), "
                              f"got {len(fields)}", path, number, "columns")
        query, map_name, score_text = fields
        if not query:
            raise FormatError("empty image name", path, number, "query_image")
        if not map_name:
            raise FormatError("empty image name", path, number, "map_image")
        try:
            score = float(score_text)
        except ValueError:
            raise FormatError(f"{quote(score_text)} is not a number", path, number, "score") from None
        if not math.isfinite(score):
            raise FormatError(f"{quote(score_text)} is not a finite number", path, number, "score")
        pairs.append((query, map_name, score))
    return pairs


def ordered_pairs(pairs: Iterable[Pair], topk: int | None = None) -> dict[str, list[tuple[str, float]]]:
    """query -> [(map, score)] by descending score (ties keep file order), cut to ``topk`` per query."""
    grouped: dict[str, list[tuple[str, float]]] = {}
    for query, map_name, score in pairs:
        grouped.setdefault(query, []).append((map_name, score))
    for query, items in grouped.items():
        scores = np.array([s for _, s in items], dtype=np.float64)
        order = np.argsort(-scores, kind="stable")
        if topk is not None:
            order = order[:topk]
        grouped[query] = [items[i] for i in order]
    return grouped


def read_ordered_pairs(path: str | Path, topk: int | None = None) -> dict[str, list[tuple[str, float]]]:
    """Like kapture-localization's ``get_ordered_pairs_from_file``: query -> sorted (map, score) list."""
    return ordered_pairs(read_pairs(path), topk)


def read_unordered_pairs(path: str | Path) -> list[tuple[str, str]]:
    """Like kapture-localization's ``get_pairs_from_file``: name-sorted (a, b) pairs, a < b, no self pairs,
    duplicates dropped, in first-seen order (for matching, where the pair direction does not matter)."""
    seen: dict[tuple[str, str], None] = {}
    for query, map_name, _ in read_pairs(path):
        if query != map_name:
            seen[(query, map_name) if query < map_name else (map_name, query)] = None
    return list(seen)
