"""Issue #29, bounded work: small inputs never cost unbounded memory or time.

Hostile inputs fed here, per area:

* current injections (item 4): a constant current on 200,000 neurons (peak memory measured
  in a fresh process), a switching step and a sampled array on 50,000 neurons (the table
  holds segments, not steps), a function on 10^6 neurons (the chunk is bounded), and 4
  mixes of step, array and function inputs checked bit for bit against step-by-step
  chunks (float32/float64, explicit and BDF2): 7;
* decompression bombs (item 5): a 21 kB ``.nir`` declaring a 2**31-entry weight, a
  ``.nir`` whose arrays together declare too much, a ``.npz`` network with an extra 2 GiB
  zero entry, a ``.npz`` whose weights declare more entries than its ``indptr`` says, and a
  ``.npz`` with an oversized ``__meta__``: 5, each refused in under a second;
* sweep specs (item 6): 10**8 random samples, an 8 x 10 grid (10**8 points), a spec over a
  raised limit built lazily, and a task that never returns (stopped by ``timeout``): 4.

16 hostile inputs in all.
"""
import json
import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from neurosim import (CubaLIF, CurrentInjection, Network, NetworkFileError, Population, Projection, Simulator, SpikeMonitor,
                      SpikeSource, StateMonitor)
from neurosim.models import GradedNeuron
from neurosim.sweep import MAX_POINTS, SweepSpec, register_task, run_sweep

ROOT = Path(__file__).resolve().parents[1]


PEAK_MB = ("def _peak_mb():\n"
           "    # VmHWM: this process's own peak (ru_maxrss would include the parent's at fork, kept across exec)\n"
           "    for line in open('/proc/self/status'):\n"
           "        if line.startswith('VmHWM:'):\n"
           "            return int(line.split()[1]) / 1024\n")


def _fresh_python(code: str) -> dict:
    """Run ``code`` in a new interpreter; it prints one JSON line, to which the peak resident
    memory (MB) of that process is added."""
    code += "\nimport json as _j\n" + PEAK_MB + "print(_j.dumps({**RESULT, 'peak_mb': _peak_mb()}))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- 4. current injections
def test_a_constant_current_on_200000_neurons_costs_o_neurons():
    """2000 steps x 200,000 neurons sampled densely was 3.2 GB per copy; the engine now
    holds one bias value per neuron."""
    out = _fresh_python(
        "import numpy as np\n"
        "from neurosim import CubaLIF, CurrentInjection, Network, Population, Simulator, SpikeMonitor\n"
        "net = Network([Population('p', CubaLIF(), 200_000)], inputs=[CurrentInjection('p', 0.3e-9, stop=0.15)])\n"
        "res = Simulator(net, dt=1e-4).run(0.2, [SpikeMonitor('p', neurons=np.arange(100))])\n"
        "RESULT = {'spikes': int(res.spikes['p'].times.size)}")
    assert out["spikes"] > 0
    assert out["peak_mb"] < 900, out


def test_piecewise_constant_inputs_are_tabled_by_segment_not_by_step():
    n = 50_000
    net = Network([Population("p", CubaLIF(), n)],
                  inputs=[CurrentInjection("p", 1e-10, start=0.2, stop=0.6),
                          CurrentInjection.from_array("p", [1e-11, 2e-11, 3e-11], 0.25)])
    from neurosim.engine.external import external_currents

    sim = Simulator(net, dt=1e-4)
    bias, tab, tab_idx, tab_step, _ = external_currents(net, sim.layout, sim.dt, sim.dtype, 0, 10_000, False)  # 1 s, one chunk
    assert tab.shape == (6, 2 * n) and tab_step.tolist() == [0, 2000, 2500, 5000, 6000, 7500]  # segments, not steps
    assert bias.shape == (n,) and np.all(bias == 0)


def test_sampled_function_inputs_are_chunked_to_a_bounded_size():
    from neurosim.engine.external import MAX_INPUT_VALUES, external_currents, input_chunk

    n = 1_000_000
    net = Network([Population("p", CubaLIF(), n)], inputs=[CurrentInjection.from_function("p", lambda t: 1e-10 * np.ones_like(t))])
    sim = Simulator(net, dt=1e-3)
    assert input_chunk(net, 10_000) == MAX_INPUT_VALUES // n
    _, tab, _, _, _ = external_currents(net, sim.layout, sim.dt, sim.dtype, 0, input_chunk(net, 10_000), False)
    assert tab.size <= MAX_INPUT_VALUES


