"""R2D2 local features (Revaud et al., NeurIPS 2019): ``Quad_L2Net_ConfCFS`` and its multi-scale extractor.

The networks reproduce naver/r2d2's ``nets/patchnet.py`` module for module, so official checkpoints
(``r2d2_WASF_N16.pt``, ``faster2d2_WASF_N16.pt``, ...) load with strict key checking. A checkpoint holds
``net``, the constructor call as a string: it is parsed with :mod:`ast` against an allow-list of class
names and literal keyword arguments, never evaluated; the file itself is read with the restricted
unpickler of :mod:`kapturelike.features.checkpoints`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kapturelike.devices import resolve_device
from kapturelike.features.checkpoints import CheckpointError, load_state_dict_strict, safe_load

RGB_MEAN = (0.485, 0.456, 0.406)
RGB_STD = (0.229, 0.224, 0.225)


class QuadL2NetConfCFS(nn.Module):
    """Fully convolutional L2-Net with dilations (full-resolution output), 128-D descriptors and two
    confidence heads: ``clf`` (reliability, 2-way softmax) and ``sal`` (repeatability, softplus ratio)."""

    def __init__(self, dim: int = 128, mchan: int = 4, relu22: bool = False, inchan: int = 3,
                 dilated: bool = True, dilation: int = 1, bn: bool = True, bn_affine: bool = False,
                 fast: bool = False, downsample_factor: int = 2):
        super().__init__()
        self.curchan, self.dilated, self.dilation = inchan, dilated, dilation
        self.bn, self.bn_affine = bn, bn_affine
        self.ops = nn.ModuleList([])
        self._add_conv(8 * mchan)
        self._add_conv(8 * mchan)
        if fast:  # the "faster" variant pools once instead of dilating, then upsamples at the end
            self._add_conv(16 * mchan, k_pool=downsample_factor)
        else:
            self._add_conv(16 * mchan, stride=2)
        self._add_conv(16 * mchan)
        self._add_conv(32 * mchan, stride=2)
        self._add_conv(32 * mchan)
        self._add_conv(32 * mchan, k=2, stride=2, relu=relu22)
        self._add_conv(32 * mchan, k=2, stride=2, relu=relu22)
        self._add_conv(dim, k=2, stride=2, bn=False, relu=False)
        if fast:
            self.ops.append(nn.Upsample(scale_factor=downsample_factor, mode="bilinear", align_corners=False))
        self.out_dim = dim
        self.clf = nn.Conv2d(dim, 2, kernel_size=1)
        self.sal = nn.Conv2d(dim, 1, kernel_size=1)

    def _add_conv(self, outd: int, k: int = 3, stride: int = 1, bn: bool = True, relu: bool = True,
                  k_pool: int = 1) -> None:
        # Dilation grows after the layer that would have strided, as in the official net.
        d = self.dilation
        if self.dilated:
            params = dict(padding=((k - 1) * d) // 2, dilation=d, stride=1)
            self.dilation *= stride
        else:
            params = dict(padding=((k - 1) * d) // 2, dilation=d, stride=stride)
        self.ops.append(nn.Conv2d(self.curchan, outd, kernel_size=k, **params))
        if bn and self.bn:
            self.ops.append(nn.BatchNorm2d(outd, affine=self.bn_affine))
        if relu:
            self.ops.append(nn.ReLU(inplace=True))
        self.curchan = outd
        if k_pool > 1:
            self.ops.append(nn.MaxPool2d(kernel_size=k_pool))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, 3, H, W) normalised image -> descriptors (B, D, H, W), reliability and repeatability
        (B, 1, H, W)."""
        for op in self.ops:
            x = op(x)
        reliability = F.softmax(self.clf(x**2), dim=1)[:, 1:2]
        urep = F.softplus(self.sal(x**2))
        return F.normalize(x, p=2, dim=1), reliability, urep / (1 + urep)


_ALLOWED_NETS = {"Quad_L2Net_ConfCFS": False, "Fast_Quad_L2Net_ConfCFS": True}
_ALLOWED_KWARGS: dict[str, type | tuple[type, ...]] = {
    "dim": int, "mchan": int, "relu22": bool, "inchan": int, "dilated": bool, "dilation": int, "bn": bool,
    "bn_affine": bool, "downsample_factor": int,
}


def parse_net_string(net: str, path: str | Path | None = None) -> tuple[str, dict[str, Any]]:
    """'Quad_L2Net_ConfCFS(mchan=6)' -> ('Quad_L2Net_ConfCFS', {'mchan': 6}), without evaluating anything."""
    if not isinstance(net, str) or len(net) > 500:
        raise CheckpointError("field 'net' must be a short constructor string", path)
    try:
        call = ast.parse(net.strip(), mode="eval").body
    except SyntaxError as e:
        raise CheckpointError(f"field 'net': cannot parse {net!r}", path) from e
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.args:
        raise CheckpointError(f"field 'net': expected ClassName(key=literal, ...), got {net!r}", path)
    name = call.func.id
    if name not in _ALLOWED_NETS:
        raise CheckpointError(f"field 'net': unsupported network '{name}' "
                              f"(supported: {sorted(_ALLOWED_NETS)})", path)
    kwargs: dict[str, Any] = {}
    for kw in call.keywords:
        if kw.arg not in _ALLOWED_KWARGS or (kw.arg == "downsample_factor" and not _ALLOWED_NETS[name]):
            raise CheckpointError(f"field 'net': argument '{kw.arg}' not allowed in {net!r}", path)
        try:
            value = ast.literal_eval(kw.value)
        except ValueError as e:
            raise CheckpointError(f"field 'net': argument '{kw.arg}' is not a literal in {net!r}",
                                  path) from e
        expected = _ALLOWED_KWARGS[kw.arg]
        if type(value) is not expected and not (expected is int and type(value) is bool):
            raise CheckpointError(f"field 'net': argument '{kw.arg}' must be {expected.__name__}", path)
        kwargs[kw.arg] = value
    return name, kwargs


