"""Deploying the N-MNIST classifier to Loihi 2 (issue #10, criterion 3), on a small model
trained here for one epoch on real N-MNIST samples: Lava fixed_pt and the Numba
fixed-point engine give identical readout voltages and predictions, the quantised model
decides as the float one, and samples played back to back run as if each were alone."""
import json

import numpy as np
import pytest

from hardware.loihi import map_network, quantize, run_fixed
from circuits.nmnist.loihi import _stream_network, deploy_nmnist, load_nmnist_model, silent_gap


def test_lava_and_the_engine_agree_exactly_on_the_deployed_model(small_model, shared_data, tmp_path):
    out = deploy_nmnist(small_model, shared_data / "nmnist_small", tmp_path, n_samples=12, lava_samples=4, progress=False)
    assert out["lava_equals_engine"] is True  # every integer readout voltage and every prediction
    assert out["fixed_engine_on_lava_samples"] == out["lava_fixed_pt"]
    assert out["readout_spikes"] == 0 and out["lava_readout_spikes"] == 0  # the readout stays a leaky integrator
    assert out["same_prediction_as_float_binary"] >= 0.8
    assert out["drop_vs_float_binary"] == pytest.approx(out["float_binary"] - out["fixed_engine"])
    assert out["cores"] >= 3 and out["n_synapses"] > 10_000
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["fixed_engine"] == out["fixed_engine"]
    for name in ("quantization.txt", "resources.txt", "accuracy.png"):
        assert (tmp_path / name).stat().st_size > 0


def test_samples_back_to_back_run_as_if_alone(small_model, shared_data):
    from circuits.nmnist.classifier import load_frames

    model, settings = load_nmnist_model(small_model)
    frames, _, _ = load_frames(shared_data / "nmnist_small", settings["time_bins"])
    x = (frames[[3, 7, 11]] > 0).astype(np.uint8)
    t_len, dt = x.shape[1], model.readout.dt
    probe, _ = _stream_network(model, x[:1], 1, 0.05)
    gap = silent_gap(quantize(map_network(probe, dt, t_len + 1))[0])

    def readout_v(xs):
        net, starts = _stream_network(model, xs, gap, 0.05)
        q, _ = quantize(map_network(net, dt, len(xs) * (t_len + gap)))
        _, ints = run_fixed(q, record_spikes=[], record_v=["readout"])
        return ints["readout"]["v"], starts, ints["quiet"]
    v_all, starts, quiet = readout_v(x)
    assert all(quiet[s - 1] for s in starts[1:])
    for k in range(3):
        v_one, _, _ = readout_v(x[k: k + 1])
        np.testing.assert_array_equal(v_all[starts[k]: starts[k] + t_len + gap], v_one)


def test_deploy_names_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="no checkpoint.pt"):
        deploy_nmnist(tmp_path / "nowhere")
