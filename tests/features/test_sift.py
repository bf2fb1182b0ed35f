import numpy as np
import pytest

from kapturelike.features.sift import SiftOptions, extract_sift, make_sift_extractor, normalize_descriptors
from kapturelike.synthetic.scene import noise_image

BACKENDS = ["opencv", "pycolmap"]


def textured_image(h=240, w=320, seed=0):
    return noise_image(seed, h, w)


def blob_image(h=200, w=240, cx=100, cy=80, sigma=6.0):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return (255 * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))).astype(np.uint8)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shapes_dtypes_norms(backend):
    rgb = np.repeat(textured_image()[:, :, None], 3, axis=2)
    kp, desc = extract_sift(rgb, SiftOptions(backend=backend))
    assert kp.dtype == np.float32 and desc.dtype == np.float32
    assert kp.ndim == 2 and kp.shape[1] == 4 and desc.shape == (len(kp), 128)
    assert len(kp) > 50
    np.testing.assert_allclose(np.linalg.norm(desc, axis=1), 1.0, atol=1e-5)
    assert (desc >= 0).all()
    assert (kp[:, 0] > 0).all() and (kp[:, 0] < 320).all() and (kp[:, 1] > 0).all() and (kp[:, 1] < 240).all()
    assert (kp[:, 2] > 0).all()
    assert (np.abs(kp[:, 3]) <= np.pi + 1e-6).all()
    assert np.ptp(kp[:, 3]) > 1.0  # orientations really vary


