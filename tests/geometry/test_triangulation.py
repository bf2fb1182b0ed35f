"""Triangulation with known poses on a synthetic scene: matching -> verification -> triangulation."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pycolmap
import pytest

from kapturelike.core.sensors import Camera
from kapturelike.geometry.colmap_model import build_reconstruction, rigid3d_to_pose
from kapturelike.geometry.triangulation import (
    TriangulationInputError,
    TriangulationOptions,
    triangulate,
    triangulate_known_poses,
)
from kapturelike.matching.mnn import MatchingOptions, match_pairs
from kapturelike.matching.verification import VerificationOptions, verify_pairs

CAMERAS = {"cam0": Camera("SIMPLE_RADIAL", 640, 480, (500.0, 320.0, 240.0, -0.02)),
           "cam1": Camera("PINHOLE", 640, 480, (450.0, 455.0, 319.5, 240.5))}


def look_at(center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = -center / np.linalg.norm(center)
    x = np.cross([0.0, 1.0, 0.0], z)
    x /= np.linalg.norm(x)
    r = np.stack([x, np.cross(z, x), z])
    return pycolmap.Rotation3d(r).quat[[3, 0, 1, 2]], -r @ center


def project(points, q, t, camera) -> np.ndarray:
    cam = pycolmap.Camera(model=camera.model, width=camera.width, height=camera.height,
                          params=list(camera.params), camera_id=1)
    return np.asarray(cam.img_from_cam(points @ pycolmap.Rotation3d(q[[1, 2, 3, 0]]).matrix().T + t))


@dataclass
class Scene:
    points: np.ndarray
    images: list  # (name, camera key, q, t)
    keypoints: dict
    descriptors: dict
    point_of_keypoint: dict  # name -> (N,) index of the true 3D point, -1 for a distractor
    pixels: dict


def make_scene(seed: int = 0, n_images: int = 5, n_points: int = 200, n_distractors: int = 40) -> Scene:
    rng = np.random.default_rng(seed)
    points = rng.uniform(-1, 1, (n_points, 3))
    point_desc = rng.normal(size=(n_points, 64))
    point_desc /= np.linalg.norm(point_desc, axis=1, keepdims=True)
    images, keypoints, descriptors, owner, pixels = [], {}, {}, {}, {}
    for k, angle in enumerate(np.radians(np.linspace(-30, 30, n_images))):
        name = f"map/{k:03d}.jpg"
        cam_key = f"cam{k % 2}"
        q, t = look_at(6.0 * np.array([np.sin(angle), 0.3 * (k % 2), -np.cos(angle)]))
        images.append((name, cam_key, q, t))
        kp = np.vstack([project(points, q, t, CAMERAS[cam_key]), rng.uniform(0, 480, (n_distractors, 2))])
        desc = np.vstack([point_desc + 0.02 * rng.normal(size=point_desc.shape) / 8,
                          rng.normal(size=(n_distractors, 64))])
        own = np.r_[np.arange(n_points), -np.ones(n_distractors, int)]
        perm = rng.permutation(len(kp))
        keypoints[name], descriptors[name], owner[name] = kp[perm].astype(np.float32), desc[perm], own[perm]
        # image whose pixel colour encodes the image index, to check colour sampling
        pixels[name] = np.full((480, 640, 3), (10 * k, 100, 200), np.uint8)
    return Scene(points, images, keypoints, descriptors, owner, pixels)


def verified_matches(scene: Scene, pairs) -> dict:
    raw = match_pairs([(scene.descriptors[a], scene.descriptors[b]) for a, b in pairs],
                      MatchingOptions(ratio_threshold=0.8, device="cpu"))
    poses = {name: (q, t) for name, _, q, t in scene.images}
    cameras = {name: CAMERAS[cam] for name, cam, _, _ in scene.images}
    results = verify_pairs(pairs, raw, scene.keypoints, cameras, poses, VerificationOptions(num_workers=1))
    assert all(r.success for r in results)
    return {pair: r.matches for pair, r in zip(pairs, results)}


@pytest.fixture(scope="module")
def scene() -> Scene:
    return make_scene()


def test_triangulation_recovers_points_and_keeps_poses(scene):
    names = [e[0] for e in scene.images]
    pairs = list(combinations(names, 2))
    matches = verified_matches(scene, pairs)
    rec = build_reconstruction(CAMERAS, scene.images, scene.keypoints)
    res = triangulate(rec, matches, TriangulationOptions(), images=scene.pixels)

    assert rec.num_points3D() == 0  # input left untouched
    assert res.points3d.shape == (len(res.observations), 3) and res.points3d.dtype == np.float64
    assert len(res.points3d) == len(scene.points)  # every true point, once (tracks merged)
    for xyz, obs in zip(res.points3d, res.observations):
        owners = {int(scene.point_of_keypoint[name][idx]) for name, idx in obs}
        assert len(owners) == 1 and -1 not in owners  # one true point, no distractor
        assert sorted(name for name, _ in obs) == names  # seen by every image
        np.testing.assert_allclose(xyz, scene.points[owners.pop()], atol=1e-3)
    assert res.mean_reprojection_error < 1e-3 and np.all(res.errors < 1e-2)
    for name, _, q, t in scene.images:
        q_out, t_out = rigid3d_to_pose(res.reconstruction.find_image_with_name(name).cam_from_world())
        np.testing.assert_allclose(q_out, q, atol=1e-12)
        np.testing.assert_allclose(t_out, t, atol=1e-12)
        assert res.image_stats[name].num_observations == len(scene.points)
        assert res.image_stats[name].num_keypoints == len(scene.keypoints[name])
    # colour: mean over the 5 images of (10 k, 100, 200)
    np.testing.assert_array_equal(res.colors, np.tile([20, 100, 200], (len(res.colors), 1)).astype(np.uint8))


def test_noisy_keypoints_and_filtering():
    scene = make_scene(seed=1, n_images=4, n_points=120)
    rng = np.random.default_rng(7)
    noisy = {k: v + rng.normal(scale=0.5, size=v.shape).astype(np.float32) for k, v in scene.keypoints.items()}
    names = [e[0] for e in scene.images]
    pairs = list(combinations(names, 2))
    matches = verified_matches(scene, pairs)
    # one wrong correspondence per pair that verification would have caught
    for (a, b) in pairs:
        ia = int(np.flatnonzero(scene.point_of_keypoint[a] == 5)[0])
        ib = int(np.flatnonzero(scene.point_of_keypoint[b] == 90)[0])
        matches[(a, b)] = np.vstack([matches[(a, b)][~np.isin(matches[(a, b)][:, 0], [ia])], [ia, ib]])
    res = triangulate_known_poses(CAMERAS, scene.images, noisy, matches)
    assert len(res.points3d) >= 110
    assert 0.1 < res.mean_reprojection_error < 2.0
    for xyz, obs in zip(res.points3d, res.observations):
        owners = [int(scene.point_of_keypoint[name][idx]) for name, idx in obs]
        truth = max(set(owners), key=owners.count)
        assert owners.count(truth) >= len(owners) - 1
        assert np.linalg.norm(xyz - scene.points[truth]) < 0.05
    assert np.all(res.errors <= 4.0)
    assert np.all(res.colors == 128)
    # the points-only bundle adjustment lowers the reprojection error, poses untouched
    plain = triangulate_known_poses(CAMERAS, scene.images, noisy, matches, TriangulationOptions(bundle_adjust=False))
    assert res.mean_reprojection_error < plain.mean_reprojection_error


def test_two_view_tracks_option():
    scene = make_scene(seed=2, n_images=2, n_points=60, n_distractors=0)
    names = [e[0] for e in scene.images]
    matches = verified_matches(scene, [(names[0], names[1])])
    ignored = triangulate_known_poses(CAMERAS, scene.images, scene.keypoints, matches,
                                      TriangulationOptions(ignore_two_view_tracks=True))
    assert len(ignored.points3d) == 0  # COLMAP's default: two-view tracks ignored
    kept = triangulate_known_poses(CAMERAS, scene.images, scene.keypoints, matches,
                                   TriangulationOptions(bundle_adjust=False))  # ours: kept
    assert len(kept.points3d) == 60
    assert all(len(obs) == 2 for obs in kept.observations)


def test_unposed_image_is_not_used():
    scene = make_scene(seed=3, n_images=4, n_points=80, n_distractors=0)
    names = [e[0] for e in scene.images]
    matches = verified_matches(scene, list(combinations(names, 2)))
    images = list(scene.images)
    images[3] = (images[3][0], images[3][1], None, None)
    res = triangulate_known_poses(CAMERAS, images, scene.keypoints, matches)
    assert list(res.image_stats) == names
    assert res.image_stats[names[3]].num_observations == 0
    assert [res.image_stats[n].num_observations for n in names[:3]] == [80, 80, 80]
    assert all(names[3] not in {n for n, _ in obs} for obs in res.observations)
    np.testing.assert_allclose(res.points3d, scene.points[[int(scene.point_of_keypoint[n][i]) for n, i in
                                                         (obs[0] for obs in res.observations)]], atol=1e-3)


def test_bad_matches_raise(scene):
    rec = build_reconstruction(CAMERAS, scene.images, scene.keypoints)
    a, b = scene.images[0][0], scene.images[1][0]
    with pytest.raises(TriangulationInputError, match="not in the reconstruction"):
        triangulate(rec, {(a, "nope.jpg"): np.zeros((1, 2), np.int64)})
    with pytest.raises(TriangulationInputError, match="out of range"):
        triangulate(rec, {(a, b): np.array([[0, 100_000]])})
    with pytest.raises(TriangulationInputError, match="ba_loss"):
        triangulate(rec, {(a, b): np.array([[0, 0]])}, TriangulationOptions(ba_loss="L3"))


def colmap_point_triangulator(rec, keypoints, matches, tmp_path, ignore_two_view_tracks):
    """COLMAP's own route (database + pycolmap.triangulate_points), the oracle for our in-memory one."""
    db = pycolmap.Database.open(tmp_path / "database.db")
    for camera in rec.cameras.values():
        db.write_camera(camera, use_camera_id=True)
    for rig in rec.rigs.values():
        db.write_rig(rig, use_rig_id=True)
    for frame in rec.frames.values():
        bare = pycolmap.Frame(frame_id=frame.frame_id, rig_id=frame.rig_id)
        for data_id in frame.data_ids:
            bare.add_data_id(data_id)
        db.write_frame(bare, use_frame_id=True)
    ids = {}
    for image_id, image in rec.images.items():
        bare = pycolmap.Image(name=image.name, camera_id=image.camera_id, image_id=image_id)
        bare.frame_id = image.frame_id
        ids[image.name] = db.write_image(bare, use_image_id=True)
        db.write_keypoints(image_id, keypoints[image.name].astype(np.float32))
    for (a, b), m in matches.items():
        geometry = pycolmap.TwoViewGeometry()
        geometry.config = pycolmap.TwoViewGeometryConfiguration.CALIBRATED
        geometry.inlier_matches = m.astype(np.uint32)
        db.write_matches(ids[a], ids[b], m.astype(np.uint32))
        db.write_two_view_geometry(ids[a], ids[b], geometry)
    db.close()
    options = pycolmap.IncrementalPipelineOptions()
    options.triangulation.ignore_two_view_tracks = ignore_two_view_tracks
    (tmp_path / "out").mkdir()
    return pycolmap.triangulate_points(rec, tmp_path / "database.db", tmp_path, tmp_path / "out", options=options)


