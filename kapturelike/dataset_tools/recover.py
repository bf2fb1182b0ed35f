"""Timestamps and sensor ids of images taken back from a reference dataset (e.g. after a tool renumbered them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kapturelike.core.records import Records
from kapturelike.core.trajectories import Trajectories
from kapturelike.dataset_tools.output import DatasetToolError, place_records_data, prepare_output, refuse_overlap
from kapturelike.io.dataset import load_kapture, save_kapture


def recover_timestamps_and_ids(src: str | Path, reference: str | Path, out: str | Path | None = None,
                               image_transfer: str = "skip", force: bool = False) -> None:
    """Rewrite the camera records and image poses of ``src`` with the (timestamp, sensor id) each image
    has in ``reference``; sensors come from the reference. Into ``out``, or in place without it. As kapture's
    tool, only the images the reference holds are kept (e.g. the queries of a model that also holds the map)."""
    src, reference = Path(src), Path(reference)
    k, ref = load_kapture(src), load_kapture(reference)
    key_of = ref.image_keys()
    names = [n for n in k.image_names() if n in key_of]
    if not names and k.image_names():
        raise DatasetToolError(f"none of the {len(k.image_names())} image(s) of {src} is in {reference}")
    old_keys = k.image_keys()
    new_keys = [key_of[n] for n in names]
    k.records["camera"] = Records.camera(zip(new_keys, names))
    used = {dev for _, dev in new_keys}
    k.sensors = {sid: s for sid, s in ref.sensors.items() if sid in used}
    k.rigs = None
    if k.trajectories is not None:
        index = k.trajectories.index
        rows = [(index[old_keys[n]], key_of[n]) for n in names if old_keys[n] in index]
        t = k.trajectories
        picked = np.array([r for r, _ in rows], dtype=np.int64)
        k.trajectories = Trajectories(np.array([key[0] for _, key in rows], dtype=np.int64),
                                      np.array([key[1] for _, key in rows], dtype=object),
                                      t.rotations[picked], t.translations[picked])
    if out is None:
        save_kapture(k, src)
        return
    refuse_overlap(out, [src, reference])
    out = prepare_output(out, force)
    place_records_data(k, src, out, image_transfer)
    save_kapture(k, out)
