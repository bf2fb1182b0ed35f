"""Time the synthetic dataset: scene building, one frame, the whole default dataset, writing PNGs.

    .venv/bin/python benchmarks/bench_synthetic.py [--supersample 1] [--workers 2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from kapturelike.synthetic.render import RenderOptions, render
from kapturelike.synthetic.scene import SyntheticOptions, build_scene, generate_dataset, write_images


def _best(fn, repeat: int) -> tuple[float, float]:
    """Best wall and CPU seconds over ``repeat`` runs (the best is the least disturbed by other load)."""
    walls, cpus = [], []
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return min(walls), min(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supersample", type=int, default=RenderOptions().supersample)
    parser.add_argument("--workers", type=int, default=SyntheticOptions().workers)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    options = SyntheticOptions(workers=args.workers, render=RenderOptions(supersample=args.supersample))

    wall, cpu = _best(lambda: build_scene(options), args.repeat)
    print(f"build_scene: wall {wall:.3f} s, cpu {cpu:.3f} s")
    ds = generate_dataset(options)
    frame = ds.mapping[0]
    cam = ds.cameras[frame.sensor_id]
    wall, cpu = _best(lambda: render(ds.scene, cam, frame.q, frame.t, options=options.render), args.repeat)
    print(f"render one {cam.width}x{cam.height} frame (supersample {args.supersample}): "
          f"wall {wall * 1e3:.1f} ms, cpu {cpu * 1e3:.1f} ms")
    n = len(ds.mapping) + len(ds.queries)
    wall, cpu = _best(lambda: generate_dataset(options), args.repeat)
    print(f"generate_dataset ({n} images, {args.workers} workers): wall {wall:.2f} s, cpu {cpu:.2f} s")
    with tempfile.TemporaryDirectory() as tmp:
        wall, cpu = _best(lambda: write_images(ds, tmp), args.repeat)
    print(f"write_images ({n} PNGs): wall {wall:.2f} s")
    print(f"sky fraction {np.mean([np.isinf(im.depth).mean() for im in ds.mapping + ds.queries]):.4f}")


if __name__ == "__main__":
    main()