@pytest.mark.parametrize("ignore_two_view_tracks", [True, False])
def test_agrees_with_colmap_point_triangulator(tmp_path, ignore_two_view_tracks):
    scene = make_scene(seed=4, n_images=4, n_points=150)
    rng = np.random.default_rng(8)
    noisy = {k: v + rng.normal(scale=0.7, size=v.shape).astype(np.float32) for k, v in scene.keypoints.items()}
    names = [e[0] for e in scene.images]
    # sparser matches so that some points are seen by two images only
    matches = {pair: m[rng.random(len(m)) < 0.6] for pair, m in
               verified_matches(scene, list(combinations(names, 2))).items()}
    rec = build_reconstruction(CAMERAS, scene.images, noisy)
    ours = triangulate(rec, matches, TriangulationOptions(ignore_two_view_tracks=ignore_two_view_tracks))
    colmap = colmap_point_triangulator(rec, noisy, matches, tmp_path, ignore_two_view_tracks)
    assert abs(len(ours.points3d) - colmap.num_points3D()) <= 0.03 * colmap.num_points3D()
    assert abs(ours.mean_reprojection_error - colmap.compute_mean_reprojection_error()) < 0.05
    # same points: every COLMAP point has one of ours within 1 cm
    theirs = np.array([p.xyz for p in colmap.points3D.values()])
    nearest = np.min(np.linalg.norm(theirs[:, None] - ours.points3d[None], axis=2), axis=1)
    assert np.mean(nearest < 0.01) > 0.95