@pytest.mark.parametrize("backend", BACKENDS)
def test_blob_location_colmap_convention(backend):
    # Blob centred on pixel index (100, 80): its centre is (100.5, 80.5) in COLMAP's convention.
    kp, _ = extract_sift(blob_image(), SiftOptions(backend=backend))
    assert len(kp) >= 1
    np.testing.assert_allclose(kp[:, :2], np.tile([[100.5, 80.5]], (len(kp), 1)), atol=0.05)
    # SIFT's detected sigma for a Gaussian blob of sigma s is about 0.89 s at this sampling
    np.testing.assert_allclose(kp[:, 2], 6.0 * 0.888, rtol=0.1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_resize_maps_back_to_original_pixels(backend):
    # 2x bigger blob image extracted at half resolution must land on the same original coordinates.
    big = blob_image(h=400, w=480, cx=200, cy=160, sigma=12.0)
    kp, _ = extract_sift(big, SiftOptions(backend=backend, max_image_size=240))
    kp_full, _ = extract_sift(big, SiftOptions(backend=backend, max_image_size=0))
    for k in (kp, kp_full):
        blob = np.argmin(np.linalg.norm(k[:, :2] - [200.5, 160.5], axis=1))
        np.testing.assert_allclose(k[blob, :2], [200.5, 160.5], atol=0.3)
        np.testing.assert_allclose(k[blob, 2], 12.0 * 0.888, rtol=0.1)


def test_backends_agree_on_keypoints():
    img = textured_image(seed=3)
    a, da = extract_sift(img, SiftOptions(backend="opencv", upright=True))
    b, db = extract_sift(img, SiftOptions(backend="pycolmap", upright=True))
    dist = np.linalg.norm(a[:, None, :2] - b[None, :, :2], axis=2)
    nearest = dist.argmin(axis=1)
    same = dist[np.arange(len(a)), nearest] < 0.01
    assert same.mean() > 0.5
    np.testing.assert_allclose(a[same, 2], b[nearest[same], 2], rtol=0.01)
    cos = np.sum(da[same] * db[nearest[same]], axis=1)
    assert np.median(cos) > 0.98


def test_rootsift_formula():
    rng = np.random.default_rng(0)
    raw = rng.random((5, 128)).astype(np.float32) * 100
    got = normalize_descriptors(raw, root_sift=True)
    expected = np.sqrt(raw / raw.sum(axis=1, keepdims=True))
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # RootSIFT of L1-normalised x has unit L2 norm already: Hellinger kernel
    np.testing.assert_allclose(np.sum(got**2, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(normalize_descriptors(raw, False),
                               raw / np.linalg.norm(raw, axis=1, keepdims=True), rtol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rootsift_matches_sift(backend):
    img = textured_image(seed=1)
    kp_r, d_r = extract_sift(img, SiftOptions(backend=backend, root_sift=True))
    kp_s, d_s = extract_sift(img, SiftOptions(backend=backend, root_sift=False))
    np.testing.assert_array_equal(kp_r, kp_s)
    expected = normalize_descriptors(d_s, True)
    if backend == "opencv":
        np.testing.assert_allclose(d_r, expected, atol=1e-5)
    else:  # pycolmap quantises to uint8 after normalising, so only approximately equal there
        assert np.quantile(np.abs(d_r - expected), 0.999) < 0.03


@pytest.mark.parametrize("backend", BACKENDS)
def test_upright(backend):
    img = textured_image(seed=2)
    kp_o, _ = extract_sift(img, SiftOptions(backend=backend))
    kp_u, d_u = extract_sift(img, SiftOptions(backend=backend, upright=True))
    assert (kp_u[:, 3] == 0).all()
    assert len(np.unique(kp_u[:, :3], axis=0)) == len(kp_u)  # one descriptor per location
    assert len(np.unique(kp_o[:, :3], axis=0)) < len(kp_o)  # oriented mode has multi-orientation duplicates
    assert 0 < len(kp_u) <= len(kp_o)
    np.testing.assert_allclose(np.linalg.norm(d_u, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_keypoints(backend):
    img = textured_image(h=480, w=640, seed=4)
    kp, desc = extract_sift(img, SiftOptions(backend=backend, max_keypoints=100))
    assert len(kp) == 100 and len(desc) == 100
    if backend == "opencv":
        kp_all, _ = extract_sift(img, SiftOptions(backend=backend))
        assert len(kp_all) > 100


def test_flat_image_gives_empty_arrays():
    for backend in BACKENDS:
        kp, desc = extract_sift(np.full((64, 64), 128, np.uint8), SiftOptions(backend=backend))
        assert kp.shape == (0, 4) and desc.shape == (0, 128)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="dtype"):
        extract_sift(np.zeros((32, 32), np.float32))
    with pytest.raises(ValueError, match="shape"):
        extract_sift(np.zeros((2, 32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match="backend"):
        SiftOptions(backend="vlfeat")


def test_make_extractor_binds_options():
    extract = make_sift_extractor(SiftOptions(max_keypoints=10))
    kp, desc = extract(textured_image())
    assert len(kp) == 10 and desc.shape == (10, 128)


def test_registry_local_lookup():
    from kapturelike.features.registry import UnknownExtractorError, get_local_extractor

    img = textured_image(seed=5)
    extract = get_local_extractor("sift-pycolmap", SiftOptions(max_keypoints=20))
    kp, desc = extract(img)
    ref_kp, ref_desc = extract_sift(img, SiftOptions(max_keypoints=20, backend="pycolmap"))
    np.testing.assert_array_equal(kp, ref_kp)
    np.testing.assert_array_equal(desc, ref_desc)
    assert len(get_local_extractor("SIFT")(img)[0]) > 0
    with pytest.raises(UnknownExtractorError, match="unknown local extractor"):
        get_local_extractor("orb")
    with pytest.raises(TypeError):
        get_local_extractor("sift", options={"max_keypoints": 5})
    with pytest.raises(ValueError):  # needs a loaded network (or its module)
        get_local_extractor("r2d2")


def test_registry_r2d2_delegates():
    r2d2 = pytest.importorskip("kapturelike.features.r2d2")
    from kapturelike.features.registry import get_local_extractor

    net = r2d2.build_r2d2().eval()
    options = r2d2.R2D2Options(reliability_thr=0.0, repeatability_thr=0.0, top_k=50, min_size=48)
    img = np.repeat(textured_image(h=48, w=64)[:, :, None], 3, axis=2)
    kp, desc = get_local_extractor("r2d2", options, model=(net, {}))(img)
    ref = r2d2.extract_r2d2(img, net, options)
    np.testing.assert_array_equal(kp, ref[0])
    np.testing.assert_array_equal(desc, ref[1])
    assert kp.dtype == np.float32 and len(kp) == len(desc)
