"""ResNet trunk layout, AP-GeM checkpoint loading and global descriptor extraction."""

from __future__ import annotations

import sys
import types
from collections import OrderedDict

import numpy as np
import pytest
import torch

from kapturelike.features.apgem import (
    APGeMOptions,
    build_apgem,
    extract_apgem,
    load_apgem,
    pool_scales,
)
from kapturelike.features.checkpoints import CheckpointError, safe_load, save_checkpoint_atomic
from kapturelike.features.resnet import resnet_trunk

torch.set_num_threads(2)
OPTIONS = {"arch": "resnet50_rmac", "out_dim": 2048, "pooling": "gem", "gemp": 3, "dropout_p": None,
           "without_fc": False}


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_resnet_trunks_match_torchvision_layout():
    r50 = resnet_trunk(50)
    assert n_params(r50) == 23_508_032  # torchvision resnet50 without fc
    sd = r50.state_dict()
    expected_shapes = {
        "conv1.weight": (64, 3, 7, 7), "bn1.running_var": (64,),
        "layer1.0.conv1.weight": (64, 64, 1, 1), "layer1.0.conv2.weight": (64, 64, 3, 3),
        "layer1.0.downsample.0.weight": (256, 64, 1, 1), "layer1.0.downsample.1.weight": (256,),
        "layer2.0.downsample.0.weight": (512, 256, 1, 1), "layer4.2.conv3.weight": (2048, 512, 1, 1),
        "layer4.2.bn3.num_batches_tracked": (),
    }
    for k, shape in expected_shapes.items():
        assert tuple(sd[k].shape) == shape, k
    assert "layer1.1.downsample.0.weight" not in sd and not any(k.startswith("fc") for k in sd)
    # v1.5: the stride sits on the 3x3 conv
    assert r50.layer2[0].conv2.stride == (2, 2) and r50.layer2[0].conv1.stride == (1, 1)
    # 1 + 16 x 3 + 4 convs, each BatchNorm 5 entries: torchvision's 320 entries minus fc.weight/fc.bias
    assert len(sd) == 53 + 53 * 5
    r101 = resnet_trunk(101)
    assert n_params(r101) == 42_500_160
    assert len(r101.layer3) == 23
    with pytest.raises(ValueError, match="depth"):
        resnet_trunk(34)


def _fake_sklearn_pca(state: dict):
    mods = ["sklearn", "sklearn.decomposition", "sklearn.decomposition._pca"]
    for m in mods:
        sys.modules[m] = types.ModuleType(m)
    cls = type("PCA", (), {"__module__": mods[-1]})
    sys.modules[mods[-1]].PCA = cls
    pca = cls()
    pca.__dict__.update(state)
    return pca, mods


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """A Resnet-50 AP-GeM checkpoint in the official layout with random weights and a PCA."""
    torch.manual_seed(0)
    net, _ = build_apgem(OPTIONS)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
        net.adpool.p.fill_(2.5)
    net.eval()
    rng = np.random.default_rng(0)
    k = 32
    pca_state = dict(mean_=rng.normal(0, 0.01, 2048).astype(np.float32), components_=np.linalg.qr(
        rng.normal(size=(2048, k)))[0].T, explained_variance_=np.linspace(2, 0.1, k), whiten=True,
        n_components_=k)
    pca, mods = _fake_sklearn_pca(pca_state)
    path = tmp_path_factory.mktemp("apgem") / "Resnet50-AP-GeM.pt"
    try:
        torch.save({"state_dict": OrderedDict((f"module.{k}", v) for k, v in net.state_dict().items()),
                    "model_options": OPTIONS, "pca": {"Landmarks_clean": pca}, "epoch": 12}, path)
    finally:
        for m in mods:
            sys.modules.pop(m, None)
    return path, net, pca_state


def images(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.random((48, 56, 3)) * 255).astype(np.uint8), (rng.random((56, 48)) * 255).astype(np.uint8)]