def _mixed_inputs(graded=False):
    rng = np.random.default_rng(1)
    n = 40
    pop = Population("p", GradedNeuron() if graded else CubaLIF(), n)
    scale = 1e-12 if graded else 1e-10
    inputs = [CurrentInjection("p", 3 * scale, neurons=np.arange(0, 10), start=0.013, stop=0.0517),
              CurrentInjection.from_array("p", rng.uniform(0, 5 * scale, (37, 10)), 2.3e-3, neurons=np.arange(10, 20), start=0.004),
              CurrentInjection.from_array("p", rng.uniform(0, 5 * scale, 400), 1e-4, neurons=np.arange(20, 30)),
              CurrentInjection.from_function("p", lambda t: 2 * scale * (1 + np.sin(2 * np.pi * 40 * t)), neurons=np.arange(30, 40))]
    projs = [] if graded else [Projection.from_dense("p", "p", rng.normal(0, 1e-10, (n, n)) * (rng.random((n, n)) < 0.1), delays=3)]
    return Network([pop], projections=projs, inputs=inputs)


@pytest.mark.parametrize("dtype,graded", [(np.float32, False), (np.float64, False), (np.float64, True), (np.float32, True)])
def test_segment_tables_give_the_step_by_step_result_bit_for_bit(dtype, graded):
    net = _mixed_inputs(graded)
    dt = 1e-3 if graded else 1e-4

    def run(chunk):
        mons = [StateMonitor("p", ("v",))] + ([] if graded else [SpikeMonitor("p")])
        return Simulator(net, dt=dt, dtype=dtype).run(0.1, mons, chunk_steps=chunk)

    whole, stepwise = run(10_000), run(1)
    np.testing.assert_array_equal(whole.traces["p"]["v"], stepwise.traces["p"]["v"])
    if not graded:
        np.testing.assert_array_equal(whole.spikes["p"].times, stepwise.spikes["p"].times)
        assert whole.spikes["p"].times.size > 10


