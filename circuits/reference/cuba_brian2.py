"""Brian2's ``examples/CUBA.py`` (Brette et al. 2007 benchmark 2), the reference the CUBA
benchmark compares neurosim with. Run one mode per process::

    python -m circuits.reference.cuba_brian2 --mode runtime|standalone|numpy --n 4000 --duration 1 [--threads 2]

prints one JSON line: loop time (Brian2's own measure of the simulation loop), total time,
their difference (code generation + compilation + set-up), spike count and mean rate.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time


def run_brian2_cuba(n=4000, p=None, n_inputs=80, duration=1.0, mode="runtime", seed=0, build_dir=None, threads=1) -> dict:
    """Run Brian2's CUBA example with ``n`` neurons (connection probability ``p``, or
    ``n_inputs`` / n) for ``duration`` s in ``mode`` (runtime = Cython, standalone = C++,
    numpy), standalone on ``threads`` OpenMP threads (Brian2's
    ``devices.cpp_standalone.openmp_threads``; 1: no OpenMP); returns loop time, total
    time, spikes and rate (see the module docstring)."""
    import brian2 as b2

    if p is None:
        p = n_inputs / n
    t_all = time.perf_counter()
    if mode == "standalone":
        build_dir = build_dir or tempfile.mkdtemp(prefix="brian2_cuba_")
        b2.set_device("cpp_standalone", directory=build_dir, build_on_run=True)
        if threads > 1:
            b2.prefs.devices.cpp_standalone.openmp_threads = threads
    else:
        b2.prefs.codegen.target = {"runtime": "cython", "numpy": "numpy"}[mode]
    b2.seed(seed)
    ms, mV = b2.ms, b2.mV
    taum, taue, taui = 20 * ms, 5 * ms, 10 * ms
    Vt, Vr, El = -50 * mV, -60 * mV, -49 * mV
    b2.defaultclock.dt = 0.1 * ms
    eqs = """
    dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
    dge/dt = -ge/taue : volt
    dgi/dt = -gi/taui : volt
    """
    P = b2.NeuronGroup(n, eqs, threshold="v>Vt", reset="v = Vr", refractory=5 * ms, method="exact")
    P.v = "Vr + rand() * (Vt - Vr)"
    P.ge = 0 * mV
    P.gi = 0 * mV
    scale = 80.0 / (p * n)  # 1 for the original network and for ~80 inputs per neuron
    we = (60 * 0.27 / 10) * mV * scale
    wi = (-20 * 4.5 / 10) * mV * scale
    n_exc = int(round(0.8 * n))
    Ce = b2.Synapses(P, P, on_pre="ge += we")
    Ci = b2.Synapses(P, P, on_pre="gi += wi")
    Ce.connect(f"i<{n_exc}", p=p)
    Ci.connect(f"i>={n_exc}", p=p)
    s_mon = b2.SpikeMonitor(P, record=False)  # counts only, as the neurosim side does
    b2.run(duration * b2.second)
    total = time.perf_counter() - t_all
    loop = float(b2.device._last_run_time)
    n_spikes = int(s_mon.num_spikes)
    n_syn = int(len(Ce) + len(Ci))
    return {"mode": mode, "threads": threads, "n": n, "duration": duration, "loop_time": loop, "total_time": total,
            "setup_time": total - loop, "n_spikes": n_spikes, "rate": n_spikes / (n * duration), "n_synapses": n_syn}


def main(argv=None):
    """The command line of this module (``python -m circuits.reference.cuba_brian2 --help``); prints the run's figures as JSON."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["runtime", "standalone", "numpy"], default="runtime")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--n-inputs", type=float, default=80.0)
    ap.add_argument("--duration", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="OpenMP threads (standalone only)")
    a = ap.parse_args(argv)
    if a.threads > 1 and a.mode != "standalone":
        ap.error("--threads > 1 needs --mode standalone (Brian2's OpenMP is a C++ standalone feature)")
    out = run_brian2_cuba(a.n, None, a.n_inputs, a.duration, a.mode, a.seed, threads=a.threads)
    sys.stdout.write("BRIAN2_RESULT " + json.dumps(out) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
