"""Resnet-AP-GeM global descriptors (Revaud et al., "Learning with Average Precision", ICCV 2019).

Network: ResNet trunk -> GeM pooling with learnable power ``adpool.p`` -> ``fc`` (2048 -> out_dim) ->
L2, as deep-image-retrieval's ``ResNet_RMAC`` with ``pooling='gem'``. Official checkpoints
(``Resnet101-AP-GeM.pt``, ``Resnet-101-AP-GeM-LM18.pt``) are read with the restricted unpickler of
:mod:`kapturelike.features.checkpoints` (no code in the file can run); the architecture is rebuilt
from the file's ``model_options``, never assumed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kapturelike.devices import resolve_device
from kapturelike.features.checkpoints import (
    CheckpointError,
    PCAStandIn,
    load_state_dict_strict,
    safe_load,
)
from kapturelike.features.resnet import RESNET_LAYERS, ResNetTrunk

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_ARCH = re.compile(r"^resnet(\d+)_(rmac|gem)$")
# model_options keys the official constructor takes and that we honour; others are reported, not used.
_KNOWN_OPTIONS = {"arch", "out_dim", "pooling", "gemp", "dropout_p", "without_fc", "norm_features",
                  "center_bias", "scales", "pretrained"}


class GeneralizedMeanPoolingP(nn.Module):
    """GeM pooling with a learnable power p: (mean x^p)^(1/p) over the spatial dims."""

    def __init__(self, p: float = 3.0, eps: float = 1e-6):
        super().__init__()
        self.p = nn.Parameter(torch.ones(1) * p)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.adaptive_avg_pool2d(x.clamp(min=self.eps).pow(self.p), 1).pow(1.0 / self.p)


class APGeMNet(ResNetTrunk):
    """ResNet + GeM + fc + L2 with the official names (``conv1.*``, ``layer*``, ``adpool.p``, ``fc``)."""

    def __init__(self, depth: int = 101, out_dim: int = 2048, pooling: str = "gem", gemp: float = 3.0,
                 dropout_p: float | None = None, without_fc: bool = False, norm_features: bool = False,
                 center_bias: float = 0.0):
        super().__init__(depth)
        if pooling.startswith("gem"):
            self.adpool: nn.Module = GeneralizedMeanPoolingP(gemp)
        elif pooling == "max":
            self.adpool = nn.AdaptiveMaxPool2d(1)
        elif pooling == "avg":
            self.adpool = nn.AdaptiveAvgPool2d(1)
        else:
            raise ValueError(f"unknown pooling '{pooling}' (expected gem, max or avg)")
        self.dropout = nn.Dropout(dropout_p) if dropout_p is not None else None
        # The official net always owns an fc, even when without_fc skips it at run time.
        self.fc = nn.Linear(self.out_channels, out_dim)
        self.without_fc = without_fc
        self.norm_features = norm_features
        self.center_bias = center_bias
        self.model_options: dict[str, Any] = dict(
            arch=f"resnet{depth}_rmac", out_dim=out_dim, pooling=pooling, gemp=gemp, dropout_p=dropout_p,
            without_fc=without_fc, norm_features=norm_features, center_bias=center_bias)
        self.feat_dim = self.out_channels if without_fc else out_dim
        self.register_buffer("rgb_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("rgb_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) ImageNet-normalised images -> (B, D) unit descriptors."""
        x = ResNetTrunk.forward(self, x)
        if self.dropout is not None:
            x = self.dropout(x)
        if self.center_bias > 0:
            b = self.center_bias
            bias = torch.zeros(1, 1, 4, 4, device=x.device, dtype=x.dtype)
            bias[..., 1:3, 1:3] = b
            x = x * (1 + F.interpolate(bias, size=x.shape[-2:], mode="bilinear", align_corners=True))
        x = self.adpool(x).flatten(1)
        if self.norm_features:
            x = F.normalize(x, dim=1)
        if not self.without_fc:
            x = self.fc(x)
        return F.normalize(x, dim=-1)


def build_apgem(model_options: Mapping[str, Any], path: str | Path | None = None) -> tuple[APGeMNet, dict]:
    """Build the network a ``model_options`` dict describes; return it and the options ignored."""
    if not isinstance(model_options, Mapping):
        raise CheckpointError("field 'model_options' must be a dict", path)
    arch = str(model_options.get("arch", ""))
    m = _ARCH.match(arch)
    if m is None or int(m.group(1)) not in RESNET_LAYERS:
        raise CheckpointError(f"field 'model_options.arch': unsupported architecture '{arch}' "
                              f"(supported: resnet{{{','.join(map(str, RESNET_LAYERS))}}}_rmac / _gem)", path)
    try:
        net = APGeMNet(depth=int(m.group(1)), out_dim=int(model_options.get("out_dim", 2048)),
                       pooling=str(model_options.get("pooling", "gem")),
                       gemp=float(model_options.get("gemp", 3)),
                       dropout_p=model_options.get("dropout_p"),
                       without_fc=bool(model_options.get("without_fc", False)),
                       norm_features=bool(model_options.get("norm_features", False)),
                       center_bias=float(model_options.get("center_bias", 0) or 0))
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"field 'model_options': {e}", path) from e
    net.model_options["arch"] = arch
    ignored = {k: v for k, v in model_options.items() if k not in _KNOWN_OPTIONS}
    return net, ignored


