"""Event I/O on the real sample files, the N-MNIST subset dataset, and the event-camera
simulator on cases with known answers (issue #4, criterion 4)."""
import math

import numpy as np
import pytest
import tonic.transforms as T

from neurosim.events import (EVENT_DTYPE, EventCameraSimulator, EventFileError, NMNIST_SENSOR, NMNISTSmall,
                             moving_image_movie, read_events)


@pytest.fixture(scope="module")
def formats(shared_data):
    return shared_data / "event_formats"


def test_read_sample_files(formats):
    nm = read_events(formats / "sample_nmnist.bin")
    assert nm.dtype == EVENT_DTYPE and nm.size == 4325 and nm["x"].max() < 34 and set(np.unique(nm["p"])) <= {0, 1}
    ae = read_events(formats / "sample.aedat4")
    assert ae.size == 111954 and np.all(np.diff(ae["t"]) >= 0)
    nc = read_events(formats / "sample_ncars.dat")
    assert nc.size == 2009 and nc["x"].max() < 128


@pytest.mark.parametrize("name,content,match", [
    ("empty.bin", b"", "empty"),
    ("trunc.bs2", b"\x01\x02\x80\x00\x10\x03\x04", "whole number"),
    ("bad.aedat4", b"#!AER-DAT4.0\r\n" + b"\x00" * 64, "not a readable"),
    ("bad.dat", b"% garbage header\n" + b"\xff" * 13, "corrupt header"),
    ("nohead.dat", b"\x00\x08" + b"\x00" * 16, "no '%' header"),
    ("x.txt", b"1 2 3", "unknown event file type"),
])
def test_corrupt_event_files(tmp_path, name, content, match):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(EventFileError, match=match):
        read_events(p)


def test_truncated_real_file(tmp_path, formats):
    data = (formats / "sample_nmnist.bin").read_bytes()
    p = tmp_path / "t.bin"
    p.write_bytes(data[: len(data) - 2])
    with pytest.raises(EventFileError, match="truncated"):
        read_events(p)
    with pytest.raises(FileNotFoundError):
        read_events(tmp_path / "missing.bin")


def test_nmnist_subset_dataset(shared_data):
    ds = NMNISTSmall(shared_data / "nmnist_small")
    assert len(ds) == 1000 and np.bincount(ds.labels).min() >= 80
    ev, label = ds[0]
    assert label == 5 and ev.size > 1000 and ev["t"].max() < 400_000
    train, test = ds.split(0.2, seed=0)
    assert len(train) == 800 and len(test) == 200 and not set(train.indices) & set(test.indices)
    assert np.all(np.bincount(ds.labels[test.indices]) >= 17)
    framed = NMNISTSmall(shared_data / "nmnist_small", [0, 1], transform=T.ToFrame(sensor_size=NMNIST_SENSOR, n_time_bins=10))
    frames, _ = framed[0]
    # tonic's time binning leaves out an event exactly at the last bin edge
    assert frames.shape == (10, 2, 34, 34) and ev.size - 1 <= frames.sum() <= ev.size


def _const(value, n=2, h=3, w=4):
    return np.full((n, h, w), value, float)


def test_step_change_gives_expected_event_count():
    c = 0.2
    sim = EventCameraSimulator(contrast_threshold=c, threshold_sigma=0.0, eps=1e-3)
    i0, i1 = 0.1, 0.9
    frames = np.stack([_const(i0)[0], _const(i1)[0]])
    ev = sim.simulate(frames, [0.0, 0.01])
    expected = math.floor((math.log(i1 + 1e-3) - math.log(i0 + 1e-3)) / c)
    counts = np.bincount(ev["y"] * 4 + ev["x"], minlength=12)
    assert np.all(counts == expected) and np.all(ev["p"] == 1)
    # timestamps fall where the interpolated log intensity crosses each level
    l0, l1 = math.log(i0 + 1e-3), math.log(i1 + 1e-3)
    first = (c / (l1 - l0)) * 0.01 * 1e6
    assert ev["t"].min() == round(first)


def test_polarity_follows_sign_and_static_scene_is_silent():
    sim = EventCameraSimulator(contrast_threshold=0.15, threshold_sigma=0.02, seed=3)
    down = np.stack([_const(0.8)[0], _const(0.2)[0]])
    ev = sim.simulate(down, [0.0, 0.01])
    assert ev.size > 0 and np.all(ev["p"] == 0)
    static = sim.simulate(_const(0.5, n=20), np.arange(20) * 1e-3)
    assert static.size == 0
    noisy = EventCameraSimulator(noise_rate=50.0, seed=1).simulate(_const(0.5, n=101, h=20, w=20), np.arange(101) * 1e-3)
    # 50 Hz x 400 pixels x 0.1 s = 2000 expected noise events
    assert abs(noisy.size - 2000) < 5 * math.sqrt(2000)


def test_refractory_period_drops_fast_repeats():
    frames = np.stack([_const(0.05)[0], _const(1.0)[0]])
    fast = EventCameraSimulator(contrast_threshold=0.2, threshold_sigma=0.0).simulate(frames, [0.0, 1e-3])
    slow = EventCameraSimulator(contrast_threshold=0.2, threshold_sigma=0.0, refractory=0.5e-3).simulate(frames, [0.0, 1e-3])
    assert fast.size == 12 * math.floor((math.log(1.001) - math.log(0.051)) / 0.2)
    assert 0 < slow.size < fast.size
    for pix in range(12):
        t = slow["t"][slow["y"] * 4 + slow["x"] == pix]
        assert np.all(np.diff(t) >= 500)


def test_moving_image_movie_moves_at_the_given_velocity():
    mv = moving_image_movie("camera", direction_deg=0.0, speed=100.0, size=(32, 32), duration=0.1, fps=1000)
    assert mv.frames.shape == (101, 32, 32) and mv.velocity == pytest.approx((100.0, 0.0))
    # after 0.05 s the content has moved 5 px to the right
    np.testing.assert_allclose(mv.frames[50][:, 10:25], mv.frames[0][:, 5:20], atol=1e-9)
    up = moving_image_movie("astronaut", direction_deg=90.0, speed=200.0, size=(24, 24), duration=0.05, fps=1000)
    np.testing.assert_allclose(up.frames[25][2:15], up.frames[0][7:20], atol=1e-9)  # 5 px up
    ev = EventCameraSimulator(seed=0).simulate(mv.frames, mv.times)
    assert ev.size > 100 and set(np.unique(ev["p"])) == {0, 1}
    with pytest.raises(ValueError, match="unknown scikit-image"):
        moving_image_movie("nope")


@pytest.mark.parametrize("kwargs", [{"contrast_threshold": 0}, {"noise_rate": -1}, {"refractory": float("nan")}])
def test_bad_simulator_parameters(kwargs):
    with pytest.raises(ValueError):
        EventCameraSimulator(**kwargs)


def test_dataset_works_with_a_dataloader(shared_data):
    import torch

    ds = NMNISTSmall(shared_data / "nmnist_small", np.arange(8), transform=T.ToFrame(sensor_size=NMNIST_SENSOR, n_time_bins=5))
    x, y = next(iter(torch.utils.data.DataLoader(ds, batch_size=4, shuffle=False)))
    assert x.shape == (4, 5, 2, 34, 34) and y.tolist() == ds.labels[:4].tolist()