def test_load_official_checkpoint(official):
    path, ref, pca_state = official
    model, pcas, info = load_apgem(path, "cpu")
    assert info["model_options"]["arch"] == "resnet50_rmac" and info["feat_dim"] == 2048
    assert info["pca_names"] == ["Landmarks_clean"]
    for k, v in ref.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    assert model.adpool.p.item() == pytest.approx(2.5)
    imgs = images()
    d = extract_apgem(imgs, model)
    assert d.shape == (2, 2048) and d.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1, atol=1e-5)
    np.testing.assert_array_equal(d[:1], extract_apgem(imgs[:1], model))  # deterministic
    np.testing.assert_allclose(d[:1], extract_apgem(imgs[:1], ref), atol=1e-6)
    # grey images are the RGB image with three equal channels
    grey = np.repeat(imgs[1][..., None], 3, axis=2)
    np.testing.assert_allclose(extract_apgem([grey], model)[0], d[1], atol=1e-6)

    # PCA whitening as dirtorch: (x - mean) @ P.T / (m * var^p), then L2
    opts = APGeMOptions(pca_name="Landmarks_clean", whitenp=0.25, whitenv=16)
    w = extract_apgem(imgs[:1], model, opts, pca=pcas)
    y = (d[:1].astype(np.float64) - pca_state["mean_"]) @ pca_state["components_"][:16].T
    y /= pca_state["explained_variance_"][:16] ** 0.25
    np.testing.assert_allclose(w, y / np.linalg.norm(y, axis=1, keepdims=True), atol=1e-5)
    assert w.shape == (1, 16)
    with pytest.raises(KeyError, match="Landmarks_clean"):
        extract_apgem(imgs[:1], model, APGeMOptions(pca_name="nope"), pca=pcas)


def test_multiscale_and_size_cap(official):
    _, model, _ = official
    img = images()[0]
    scales = (1.0, 0.75)
    multi = extract_apgem([img], model, APGeMOptions(scales=scales))
    per_scale = np.stack([extract_apgem([img], model, APGeMOptions(scales=(s,)))[0] for s in scales])
    # dirtorch: signed power mean (p=3) over scales with magnitudes clamped at 1e-6 before each power
    m = np.mean(np.sign(per_scale) * np.maximum(np.abs(per_scale), 1e-6) ** 3, axis=0)
    expected = np.sign(m) * np.maximum(np.abs(m), 1e-6) ** (1 / 3)
    np.testing.assert_allclose(multi[0], expected / np.linalg.norm(expected), atol=1e-5)
    assert not np.allclose(multi[0], per_scale[0])
    capped = extract_apgem([img], model, APGeMOptions(max_size=28))
    np.testing.assert_allclose(capped, extract_apgem([img], model, APGeMOptions(scales=(0.5,))), atol=1e-6)
    assert extract_apgem([], model).shape == (0, 2048)


def test_pool_scales_math():
    x = torch.tensor([[[0.6, -0.8]], [[0.0, 1.0]]])
    mean = pool_scales(x, "mean")
    norm = np.hypot(0.6, 0.2)
    np.testing.assert_allclose(mean.numpy(), [[0.6 / norm, 0.2 / norm]], atol=1e-6)
    assert torch.equal(pool_scales(x[:1]), x[0])
    with pytest.raises(ValueError, match="scale_pooling"):
        pool_scales(x, "max")


def test_bad_checkpoints_give_clear_errors(official, tmp_path):
    path, ref, _ = official
    ckpt = safe_load(path)
    bad_arch = dict(ckpt, model_options=dict(OPTIONS, arch="resnet101_fpn_rmac"))
    save_checkpoint_atomic(bad_arch, tmp_path / "arch.pt")
    with pytest.raises(CheckpointError, match="unsupported architecture 'resnet101_fpn_rmac'"):
        load_apgem(tmp_path / "arch.pt", "cpu")
    sd = OrderedDict(ckpt["state_dict"])
    sd.pop("module.adpool.p")
    sd["module.head.weight"] = torch.zeros(1)
    save_checkpoint_atomic(dict(ckpt, state_dict=sd), tmp_path / "keys.pt")
    with pytest.raises(CheckpointError,
                       match=r"1 missing keys \['adpool.p'\].*1 unexpected keys \['head.weight'\]"):
        load_apgem(tmp_path / "keys.pt", "cpu")
    save_checkpoint_atomic({"state_dict": ckpt["state_dict"]}, tmp_path / "noopt.pt")
    with pytest.raises(CheckpointError, match="model_options"):
        load_apgem(tmp_path / "noopt.pt", "cpu")
    # the architecture comes from the file: a resnet-50 state dict does not fit a resnet-101 header
    deeper = dict(ckpt, model_options=dict(OPTIONS, arch="resnet101_rmac"))
    save_checkpoint_atomic(deeper, tmp_path / "depth.pt")
    with pytest.raises(CheckpointError, match=r"306 missing keys \['layer3\."):
        load_apgem(tmp_path / "depth.pt", "cpu")


def test_without_fc_and_out_dim(official):
    net, ignored = build_apgem(dict(OPTIONS, out_dim=256, without_fc=True, mystery=1))
    assert ignored == {"mystery": 1} and net.fc.weight.shape == (256, 2048) and net.feat_dim == 2048
    net.eval()
    assert extract_apgem(images()[:1], net).shape == (1, 2048)
    net2, _ = build_apgem(dict(OPTIONS, out_dim=256))
    assert extract_apgem(images()[:1], net2.eval()).shape == (1, 256)
