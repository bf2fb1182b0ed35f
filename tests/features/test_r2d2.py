"""R2D2 network layout, safe checkpoint loading and multi-scale extraction."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from kapturelike.features.checkpoints import CheckpointError, save_checkpoint_atomic
from kapturelike.features.r2d2 import (
    R2D2Options,
    build_r2d2,
    extract_r2d2,
    load_r2d2,
    parse_net_string,
)

torch.set_num_threads(2)


def test_official_layout():
    net = build_r2d2("Quad_L2Net_ConfCFS()")
    assert sum(p.numel() for p in net.parameters()) == 484_387  # "Model size: 484K parameters"
    sd = net.state_dict()
    assert tuple(sd["ops.0.weight"].shape) == (32, 3, 3, 3)
    assert "ops.1.running_mean" in sd and "ops.1.weight" not in sd  # BatchNorm without affine
    assert "ops.2.weight" not in sd  # ReLU
    assert tuple(sd["clf.weight"].shape) == (2, 128, 1, 1) and tuple(sd["sal.weight"].shape) == (1, 128, 1, 1)
    last = [k for k in sd if k.startswith("ops.")][-1]
    assert last == "ops.22.bias" and tuple(sd["ops.22.weight"].shape) == (128, 128, 2, 2)
    assert net.ops[22].dilation == (16, 16)  # dilations replace the strides: full-resolution output
    wide = build_r2d2("Quad_L2Net_ConfCFS(mchan=6)")
    assert tuple(wide.state_dict()["ops.0.weight"].shape) == (48, 3, 3, 3)
    fast = build_r2d2("Fast_Quad_L2Net_ConfCFS()")
    x = torch.zeros(1, 3, 24, 40)
    for model in (net, fast):
        d, rel, rep = model.eval()(x)
        assert d.shape == (1, 128, 24, 40) and rel.shape == rep.shape == (1, 1, 24, 40)


@pytest.mark.parametrize("text", [
    "os.system('touch x')", "__import__('os').system('x')", "Quad_L2Net_ConfCFS(mchan=__import__('os'))",
    "Quad_L2Net_ConfCFS(4)", "Evil()", "Quad_L2Net_ConfCFS(dim='a')",
    "Quad_L2Net_ConfCFS(downsample_factor=2)",
    "Quad_L2Net_ConfCFS(mchan=4", "Quad_L2Net_ConfCFS(**{'mchan': 4})", 42,
])
def test_net_string_allow_list(text):
    with pytest.raises(CheckpointError, match="net"):
        parse_net_string(text)


def test_net_string_parsing():
    assert parse_net_string(" Quad_L2Net_ConfCFS() ") == ("Quad_L2Net_ConfCFS", {})
    assert parse_net_string("Quad_L2Net_ConfCFS(mchan=6, relu22=True)") == (
        "Quad_L2Net_ConfCFS", {"mchan": 6, "relu22": True})


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    torch.manual_seed(0)
    net = build_r2d2("Quad_L2Net_ConfCFS()")
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("r2d2") / "r2d2_WASF_N16.pt"
    torch.save({"net": "Quad_L2Net_ConfCFS()", "epoch": 25,
                "state_dict": OrderedDict((f"module.{k}", v) for k, v in net.state_dict().items())}, path)
    return path, net.eval()


def image(h: int = 48, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(3)
    return (rng.random((h, w, 3)) * 255).astype(np.uint8)


def test_load_and_extract(official, tmp_path):
    path, ref = official
    model, info = load_r2d2(path, "cpu")
    assert info == {"net": "Quad_L2Net_ConfCFS()", "descriptor_dim": 128}
    for k, v in ref.state_dict().items():
        assert torch.equal(model.state_dict()[k], v), k
    img = image()
    opts = R2D2Options(min_size=40, max_size=64, reliability_thr=0.0, repeatability_thr=0.0, top_k=200)
    kpts, descs, scores = extract_r2d2(img, model, opts)
    n = len(kpts)
    assert 0 < n <= 200 and kpts.shape == (n, 3) and descs.shape == (n, 128) and scores.shape == (n,)
    assert kpts.dtype == descs.dtype == scores.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(descs, axis=1), 1, atol=1e-5)
    assert np.all(np.diff(scores) <= 0)
    assert np.all((kpts[:, 0] > 0) & (kpts[:, 0] < 64) & (kpts[:, 1] > 0) & (kpts[:, 1] < 48))
    levels = 32 * (2 ** 0.25) ** np.arange(3)  # 64 px down to 45 px longest side
    assert np.all(np.min(np.abs(kpts[:, 2:3] - levels[None]), axis=1) < 1e-3)
    again = extract_r2d2(img, model, opts)
    for a, b in zip((kpts, descs, scores), again):
        np.testing.assert_array_equal(a, b)
    # the official default min_size (256) exceeds this image: nothing is extracted
    k0, d0, s0 = extract_r2d2(img, model)
    assert k0.shape == (0, 3) and d0.shape == (0, 128) and s0.shape == (0,)

    torch.save({"net": "Quad_L2Net_ConfCFS(mchan=6)", "state_dict": ref.state_dict()}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="shape mismatch"):
        load_r2d2(tmp_path / "bad.pt", "cpu")
    save_checkpoint_atomic({"state_dict": ref.state_dict()}, tmp_path / "nonet.pt")
    with pytest.raises(CheckpointError, match="'net'"):
        load_r2d2(tmp_path / "nonet.pt", "cpu")


def test_single_scale_matches_direct_nms(official):
    _, model = official
    img = image(40, 56)
    opts = R2D2Options(min_size=56, max_size=56, reliability_thr=0.3, repeatability_thr=0.3, top_k=0)
    kpts, descs, scores = extract_r2d2(img, model, opts)
    x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255
    x = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(
        1, 3, 1, 1)
    with torch.no_grad():
        d, rel, rep = model(x)
    rep_np, rel_np = rep[0, 0].numpy(), rel[0, 0].numpy()
    local_max = rep_np == F.max_pool2d(rep, 3, 1, 1)[0, 0].numpy()
    ys, xs = np.nonzero(local_max & (rep_np >= 0.3) & (rel_np >= 0.3))
    assert len(kpts) == len(ys) > 0
    # COLMAP convention: the detection at pixel column j, row i is at (j + 0.5, i + 0.5)
    got = {(round(float(a - 0.5)), round(float(b - 0.5))) for a, b in kpts[:, :2]}
    assert got == set(zip(xs.tolist(), ys.tolist()))
    assert np.all(kpts[:, 2] == 32)
    i = np.argmax(scores)
    xi, yi = int(kpts[i, 0] - 0.5), int(kpts[i, 1] - 0.5)
    assert scores[i] == pytest.approx(rel_np[yi, xi] * rep_np[yi, xi], rel=1e-5)
    np.testing.assert_allclose(descs[i], d[0, :, yi, xi].numpy(), atol=1e-6)
    grey = extract_r2d2(img[..., 0], model, opts)
    assert grey[1].shape[1] == 128
