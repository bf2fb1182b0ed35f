"""Fine-tuning AP-GeM on a mapped scene with the AP loss, and mining its training pairs.

Pairs come either from known poses (camera centres and viewing directions: close and looking the same
way = positive, far apart or facing away = negative) or from 3D points the images observe in common.
Pairs that are neither stay out of the ranking. Each step embeds a batch of images, ranks every
image against the others by cosine similarity and minimises 1 - mAP (listwise, as in the paper).
For poses, ``kapturelike.core.pose.camera_centers`` and ``viewing_directions`` give the inputs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from scipy.spatial.distance import cdist

from kapturelike.features.apgem import APGeMNet
from kapturelike.features.aploss import APLoss, APLossOptions
from kapturelike.features.checkpoints import PCAStandIn, save_checkpoint_atomic

PairLists = tuple[list[np.ndarray], list[np.ndarray]]


@dataclass
class PairMiningOptions:
    """Thresholds in scene units (metres for metric maps) and degrees."""

    pos_max_distance: float = 5.0  # positives: centres at most this far apart ...
    pos_max_angle_deg: float = 45.0  # ... and viewing directions at most this far apart
    neg_min_distance: float = 25.0  # negatives: centres at least this far apart ...
    neg_min_angle_deg: float = 120.0  # ... or viewing directions at least this far apart
    min_shared_points: int = 30  # observation positives: at least this many common 3D points ...
    min_overlap: float = 0.1  # ... and this fraction of the smaller image's points


def _to_lists(matrix: np.ndarray | sp.spmatrix) -> list[np.ndarray]:
    m = sp.csr_matrix(matrix)
    m.sort_indices()
    return np.split(m.indices.astype(np.int64), m.indptr[1:-1])


def mine_pairs_from_poses(centers: np.ndarray, view_dirs: np.ndarray,
                          options: PairMiningOptions | None = None) -> PairLists:
    """(N, 3) centres and (N, 3) viewing directions -> (positives[i], negatives[i]) index arrays.

    Dense N x N distance and angle matrices: meant for maps of up to a few thousand images."""
    options = options or PairMiningOptions()
    centers = np.asarray(centers, np.float64)
    dirs = np.asarray(view_dirs, np.float64)
    if centers.ndim != 2 or centers.shape[1] != 3 or dirs.shape != centers.shape:
        raise ValueError(f"centers and view_dirs must both be (N, 3), got {centers.shape} and {dirs.shape}")
    dirs = dirs / np.maximum(np.linalg.norm(dirs, axis=1, keepdims=True), 1e-12)
    dist = cdist(centers, centers)
    angle = np.degrees(np.arccos(np.clip(dirs @ dirs.T, -1.0, 1.0)))
    not_self = ~np.eye(len(centers), dtype=bool)
    pos = (dist <= options.pos_max_distance) & (angle <= options.pos_max_angle_deg) & not_self
    neg = ((dist >= options.neg_min_distance) | (angle >= options.neg_min_angle_deg)) & not_self & ~pos
    return _to_lists(pos), _to_lists(neg)


def mine_pairs_from_observations(point_ids_per_image: Sequence[np.ndarray],
                                 options: PairMiningOptions | None = None) -> PairLists:
    """3D point ids seen by each image -> (positives[i], negatives[i]); no common point = negative."""
    options = options or PairMiningOptions()
    ids = [np.unique(np.asarray(p, np.int64)) for p in point_ids_per_image]
    n = len(ids)
    counts = np.array([len(p) for p in ids], np.float64)
    rows = np.repeat(np.arange(n), counts.astype(np.int64))
    cols = np.concatenate(ids) if n else np.zeros(0, np.int64)
    _, cols = np.unique(cols, return_inverse=True)
    incidence = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)),
                              shape=(n, int(cols.max(initial=-1)) + 1))
    shared = (incidence @ incidence.T).toarray()
    overlap = shared / np.maximum(np.minimum(counts[:, None], counts[None]), 1)
    not_self = ~np.eye(n, dtype=bool)
    pos = (shared >= options.min_shared_points) & (overlap >= options.min_overlap) & not_self
    neg = (shared == 0) & not_self
    return _to_lists(pos), _to_lists(neg)


@dataclass
class FinetuneOptions:
    """Training settings; the defaults are a short, gentle fine-tune of a pre-trained AP-GeM."""

    steps: int = 200
    batch_size: int = 16  # images per step; half of them are anchors that bring one positive each
    image_size: int = 320  # images are resized to image_size x image_size for batching
    lr: float = 1e-5
    weight_decay: float = 1e-6
    freeze_batchnorm: bool = True  # small batches give poor batch statistics: keep the running ones
    loss: APLossOptions = field(default_factory=APLossOptions)
    seed: int = 0


def _to_sparse(lists: list[np.ndarray], n: int) -> sp.csr_matrix:
    cols = np.concatenate([np.asarray(x, np.int64) for x in lists]) if n else np.zeros(0, np.int64)
    if len(cols) and (cols.min() < 0 or cols.max() >= n):
        raise ValueError(f"pair indices must be in [0, {n})")
    rows = np.repeat(np.arange(n), [len(x) for x in lists])
    return sp.csr_matrix((np.ones(len(cols), bool), (rows, cols)), shape=(n, n))


def _batch_tensor(images: list[np.ndarray], size: int, model: APGeMNet) -> torch.Tensor:
    device = model.rgb_mean.device
    out = []
    for im in images:
        if im.dtype != np.uint8 or im.ndim not in (2, 3):
            raise ValueError(f"training images must be uint8 (H, W) or (H, W, 3), got {im.dtype} {im.shape}")
        t = torch.from_numpy(np.ascontiguousarray(im if im.ndim == 3 else np.repeat(im[..., None], 3, 2)))
        t = t.to(device).permute(2, 0, 1)[None].float() / 255
        out.append(F.interpolate(t, (size, size), mode="bilinear", align_corners=False, antialias=True))
    return (torch.cat(out) - model.rgb_mean) / model.rgb_std


def _sample_batch(rng: np.random.Generator, anchors: np.ndarray, positives: list[np.ndarray], n: int,
                  batch_size: int) -> np.ndarray:
    chosen = rng.choice(anchors, size=min(len(anchors), max(1, batch_size // 2)), replace=False)
    picks = [int(rng.choice(positives[a])) for a in chosen]
    batch = list(dict.fromkeys([int(a) for a in chosen] + picks))
    rest = np.setdiff1d(np.arange(n), batch)
    fill = rng.choice(rest, size=min(len(rest), max(0, batch_size - len(batch))), replace=False)
    return np.array(batch + [int(f) for f in fill], np.int64)


def finetune_apgem(model: APGeMNet, images_loader: Callable[[int], np.ndarray] | Sequence[np.ndarray],
                   positives: list[np.ndarray], negatives: list[np.ndarray],
                   options: FinetuneOptions | None = None) -> dict[str, list[float]]:
    """Fine-tune ``model`` in place with the AP loss; return {'loss': per-step losses}.

    ``images_loader(i)`` (or ``images_loader[i]``) gives image i as uint8; positives[i] / negatives[i]
    list the images known to match / not to match image i.
    """
    options = options or FinetuneOptions()
    n = len(positives)
    if len(negatives) != n:
        raise ValueError(f"positives ({n}) and negatives ({len(negatives)}) must list the same images")
    load = images_loader if callable(images_loader) else images_loader.__getitem__
    pos_m, neg_m = _to_sparse(positives, n), _to_sparse(negatives, n)
    anchors = np.flatnonzero(np.diff(pos_m.indptr) > 0)
    if len(anchors) == 0:
        raise ValueError("finetune_apgem: no image has a positive pair")
    rng = np.random.default_rng(options.seed)
    criterion = APLoss(options.loss)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=options.lr, weight_decay=options.weight_decay)
    model.train()
    if options.freeze_batchnorm:
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()
    history: list[float] = []
    for _ in range(options.steps):
        idx = _sample_batch(rng, anchors, positives, n, options.batch_size)
        x = _batch_tensor([load(int(i)) for i in idx], options.image_size, model)
        d = model(x)
        scores = d @ d.t()
        dev = scores.device
        labels = torch.from_numpy(pos_m[idx][:, idx].toarray()).to(dev)
        keep = labels | torch.from_numpy(neg_m[idx][:, idx].toarray()).to(dev)
        keep &= ~torch.eye(len(idx), dtype=torch.bool, device=dev)
        rows = (labels & keep).any(1)
        loss = criterion(scores[rows], labels[rows], keep[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        history.append(float(loss.detach()))
    model.eval()
    return {"loss": history}


def fit_pca_whitening(descriptors: np.ndarray, n_components: int | None = None) -> PCAStandIn:
    """Learn a whitening PCA on (N, D) descriptors (as sklearn PCA(whiten=True).fit)."""
    x = np.asarray(descriptors, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"fit_pca_whitening needs (N >= 2, D) descriptors, got {x.shape}")
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    # drop null directions (N <= D): whitening them would divide by zero
    k = min(n_components or vt.shape[0], int((s > 1e-8 * s[0]).sum()))
    # sign convention of sklearn's svd_flip: largest |loading| of each component is positive
    signs = np.sign(vt[np.arange(vt.shape[0]), np.abs(vt).argmax(1)])
    vt = vt * signs[:, None]
    pca = PCAStandIn()
    pca.__setstate__(dict(mean_=mean, components_=vt[:k], explained_variance_=(s[:k] ** 2) / (len(x) - 1),
                          whiten=True, n_components_=k, n_components=n_components))
    return pca


def save_apgem(model: APGeMNet, path: str | Path, pca: dict[str, PCAStandIn] | None = None) -> Path:
    """Write ``model`` as an official checkpoint (state_dict, model_options, pca), atomically."""
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return save_checkpoint_atomic({"state_dict": state, "model_options": dict(model.model_options),
                                   "pca": dict(pca or {})}, path)
