import numpy as np
import pytest

from kapturelike.core import pose as P
from kapturelike.geometry.postprocess import (
    FAILED,
    LOCALIZED,
    RECOVERED_RIG,
    RECOVERED_SEQUENCE,
    PoseRecords,
    recover_from_rig,
    recover_from_sequence,
    recovered_centers,
    split_sequences,
)

RIGS = {"rig": {"cam0": (np.array([1.0, 0, 0, 0]), np.zeros(3)),
                "cam1": (P.quat_from_axis_angle([0, -np.pi / 2, 0]), np.array([0.3, 0.0, -0.2]))}}


def rig_trajectory(timestamps):
    """Rig moving at constant velocity and constant angular rate: slerp and linear centres are exact."""
    s = (np.asarray(timestamps, dtype=np.float64) - 0) / 1000.0
    q = P.slerp(np.array([1.0, 0, 0, 0]), P.quat_from_axis_angle([0.1, 0.8, 0.0]), s)
    centres = np.array([0.0, 0.0, 0.0]) + s[:, None] * np.array([4.0, 0.0, 2.0])
    return q, P.poses_from_centers(q, centres)


def camera_records(timestamps, failed_mask, sensor="cam0"):
    q_rig, t_rig = rig_trajectory(timestamps)
    q, t = P.compose(*RIGS["rig"][sensor], q_rig, t_rig)
    status = np.where(failed_mask, FAILED, LOCALIZED).astype(object)
    q_obs, t_obs = q.copy(), t.copy()
    q_obs[failed_mask], t_obs[failed_mask] = np.nan, np.nan
    recs = PoseRecords(np.asarray(timestamps), np.full(len(timestamps), sensor, dtype=object), status, q_obs, t_obs)
    return recs, q, t


def concat(a, b):
    return PoseRecords(np.r_[a.timestamps, b.timestamps], np.r_[a.sensor_ids, b.sensor_ids],
                       np.r_[a.status, b.status], np.r_[a.q, b.q], np.r_[a.t, b.t])


def test_split_sequences():
    ts = np.array([0, 100, 200, 1000, 1100, 250, 5000])
    assert split_sequences(ts, 300).tolist() == [0, 0, 0, 1, 1, 0, 2]
    assert split_sequences(ts, 10_000).tolist() == [0] * 7
    assert split_sequences(np.array([], dtype=np.int64), 5).shape == (0,)


def test_recover_from_rig_same_and_near_timestamps():
    ts = np.arange(0, 1000, 100)
    fail0 = np.zeros(10, bool)
    fail0[[2, 5]] = True  # cam0 fails where cam1 also fails at 5: no source there
    fail1 = np.zeros(10, bool)
    fail1[[1, 5, 7]] = True
    r0, q0, t0 = camera_records(ts, fail0, "cam0")
    r1, q1, t1 = camera_records(ts, fail1, "cam1")
    out = recover_from_rig(concat(r0, r1), RIGS, time_tolerance=0)
    gt_q, gt_t = np.r_[q0, q1], np.r_[t0, t1]
    rec = out.status == RECOVERED_RIG
    assert np.flatnonzero(rec).tolist() == [2, 11, 17]
    te, re = P.pose_errors(out.q[rec], out.t[rec], gt_q[rec], gt_t[rec])
    assert te.max() < 1e-9 and re.max() < 1e-6
    assert out.status[5] == FAILED and out.status[15] == FAILED
    assert np.isnan(out.q[5]).all()
    # the input is left untouched
    assert (concat(r0, r1).status == FAILED).sum() == 5

    # cam1 captured 3 ms after cam0: only recovered within the tolerance, from the nearest frame
    r1_late, q1_late, t1_late = camera_records(ts + 3, fail1, "cam1")
    data = concat(r0, r1_late)
    assert (recover_from_rig(data, RIGS, time_tolerance=2).status == RECOVERED_RIG).sum() == 0
    out = recover_from_rig(data, RIGS, time_tolerance=5)
    rec = out.status == RECOVERED_RIG
    assert np.flatnonzero(rec).tolist() == [2, 11, 17]
    te, _ = P.pose_errors(out.q[rec], out.t[rec], np.r_[q0, q1_late][rec], np.r_[t0, t1_late][rec])
    assert 0 < te.max() < 0.02  # 3 ms of motion at ~4.5 m/s


def test_recover_from_sequence_interpolates_and_extrapolates():
    # two sequences of cam0 (gap of 3 s), 50 ms apart within each
    ts = np.r_[np.arange(0, 500, 50), np.arange(3500, 4000, 50)]
    fail = np.zeros(len(ts), bool)
    fail[[0, 3, 4, 9, 12]] = True
    recs, q, t = camera_records(ts, fail)
    out = recover_from_sequence(recs, gap_threshold=1000)
    assert (out.status == RECOVERED_SEQUENCE).sum() == 5 and (out.status == FAILED).sum() == 0
    inner = [3, 4, 12]
    te, re = P.pose_errors(out.q[inner], out.t[inner], q[inner], t[inner])
    assert te.max() < 1e-9 and re.max() < 1e-6
    # ends take the nearest localized neighbour of their own sequence (not the other sequence)
    assert np.allclose(out.q[0], q[1]) and np.allclose(out.t[0], t[1])
    assert np.allclose(out.q[9], q[8]) and np.allclose(out.t[9], t[8])
    assert np.isfinite(recovered_centers(out)).all()


def test_sequence_without_sources_and_per_sensor():
    ts = np.arange(0, 500, 50)
    fail_all = np.ones(len(ts), bool)
    fail_some = np.zeros(len(ts), bool)
    fail_some[5] = True
    r0, _, _ = camera_records(ts, fail_all, "cam0")
    r1, q1, t1 = camera_records(ts, fail_some, "cam1")
    out = recover_from_sequence(concat(r0, r1), gap_threshold=1000)
    assert (out.status[:10] == FAILED).all()  # cam1's poses never leak into cam0's sequence
    assert out.status[15] == RECOVERED_SEQUENCE
    # cam1 sits off the rig origin, so its centre path is not exactly linear: close, not exact
    assert P.translation_error(out.q[15], out.t[15], q1[5], t1[5]) < 0.01
    # rig first, then sequence for what is left
    both = recover_from_sequence(recover_from_rig(concat(r0, r1), RIGS), gap_threshold=1000)
    assert (both.status[:10] == RECOVERED_RIG).sum() == 9 and both.status[5] == RECOVERED_SEQUENCE


def test_records_validation_and_rows():
    rows = [(0, "cam0", LOCALIZED, [1, 0, 0, 0], [0, 0, 0]), (10, "cam0", FAILED, None, None)]
    recs = PoseRecords.from_rows(rows)
    back = recs.to_rows()
    assert back[1][3] is None and back[0][2] == LOCALIZED and np.allclose(back[0][3], [1, 0, 0, 0])
    with pytest.raises(ValueError, match="unknown value"):
        PoseRecords.from_rows([(0, "cam0", "lost", None, None)])
    with pytest.raises(ValueError, match="row 0 has status 'localized' but no finite pose"):
        PoseRecords.from_rows([(0, "cam0", LOCALIZED, None, None)])
    with pytest.raises(ValueError, match="sensor_ids has 1 rows"):
        PoseRecords(np.array([0, 1]), np.array(["a"], dtype=object), np.array([FAILED] * 2, dtype=object),
                    np.full((2, 4), np.nan), np.full((2, 3), np.nan))
