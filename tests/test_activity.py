"""Activity readers on the real Flavell recordings and on a file written in the
homogenised parquet schema; resampling and causal normalisation; bad files."""
import numpy as np
import pytest

from connectomes import activity


@pytest.fixture(scope="module")
def flavell_paths(shared_data):
    paths = sorted((shared_data / "celegans_activity").glob("flavell_nsm_*.h5"))
    assert len(paths) == 3
    return paths


def test_read_flavell(flavell_paths):
    for p in flavell_paths:
        rec = activity.read_flavell(p)
        assert rec.traces.shape[0] == rec.time.size == 800 and 100 < rec.traces.shape[1] < 200
        assert rec.time[0] == 0 and 0.4 < rec.median_dt < 0.8  # ~1.7 Hz confocal volumes
        assert rec.velocity.shape == (800,)
        assert rec.reversals.shape[1] == 2 and np.all(rec.reversals[:, 1] > rec.reversals[:, 0])
        assert not rec.is_labeled.any()


def test_resample_and_normalize(flavell_paths):
    rec = activity.read_flavell(flavell_paths[0])
    rs = rec.resample(1 / 3)
    assert np.allclose(np.diff(rs.time), 1 / 3)
    # linear interpolation reproduces the samples where the grids meet, and stays in range
    k = 5
    assert np.interp(rec.time[k], rs.time, rs.traces[:, 0]) == pytest.approx(rec.traces[k, 0], abs=np.ptp(rec.traces[:, 0]) * 0.05)
    assert np.nanmax(rs.traces) <= rec.traces.max() + 1e-12
    z = rs.normalize().traces
    # causal: the value at t does not change when the future is cut off
    z_cut = activity.causal_zscore(rs.traces[:100])
    np.testing.assert_allclose(z[:100], z_cut)
    # at the end, the causal z-score equals the ordinary one
    last = rs.traces[-1]
    np.testing.assert_allclose(z[-1], (last - rs.traces.mean(0)) / rs.traces.std(0), rtol=1e-9)


def test_homogenized_round_trip(tmp_path, flavell_paths):
    recs = [activity.read_flavell(p) for p in flavell_paths[:2]]
    recs[0] = activity.Recording("Dag2023", "worm1", recs[0].traces[:, :5], recs[0].time,
                                 ("AVAL", "AVAR", "unlabeled_2", "RIML", "unlabeled_4"), np.array([1, 1, 0, 1, 0], bool))
    path = tmp_path / "homog.parquet"
    activity.write_homogenized(recs, path)
    back = activity.read_homogenized(path)
    assert len(back) == 2
    assert back[0].neurons == recs[0].neurons and back[0].is_labeled.tolist() == [True, True, False, True, False]
    np.testing.assert_allclose(back[0].traces, recs[0].traces)
    np.testing.assert_allclose(back[1].time, recs[1].time)


@pytest.mark.parametrize("content", [b"", b"not hdf5 at all", b"\x89HDF\r\n\x1a\n" + b"\x00" * 100])
def test_corrupt_flavell(tmp_path, content):
    p = tmp_path / "bad.h5"
    p.write_bytes(content)
    with pytest.raises(ValueError, match="not a readable HDF5 recording"):
        activity.read_flavell(p)


def test_truncated_flavell(tmp_path, flavell_paths):
    data = flavell_paths[0].read_bytes()
    p = tmp_path / "trunc.h5"
    p.write_bytes(data[: len(data) // 3])
    with pytest.raises(ValueError, match="bad|not a|missing|does not match"):
        activity.read_flavell(p)


def test_bad_parquet(tmp_path):
    p = tmp_path / "bad.parquet"
    p.write_bytes(b"PAR1 truncated")
    with pytest.raises(ValueError, match="not a readable parquet file"):
        activity.read_homogenized(p)
    import pyarrow as pa
    import pyarrow.parquet as pq
    pq.write_table(pa.table({"worm": ["w"], "neuron": ["AVAL"]}), tmp_path / "cols.parquet")
    with pytest.raises(ValueError, match="missing columns"):
        activity.read_homogenized(tmp_path / "cols.parquet")
