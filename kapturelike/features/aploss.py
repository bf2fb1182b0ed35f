"""Differentiable average precision by histogram binning (Revaud et al., "Learning with Average Precision").

Scores (cosine similarities in [-1, 1]) are soft-assigned to ``nq`` bins with triangular kernels; the
bins then play the role of ranks: precision and recall per bin are cumulative sums, and
AP = sum over bins of precision x (recall increment). The loss is 1 - mAP. With scores that are well
separated relative to the bin width the quantised AP equals the exact AP.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn


@dataclass
class APLossOptions:
    """Quantisation of the similarity range; defaults follow the AP-GeM training of cosine scores."""

    nq: int = 20  # number of bins
    min: float = -1.0  # lowest score (centre of the last bin)
    max: float = 1.0  # highest score (centre of the first bin)

    def __post_init__(self) -> None:
        if not 2 <= self.nq <= 1000:
            raise ValueError(f"APLossOptions.nq must be in [2, 1000], got {self.nq}")
        if not self.max > self.min:
            raise ValueError(f"APLossOptions: max ({self.max}) must exceed min ({self.min})")


def quantize(scores: torch.Tensor, options: APLossOptions) -> torch.Tensor:
    """(N, M) scores -> (N, Q, M) soft bin memberships; bin 0 is the highest score.

    Each bin has a triangular kernel of half-width one bin spacing; the two end bins are open-ended so
    scores outside [min, max] still count fully.
    """
    nq = options.nq
    a = (nq - 1) / (options.max - options.min)
    centres = torch.linspace(options.max, options.min, nq, device=scores.device, dtype=scores.dtype)
    d = scores.unsqueeze(1) - centres.view(1, nq, 1)  # (N, Q, M)
    # open the top bin upward and the bottom bin downward
    d = torch.cat([d[:, :1].clamp(max=0), d[:, 1:-1], d[:, -1:].clamp(min=0)], dim=1)
    return (1 - a * d.abs()).clamp(min=0)


def ap_quantized(scores: torch.Tensor, labels: torch.Tensor, options: APLossOptions | None = None,
                 mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-query quantised AP, (N,). labels: (N, M) bool/0-1; mask: (N, M), 0 = leave the item out of
    the ranking. Queries without any positive get NaN."""
    options = options or APLossOptions()
    if scores.shape != labels.shape or (mask is not None and mask.shape != scores.shape):
        raise ValueError(f"scores {tuple(scores.shape)}, labels {tuple(labels.shape)} and mask must match")
    q = quantize(scores, options)
    if mask is not None:
        q = q * mask.to(q.dtype).unsqueeze(1)
    n_bin = q.sum(-1)  # items per bin
    pos_bin = (q * labels.to(q.dtype).unsqueeze(1)).sum(-1)  # positives per bin
    precision = pos_bin.cumsum(-1) / (1e-16 + n_bin.cumsum(-1))
    n_pos = pos_bin.sum(-1, keepdim=True)
    recall_step = pos_bin / n_pos  # NaN rows for queries without positives
    return (precision * recall_step).sum(-1)


class APLoss(nn.Module):
    """1 - mean quantised AP over the queries that have at least one positive."""

    def __init__(self, options: APLossOptions | None = None):
        super().__init__()
        self.options = options or APLossOptions()

    def forward(self, scores: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor | None = None
                ) -> torch.Tensor:
        ap = ap_quantized(scores, labels, self.options, mask)
        valid = ~torch.isnan(ap)
        if not bool(valid.any()):
            raise ValueError("APLoss: no query has a positive item")
        return 1 - ap[valid].mean()


def average_precision(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Exact AP per row of (N, M) scores: mean precision at the rank of each positive; NaN if none."""
    scores = np.asarray(scores, np.float64)
    labels = np.asarray(labels, bool)
    order = np.argsort(-scores, axis=1, kind="stable")
    hits = np.take_along_axis(labels, order, axis=1)
    ranks = np.arange(1, scores.shape[1] + 1)
    precision = np.cumsum(hits, axis=1) / ranks
    n_pos = hits.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_pos > 0, (precision * hits).sum(1) / n_pos, np.nan)
