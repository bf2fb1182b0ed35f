"""Restricted checkpoint loading: official layouts load, hostile or broken files give CheckpointError."""

from __future__ import annotations

import os
import sys
import types
from collections import OrderedDict
from contextlib import contextmanager

import numpy as np
import pytest
import torch
from torch import nn

from kapturelike.features.checkpoints import (
    CheckpointError,
    PCAStandIn,
    load_state_dict_strict,
    safe_load,
    save_checkpoint_atomic,
    strip_module_prefix,
)

torch.set_num_threads(2)


@contextmanager
def fake_sklearn(module_name: str):
    """Make a class importable as ``<module_name>.PCA`` so pickle writes the official name."""
    parts = module_name.split(".")
    saved = {".".join(parts[:i]): sys.modules.get(".".join(parts[:i])) for i in range(1, len(parts) + 1)}
    cls = type("PCA", (), {"__module__": module_name})
    for name in saved:
        sys.modules[name] = types.ModuleType(name)
    sys.modules[module_name].PCA = cls
    try:
        yield cls
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod


def pca_state(rng: np.random.Generator, d: int = 6, k: int = 4) -> dict:
    return dict(mean_=rng.normal(size=d).astype(np.float32), components_=rng.normal(size=(k, d)),
                explained_variance_=rng.uniform(0.5, 2, size=k), whiten=True, n_components_=k,
                noise_variance_=np.float64(0.1), svd_solver="auto", _sklearn_version="0.20.2")


@pytest.mark.parametrize("module_name", ["sklearn.decomposition.pca", "sklearn.decomposition._pca"])
@pytest.mark.parametrize("zipfile", [True, False])
def test_official_pca_checkpoint_loads_without_sklearn(tmp_path, module_name, zipfile):
    rng = np.random.default_rng(0)
    state = pca_state(rng)
    with fake_sklearn(module_name) as PCA:
        pca = PCA()
        pca.__dict__.update(state)
        ckpt = {"state_dict": OrderedDict([("module.w", torch.arange(4.0))]),
                "model_options": {"arch": "resnet101_rmac", "out_dim": 2048}, "pca": {"Landmarks_clean": pca}}
        torch.save(ckpt, tmp_path / "m.pt", _use_new_zipfile_serialization=zipfile)
    assert "sklearn" not in sys.modules  # loading must not need (or import) scikit-learn
    out = safe_load(tmp_path / "m.pt")
    p = out["pca"]["Landmarks_clean"]
    assert isinstance(p, PCAStandIn)
    p.validate()
    np.testing.assert_array_equal(p.components_, state["components_"])
    assert p.noise_variance_ == pytest.approx(0.1) and p._sklearn_version == "0.20.2"
    x = rng.normal(size=(3, 6))
    expected = (x - state["mean_"]) @ state["components_"].T / np.sqrt(state["explained_variance_"])
    np.testing.assert_allclose(p.transform(x), expected, rtol=1e-6)
    assert torch.equal(out["state_dict"]["module.w"], torch.arange(4.0))


def test_save_writes_official_pca_name_and_round_trips(tmp_path):
    p = PCAStandIn()
    p.__setstate__(pca_state(np.random.default_rng(1)))
    path = save_checkpoint_atomic({"pca": {"x": p}, "n": 3}, tmp_path / "sub" / "c.pt")
    raw = open(path, "rb").read()
    assert b"sklearn.decomposition._pca" in raw and b"PCAStandIn" not in raw
    back = safe_load(path)
    assert back["n"] == 3
    np.testing.assert_array_equal(back["pca"]["x"].mean_, p.mean_)
    # overwrite leaves no temporary file behind
    save_checkpoint_atomic({"n": 4}, path)
    assert safe_load(path)["n"] == 4
    assert sorted(os.listdir(path.parent)) == ["c.pt"]


class _Hostile:
    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (os.system, (f"touch {self.target}",))


