"""The ``neurosim`` command. The one place that wires the wings (circuits, connectomes,
hardware) to the core; it imports them lazily."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np


def _cmd_cuba(a) -> int:
    from circuits.cuba import cuba_network

    from . import Simulator, SpikeMonitor, StateMonitor
    from .network import atomic_savez

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    net = cuba_network(a.n, seed=a.seed, n_inputs=None if a.n == 4000 else 80)
    sim = Simulator(net, dt=a.dt, dtype=getattr(np, a.dtype), seed=a.seed)
    res = sim.run(a.duration, [SpikeMonitor("cuba"), StateMonitor("cuba", ("v",), neurons=np.arange(5), every=1)], progress=not a.no_progress)
    st = res.spikes["cuba"]
    raster = out / "cuba_raster.png"
    res.plot_raster(raster, max_neurons=a.raster_neurons,
                    title=f"CUBA network (Brette et al. 2007): {a.n} neurons, {a.duration:g} s, mean rate {st.mean_rate():.2f} Hz")
    res.plot_traces(out / "cuba_v.png", "cuba", "v", title="CUBA: membrane potential of 5 neurons")
    atomic_savez(out / "cuba_spikes.npz", {"times": st.times, "ids": st.ids, "dt": np.array(a.dt)})
    summary = {"neurons": a.n, "synapses": net.n_synapses, "duration_s": a.duration, "dt_s": a.dt, "dtype": a.dtype,
               "spikes": len(st), "mean_rate_hz": st.mean_rate(), "loop_time_s": res.wall_time, "jit_time_s": res.compile_time,
               "synaptic_events_per_s": len(st) * net.n_synapses / a.n / max(res.wall_time, 1e-12)}
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=1))
    os.replace(tmp, out / "summary.json")
    print(f"CUBA: {a.n} neurons, {net.n_synapses:,} synapses, {a.duration:g} s at dt = {a.dt * 1e3:g} ms ({a.dtype})")
    print(f"  {len(st):,} spikes, mean rate {st.mean_rate():.2f} Hz")
    print(f"  simulation loop {res.wall_time:.3f} s (JIT/cache load {res.compile_time:.2f} s), "
          f"{summary['synaptic_events_per_s']:.3g} synaptic events/s")
    print(f"  wrote {raster}, {out / 'cuba_v.png'}, {out / 'cuba_spikes.npz'}, {out / 'summary.json'}")
    return 0


def _cmd_bench(a) -> int:
    script = Path(__file__).resolve().parents[1] / "benchmarks" / f"{a.name}.py"
    if not script.is_file():
        print(f"error: benchmark script {script} not found; benchmarks run from a source checkout "
              f"(available: cuba, scale)", file=sys.stderr)
        return 2
    return subprocess.call([sys.executable, str(script), *a.args])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="neurosim", description="Spiking and neuromorphic simulation on one neuron/synapse core.")
    sub = ap.add_subparsers(dest="command", required=True)

    c = sub.add_parser("cuba", help="simulate the Brette et al. (2007) CUBA network and plot a raster")
    c.add_argument("--n", type=int, default=4000, help="number of neurons (default 4000; others keep ~80 inputs per neuron)")
    c.add_argument("--duration", type=float, default=1.0, help="biological time in s (default 1)")
    c.add_argument("--dt", type=float, default=1e-4, help="time step in s (default 1e-4)")
    c.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", default="runs/cuba", help="output folder (default runs/cuba)")
    c.add_argument("--raster-neurons", type=int, default=500, help="neurons shown in the raster")
    c.add_argument("--no-progress", action="store_true")
    c.set_defaults(func=_cmd_cuba)

    b = sub.add_parser("bench", help="run a benchmark against its peer (benchmarks/<name>.py)")
    b.add_argument("name", choices=["cuba", "scale"])
    b.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the benchmark (see its --help)")
    b.set_defaults(func=_cmd_bench)

    a = ap.parse_args(argv)
    if a.command == "cuba" and (a.n < 10 or a.duration <= 0 or a.dt <= 0):
        ap.error("--n must be >= 10, --duration and --dt > 0")
    return a.func(a)


if __name__ == "__main__":
    sys.exit(main())
