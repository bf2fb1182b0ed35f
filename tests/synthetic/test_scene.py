"""The default synthetic dataset: determinism, layout, overlaps, files, and SIFT under new light."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kapturelike.core.pose import quat_to_rotmat
from kapturelike.io.images import load_image
from kapturelike.synthetic.render import backproject, cast_rays, project
from kapturelike.synthetic.scene import SyntheticOptions, generate_dataset, write_images

SMALL = dict(width=96, height=72, focal=75.0, num_mapping=4, num_sequences=1, sequence_length=2,
             texels_per_metre=40.0)


@pytest.fixture(scope="module")
def dataset():
    return generate_dataset(SyntheticOptions())


def _centre(q: np.ndarray, t: np.ndarray) -> np.ndarray:
    return -quat_to_rotmat(q).T @ t


def test_same_seed_same_bytes_other_seed_other_images():
    a = generate_dataset(SyntheticOptions(**SMALL))
    b = generate_dataset(SyntheticOptions(**SMALL, workers=1))
    c = generate_dataset(SyntheticOptions(**SMALL, seed=1))
    for x, y in zip(a.mapping + a.queries, b.mapping + b.queries):
        assert x.name == y.name and x.image.tobytes() == y.image.tobytes()
        assert x.depth.tobytes() == y.depth.tobytes()
        assert np.array_equal(x.q, y.q) and np.array_equal(x.t, y.t)
    assert all(not np.array_equal(x.image, z.image) for x, z in zip(a.mapping, c.mapping))


def test_layout(dataset):
    o = dataset.options
    assert len(dataset.mapping) == 24 and len(dataset.queries) == 16
    assert dataset.mapping[0].name == "mapping/cam0/000001.png"
    assert {im.name.split("/")[1] for im in dataset.queries} == {"cam0", "cam1"}
    assert len({im.name for im in dataset.mapping + dataset.queries}) == 40
    assert [len(s) for s in dataset.sequences] == [4, 4]
    first, second = dataset.sequences
    assert second[0] - first[-1] > 10 * (first[1] - first[0])  # a time gap between sequences
    cam = dataset.cameras["cam0"]
    assert cam.model == "PINHOLE" and (cam.width, cam.height) == (o.width, o.height)
    for im in dataset.mapping + dataset.queries:
        assert im.image.shape == (o.height, o.width, 3) and im.image.dtype == np.uint8
        assert im.depth.shape == (o.height, o.width) and np.isfinite(im.depth).mean() > 0.99
        assert np.isclose(np.linalg.norm(im.q), 1.0)
    # cam_from_world = cam_from_rig * rig_from_world, with the two cameras 0.3 m apart
    for im in dataset.queries:
        q_rig, t_rig = dataset.rig_poses[im.timestamp]
        q_cr, t_cr = dataset.cam_from_rig[im.sensor_id]
        R = quat_to_rotmat(q_cr) @ quat_to_rotmat(q_rig)
        assert np.allclose(quat_to_rotmat(im.q), R)
        assert np.allclose(im.t, quat_to_rotmat(q_cr) @ t_rig + t_cr)
    c0 = _centre(*dataset.cam_from_rig["query_cam0"])
    c1 = _centre(*dataset.cam_from_rig["query_cam1"])
    assert np.isclose(np.linalg.norm(c0 - c1), 0.3)
    # queries are elsewhere than the mapping cameras: 0.3 to 1 m from the nearest one
    map_centres = np.array([_centre(im.q, im.t) for im in dataset.mapping])
    for im in dataset.queries:
        nearest = np.linalg.norm(map_centres - _centre(im.q, im.t), axis=1).min()
        assert 0.3 <= nearest <= 1.0


def _covisible(dataset, a, b, step: int = 8) -> float:
    """Fraction of a's pixels whose surface point b sees (in its image, not occluded)."""
    cam = dataset.cameras["cam0"]
    ys, xs = np.mgrid[0:cam.height:step, 0:cam.width:step] + 0.5
    xy = np.stack([xs.ravel(), ys.ravel()], axis=1)
    X = backproject(cam, a.q, a.t, xy, a.depth[ys.astype(int), xs.astype(int)].ravel())
    uv, z = project(cam, b.q, b.t, X)
    inside = (z > 0) & np.all((uv > 0) & (uv < (cam.width, cam.height)), axis=1)
    zb, _ = cast_rays(dataset.scene, cam, b.q, b.t, uv[inside])
    return float(np.sum(np.abs(zb - z[inside]) < 0.01) / len(xy))


