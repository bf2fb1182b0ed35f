"""Write the synthetic scene as two kapture datasets: ``mapping/`` and ``query/``.

The mapping dataset has one camera with its poses. The query dataset has the 2-camera rig
(rigs.txt), the rig's ground-truth poses in trajectories.txt (rig-level, as rig datasets ship
them) and both cameras' images, taken under the changed illumination, in timed sequences.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kapturelike.core.reconstruction import Kapture
from kapturelike.core.records import Records
from kapturelike.core.trajectories import Pose, Trajectories
from kapturelike.io.dataset import records_data_path, save_kapture
from kapturelike.io.images import save_image
from kapturelike.synthetic.scene import SyntheticDataset, SyntheticOptions, generate_dataset


@dataclass
class SyntheticPaths:
    mapping: Path
    query: Path


def write_synthetic_kapture(dataset: SyntheticDataset, root: str | Path) -> SyntheticPaths:
    root = Path(root)
    mapping_root, query_root = root / "mapping", root / "query"
    for item in dataset.mapping:
        save_image(records_data_path(mapping_root, item.name), item.image)
    for item in dataset.queries:
        save_image(records_data_path(query_root, item.name), item.image)
    mapping = Kapture(
        sensors={"cam0": dataset.cameras["cam0"]},
        trajectories=Trajectories.from_items(((im.timestamp, im.sensor_id), Pose(im.q, im.t))
                                             for im in dataset.mapping),
        records={"camera": Records.camera(((im.timestamp, im.sensor_id), im.name) for im in dataset.mapping)})
    save_kapture(mapping, mapping_root)
    query_sensors = {s: dataset.cameras[s] for s in dataset.cam_from_rig}
    query = Kapture(
        sensors=query_sensors,
        rigs={dataset.rig_id: {s: Pose(q, t) for s, (q, t) in dataset.cam_from_rig.items()}},
        trajectories=Trajectories.from_items(((ts, dataset.rig_id), Pose(q, t))
                                             for ts, (q, t) in sorted(dataset.rig_poses.items())),
        records={"camera": Records.camera(((im.timestamp, im.sensor_id), im.name) for im in dataset.queries)})
    save_kapture(query, query_root)
    return SyntheticPaths(mapping_root, query_root)


def main(output: str | Path, options: SyntheticOptions | None = None) -> SyntheticPaths:
    """Generate the default scene (or ``options``) and write it under ``output``."""
    return write_synthetic_kapture(generate_dataset(options), output)
