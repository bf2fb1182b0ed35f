"""Geometry of the synthetic renderer: occlusion, projection, exact depth, pose helpers."""

from __future__ import annotations

import numpy as np
import pytest

from kapturelike.core.pose import quat_to_rotmat, rotmat_to_quat
from kapturelike.core.sensors import Camera
from kapturelike.synthetic.render import (
    Illumination,
    RenderOptions,
    Scene,
    backproject,
    cast_rays,
    project,
    render,
    render_depth,
)
from kapturelike.synthetic.scene import look_pose

CAM = Camera("PINHOLE", 160, 120, (100.0, 110.0, 80.0, 60.0))
FLAT = Illumination(light_direction=(0.0, 0.0, 1.0), ambient=1.0, diffuse=0.0)
IDENTITY = (np.array([1.0, 0, 0, 0]), np.zeros(3))


def _tilted_pose(centre: tuple[float, float, float], yaw: float,
                 pitch: float) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera pose of a camera at ``centre`` whose +z axis is turned away from world +z."""
    cy, sy, cp, sp = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch)
    R = np.array([[cy, 0, -sy], [0, 1, 0], [sy, 0, cy]]) @ np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    return rotmat_to_quat(R), -R @ np.asarray(centre, np.float64)


def _plain(colour: tuple[int, int, int], size: int = 16) -> list[np.ndarray]:
    return [np.full((size, size, 3), colour, np.uint8)]


def _wall_and_box_scene() -> Scene:
    """Camera frame = world frame: a red wall at z = 5 and a green square at z = 3 in front of it."""
    # seen from the camera (looking down +z), right is +x and down is +y: u = +x, v = +y
    origins = [(-10.0, -10.0, 5.0), (-0.5, -0.5, 3.0)]
    us = [(20.0, 0, 0), (1.0, 0, 0)]
    vs = [(0, 20.0, 0), (0, 1.0, 0)]
    return Scene(origins, us, vs, [_plain((200, 0, 0)), _plain((0, 200, 0))], ("wall", "box"))


def test_occlusion_nearest_surface_wins():
    scene = _wall_and_box_scene()
    assert np.allclose(scene.normals, [[0, 0, -1], [0, 0, -1]])  # both face the camera
    out = render(scene, CAM, *IDENTITY, illumination=FLAT)
    # the box spans x, y in [-0.5, 0.5] at z = 3: pixels [80 - 16.7, 80 + 16.7] x [60 - 18.3, 60 + 18.3]
    assert np.allclose(out.depth[50:70, 70:90], 3.0, atol=1e-5)
    assert np.all(out.quad_ids[50:70, 70:90] == 1)
    assert np.allclose(out.depth[:30], 5.0, atol=1e-5)
    assert np.all(out.quad_ids[:30] == 0)
    assert np.all(out.image[55:65, 75:85] == (0, 200, 0))
    assert np.all(out.image[:20, :20] == (200, 0, 0))
    # hidden wall texels do not leak through: exactly the box's pixel extent is green
    green = np.all(out.image == (0, 200, 0), axis=2)
    cols = np.flatnonzero(green.any(axis=0))
    assert cols.min() in (63, 64) and cols.max() in (95, 96)


def test_back_faces_are_invisible():
    scene = _wall_and_box_scene()
    flipped = Scene(scene.origins[1:] + [[0, 1.0, 0]], scene.u_axes[1:], -scene.v_axes[1:],
                    scene.textures[1:])
    assert np.allclose(flipped.normals, [[0, 0, 1]])
    assert np.all(np.isinf(render_depth(flipped, CAM, *IDENTITY)))


def test_depth_matches_analytic_plane_distance():
    scene = _wall_and_box_scene()
    q, t = _tilted_pose((1.0, -0.5, -2.0), 0.6, 0.25)  # sees the wall obliquely, box partly
    R, C = quat_to_rotmat(q), -quat_to_rotmat(q).T @ t
    depth = render(scene, CAM, q, t, options=RenderOptions(supersample=2)).depth
    ys, xs = np.mgrid[0:CAM.height, 0:CAM.width] + 0.5
    # world directions of the rays whose camera-frame z is 1
    rays = np.stack([(xs - 80.0) / 100.0, (ys - 60.0) / 110.0, np.ones_like(xs)], axis=-1) @ R
    lam = (5.0 - C[2]) / rays[..., 2]  # camera-frame depth of the wall plane z = 5
    hit = np.isfinite(depth) & (render(scene, CAM, q, t).quad_ids == 0)
    assert hit.mean() > 0.5
    assert np.allclose(depth[hit], lam[hit], rtol=1e-5)
    exact, ids = cast_rays(scene, CAM, q, t, np.stack([xs[hit], ys[hit]], axis=1))
    assert np.mean(ids == 0) > 0.99  # the rest: edge pixels whose centre just misses the wall
    assert np.allclose(exact[ids == 0], lam[hit][ids == 0], rtol=1e-12)


def test_texture_feature_projects_where_rendered():
    """A bright dot painted on the wall appears at the pixel the 3D point projects to."""
    tex = np.zeros((200, 200, 3), np.uint8)
    tex[119:122, 59:62] = 255  # centred on texel (60.5, 120.5) in pixel-centre convention
    scene = Scene([(-2.0, -2.0, 6.0)], [(4.0, 0, 0)], [(0, 4.0, 0)], [[tex]], background=(0.0, 0.0, 0.0))
    point = np.array([-2.0 + 4.0 * 60.5 / 200, -2.0 + 4.0 * 120.5 / 200, 6.0])
    q, t = _tilted_pose((0.3, 0.2, 0.5), 0.2, -0.15)
    xy, z = project(CAM, q, t, point[None])
    img = render(scene, CAM, q, t, illumination=FLAT, options=RenderOptions(supersample=3)).image
    img = img.astype(float)
    w = img[..., 0]
    ys, xs = np.mgrid[0:CAM.height, 0:CAM.width] + 0.5
    centroid = np.array([(w * xs).sum(), (w * ys).sum()]) / w.sum()
    assert z[0] > 0 and 5 < xy[0, 0] < 155 and 5 < xy[0, 1] < 115
    assert np.linalg.norm(centroid - xy[0]) < 0.2  # sub-pixel: the pixel convention is right


def test_project_backproject_round_trip():
    rng = np.random.default_rng(0)
    q, t = look_pose(np.array([0.5, -1.0, 1.5]), 0.7, -0.2)
    xy = rng.random((50, 2)) * (CAM.width, CAM.height)
    z = rng.uniform(0.5, 20.0, 50)
    X = backproject(CAM, q, t, xy, z)
    xy2, z2 = project(CAM, q, t, X)
    assert np.allclose(xy2, xy, atol=1e-9) and np.allclose(z2, z, atol=1e-9)


def test_bad_input_is_refused():
    scene = _wall_and_box_scene()
    with pytest.raises(ValueError, match="PINHOLE"):
        render(scene, Camera("OPENCV", 10, 10, (5, 5, 5, 5, 0.1, 0, 0, 0)), *IDENTITY)
    with pytest.raises(ValueError, match="pose"):
        render(scene, CAM, np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="supersample"):
        render(scene, CAM, *IDENTITY, options=RenderOptions(supersample=0))
    with pytest.raises(ValueError, match="one entry per quad"):
        Scene(scene.origins, scene.u_axes, scene.v_axes, scene.textures[:1])
    with pytest.raises(ValueError, match="textures"):
        Scene(scene.origins[:1], scene.u_axes[:1], scene.v_axes[:1], [[np.zeros((4, 4), np.uint8)]])


def test_mip_mapping_removes_aliasing():
    """A 1-texel checkerboard seen from far: the mip levels average it to grey, point sampling aliases."""
    from kapturelike.synthetic.scene import mip_pyramid

    checker = ((np.indices((256, 256)).sum(axis=0) % 2) * 255).astype(np.uint8)
    pyramid = mip_pyramid(np.repeat(checker[..., None], 3, axis=2))
    scene = Scene([(-2.0, -2.0, 20.0)], [(4.0, 0, 0)], [(0, 4.0, 0)], [pyramid])
    box = (slice(52, 68), slice(72, 88))  # well inside the quad's 20 x 22 pixels
    smooth = render(scene, CAM, *IDENTITY, illumination=FLAT).image[box].astype(float)
    aliased = render(scene, CAM, *IDENTITY, illumination=FLAT,
                     options=RenderOptions(lod_bias=-20.0)).image[box].astype(float)
    assert abs(smooth.mean() - 127.5) < 10 and smooth.std() < 5
    assert aliased.std() > 30  # moire: samples land on black, white or between