# ---------------------------------------------------------------- 5. decompression bombs
@pytest.fixture(scope="module")
def bombs(tmp_path_factory):
    import h5py
    import nir

    d = tmp_path_factory.mktemp("bombs")
    g = nir.NIRGraph(nodes={"in": nir.Input(np.array([2])), "w": nir.Linear(weight=np.ones((2, 2))), "out": nir.Output(np.array([2]))},
                     edges=[("in", "w"), ("w", "out")])
    for name in ("entry.nir", "total.nir"):
        nir.write(d / name, g)
    with h5py.File(d / "entry.nir", "a") as h:
        del h["node/nodes/w/weight"]
        h.create_dataset("node/nodes/w/weight", shape=(2**31,), dtype="f4", chunks=(2**20,), compression="gzip", fillvalue=0)
    with h5py.File(d / "total.nir", "a") as h:  # many arrays, each under the per-array limit
        for k in range(5):
            h.create_dataset(f"node/nodes/w/metadata/pad{k}", shape=(2**25,), dtype="u1", chunks=(2**20,), compression="gzip")
    net = Network([Population("p", CubaLIF(), 3)], [SpikeSource("s", 2, [0.001], [0])],
                  [Projection.from_dense("s", "p", np.full((2, 3), 1e-10), name="w")])
    net.save(d / "good.npz")
    with zipfile.ZipFile(d / "good.npz") as zin:
        members = {i.filename: zin.read(i.filename) for i in zin.infolist()}

    def write(path, members, bomb=None, shape=(2**28,)):
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for name, data in members.items():
                zf.writestr(name, data)
            if bomb:
                with zf.open(bomb, "w", force_zip64=True) as f:  # 2 GiB of zeros, a few MB compressed
                    np.lib.format.write_array_header_2_0(f, {"descr": "<f8", "fortran_order": False, "shape": shape})
                    chunk = bytes(1 << 24)
                    for _ in range(int(np.prod(shape)) * 8 // len(chunk)):
                        f.write(chunk)

    write(d / "extra.npz", members, "extra.npy")
    write(d / "weights.npz", {k: v for k, v in members.items() if k != "proj0_weights.npy"}, "proj0_weights.npy", (2**24,))
    write(d / "meta.npz", {k: v for k, v in members.items() if k != "__meta__.npy"}, "__meta__.npy", (2**27,))
    return d


def _refusal(path: Path, loader: str) -> dict:
    """Time ``loader`` (``"module:callable"``) on ``path`` in a fresh process."""
    module, func = loader.split(":")
    return _fresh_python(
        "import time\n"
        f"from {module} import {func.split('.')[0]}\n"
        f"load = {func}\n"
        "t = time.perf_counter()\n"
        "try:\n"
        f"    load({str(path)!r})\n"
        "    RESULT = {'error': None}\n"
        "except Exception as exc:\n"
        "    RESULT = {'error': type(exc).__name__ + ': ' + str(exc)}\n"
        "RESULT['seconds'] = time.perf_counter() - t")


@pytest.mark.parametrize("name,match", [("entry.nir", "declares shape \\(2147483648,\\)"), ("total.nir", "MAX_FILE_ENTRIES")])
def test_nir_bombs_are_refused_before_reading(bombs, name, match):
    import re

    assert (bombs / name).stat().st_size < 200_000
    out = _refusal(bombs / name, "hardware.nir:read_graph")
    assert out["error"].startswith("NIRFileError") and re.search(match, out["error"]), out
    assert out["seconds"] < 1.0 and out["peak_mb"] < 1000


@pytest.mark.parametrize("name,match", [("extra.npz", "not part of the format \\('extra'\\); refused without reading"),
                                        ("weights.npz", "'proj0_weights' declares shape \\(16777216,\\); the network needs \\(6,\\)"),
                                        ("meta.npz", "'__meta__' declares")])
def test_npz_bombs_are_refused_before_reading(bombs, name, match):
    import re

    assert (bombs / name).stat().st_size < 20_000_000
    out = _refusal(bombs / name, "neurosim:Network.load")
    assert out["error"].startswith("NetworkFileError") and re.search(match, out["error"]), out
    assert out["seconds"] < 1.0 and out["peak_mb"] < 1000


# ---------------------------------------------------------------- 6. sweep specs
def test_huge_specs_are_counted_and_refused_without_building_them():
    t = time.perf_counter()
    with pytest.raises(ValueError, match=f"gives 100,000,000 points, more than max_points = {MAX_POINTS:,}"):
        SweepSpec("worm", random={"g_gap": {"low": 1e-11, "high": 1e-10}}, samples=10**8)
    with pytest.raises(ValueError, match="gives 100,000,000 points"):
        SweepSpec("worm", grid={f"p{k}": list(range(10)) for k in range(8)})
    assert time.perf_counter() - t < 1.0


def test_a_raised_limit_is_honoured_and_points_come_lazily():
    import itertools

    spec = SweepSpec("worm", grid={f"p{k}": list(range(10)) for k in range(6)}, max_points=10**6)
    t = time.perf_counter()
    first = list(itertools.islice(spec.iter_points(), 3))
    assert spec.n_points == 10**6 and first[2] == {f"p{k}": (2 if k == 5 else 0) for k in range(6)}
    assert time.perf_counter() - t < 0.5


def _sleepy(params):
    if params["x"] == 2:
        time.sleep(3600)
    return {"y": params["x"]}


def test_a_point_that_never_returns_is_stopped_by_its_timeout(tmp_path):
    register_task("sleepy", _sleepy)
    t = time.perf_counter()
    df = run_sweep(SweepSpec("sleepy", grid={"x": [1, 2, 3]}, timeout=8, retries=0), tmp_path, n_workers=2, progress=False)
    assert time.perf_counter() - t < 120
    assert df.set_index("x")["status"].to_dict() == {1: "ok", 2: "failed", 3: "ok"}
    assert "TimeoutError: task 'sleepy' ran longer than timeout = 8 s" in df.set_index("x").loc[2, "error"]
    with pytest.raises(ValueError, match="timeout = 0 is invalid"):
        SweepSpec("sleepy", timeout=0)
