"""The neurosim command: help, the CUBA job and the benchmark entry point."""
import json
import subprocess
import sys

import pytest

from neurosim.cli import main


def test_help_lists_commands(capsys):
    try:
        main(["--help"])
    except SystemExit as exc:
        assert exc.code == 0
    out = capsys.readouterr().out
    assert "cuba" in out and "bench" in out


def test_cuba_command_writes_outputs(tmp_path, capsys):
    assert main(["cuba", "--n", "400", "--duration", "0.1", "--out", str(tmp_path), "--no-progress"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["neurons"] == 400 and summary["spikes"] > 0 and summary["mean_rate_hz"] > 0
    assert (tmp_path / "cuba_raster.png").read_bytes()[:4] == b"\x89PNG"
    assert "mean rate" in capsys.readouterr().out


def test_cuba_command_rejects_bad_arguments():
    res = subprocess.run([sys.executable, "-m", "neurosim.cli", "cuba", "--duration", "-1"], capture_output=True, text=True)
    assert res.returncode == 2 and "--duration" in res.stderr


def test_bench_command_runs_the_benchmark_script():
    res = subprocess.run([sys.executable, "-m", "neurosim.cli", "bench", "cuba", "--no-brian2", "--sizes", "400",
                          "--durations", "0.05", "--repeats", "1", "--dtypes", "float32"], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    assert "| neurosim_float32 |" in res.stdout


def test_worm_command(tmp_path, capsys):
    assert main(["worm", "--duration", "2", "--stim-start", "0.5", "--stim-duration", "0.5", "--stimulus", "AVAL,AVAR",
                 "--no-compare", "--no-progress", "--out", str(tmp_path)]) == 0
    import h5py

    with h5py.File(tmp_path / "worm_traces.h5") as f:
        assert f["v_V"].shape == (200, 302) and f.attrs["stimulus"] == "AVAL,AVAR"
    for name in ("worm_activity.png", "worm_traces.png"):
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    assert "real time" in capsys.readouterr().out


def test_worm_command_rejects_unknown_neurons(tmp_path, capsys):
    assert main(["worm", "--stimulus", "AVAX", "--no-compare", "--out", str(tmp_path), "--no-progress"]) == 2
    assert "unknown neuron name 'AVAX'" in capsys.readouterr().err


def test_deploy_loihi_without_a_trained_model_says_what_to_do(tmp_path, capsys):
    rc = main(["deploy", "loihi", str(tmp_path / "no_model"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and "no checkpoint.pt" in err and "neurosim train nmnist" in err


def test_deploy_spinnaker_prints_the_mapping_report_and_writes_the_heatmap(tmp_path, capsys):
    png = tmp_path / "load.png"
    rc = main(["deploy", "spinnaker", "cuba", "--simulate", "0.05", "--heatmap", str(png), "--placement", "random",
               "--pynn", str(tmp_path / "pynn"), "--toolchain", "ours"])
    out = capsys.readouterr().out
    assert rc == 0 and "16 slices on 16 cores" in out and "routing entries, largest chip" in out and "0 dropped" in out
    assert "cuba: " in out and "in the float simulator" in out
    assert png.stat().st_size > 10_000
    assert "sim.IF_curr_exp(" in (tmp_path / "pynn" / "run.py").read_text() and (tmp_path / "pynn" / "network.npz").is_file()
    rc = main(["deploy", "spinnaker", str(tmp_path / "missing.npz")])
    assert rc == 2 and "does not exist" in capsys.readouterr().err


def test_deploy_spinnaker_prints_spynnakers_mapping_beside_ours(tmp_path, capsys):
    """Criterion 1: one command, sPyNNaker's report (cores, chips, entries before and after
    compression, mapping time) beside our mapper's, and the s16.15 run with its weights."""
    pytest.importorskip("spynnaker")
    rc = main(["deploy", "spinnaker", "cuba", "--simulate", "0.05", "--spynnaker-out", str(tmp_path / "spy")])
    out = capsys.readouterr().out
    assert rc == 0, out
    header, *rows = out.splitlines()[:8]
    assert "neurosim mapper" in header and "sPyNNaker 7.4 (PACMAN)" in header
    table = {r[:31].strip(): r[31:].split() for r in rows}
    assert table["cores (network)"][:2] == ["16", "16"] and table["chips used"] == ["1", "2"]
    assert table["routing entries, all chips"] == ["16", "->", "1", "10", "->", "10"]
    assert "data generation" in out and "ring-buffer left shifts cuba: 1 (exc) 2 (inh)" in out
    assert "with the weights as sPyNNaker encodes them" in out and "every projection routed" in out
    assert (tmp_path / "spy" / "pynn" / "run.py").is_file() and list((tmp_path / "spy" / "pynn" / "reports").glob("*/run_1"))
    # a network larger than a SpiNN-3 board: PACMAN refuses it, the command says so and exits 2
    from neurosim import CubaLIF, Network, Population, Projection

    big = tmp_path / "big.npz"
    Network([Population("p", CubaLIF(), 20000)], [], [Projection.from_pairs("p", "p", [0], [1], 1e-10, 20000)]).save(big)
    rc = main(["deploy", "spinnaker", str(big), "--toolchain", "spynnaker", "--torus", "2", "2", "--spynnaker-out",
               str(tmp_path / "spy_big")])
    err = capsys.readouterr().err
    assert rc == 2 and "PACMAN (sPyNNaker's mapper) refused the network (PacmanPlaceException)" in err


def test_deploy_nir_writes_the_graph_and_checks_it_in_the_peer(small_model, shared_data, tmp_path, capsys):
    out = tmp_path / "model.nir"
    rc = main(["deploy", "nir", str(small_model), "--for", "norse", "--out", str(out), "--check", "2",
               "--data", str(shared_data / "nmnist_small")])
    text = capsys.readouterr().out
    assert rc == 0 and out.is_file() and "2 SumPool2d" in text and "decisions: 100.0% of 2" in text
    assert "within one step 100.00%" in text or "within one step 99." in text
    from hardware.nir import from_nir

    assert len(list(from_nir(out))) == 9  # conv, CuBa-LIF, pool, conv, CuBa-LIF, pool, flatten, linear, readout
    rc = main(["deploy", "nir", "cuba", "--dt", "1e-4", "--out", str(tmp_path / "cuba.nir")])
    assert rc == 0 and "1 LIF" in capsys.readouterr().out
    rc = main(["deploy", "nir", str(tmp_path / "no_model"), "--out", str(tmp_path / "x.nir")])
    assert rc == 2 and "no checkpoint.pt" in capsys.readouterr().err


def test_deploy_pynn_writes_the_script(tmp_path, capsys):
    rc = main(["deploy", "pynn", "cuba", "--out", str(tmp_path / "pynn"), "--simulate", "0.1"])
    assert rc == 0 and "wrote the PyNN script" in capsys.readouterr().out
    assert "sim.IF_curr_exp(" in (tmp_path / "pynn" / "run.py").read_text()


def test_deploy_goes_through_the_backends_and_prints_every_reason(tmp_path, capsys):
    """Every target refuses a network through its backend (neurosim.backend), listing every
    reason; Loihi 2 compiles and runs a network it can express."""
    from test_backends import compatible_network, hostile_network

    hostile = tmp_path / "hostile.npz"
    hostile_network().save(hostile)
    for target in ("spinnaker", "pynn", "nir", "loihi"):
        rc = main(["deploy", target, str(hostile), *(["--out", str(tmp_path / target)] if target != "spinnaker" else [])])
        err = capsys.readouterr().err
        assert rc == 2 and "cannot run this network (" in err and "population 'izh' is Izhikevich" in err, (target, err)
        assert "gap junctions" in err and "projection 'tri': dynamic synapses" in err
    assert main(["deploy", "loihi", "cuba"]) == 2
    err = capsys.readouterr().err
    assert "Loihi 2 cannot run this network (3 reasons)" in err and "v_reset = -0.06 V differs" in err
    ok = tmp_path / "ok.npz"
    compatible_network().save(ok)
    assert main(["deploy", "loihi", str(ok), "--simulate", "0.2"]) == 0
    out = capsys.readouterr().out
    assert "total 1 cores on 1 chip(s)" in out and "within every limit" in out and "on the fixed-point engine" in out
    assert int(out.split("p: ")[1].split(" spikes")[0]) > 100


def test_stdp_commands_write_their_figures(tmp_path, capsys):
    assert main(["stdp", "triplet", "--pairs", "5", "--out", str(tmp_path / "tri"), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "largest difference from the equations" in out
    assert (tmp_path / "tri" / "triplet_frequency.png").stat().st_size > 10_000
    assert main(["stdp", "song", "--inputs", "300", "--duration", "0.6", "--compare", "0.3", "--out", str(tmp_path / "song"),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "spikes identical: True" in out
    assert (tmp_path / "song" / "song_stdp.png").exists() and (tmp_path / "song" / "song_stdp.json").exists()
    with pytest.raises(SystemExit):
        main(["stdp", "song", "--duration", "-1"])
