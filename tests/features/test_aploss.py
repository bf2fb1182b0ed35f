"""AP loss against exact AP, pair mining from poses / observations, and a tiny AP-GeM fine-tune."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kapturelike.features.apgem import build_apgem, extract_apgem, load_apgem
from kapturelike.features.aploss import APLoss, APLossOptions, ap_quantized, average_precision, quantize
from kapturelike.features.train_apgem import (
    FinetuneOptions,
    PairMiningOptions,
    finetune_apgem,
    fit_pca_whitening,
    mine_pairs_from_observations,
    mine_pairs_from_poses,
    save_apgem,
)

torch.set_num_threads(2)


def test_exact_average_precision():
    scores = np.array([[0.9, 0.8, 0.7, 0.6], [0.1, 0.2, 0.3, 0.4], [0.5, 0.4, 0.3, 0.2]])
    labels = np.array([[1, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 0]], bool)
    ap = average_precision(scores, labels)
    np.testing.assert_allclose(ap[:2], [(1 + 2 / 3) / 2, 1 / 4])
    assert np.isnan(ap[2])


def test_quantisation_is_a_partition_of_unity():
    x = torch.linspace(-1.5, 1.5, 303).view(3, -1)
    q = quantize(x, APLossOptions(nq=20))
    assert q.shape == (3, 20, 101) and bool((q >= 0).all())
    torch.testing.assert_close(q.sum(1), torch.ones(3, 101))
    assert float(q[0, -1, 0]) == 1.0 and float(q[2, 0, -1]) == 1.0  # open-ended end bins


def test_quantised_ap_equals_exact_ap_for_separated_scores():
    rng = np.random.default_rng(0)
    centres = np.linspace(1, -1, 20)
    scores = np.stack([rng.permutation(centres)[:15] for _ in range(8)])  # one item per bin, no ties
    labels = rng.random((8, 15)) < 0.4
    labels[:, 0] = True
    exact = average_precision(scores, labels)
    quant = ap_quantized(torch.tensor(scores), torch.tensor(labels)).numpy()
    np.testing.assert_allclose(quant, exact, atol=1e-9)
    loss = APLoss()(torch.tensor(scores), torch.tensor(labels))
    assert float(loss) == pytest.approx(1 - exact.mean())


def test_quantised_ap_is_close_for_random_scores_and_differentiable():
    rng = np.random.default_rng(1)
    scores = torch.tensor(rng.uniform(-1, 1, (16, 200)), requires_grad=True)
    labels = torch.tensor(rng.random((16, 200)) < 0.2)
    loss = APLoss(APLossOptions(nq=100))(scores, labels)
    exact = 1 - np.nanmean(average_precision(scores.detach().numpy(), labels.numpy()))
    assert abs(loss.item() - exact) < 0.02
    loss.backward()
    g = scores.grad
    assert torch.isfinite(g).all() and float(g.abs().sum()) > 0
    # raising a positive's score lowers the loss: its gradient is non-positive on average
    assert float(g[labels].mean()) < 0 < float(g[~labels].mean())


def test_mask_leaves_items_out():
    scores = torch.tensor([[0.9, 0.5, -0.5, 0.0]])
    labels = torch.tensor([[False, True, False, True]])
    mask = torch.tensor([[False, True, True, True]])
    ap = ap_quantized(scores, labels, APLossOptions(nq=41), mask)
    assert float(ap[0]) == pytest.approx(average_precision(np.array([[0.5, -0.5, 0.0]]),
                                                           np.array([[True, False, True]]))[0])
    with pytest.raises(ValueError, match="no query"):
        APLoss()(scores, torch.zeros_like(labels))
    with pytest.raises(ValueError, match="nq"):
        APLossOptions(nq=1)


def test_mine_pairs_from_poses():
    centers = np.array([[0, 0, 0], [1, 0, 0], [1, 0, 0], [100, 0, 0], [10, 0, 0]], float)
    dirs = np.array([[0, 0, 1], [0, 0, 1], [0, 0, -1], [0, 0, 1], [0, 0.2, 1]], float)
    opts = PairMiningOptions(pos_max_distance=2, neg_min_distance=50)
    pos, neg = mine_pairs_from_poses(centers, dirs, opts)
    assert [p.tolist() for p in pos] == [[1], [0], [], [], []]
    assert neg[0].tolist() == [2, 3] and neg[2].tolist() == [0, 1, 3, 4] and neg[4].tolist() == [2, 3]
    with pytest.raises(ValueError, match="view_dirs"):
        mine_pairs_from_poses(centers, dirs[:3])


def test_mine_pairs_from_observations():
    obs = [np.arange(0, 100), np.arange(50, 150), np.arange(140, 200), np.arange(1000, 1010),
           np.array([5, 5, 5])]
    pos, neg = mine_pairs_from_observations(obs, PairMiningOptions(min_shared_points=30, min_overlap=0.1))
    assert [p.tolist() for p in pos] == [[1], [0], [], [], []]
    assert neg[0].tolist() == [2, 3] and neg[3].tolist() == [0, 1, 2, 4] and neg[4].tolist() == [1, 2, 3]


def test_fit_pca_whitening_whitens():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6)) + 3
    pca = fit_pca_whitening(x)
    y = pca.transform(x)
    np.testing.assert_allclose(np.cov(y.T), np.eye(6), atol=1e-8)
    assert fit_pca_whitening(x[:4]).components_.shape == (3, 6)  # null directions dropped


def test_finetune_two_steps_and_save(tmp_path):
    torch.manual_seed(0)
    model, _ = build_apgem({"arch": "resnet50_rmac", "out_dim": 64})
    rng = np.random.default_rng(0)
    places = [(rng.random((32, 32, 3)) * 255).astype(np.uint8) for _ in range(3)]
    imgs = [np.clip(p.astype(int) + rng.integers(-30, 30, p.shape), 0, 255).astype(np.uint8)
            for p in places for _ in range(2)]
    centers = np.repeat(np.array([[0, 0, 0], [60, 0, 0], [0, 60, 0]], float), 2, axis=0)
    pos, neg = mine_pairs_from_poses(centers, np.tile([0, 0, 1.0], (6, 1)))
    for layer in (model.conv1, model.bn1, model.layer1, model.layer2, model.layer3):
        layer.requires_grad_(False)  # fine-tune the top only: keeps this test fast
    p_before = model.adpool.p.detach().clone()
    w_before = model.layer1[0].conv1.weight.detach().clone()
    opts = FinetuneOptions(steps=2, batch_size=4, image_size=32, lr=1e-4)
    history = finetune_apgem(model, imgs, pos, neg, opts)
    assert len(history["loss"]) == 2 and all(np.isfinite(history["loss"]))
    assert all(0 <= v <= 1 for v in history["loss"])
    assert not torch.equal(model.adpool.p.detach(), p_before)  # the GeM power is trained too
    assert torch.equal(model.layer1[0].conv1.weight, w_before)  # frozen parameters stay
    assert not model.training

    pca = fit_pca_whitening(np.random.default_rng(0).normal(size=(10, 64)))
    path = save_apgem(model, tmp_path / "ft.pt", {"scene": pca})
    loaded, pcas, info = load_apgem(path, "cpu")
    assert info["pca_names"] == ["scene"] and info["model_options"]["out_dim"] == 64
    np.testing.assert_array_equal(extract_apgem(imgs[:1], loaded), extract_apgem(imgs[:1], model))
    with pytest.raises(ValueError, match="positive"):
        finetune_apgem(model, imgs, [np.zeros(0, np.int64)] * 6, neg, opts)
