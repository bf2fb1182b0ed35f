"""Nearest-neighbour descriptor matching (mutual check, Lowe ratio, distance threshold) with torch.

Descriptors are L2-normalised (by default) so that the similarity s of a pair relates to the
Euclidean distance by d = sqrt(2 - 2 s); thresholds are expressed on d, as in hloc's NN matcher.
Many pairs go through one padded ``torch.bmm`` per batch; pairs are batched by size to limit padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from kapturelike.devices import resolve_device
from kapturelike.errors import KapturelikeError


class MatchingInputError(KapturelikeError, ValueError):
    """Descriptors that cannot be matched (wrong shape, dimension mismatch)."""


@dataclass
class MatchingOptions:
    """Options of nearest-neighbour matching.

    Attributes:
        ratio_threshold: Lowe ratio test on distances, d1 / d2 < ratio (e.g. 0.8); None disables it.
            With a single candidate the ratio test passes (no second neighbour to compare to).
        distance_threshold: keep matches with d = sqrt(2 - 2 s) <= this; None disables it.
        mutual: keep only matches that are each other's nearest neighbour.
        normalize: L2-normalise descriptors first (needed for the distance formula; SIFT uint8 included).
        device: 'auto' (CUDA when available), 'cpu', 'cuda' or any torch device string.
        batch_size: number of pairs per bmm; memory is about batch_size * N1 * N2 * 4 bytes.
        epipolar_band: pixels; when both images of a pair have a known pose (mapping), only keypoints
            within this distance of the epipolar line are compared (kapturelike.matching.guided); 0: never.
        chunk_elements: a pair with more than this many similarities (N1 * N2) is matched alone, its
            similarity matrix computed in row blocks of about this many elements (memory bound).
    """

    ratio_threshold: float | None = None
    distance_threshold: float | None = None
    mutual: bool = True
    normalize: bool = True
    device: str = "auto"
    batch_size: int = 4
    chunk_elements: int = 2048 * 8192
    epipolar_band: float = 8.0

    def __post_init__(self) -> None:
        if self.ratio_threshold is not None and not 0.0 < self.ratio_threshold <= 1.0:
            raise MatchingInputError(f"ratio_threshold must be in (0, 1], got {self.ratio_threshold}")
        if self.distance_threshold is not None and self.distance_threshold < 0:
            raise MatchingInputError(f"distance_threshold must be >= 0, got {self.distance_threshold}")
        if self.batch_size < 1:
            raise MatchingInputError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.chunk_elements < 1:
            raise MatchingInputError(f"chunk_elements must be >= 1, got {self.chunk_elements}")


def _check(desc: np.ndarray, where: str) -> np.ndarray:
    desc = np.asarray(desc)
    if desc.ndim != 2:
        raise MatchingInputError(f"{where}: descriptors must be (N, D), got shape {desc.shape}")
    if not (np.issubdtype(desc.dtype, np.floating) or np.issubdtype(desc.dtype, np.integer)):
        raise MatchingInputError(f"{where}: descriptors must be float or integer, got {desc.dtype}")
    return desc


def _batch_tensor(descs: Sequence[np.ndarray], n_max: int, dim: int, normalize: bool,
                  device: torch.device) -> torch.Tensor:
    """(B, n_max, D) float32, zero-padded; one host-to-device copy."""
    out = np.zeros((len(descs), n_max, dim), dtype=np.float32)
    for b, d in enumerate(descs):
        out[b, : len(d)] = d
    t = torch.from_numpy(out).to(device)
    if normalize:
        t = torch.nn.functional.normalize(t, dim=-1)
    return t


def _match_batch(pairs: Sequence[tuple[np.ndarray, np.ndarray]], options: MatchingOptions,
                 device: torch.device) -> list[tuple[np.ndarray, np.ndarray]]:
    n1 = np.array([len(p[0]) for p in pairs])
    n2 = np.array([len(p[1]) for p in pairs])
    dim = pairs[0][0].shape[1]
    d1 = _batch_tensor([p[0] for p in pairs], int(n1.max()), dim, options.normalize, device)
    d2 = _batch_tensor([p[1] for p in pairs], int(n2.max()), dim, options.normalize, device)
    valid1 = torch.arange(d1.shape[1], device=device)[None] < torch.as_tensor(n1, device=device)[:, None]

    sim = torch.bmm(d1, d2.transpose(1, 2))
    # padded rows / columns must never win a max; slices touch only the padding
    for b, (rows, cols) in enumerate(zip(n1.tolist(), n2.tolist())):
        sim[b, rows:, :] = -torch.inf
        sim[b, :, cols:] = -torch.inf
    keep = valid1.clone()
    if options.ratio_threshold is not None and sim.shape[2] > 1:
        # an exact tie fails the ratio test, so topk's tie order cannot change the result
        top = sim.topk(2, dim=2)
        best12, idx12, second = top.values[..., 0], top.indices[..., 0], top.values[..., 1]
        dist1_sq = (2 - 2 * best12).clamp_min(0)
        dist2_sq = (2 - 2 * second).clamp_min(0)  # -inf (no second candidate) -> inf: test passes
        keep &= dist1_sq < options.ratio_threshold ** 2 * dist2_sq
    else:
        best12, idx12 = sim.max(dim=2)  # first index wins a tie, so results are deterministic
    if options.distance_threshold is not None:
        keep &= (2 - 2 * best12).clamp_min(0) <= options.distance_threshold ** 2
    if options.mutual:
        # mutual <=> the row's best is also its column's best. Column maxima by value: an index
        # reduction over the strided dim costs ~15x more on CPU than amax.
        col_best = sim.amax(dim=1)  # (B, N2)
        keep &= best12 >= torch.gather(col_best, 1, idx12)
    b_idx, i_idx = torch.nonzero(keep, as_tuple=True)
    j_idx = idx12[b_idx, i_idx]
    if options.mutual and len(j_idx):
        # rows tied for a column's maximum all pass the value test: keep the first (smallest i)
        key = b_idx * sim.shape[2] + j_idx
        order = torch.argsort(key, stable=True)
        first = torch.ones_like(key, dtype=torch.bool)
        first[order[1:]] = key[order[1:]] != key[order[:-1]]
        b_idx, i_idx, j_idx = b_idx[first], i_idx[first], j_idx[first]
    scores = best12[b_idx, i_idx]
    counts = torch.bincount(b_idx, minlength=len(pairs)).cpu().numpy()
    matches = torch.stack([i_idx, j_idx], 1).cpu().numpy().astype(np.int64)
    scores_np = scores.float().cpu().numpy()
    splits = np.cumsum(counts)[:-1]
    return list(zip(np.split(matches, splits), np.split(scores_np, splits)))


def _tie_first(i_idx: torch.Tensor, j_idx: torch.Tensor) -> torch.Tensor:
    """Mask keeping, among rows tied for a column's maximum (all pass the value test), the first."""
    order = torch.argsort(j_idx, stable=True)
    first = torch.ones_like(j_idx, dtype=torch.bool)
    first[order[1:]] = j_idx[order[1:]] != j_idx[order[:-1]]
    return first