@pytest.mark.parametrize("zipfile", [True, False])
def test_hostile_pickle_is_refused_and_runs_nothing(tmp_path, zipfile):
    marker = tmp_path / "pwned"
    torch.save({"state_dict": {}, "payload": _Hostile(str(marker))}, tmp_path / "evil.pt",
               _use_new_zipfile_serialization=zipfile)
    with pytest.raises(CheckpointError, match="system") as err:
        safe_load(tmp_path / "evil.pt")
    assert "unsafe" in str(err.value) and "evil.pt" in str(err.value)
    assert not marker.exists()


def test_builtin_eval_payload_is_refused(tmp_path):
    class Eval:
        def __reduce__(self):
            return (eval, ("__import__('os').getcwd()",))

    torch.save({"x": Eval()}, tmp_path / "e.pt")
    with pytest.raises(CheckpointError, match="eval"):
        safe_load(tmp_path / "e.pt")


def test_object_arrays_are_refused(tmp_path):
    torch.save({"a": np.array([1, "x"], dtype=object)}, tmp_path / "o.pt")
    with pytest.raises(CheckpointError):
        safe_load(tmp_path / "o.pt")


@pytest.mark.parametrize("zipfile", [True, False])
def test_truncated_file_is_a_clear_error(tmp_path, zipfile):
    torch.save({"state_dict": {"w": torch.zeros(1000)}}, tmp_path / "ok.pt",
               _use_new_zipfile_serialization=zipfile)
    raw = (tmp_path / "ok.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="cut.pt"):
        safe_load(tmp_path / "cut.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="junk.pt"):
        safe_load(tmp_path / "junk.pt")


def test_missing_file_and_non_dict(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        safe_load(tmp_path / "nope.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match="dict"):
        safe_load(tmp_path / "list.pt")


def test_state_dict_checks():
    net = nn.Sequential(nn.Linear(3, 2))
    sd = {f"module.{k}": torch.ones_like(v) for k, v in net.state_dict().items()}
    assert list(strip_module_prefix(sd)) == ["0.weight", "0.bias"]
    load_state_dict_strict(net, sd)
    assert torch.equal(net[0].weight, torch.ones(2, 3))
    with pytest.raises(CheckpointError,
                       match=r"1 missing keys \['0.bias'\].*1 unexpected keys \['0.extra'\]"):
        load_state_dict_strict(net, {"0.weight": torch.ones(2, 3), "0.extra": torch.ones(1)})
    with pytest.raises(CheckpointError, match="shape mismatch.*0.weight"):
        load_state_dict_strict(net, {"0.weight": torch.ones(3, 3), "0.bias": torch.ones(2)})


def test_pca_validation_names_the_field():
    p = PCAStandIn()
    p.__setstate__({"components_": np.ones((2, 3)), "explained_variance_": np.ones(3)})
    with pytest.raises(CheckpointError, match="explained_variance_"):
        p.validate()
    with pytest.raises(CheckpointError, match="dict"):
        PCAStandIn().__setstate__([1, 2])


def test_pca_state_cannot_shadow_methods(tmp_path):
    with fake_sklearn("sklearn.decomposition._pca") as PCA:
        pca = PCA()
        pca.__dict__.update({"transform": "not a method", "components_": np.ones((1, 2))})
        torch.save({"pca": {"x": pca}}, tmp_path / "shadow.pt")
    with pytest.raises(CheckpointError, match="transform"):
        safe_load(tmp_path / "shadow.pt")


def test_numpy1_global_names_are_accepted(tmp_path):
    """Files written with numpy 1.x name ``numpy.core.multiarray``; numpy 2 writes ``numpy._core``."""
    arr = np.arange(6, dtype=np.float64).reshape(2, 3)
    torch.save({"a": arr, "s": np.float64(2.5)}, tmp_path / "np2.pt", _use_new_zipfile_serialization=False)
    raw = (tmp_path / "np2.pt").read_bytes()
    assert b"numpy._core.multiarray" in raw
    (tmp_path / "np1.pt").write_bytes(raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    out = safe_load(tmp_path / "np1.pt")
    np.testing.assert_array_equal(out["a"], arr)
    assert out["s"] == 2.5