def test_neighbouring_mapping_views_overlap_and_queries_see_the_map(dataset):
    m = dataset.mapping
    overlaps = [_covisible(dataset, m[k], m[(k + 1) % len(m)]) for k in range(len(m))]
    assert min(overlaps) > 0.5
    for im in dataset.queries:
        assert max(_covisible(dataset, im, ref) for ref in m) > 0.5


def test_write_images(tmp_path):
    ds = generate_dataset(SyntheticOptions(**SMALL))
    paths = write_images(ds, tmp_path)
    assert len(paths) == len(ds.mapping) + len(ds.queries)
    for im, p in zip(ds.mapping + ds.queries, paths):
        assert p == tmp_path / im.name and np.array_equal(load_image(p), im.image)
    assert not list(tmp_path.rglob("*.tmp"))


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="num_mapping"):
        generate_dataset(SyntheticOptions(num_mapping=1))
    with pytest.raises(ValueError, match="image size"):
        generate_dataset(SyntheticOptions(width=0))


def _sift(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    kps, desc = cv2.SIFT_create().detectAndCompute(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), None)
    return np.array([k.pt for k in kps], np.float64) + 0.5, desc  # OpenCV -> COLMAP pixel centres


def test_sift_matches_map_to_query_under_changed_light(dataset):
    """>= 50 ratio-test matches that the ground truth geometry confirms to < 3 px, for every query."""
    cam = dataset.cameras["cam0"]
    map_centres = np.array([_centre(im.q, im.t) for im in dataset.mapping])
    matcher = cv2.BFMatcher(cv2.NORM_L2)
    for query in dataset.queries[::3]:
        ref = dataset.mapping[int(np.argmin(np.linalg.norm(map_centres - _centre(query.q, query.t), axis=1)))]
        # the light did change
        assert not np.allclose(ref.image.mean(axis=(0, 1)), query.image.mean(axis=(0, 1)), atol=3)
        ka, da = _sift(ref.image)
        kb, db = _sift(query.image)
        knn = matcher.knnMatch(da, db, k=2)
        pairs = np.array([(m.queryIdx, m.trainIdx) for m, n in knn if m.distance < 0.8 * n.distance])
        z, _ = cast_rays(dataset.scene, cam, ref.q, ref.t, ka[pairs[:, 0]])
        X = backproject(cam, ref.q, ref.t, ka[pairs[:, 0]], z)
        uv, zq = project(cam, query.q, query.t, X)
        zq_seen, _ = cast_rays(dataset.scene, cam, query.q, query.t, uv)
        visible = np.isfinite(z) & (np.abs(zq_seen - zq) < 0.02)
        verified = visible & (np.linalg.norm(uv - kb[pairs[:, 1]], axis=1) < 3.0)
        assert verified.sum() >= 50, (query.name, ref.name, int(verified.sum()), len(pairs))
        # the same matches localize the query: images, poses and pixel convention agree
        ok, rvec, tvec, inliers = cv2.solvePnPRansac(
            X[np.isfinite(z)], kb[pairs[np.isfinite(z), 1]], cam.K, None,  # both in COLMAP convention
            reprojectionError=2.0, iterationsCount=1000, flags=cv2.SOLVEPNP_SQPNP)
        assert ok and len(inliers) >= 50
        R_est = cv2.Rodrigues(rvec)[0]
        angle = np.degrees(np.arccos(np.clip((np.trace(R_est.T @ quat_to_rotmat(query.q)) - 1) / 2, -1, 1)))
        offset = np.linalg.norm(-R_est.T @ tvec.ravel() - _centre(query.q, query.t))
        assert angle < 0.2 and offset < 0.01  # measured: < 0.04 degrees and < 4 mm
