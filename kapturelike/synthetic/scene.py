"""The built-in synthetic dataset: a textured courtyard, a mapping path and a 2-camera query rig.

A 12 m x 8 m courtyard (x east, y north, z up, floor at z = 0) with 4 m walls and three boxes; every
face carries its own seeded procedural texture (multi-octave value noise plus strokes, rectangles,
ellipses and letters at several scales), so SIFT finds many distinctive corners and blobs. Mapping
cameras walk an ellipse looking outwards at the walls; query images come from a stereo rig on a
smaller ellipse (other positions, heights and yaws) under another light and camera response, as
two sequences of consecutive timestamps with a time gap between them. Everything follows from
``SyntheticOptions`` (seed included): the same options give identical bytes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from kapturelike.core.pose import compose, rotmat_to_quat
from kapturelike.core.sensors import Camera
from kapturelike.io.images import save_image
from kapturelike.synthetic.render import (
    Illumination,
    RenderOptions,
    Scene,
    render,
)

# (centre x, centre y, size x, size y, height) in metres: in front of the walls, so they occlude them
DEFAULT_BOXES = ((4.3, 1.3, 1.0, 1.2, 1.1), (-0.8, -2.9, 1.4, 0.8, 0.9), (-4.4, 2.3, 0.8, 0.9, 1.6))
_EMPTY = np.zeros((0, 0), np.uint8)  # placeholder until the image is rendered
QUERY_ILLUMINATION = Illumination(light_direction=(-0.6, 0.5, 0.62), ambient=0.42, diffuse=0.75, gain=0.85,
                                  gamma=1.2, colour=(1.06, 0.97, 0.86))


@dataclass
class SyntheticOptions:
    seed: int = 0
    width: int = 640
    height: int = 480
    focal: float = 500.0  # pixels, both axes; principal point at the image centre
    num_mapping: int = 24  # views on the mapping ellipse, one full turn
    num_sequences: int = 2  # query sequences ...
    sequence_length: int = 4  # ... of this many rig timestamps each
    area: tuple[float, float] = (12.0, 8.0)  # courtyard size along x and y, metres
    wall_height: float = 4.0
    boxes: tuple[tuple[float, float, float, float, float], ...] = DEFAULT_BOXES
    texels_per_metre: float = 160.0
    mapping_path: tuple[float, float, float] = (2.2, 1.0, 1.6)  # ellipse semi-axes x, y and camera height
    query_path: tuple[float, float, float] = (1.7, 0.5, 1.45)  # 0.5 m inside the mapping ellipse, lower
    mapping_jitter_deg: float = 2.0  # seeded uniform noise on the mapping headings and pitches
    query_yaw_deg: float = 9.0  # query heading offset from straight outwards
    query_step_deg: float = 7.0  # rig motion along its ellipse between timestamps
    rig_baseline: float = 0.3  # metres between the two rig cameras
    rig_yaw_deg: float = 4.0  # each rig camera yaws this much outwards (they diverge slightly)
    mapping_illumination: Illumination = field(default_factory=Illumination)
    query_illumination: Illumination = field(default_factory=lambda: QUERY_ILLUMINATION)
    render: RenderOptions = field(default_factory=RenderOptions)
    workers: int = 2  # rendering threads (the result does not depend on it)


@dataclass
class SyntheticImage:
    name: str  # kapture record path, e.g. 'mapping/cam0/000001.png'
    sensor_id: str
    timestamp: int
    q: np.ndarray  # (4,) world-to-camera rotation, wxyz
    t: np.ndarray  # (3,) world-to-camera translation
    image: np.ndarray  # uint8 (H, W, 3) RGB
    depth: np.ndarray  # float32 (H, W) camera-frame z at pixel centres, inf for sky


@dataclass
class SyntheticDataset:
    options: SyntheticOptions
    scene: Scene
    cameras: dict[str, Camera]  # sensor id -> PINHOLE camera
    rig_id: str
    cam_from_rig: dict[str, tuple[np.ndarray, np.ndarray]]  # query sensor id -> (q, t)
    mapping: list[SyntheticImage]
    queries: list[SyntheticImage]  # both rig cameras per timestamp, in timestamp order
    rig_poses: dict[int, tuple[np.ndarray, np.ndarray]]  # query timestamp -> rig-from-world (q, t)
    sequences: list[list[int]]  # query timestamps of each sequence


def _value_noise(rng: np.random.Generator, h: int, w: int, cell: int, channels: int) -> np.ndarray:
    grid = rng.random((h // cell + 2, w // cell + 2, channels), dtype=np.float32)
    out = cv2.resize(grid, ((w // cell + 2) * cell, (h // cell + 2) * cell), interpolation=cv2.INTER_CUBIC)
    return out.reshape(out.shape[0], out.shape[1], channels)[:h, :w]


def noise_image(seed: int, height: int, width: int, cells: tuple[int, ...] = (4, 8, 16, 32)) -> np.ndarray:
    """uint8 (height, width) grey image: value noise summed over several cell sizes, stretched to full range.

    Blob-like structure at every scale, so detectors (SIFT, DISK, XFeat, dense SIFT) find plenty.
    """
    rng = np.random.default_rng(seed)
    img = np.zeros((height, width), np.float32)
    for cell in cells:
        small = rng.random((height // cell + 1, width // cell + 1)).astype(np.float32)
        img += cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    img = (img - img.min()) / (img.max() - img.min())
    return (img * 255).astype(np.uint8)


def make_texture(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """uint8 (height, width, 3) texture rich in corners and blobs at several scales."""
    base = rng.random(3, dtype=np.float32) * 0.6 + 0.2
    tex = np.zeros((height, width, 3), np.float32)
    # coarse octaves vary the colour, fine ones only the brightness (half the work, same detail)
    for k, (cell, channels) in enumerate(((96, 3), (32, 3), (12, 1), (4, 1))):
        tex += (0.5 ** (k + 1)) * (_value_noise(rng, height, width, cell, channels) - 0.5)
    tex += base
    img = np.ascontiguousarray(np.clip(tex * 255.0 + 0.5, 0, 255).astype(np.uint8))
    n_shapes = int(width * height / 900)  # about one shape per 30 x 30 texels
    kinds = rng.integers(0, 4, n_shapes)
    centres = rng.random((n_shapes, 2)) * (width, height)
    sizes = np.exp(rng.uniform(np.log(3.0), np.log(45.0), (n_shapes, 2)))
    colours = rng.integers(0, 256, (n_shapes, 3))
    angles = rng.uniform(0, 180, n_shapes)
    thick = rng.integers(1, 4, n_shapes)
    letters = rng.integers(0, 36, (n_shapes, 2))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    for k in range(n_shapes):  # once per scene, a few thousand calls: not a hot path
        c = tuple(int(v) for v in centres[k])
        s = tuple(int(v) for v in sizes[k])
        col = tuple(int(v) for v in colours[k])
        if kinds[k] == 0:
            cv2.rectangle(img, (c[0] - s[0], c[1] - s[1]), (c[0] + s[0], c[1] + s[1]), col, -1)
        elif kinds[k] == 1:
            cv2.ellipse(img, c, s, float(angles[k]), 0, 360, col, -1, cv2.LINE_AA)
        elif kinds[k] == 2:
            d = (int(s[0] * np.cos(np.radians(angles[k]))), int(s[0] * np.sin(np.radians(angles[k]))))
            cv2.line(img, (c[0] - d[0], c[1] - d[1]), (c[0] + d[0], c[1] + d[1]), col, int(thick[k]),
                     cv2.LINE_AA)
        else:
            text = alphabet[letters[k, 0]] + alphabet[letters[k, 1]]
            cv2.putText(img, text, c, cv2.FONT_HERSHEY_SIMPLEX, s[1] / 20.0, col, int(thick[k]), cv2.LINE_AA)
    return img


def mip_pyramid(texture: np.ndarray) -> list[np.ndarray]:
    levels = [texture]
    while min(levels[-1].shape[:2]) > 8:
        levels.append(cv2.pyrDown(levels[-1]))
    return levels


def _quad(centre: np.ndarray, normal: np.ndarray, up: np.ndarray, width: float, height: float) -> tuple:
    """Origin, u, v of a quad seen from the ``normal`` side with ``up`` towards texture row 0."""
    right = np.cross(up, normal)
    return centre - right * width / 2 + up * height / 2, right * width, -up * height


def build_scene(options: SyntheticOptions) -> Scene:
    """Walls (facing inwards), floor and boxes (5 faces each: the bottom is never seen)."""
    ax, ay = options.area[0] / 2, options.area[1] / 2
    hw = options.wall_height
    ex, ey, ez = np.eye(3)
    faces = [  # name, centre, normal, up, width, height
        ("wall_east", (ax, 0, hw / 2), -ex, ez, 2 * ay, hw),
        ("wall_west", (-ax, 0, hw / 2), ex, ez, 2 * ay, hw),
        ("wall_north", (0, ay, hw / 2), -ey, ez, 2 * ax, hw),
        ("wall_south", (0, -ay, hw / 2), ey, ez, 2 * ax, hw),
        ("floor", (0, 0, 0), ez, ey, 2 * ax, 2 * ay),
    ]
    for b, (x, y, sx, sy, sz) in enumerate(options.boxes):
        faces += [
            (f"box{b}_east", (x + sx / 2, y, sz / 2), ex, ez, sy, sz),
            (f"box{b}_west", (x - sx / 2, y, sz / 2), -ex, ez, sy, sz),
            (f"box{b}_north", (x, y + sy / 2, sz / 2), ey, ez, sx, sz),
            (f"box{b}_south", (x, y - sy / 2, sz / 2), -ey, ez, sx, sz),
            (f"box{b}_top", (x, y, sz), ez, ey, sx, sy),
        ]
    rng = np.random.default_rng(options.seed)
    origins, us, vs, textures = [], [], [], []
    for _, centre, normal, up, w, h in faces:
        o, u, v = _quad(np.asarray(centre, np.float64), normal, up, w, h)
        origins.append(o)
        us.append(u)
        vs.append(v)
        tw = max(int(round(w * options.texels_per_metre)), 16)
        th = max(int(round(h * options.texels_per_metre)), 16)
        textures.append(mip_pyramid(make_texture(rng, tw, th)))
    return Scene(np.array(origins), np.array(us), np.array(vs), textures, tuple(f[0] for f in faces))


def look_pose(position: np.ndarray, yaw: float, pitch: float) -> tuple[np.ndarray, np.ndarray]:
    """World-to-camera (q, t) of a level camera at ``position`` heading ``yaw`` (radians from +x,
    counter-clockwise) tilted by ``pitch`` (radians, negative looks down)."""
    forward = np.array([np.cos(pitch) * np.cos(yaw), np.cos(pitch) * np.sin(yaw), np.sin(pitch)])
    right = np.array([np.sin(yaw), -np.cos(yaw), 0.0])
    down = np.cross(forward, right)
    R = np.stack([right, down, forward])  # rows: camera axes in world coordinates
    return rotmat_to_quat(R), -R @ np.asarray(position, np.float64)


def _ellipse(path: tuple[float, float, float], angle: float) -> np.ndarray:
    a, b, z = path
    return np.array([a * np.cos(angle), b * np.sin(angle), z])


def _mapping_angles(options: SyntheticOptions) -> np.ndarray:
    """Ellipse angles (= headings) spaced so that every step shifts the image alike.

    Looking outwards, turning and moving sideways shift the view the same way, so a step costs
    dtheta * (1 + speed / wall distance): equal costs give every neighbour pair the same overlap.
    """
    theta = np.linspace(0.0, 2 * np.pi, 2049)
    a, b, _ = options.mapping_path
    px, py = a * np.cos(theta), b * np.sin(theta)
    speed = np.hypot(a * np.sin(theta), b * np.cos(theta))
    ax, ay = options.area[0] / 2, options.area[1] / 2
    with np.errstate(divide="ignore"):
        to_x = np.where(np.cos(theta) > 0, ax - px, -ax - px) / np.abs(np.cos(theta))
        to_y = np.where(np.sin(theta) > 0, ay - py, -ay - py) / np.abs(np.sin(theta))
    wall = np.maximum(np.minimum(np.abs(to_x), np.abs(to_y)), 0.5)
    step = 1.0 + speed / wall
    cost = np.concatenate([[0.0], np.cumsum(0.5 * (step[1:] + step[:-1]) * np.diff(theta))])
    targets = np.arange(options.num_mapping) * cost[-1] / options.num_mapping
    return np.interp(targets, cost, theta)


def rig_calibration(options: SyntheticOptions) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """cam_from_rig of the two query cameras: side by side along the rig's x axis, diverging yaws."""
    out = {}
    for k, side in enumerate((-1.0, 1.0)):
        yaw = side * np.radians(options.rig_yaw_deg)  # rotation about the rig's (downwards) y axis
        R = np.array([[np.cos(yaw), 0, -np.sin(yaw)], [0, 1, 0], [np.sin(yaw), 0, np.cos(yaw)]])
        centre = np.array([side * options.rig_baseline / 2, 0.0, 0.0])
        out[f"query_cam{k}"] = (rotmat_to_quat(R), -R @ centre)
    return out


