"""Brette et al.'s (2007) CUBA network in ANNarchy 5 (Vitay, Dinkelbach & Hamker 2015), a
peer of the CUBA benchmark beside Brian2. Run one configuration per process::

    python -m circuits.reference.cuba_annarchy --n 4000 --duration 10 --threads 2

prints one JSON line: loop time (``Network.simulate`` alone), compile time (code
generation and C++ build, or loading the build from ``--build-dir``), spike count and mean
rate. The model is Brian2's ``examples/CUBA.py`` (``circuits.reference.cuba_brian2``):
``tau_m dv/dt = (E_l - v) + g_e - g_i`` with exponentially decaying ``g_e``, ``g_i`` (5 ms,
10 ms) that jump by the synaptic weight at a spike, threshold -50 mV, reset -60 mV, 5 ms
refractory, p = 0.02 (or ``n_inputs`` / n), dt 0.1 ms (ANNarchy's default is 1 ms), ODEs
integrated with ANNarchy's exponential method (exact for these linear equations), float64.
With threads, ANNarchy parallelises the neuron updates over OpenMP; its projections keep
their default ``disable_omp=True`` (asking for OpenMP spike propagation raises
``NotImplementedError`` for this network in 5.0.4).

ANNarchy compiles with CMake, which runs ``python3`` from ``PATH``: the process puts its
interpreter's folder first on ``PATH`` (so the environment's ``nanobind`` is found).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time


def run_annarchy_cuba(n=4000, p=None, n_inputs=80, duration=1.0, threads=1, seed=0, build_dir=None) -> dict:
    """Simulate CUBA with ``n`` neurons for ``duration`` s on ``threads`` OpenMP threads;
    returns loop time, compile time, spikes and rate (see the module docstring)."""
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    import ANNarchy as ann

    if p is None:
        p = n_inputs / n
    t_all = time.perf_counter()
    net = ann.Network(dt=0.1, seed=seed)
    net.config(num_threads=threads, method="exponential", dtype=ann.float64)
    neuron = ann.Neuron(
        parameters=dict(El=-49.0, Vr=-60.0, Vt=-50.0, tau_m=20.0, tau_e=5.0, tau_i=10.0),
        equations=["tau_m * dv/dt = (El - v) + g_exc - g_inh", "tau_e * dg_exc/dt = -g_exc", "tau_i * dg_inh/dt = -g_inh"],
        spike="v > Vt", reset="v = Vr", refractory=5.0)
    pop = net.create(n, neuron)
    pop.v = ann.Uniform(-60.0, -50.0)
    n_exc = int(round(0.8 * n))
    scale = 80.0 / (p * n)  # 1 for the original network and for ~80 inputs per neuron
    exc = net.connect(pop[:n_exc], pop, "exc")
    exc.fixed_probability(probability=p, weights=60 * 0.27 / 10 * scale)  # mV
    inh = net.connect(pop[n_exc:], pop, "inh")
    inh.fixed_probability(probability=p, weights=20 * 4.5 / 10 * scale)
    mon = net.monitor(pop, ["spike"])
    t0 = time.perf_counter()
    net.compile(directory=build_dir or tempfile.mkdtemp(prefix="annarchy_cuba_"), silent=True)
    compile_time = time.perf_counter() - t0
    t0 = time.perf_counter()
    net.simulate(duration * 1000.0)
    loop = time.perf_counter() - t0
    n_spikes = int(sum(len(times) for times in mon.get("spike").values()))
    n_syn = int(exc.nb_synapses + inh.nb_synapses)
    return {"mode": f"annarchy_{threads}", "n": n, "duration": duration, "threads": threads, "loop_time": loop,
            "compile_time": compile_time, "setup_time": time.perf_counter() - t_all - loop, "n_spikes": n_spikes,
            "rate": n_spikes / (n * duration), "n_synapses": n_syn}


def main(argv=None):
    """The command line of this module (``python -m circuits.reference.cuba_annarchy --help``); prints the run's figures as JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--n-inputs", type=float, default=80.0, help="inputs per neuron (p = n_inputs / n)")
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--build-dir", default=None, help="ANNarchy's build folder (reused when the network's code is the same)")
    a = ap.parse_args(argv)
    res = run_annarchy_cuba(a.n, None, a.n_inputs, a.duration, a.threads, a.seed, a.build_dir)
    print("ANNARCHY_RESULT " + json.dumps(res))


if __name__ == "__main__":
    main()