def load_apgem(path: str | Path, device: str | torch.device | None = None
               ) -> tuple[APGeMNet, dict[str, PCAStandIn] | None, dict]:
    """Load an official AP-GeM checkpoint safely: (eval-mode model, {name: PCA} or None, info)."""
    ckpt = safe_load(path)
    for field in ("state_dict", "model_options"):
        if field not in ckpt:
            raise CheckpointError(f"missing top-level field '{field}' (has {sorted(ckpt)})", path)
    model, ignored = build_apgem(ckpt["model_options"], path)
    load_state_dict_strict(model, ckpt["state_dict"], path)
    prep = ckpt.get("preprocess")
    if isinstance(prep, Mapping) and "mean" in prep and "std" in prep:
        model.rgb_mean.copy_(torch.tensor(prep["mean"], dtype=torch.float32).view(1, 3, 1, 1))
        model.rgb_std.copy_(torch.tensor(prep["std"], dtype=torch.float32).view(1, 3, 1, 1))
    pcas = ckpt.get("pca")
    if pcas is not None:
        if not isinstance(pcas, Mapping) or not all(isinstance(p, PCAStandIn) for p in pcas.values()):
            raise CheckpointError("field 'pca' must map names to PCA objects", path)
        for name, p in pcas.items():
            p.validate(f"{path}: pca '{name}'")
            if p.components_.shape[1] != model.feat_dim:
                raise CheckpointError(f"pca '{name}' expects {p.components_.shape[1]}-D descriptors, "
                                      f"the network gives {model.feat_dim}-D", path)
        pcas = dict(pcas) or None
    model = model.to(resolve_device(device)).eval()
    info = dict(model_options=dict(model.model_options), ignored_options=ignored,
                pca_names=sorted(pcas) if pcas else [], feat_dim=model.feat_dim)
    return model, pcas, info


@dataclass
class APGeMOptions:
    """Extraction settings; the defaults are a single full-resolution pass without whitening."""

    max_size: int | None = None  # downscale so that max(H, W) <= max_size (None: keep full resolution)
    scales: tuple[float, ...] = (1.0,)  # relative scales; >1 entries give multi-scale descriptors
    scale_pooling: str = "gem"  # how scales combine, as dirtorch extract_features: 'gem' or 'mean'
    scale_gemp: float = 3.0  # power of the signed power mean over scales
    pca_name: str | None = None  # key of the checkpoint's 'pca' dict to whiten with (None: no whitening)
    whitenp: float = 0.5  # whitening power (dirtorch default; kapture-localization's recipe uses 0.25)
    whitenv: int | None = None  # keep this many PCA components (None: all)
    whitenm: float = 1.0  # whitening multiplier


def _to_tensor(image: np.ndarray, device: torch.device) -> torch.Tensor:
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"images must be uint8 (H, W) or (H, W, 3), got {image.dtype} {image.shape}")
    t = torch.from_numpy(np.ascontiguousarray(image)).to(device)
    t = t[..., None].expand(*t.shape, 3) if t.ndim == 2 else t
    return t.permute(2, 0, 1)[None].float() / 255.0


def _resize(x: torch.Tensor, scale: float) -> torch.Tensor:
    if abs(scale - 1.0) < 1e-6:
        return x
    h, w = x.shape[-2:]
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=scale < 1)


def pool_scales(descs: torch.Tensor, pooling: str = "gem", p: float = 3.0, eps: float = 1e-6) -> torch.Tensor:
    """(S, N, D) per-scale descriptors -> (N, D): mean, or signed power mean (dirtorch 'gem'), then L2.

    As dirtorch's ``pool``, magnitudes are clamped at ``eps`` before each power, so components whose
    mean cube is below 1e-6 come out as +-0.01: kept for descriptors identical to the official ones."""
    if descs.shape[0] == 1:
        x = descs[0]
    elif pooling == "mean":
        x = descs.mean(0)
    elif pooling == "gem":
        s = torch.sign(descs)
        x = ((descs * s).clamp(min=eps).pow(p) * s).mean(0)
        s = torch.sign(x)
        x = (x * s).clamp(min=eps).pow(1.0 / p) * s
    else:
        raise ValueError(f"scale_pooling must be 'gem' or 'mean', got '{pooling}'")
    return F.normalize(x, dim=-1)


def whiten(descs: np.ndarray, pca: PCAStandIn, options: APGeMOptions) -> np.ndarray:
    """dirtorch's whiten_features: PCA(-whitening) then L2; (N, D) -> (N, K) float32."""
    y = pca.transform(descs, options.whitenp, options.whitenv, options.whitenm)
    return (y / np.maximum(np.linalg.norm(y, axis=1, keepdims=True), 1e-12)).astype(np.float32)


@torch.no_grad()
def extract_apgem(images: Sequence[np.ndarray], model: APGeMNet, options: APGeMOptions | None = None,
                  pca: PCAStandIn | Mapping[str, PCAStandIn] | None = None) -> np.ndarray:
    """Global descriptors of RGB/grey uint8 images: (N, D) float32, each row unit norm."""
    options = options or APGeMOptions()
    if isinstance(pca, Mapping):
        if options.pca_name is None:
            pca = None
        elif options.pca_name not in pca:
            raise KeyError(f"pca '{options.pca_name}' not in checkpoint (has {sorted(pca)})")
        else:
            pca = pca[options.pca_name]
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = []
    for image in images:  # images differ in size, so each one is its own batch
        x = _to_tensor(image, device)
        if options.max_size is not None and max(x.shape[-2:]) > options.max_size:
            x = _resize(x, options.max_size / max(x.shape[-2:]))
        x = (x - model.rgb_mean) / model.rgb_std
        per_scale = torch.stack([model(_resize(x, s)) for s in options.scales])
        out.append(pool_scales(per_scale, options.scale_pooling, options.scale_gemp)[0])
    model.train(was_training)
    if not out:
        return np.zeros((0, model.feat_dim), np.float32)
    descs = torch.stack(out).float().cpu().numpy()
    return whiten(descs, pca, options) if pca is not None else descs.astype(np.float32)