def _match_large(desc1: np.ndarray, desc2: np.ndarray, options: MatchingOptions, device: torch.device,
                 chunk_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """One pair, the similarity matrix in row blocks of ``chunk_rows``: the same result as ``_match_batch``
    with memory bounded by chunk_rows * N2 floats (an 8k x 8k matrix is 256 MB, a batch of them GBs)."""
    dim = desc1.shape[1]
    d1 = _batch_tensor([desc1], len(desc1), dim, options.normalize, device)[0]
    d2t = _batch_tensor([desc2], len(desc2), dim, options.normalize, device)[0].T.contiguous()
    n1, n2 = len(desc1), len(desc2)
    best = torch.empty(n1, device=device)
    idx = torch.empty(n1, dtype=torch.int64, device=device)
    keep = torch.ones(n1, dtype=torch.bool, device=device)
    col_best = torch.full((n2,), -torch.inf, device=device)
    for start in range(0, n1, chunk_rows):
        stop = min(start + chunk_rows, n1)
        sim = d1[start:stop] @ d2t
        if options.mutual:
            torch.maximum(col_best, sim.amax(dim=0), out=col_best)
        best[start:stop], idx[start:stop], keep[start:stop] = best_of_rows(sim, options.ratio_threshold)
    return select_matches(best, idx, keep, col_best, options)


def best_of_rows(sim: torch.Tensor, ratio: float | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per row of a similarity block: best value, its column, and whether it passes the ratio test on
    distances (True without a ratio or a second candidate; a -inf second value passes)."""
    if ratio is not None and sim.shape[1] > 1:
        top = sim.topk(2, dim=1)
        dist1_sq = (2 - 2 * top.values[:, 0]).clamp_min(0)
        dist2_sq = (2 - 2 * top.values[:, 1]).clamp_min(0)
        return top.values[:, 0], top.indices[:, 0], dist1_sq < ratio ** 2 * dist2_sq
    best, idx = sim.max(dim=1)
    return best, idx, torch.ones_like(best, dtype=torch.bool)


def select_matches(best: torch.Tensor, idx: torch.Tensor, keep: torch.Tensor, col_best: torch.Tensor,
                   options: MatchingOptions) -> tuple[np.ndarray, np.ndarray]:
    """The rows' best candidates that pass ``keep``, the distance threshold and the mutual check against
    the columns' maxima ``col_best`` (the first row wins a tie), as (M, 2) int64 matches and scores."""
    if options.distance_threshold is not None:
        keep = keep & ((2 - 2 * best).clamp_min(0) <= options.distance_threshold ** 2)
    if options.mutual:
        keep = keep & (best >= col_best[idx])
    i_idx = torch.nonzero(keep, as_tuple=True)[0]
    j_idx = idx[i_idx]
    if options.mutual and len(j_idx):
        first = _tie_first(i_idx, j_idx)
        i_idx, j_idx = i_idx[first], j_idx[first]
    return torch.stack([i_idx, j_idx], 1).cpu().numpy().astype(np.int64), best[i_idx].float().cpu().numpy()


def match_pairs_with_scores(pairs: Sequence[tuple[np.ndarray, np.ndarray]],
                            options: MatchingOptions | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Match many descriptor pairs; per pair (matches (M, 2) int64, similarity scores (M,) float32).

    Matches are sorted by the index in the first image. Empty descriptor sets give no matches.
    """
    options = options or MatchingOptions()
    device = resolve_device(options.device)
    checked = [(_check(a, f"pair {k}, first image"), _check(b, f"pair {k}, second image"))
               for k, (a, b) in enumerate(pairs)]
    empty = (np.zeros((0, 2), np.int64), np.zeros((0,), np.float32))
    results: list[tuple[np.ndarray, np.ndarray]] = [empty] * len(checked)
    todo = []
    for k, (a, b) in enumerate(checked):
        if len(a) and len(b):
            if a.shape[1] != b.shape[1]:
                raise MatchingInputError(
                    f"pair {k}: descriptor dimensions differ ({a.shape[1]} vs {b.shape[1]})")
            todo.append(k)
    dims = {checked[k][0].shape[1] for k in todo}
    # group by descriptor dimension, then by size, so a batch pads little
    order = sorted(todo, key=lambda k: (checked[k][0].shape[1], len(checked[k][0]), len(checked[k][1])))
    with torch.inference_mode():
        large = [k for k in order if len(checked[k][0]) * len(checked[k][1]) > options.chunk_elements]
        for k in large:
            a, b = checked[k]
            results[k] = _match_large(a, b, options, device, max(1, options.chunk_elements // len(b)))
        for dim in dims:
            group = [k for k in order if checked[k][0].shape[1] == dim
                     and len(checked[k][0]) * len(checked[k][1]) <= options.chunk_elements]
            for start in range(0, len(group), options.batch_size):
                chunk = group[start:start + options.batch_size]
                for k, res in zip(chunk, _match_batch([checked[k] for k in chunk], options, device)):
                    results[k] = res
    return results


def match_pairs(pairs: Sequence[tuple[np.ndarray, np.ndarray]],
                options: MatchingOptions | None = None) -> list[np.ndarray]:
    """Match many descriptor pairs; per pair an int64 (M, 2) array of (index in first, index in second)."""
    return [m for m, _ in match_pairs_with_scores(pairs, options)]


def match_pair(desc1: np.ndarray, desc2: np.ndarray, options: MatchingOptions | None = None) -> np.ndarray:
    """Match two descriptor sets (N1, D) and (N2, D), float or uint8: int64 (M, 2) keypoint indices."""
    return match_pairs([(desc1, desc2)], options)[0]
