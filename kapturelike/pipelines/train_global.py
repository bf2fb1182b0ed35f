"""Step: fine-tune an AP-GeM checkpoint on a mapped kapture scene (kapture_train_apgem).

Training pairs are mined from the map itself: from its image poses (close centres, similar viewing
directions = positive) or from the 3D points its images observe in common. The result is written as an
official AP-GeM checkpoint, optionally with a PCA whitening fitted on the map's new descriptors.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from kapturelike.errors import MissingDataError
from kapturelike.features.train_apgem import FinetuneOptions, PairMiningOptions
from kapturelike.pipelines.workspace import require_kapture

logger = logging.getLogger(__name__)

MINING_METHODS = ("poses", "observations")


@dataclass
class TrainGlobalOptions:
    """Settings of ``main``; mining thresholds and training settings have their own dataclasses."""

    mining: PairMiningOptions = field(default_factory=PairMiningOptions)
    finetune: FinetuneOptions = field(default_factory=FinetuneOptions)
    keypoints_type: str | None = None
    """Observation mining: keypoints type whose observations count (None: every type)."""
    pca_name: str | None = None
    """Fit a PCA whitening on the map's fine-tuned descriptors, stored under this name (None: no PCA).
    The initial checkpoint's PCAs are dropped either way: they whiten the old descriptor space."""
    pca_components: int | None = None
    """Components kept by the fitted PCA (None: all the map supports, at most one fewer than its images)."""
    pca_max_size: int | None = 512
    """Images are downscaled to at most this side when describing the map for the PCA (None: full size)."""
    device: str = "auto"
    """'auto' (CUDA when available), 'cpu', 'cuda', 'cuda:1'."""
    cache_images: int = 2048
    """Resized training images kept in memory between steps (each image_size^2 * 3 bytes)."""


def _pose_pairs(kapture, options: TrainGlobalOptions) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    from kapturelike.core.image_poses import image_poses
    from kapturelike.core.pose import camera_centers, viewing_directions
    from kapturelike.features.train_apgem import mine_pairs_from_poses

    poses = image_poses(kapture)
    names = sorted(poses)
    if len(names) < 2:
        raise MissingDataError(f"pose mining needs at least 2 images with a pose, the map has {len(names)}")
    q = np.stack([poses[n][0] for n in names])
    t = np.stack([poses[n][1] for n in names])
    positives, negatives = mine_pairs_from_poses(camera_centers(q, t), viewing_directions(q), options.mining)
    return names, positives, negatives


def _observation_pairs(kapture, options: TrainGlobalOptions, root: Path
                       ) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    from kapturelike.features.train_apgem import mine_pairs_from_observations

    obs = kapture.observations
    if obs is None or len(obs.point_ids) == 0:
        raise MissingDataError(f"{root}: observation mining needs reconstruction/observations.txt "
                               f"(a mapped scene with 3D points)")
    keep = np.ones(len(obs.point_ids), bool)
    if options.keypoints_type is not None:
        keep = obs.keypoints_types == options.keypoints_type
        if not keep.any():
            raise MissingDataError(f"{root}: no observation of keypoints type '{options.keypoints_type}'")
    names = sorted(kapture.image_names())
    # observation rows -> image index: one dict lookup per distinct image name, not per observation
    index = {n: i for i, n in enumerate(names)}
    obs_names, inverse = np.unique(obs.image_names[keep].astype(str), return_inverse=True)
    rows = np.array([index.get(n, -1) for n in obs_names.tolist()], np.int64)[inverse]
    point_ids = obs.point_ids[keep][rows >= 0]
    rows = rows[rows >= 0]
    order = np.argsort(rows, kind="stable")
    per_image = np.split(point_ids[order], np.searchsorted(rows[order], np.arange(1, len(names))))
    positives, negatives = mine_pairs_from_observations(per_image, options.mining)
    return names, positives, negatives


def _image_loader(root: Path, names: list[str], size: int, cache: int):
    """image index -> uint8 RGB image resized to size x size (what a training batch uses anyway)."""
    from functools import lru_cache

    from kapturelike.io.dataset import records_data_path
    from kapturelike.io.images import load_image

    @lru_cache(maxsize=max(cache, 0))
    def load(i: int) -> np.ndarray:
        image = load_image(records_data_path(root, names[i]))
        return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)

    return load


def main(map_kapture: str | Path, output_checkpoint: str | Path, init_checkpoint: str | Path,
         options: TrainGlobalOptions | None = None, mining: str = "poses") -> dict[str, Any]:
    """Fine-tune ``init_checkpoint`` on the images of ``map_kapture``; write ``output_checkpoint``.

    ``mining``: 'poses' (images with poses) or 'observations' (a map with points3d / observations).
    Returns {'loss': per-step losses, 'images', 'anchors', 'pca' (name or None), 'checkpoint' (path)}.
    """
    from kapturelike.features.apgem import APGeMOptions, extract_apgem, load_apgem
    from kapturelike.features.train_apgem import finetune_apgem, fit_pca_whitening, save_apgem
    from kapturelike.io.dataset import load_kapture, records_data_path
    from kapturelike.io.images import load_image

    options = options or TrainGlobalOptions()
    if mining not in MINING_METHODS:
        raise ValueError(f"train AP-GeM: mining must be one of {', '.join(MINING_METHODS)}, got '{mining}'")
    root = require_kapture(map_kapture)
    if not Path(init_checkpoint).is_file():
        raise MissingDataError(f"{init_checkpoint}: initial AP-GeM checkpoint does not exist")
    kapture = load_kapture(root)
    if mining == "poses":
        names, positives, negatives = _pose_pairs(kapture, options)
    else:
        names, positives, negatives = _observation_pairs(kapture, options, root)
    anchors = sum(len(p) > 0 for p in positives)
    if anchors == 0:
        raise ValueError(f"{root}: no positive pair mined from {mining} with the thresholds given "
                         f"(loosen the positive distance / angle or shared-point limits)")
    logger.info("%d images, %d with a positive pair", len(names), anchors)

    model, old_pca, _ = load_apgem(init_checkpoint, options.device)
    if old_pca:
        logger.info("dropping the initial PCA(s) %s: fine-tuning changes the descriptor space", sorted(old_pca))
    loader = _image_loader(root, names, options.finetune.image_size, options.cache_images)
    history = finetune_apgem(model, loader, positives, negatives, options.finetune)

    pca = None
    if options.pca_name is not None:
        images = (load_image(records_data_path(root, n)) for n in names)
        descs = np.concatenate([extract_apgem([im], model, APGeMOptions(max_size=options.pca_max_size))
                                for im in images])
        pca = {options.pca_name: fit_pca_whitening(descs, options.pca_components)}
    path = save_apgem(model.cpu(), output_checkpoint, pca)
    return {"loss": history["loss"], "images": len(names), "anchors": int(anchors),
            "pca": options.pca_name, "checkpoint": path}