def generate_dataset(options: SyntheticOptions | None = None) -> SyntheticDataset:
    """Render the whole dataset (images, depths and ground-truth poses) from ``options``."""
    options = options or SyntheticOptions()
    if options.num_mapping < 2 or options.num_sequences < 0 or options.sequence_length < 1:
        raise ValueError("SyntheticOptions: need num_mapping >= 2, num_sequences >= 0, sequence_length >= 1; "
                         f"got {options.num_mapping}, {options.num_sequences}, {options.sequence_length}")
    if options.width < 8 or options.height < 8 or options.focal <= 0:
        raise ValueError(f"SyntheticOptions: image size {options.width}x{options.height} and focal "
                         f"{options.focal} must be >= 8 pixels and > 0")
    scene = build_scene(options)
    camera = Camera("PINHOLE", options.width, options.height,
                    (options.focal, options.focal, options.width / 2, options.height / 2))
    cameras = {"cam0": camera, "query_cam0": camera, "query_cam1": camera}
    rng = np.random.default_rng(options.seed + 1)

    # poses first (cheap, sequential so the seed fixes them), then the renders in parallel
    mapping = []
    for k, heading in enumerate(_mapping_angles(options)):
        jitter = np.radians(options.mapping_jitter_deg) * rng.uniform(-1.0, 1.0, 2)
        q, t = look_pose(_ellipse(options.mapping_path, heading), heading + jitter[0],
                         np.radians(-12.0) + jitter[1])
        mapping.append(SyntheticImage(f"mapping/cam0/{k + 1:06d}.png", "cam0", 500 * k, q, t, _EMPTY, _EMPTY))

    rig = rig_calibration(options)
    queries, rig_poses, sequences = [], {}, []
    for s in range(options.num_sequences):
        start = 2 * np.pi * (s + 0.1) / options.num_sequences  # between mapping views
        seq = []
        for k in range(options.sequence_length):
            ts = 100_000 * (s + 1) + 100 * k  # ms: 10 Hz inside a sequence, > 1 minute between sequences
            heading = start + np.radians(options.query_step_deg) * k
            q_rig, t_rig = look_pose(_ellipse(options.query_path, heading),
                                     heading + np.radians(options.query_yaw_deg), np.radians(-8.0))
            rig_poses[ts] = (q_rig, t_rig)
            seq.append(ts)
            index = s * options.sequence_length + k + 1
            for sensor_id, (q_cr, t_cr) in rig.items():
                q, t = compose(q_cr, t_cr, q_rig, t_rig)
                name = f"query/{sensor_id[len('query_'):]}/{index:06d}.png"
                queries.append(SyntheticImage(name, sensor_id, ts, q, t, _EMPTY, _EMPTY))
        sequences.append(seq)

    jobs = [(im, options.mapping_illumination) for im in mapping] + \
        [(im, options.query_illumination) for im in queries]

    def draw(job: tuple[SyntheticImage, Illumination]) -> None:
        im, light = job
        r = render(scene, cameras[im.sensor_id], im.q, im.t, light, options.render)
        im.image, im.depth = r.image, r.depth

    # numpy and OpenCV release the GIL in their kernels, so threads overlap most of the work
    with ThreadPoolExecutor(max(int(options.workers), 1)) as pool:
        list(pool.map(draw, jobs))
    return SyntheticDataset(options, scene, cameras, "query_rig", rig, mapping, queries, rig_poses, sequences)


def write_images(dataset: SyntheticDataset, root_dir: str | Path) -> list[Path]:
    """Write every image as PNG under ``root_dir`` (atomically, via io.images.save_image); returns paths."""
    root = Path(root_dir)
    paths = []
    for item in dataset.mapping + dataset.queries:
        path = root / item.name
        path.parent.mkdir(parents=True, exist_ok=True)
        save_image(path, item.image)
        paths.append(path)
    return paths