def build_r2d2(net: str = "Quad_L2Net_ConfCFS()", path: str | Path | None = None) -> QuadL2NetConfCFS:
    name, kwargs = parse_net_string(net, path)
    model = QuadL2NetConfCFS(fast=_ALLOWED_NETS[name], **kwargs)
    model.net_string = net.strip()
    return model


def load_r2d2(path: str | Path, device: str | torch.device | None = None) -> tuple[QuadL2NetConfCFS, dict]:
    """Load an official R2D2 checkpoint safely: (eval-mode model, info)."""
    ckpt = safe_load(path)
    for field in ("net", "state_dict"):
        if field not in ckpt:
            raise CheckpointError(f"missing top-level field '{field}' (has {sorted(ckpt)})", path)
    model = build_r2d2(ckpt["net"], path)
    load_state_dict_strict(model, ckpt["state_dict"], path)
    return model.to(resolve_device(device)).eval(), dict(net=model.net_string, descriptor_dim=model.out_dim)


@dataclass
class R2D2Options:
    """Official extract.py defaults."""

    top_k: int = 5000  # keep the best-scoring keypoints over all scales (<= 0: keep all)
    scale_f: float = 2 ** 0.25  # ratio between consecutive pyramid levels
    min_size: int = 256  # stop when the longer side would drop below this
    max_size: int = 1024  # only extract on levels whose longer side is at most this
    min_scale: float = 0.0
    max_scale: float = 1.0
    reliability_thr: float = 0.7
    repeatability_thr: float = 0.7


def _nms(reliability: torch.Tensor, repeatability: torch.Tensor, options: R2D2Options) -> torch.Tensor:
    """(1,1,H,W) maps -> (2, K) y, x of 3x3 repeatability maxima above both thresholds."""
    maxima = repeatability == F.max_pool2d(repeatability, kernel_size=3, stride=1, padding=1)
    maxima &= repeatability >= options.repeatability_thr
    maxima &= reliability >= options.reliability_thr
    return maxima[0, 0].nonzero().t()


@torch.no_grad()
def extract_r2d2(image: np.ndarray, model: QuadL2NetConfCFS, options: R2D2Options | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multi-scale R2D2 on one uint8 RGB (or grey) image.

    Returns keypoints float32 (N, 3) = x, y, scale with COLMAP pixel centres (top-left pixel centre at
    (0.5, 0.5): a detection at pixel (i, j) of a level of size (nh, nw) maps to ((j + 0.5) W / nw,
    (i + 0.5) H / nh)), descriptors float32 (N, 128) unit norm, and scores = reliability x repeatability,
    sorted by decreasing score.
    """
    options = options or R2D2Options()
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"image must be uint8 (H, W) or (H, W, 3), got {image.dtype} {image.shape}")
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if options.max_scale > 1:
        raise ValueError("R2D2Options.max_scale must be <= 1")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    img = torch.from_numpy(np.ascontiguousarray(image)).to(device).permute(2, 0, 1)[None].float() / 255
    img = (img - torch.tensor(RGB_MEAN, device=device).view(1, 3, 1, 1)) / torch.tensor(
        RGB_STD, device=device).view(1, 3, 1, 1)
    H, W = img.shape[-2:]
    s = 1.0
    xys, descs, scores = [], [], []
    while s + 0.001 >= max(options.min_scale, options.min_size / max(H, W)):
        if s - 0.001 <= min(options.max_scale, options.max_size / max(H, W)):
            nh, nw = img.shape[-2:]
            desc, rel, rep = model(img)
            y, x = _nms(rel, rep, options)
            n = y.shape[0]
            xys.append(torch.stack([(x.float() + 0.5) * W / nw, (y.float() + 0.5) * H / nh,
                                    torch.full((n,), 32 / s, device=device)], dim=1))
            scores.append(rel[0, 0, y, x] * rep[0, 0, y, x])
            descs.append(desc[0, :, y, x].t())
        s /= options.scale_f
        # Each level is resampled from the previous one, as the official extractor does.
        img = F.interpolate(img, (round(H * s), round(W * s)), mode="bilinear", align_corners=False)
    model.train(was_training)
    if not xys:
        return (np.zeros((0, 3), np.float32), np.zeros((0, model.out_dim), np.float32),
                np.zeros(0, np.float32))
    xys_t, descs_t, scores_t = torch.cat(xys), torch.cat(descs), torch.cat(scores)
    order = torch.argsort(scores_t, descending=True, stable=True)
    if options.top_k > 0:
        order = order[: options.top_k]
    return (xys_t[order].float().cpu().numpy(), descs_t[order].float().cpu().numpy(),
            scores_t[order].float().cpu().numpy())
