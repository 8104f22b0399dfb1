"""Memory of current injections at scale: one population of CuBa-LIF neurons driven by an
injected current, no synapses, so that what is measured is the input path.

* ``step``: a constant current (``CurrentInjection(target, 0.3 nA)``), issue #29's
  criterion: 10^6 neurons for 2 s at 1 ms must stay under 2 GB peak resident memory. The
  engine holds a constant drive as one bias value per neuron: O(neurons).
* ``array``: a current sampled every step (``CurrentInjection.from_array``, shape (T,), the
  same for every neuron), which the engine reads segment by segment in chunks bounded to
  ``neurosim.engine.external.MAX_INPUT_VALUES`` values.

The peer is Brian2 (runtime mode, numpy target, ``method="exact"``): the same neurons with
``I : amp`` (step) or a ``TimedArray`` (array). Each engine runs in a fresh process, which
reports its peak resident memory (``VmHWM``: imports included), the run end to end
(neurosim: building the layout, loading the JIT cache and the loop; Brian2: ``run``), the
loop alone (``Results.wall_time``; Brian2's ``device._last_run_time``) and the rest; spikes
of the first 1000 neurons are counted in both as a check that they simulate the same thing.

    python benchmarks/input_memory.py [--neurons 1000000] [--duration 2] [--dt 1e-3] [--input step array] [--repeats 3]

Medians of ``--repeats`` fresh processes per engine and input.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AMPLITUDE = 0.3e-9  # A: 24 mV above rest at equilibrium, above the 20 mV threshold (about 26 Hz)
RECORDED = 1000


def _drive(kind: str, n_steps: int):
    import numpy as np

    if kind == "step":
        return AMPLITUDE
    return AMPLITUDE * (0.8 + 0.4 * np.arange(n_steps) / n_steps)  # a slow ramp, one sample per step


def _v0(n: int):
    import numpy as np

    return -70e-3 + 20e-3 * np.random.default_rng(0).random(n)  # spread phases


def child_neurosim(n: int, duration: float, dt: float, kind: str) -> dict:
    sys.path.insert(0, ROOT)
    import numpy as np

    from neurosim import CubaLIF, CurrentInjection, Network, Population, Simulator, SpikeMonitor

    n_steps = int(round(duration / dt))
    drive = _drive(kind, n_steps)
    inj = CurrentInjection("p", drive) if kind == "step" else CurrentInjection.from_array("p", drive, dt)
    net = Network([Population("p", CubaLIF(), n, {"v": _v0(n)})], inputs=[inj])
    t0 = time.perf_counter()
    res = Simulator(net, dt=dt, dtype=np.float64).run(duration, [SpikeMonitor("p", neurons=np.arange(RECORDED))])
    return {"seconds": time.perf_counter() - t0, "loop_seconds": res.wall_time, "compile_seconds": res.compile_time,
            "spikes": int(res.spikes["p"].times.size)}


def child_brian2(n: int, duration: float, dt: float, kind: str) -> dict:
    import brian2 as b2

    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = dt * b2.second
    n_steps = int(round(duration / dt))
    eqs = "dv/dt = (-70*mV - v) / (20*ms) + I_in / (250*pF) : volt (unless refractory)\n"
    if kind == "step":
        eqs += "I_in : amp"
    else:
        stim = b2.TimedArray(_drive(kind, n_steps) * b2.amp, dt=dt * b2.second)  # noqa: F841 - used by name in eqs
        eqs += "I_in = stim(t) : amp"
    g = b2.NeuronGroup(n, eqs, threshold="v > -50*mV", reset="v = -70*mV", refractory=2 * b2.ms, method="exact")
    g.v = _v0(n) * b2.volt
    if kind == "step":
        g.I_in = AMPLITUDE * b2.amp
    mon = b2.SpikeMonitor(g[:RECORDED])
    t0 = time.perf_counter()
    b2.run(duration * b2.second)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "loop_seconds": b2.device._last_run_time, "compile_seconds": seconds - b2.device._last_run_time,
            "spikes": int(mon.num_spikes)}


def peak_rss_mb() -> float:
    """This process's peak resident memory (MB): ``VmHWM`` where Linux reports it (``ru_maxrss``
    also counts the parent's memory at the fork that started this process)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_child(engine: str, args, kind: str) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--child", engine, "--neurons", str(args.neurons), "--duration",
           str(args.duration), "--dt", str(args.dt), "--input", kind]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--neurons", type=int, default=1_000_000)
    ap.add_argument("--duration", type=float, default=2.0)
    ap.add_argument("--dt", type=float, default=1e-3)
    ap.add_argument("--input", nargs="+", choices=["step", "array"], default=["step", "array"])
    ap.add_argument("--repeats", type=int, default=3, help="fresh processes per engine and input (medians reported)")
    ap.add_argument("--child", choices=["neurosim", "brian2"], default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run = child_neurosim if args.child == "neurosim" else child_brian2
        out = run(args.neurons, args.duration, args.dt, args.input[0])
        out["peak_rss_mb"] = peak_rss_mb()
        print(json.dumps(out))
        return
    print(f"{args.neurons:,} CuBa-LIF neurons, {args.duration:g} s at dt = {args.dt:g} s, injected current only; "
          f"peak resident memory of the whole process (imports included); medians of {args.repeats} processes")
    print("| input | engine | peak RSS (MB) | run, end to end (s) | loop (s) | set-up, JIT/codegen (s) | spikes of the first 1000 neurons |")
    print("|---|---|---|---|---|---|---|")
    for kind in args.input:
        rows = {}
        for engine in ("neurosim", "brian2"):
            runs = [run_child(engine, args, kind) for _ in range(args.repeats)]
            bad = [r for r in runs if "error" in r]
            r = rows[engine] = bad[0] if bad else {k: statistics.median(x[k] for x in runs) for k in runs[0]}
            if "error" in r:
                print(f"| {kind} | {engine} | failed: {r['error']} | | | | |")
            else:
                print(f"| {kind} | {engine} | {r['peak_rss_mb']:.0f} | {r['seconds']:.2f} | {r['loop_seconds']:.2f} | "
                      f"{r['compile_seconds']:.2f} | {r['spikes']:.0f} |", flush=True)
        if all("error" not in r for r in rows.values()):
            ns, b2 = rows["neurosim"], rows["brian2"]
            print(f"| {kind} | Brian2 / neurosim | {b2['peak_rss_mb'] / ns['peak_rss_mb']:.2f}x memory | "
                  f"{b2['seconds'] / ns['seconds']:.1f}x | {b2['loop_seconds'] / ns['loop_seconds']:.1f}x | | |")


if __name__ == "__main__":
    main()
