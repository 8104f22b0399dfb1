"""CUBA benchmark: neurosim vs Brian2 on the Brette et al. (2007) CUBA network.

The network is Brian2's ``examples/CUBA.py`` (4000 neurons, 3200 exc / 800 inh, p = 0.02,
dt = 0.1 ms); ``--sizes 32000`` keeps ~80 inputs per neuron. For each size and duration,
every simulator runs ``--repeats`` times with different seeds (connectivity and initial
state); medians are printed. Brian2 runs in subprocesses (runtime mode = Cython; with
``--standalone`` also C++ standalone). Loop times are the simulation loop alone: neurosim's
``Results.wall_time`` and Brian2's ``device._last_run_time``; JIT/compile/build time is
reported separately.

    python benchmarks/cuba.py                       # 4000 neurons, 1 s and 10 s
    python benchmarks/cuba.py --standalone --sizes 4000 32000 --json runs/bench/cuba.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from circuits.reference.cuba import cuba_network  # noqa: E402
from neurosim import Simulator, SpikeMonitor  # noqa: E402


def run_neurosim(n, duration, seed, dtype):
    t0 = time.perf_counter()
    net = cuba_network(n, seed=seed, n_inputs=80 if n != 4000 else None)
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    sim = Simulator(net, dt=1e-4, dtype=dtype)
    res = sim.run(duration, [SpikeMonitor("cuba")])
    end_to_end = time.perf_counter() - t0
    st = res.spikes["cuba"]
    return {"loop_time": res.wall_time, "compile_time": res.compile_time, "build_time": build, "end_to_end": end_to_end,
            "n_spikes": len(st), "rate": st.mean_rate(), "n_synapses": net.n_synapses}


def run_brian2(mode, n, duration, seed):
    cmd = [sys.executable, "-W", "ignore", "-m", "circuits.reference.cuba_brian2", "--mode", mode, "--n", str(n), "--duration", str(duration), "--seed", str(seed)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    for line in out.stdout.splitlines():
        if line.startswith("BRIAN2_RESULT "):
            return json.loads(line.split(" ", 1)[1])
    raise RuntimeError(f"Brian2 {mode} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def cold_neurosim(n, duration, dtype):
    """A fresh process with an empty Numba cache: import + build + JIT + run, end to end."""
    code = (
        "import time; t0=time.perf_counter(); import numpy as np; from circuits.reference.cuba import cuba_network; "
        "from neurosim import Simulator, SpikeMonitor; net=cuba_network(%d); "
        "r=Simulator(net, dt=1e-4, dtype=np.%s).run(%r,[SpikeMonitor('cuba')]); "
        "print('COLD', time.perf_counter()-t0, r.compile_time, r.wall_time)" % (n, dtype, duration)
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=tempfile.mkdtemp(prefix="numba_cold_"))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    line = [l for l in out.stdout.splitlines() if l.startswith("COLD")]
    if not line:
        raise RuntimeError(out.stderr[-3000:])
    total, comp, loop = map(float, line[0].split()[1:])
    return {"total": total, "compile_time": comp, "loop_time": loop}


def med(rows, key):
    return statistics.median(r[key] for r in rows)


def print_row(row, dtypes, modes, repeats):
    n, duration = row["n"], row["duration"]
    print(f"\n## CUBA, {n} neurons, {duration:g} s biological time (medians of {repeats} seeds)", flush=True)
    ours = {dt: med(row[f"neurosim_{dt}"], "loop_time") for dt in dtypes}
    head = " / ".join(f"neurosim {dt}" for dt in dtypes)
    print(f"| simulator | loop time (s) | compile/build (s) | spikes | mean rate (Hz) | syn. events/s | speed-up of {head} |")
    print("|---|---|---|---|---|---|---|")
    for key in [f"neurosim_{dt}" for dt in dtypes] + [f"brian2_{m}" for m in modes]:
        rows = row[key]
        loop = med(rows, "loop_time")
        setup = med(rows, "compile_time") if key.startswith("neurosim") else med(rows, "setup_time")
        spikes = med(rows, "n_spikes")
        events = spikes * med(rows, "n_synapses") / n / loop
        ratio = "" if key.startswith("neurosim") else " / ".join(f"{loop / ours[dt]:.1f}x" for dt in dtypes)
        print(f"| {key} | {loop:.3f} | {setup:.2f} | {spikes:.0f} | {med(rows, 'rate'):.2f} | {events:.3g} | {ratio} |")
    if modes:
        rb = med(row["brian2_runtime"], "rate")
        ro = med(row[f"neurosim_{dtypes[-1]}"], "rate")
        print(f"rate agreement: neurosim {ro:.2f} Hz vs Brian2 {rb:.2f} Hz: {100 * abs(ro - rb) / rb:.1f}% "
              f"({'within' if abs(ro - rb) <= 0.1 * rb else 'OUTSIDE'} 10%)")
    if n == 4000 and duration == 1.0:
        print(f"warm end-to-end 1 s run (Simulator() + run): {med(row[f'neurosim_{dtypes[0]}'], 'end_to_end'):.3f} s")


def report(path):
    with open(path) as f:
        results = json.load(f)
    a = results["args"]
    modes = [] if a["no_brian2"] else ["runtime"] + (["standalone"] if a["standalone"] else [])
    for row in results["rows"]:
        print_row(row, a["dtypes"], modes, a["repeats"])
    for dt in a["dtypes"]:
        c = results.get(f"cold_{dt}")
        if c:
            print(f"cold neurosim {dt} (new process, empty JIT cache, 1 s): total {c['total']:.2f} s "
                  f"(JIT {c['compile_time']:.2f} s, loop {c['loop_time']:.3f} s)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[4000])
    ap.add_argument("--durations", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    ap.add_argument("--standalone", action="store_true", help="also run Brian2 C++ standalone")
    ap.add_argument("--no-brian2", action="store_true", help="neurosim only")
    ap.add_argument("--json", default=None, help="write all measurements here")
    ap.add_argument("--report", default=None, metavar="JSON", help="only print the tables of a saved --json file")
    a = ap.parse_args(argv)
    if a.report:
        return report(a.report)

    results = {"args": vars(a), "rows": []}
    # JIT once per dtype, timed (cached kernels load from disk after the first ever run)
    for dt in a.dtypes:
        r = run_neurosim(400, 0.01, 0, getattr(np, dt))
        print(f"neurosim {dt}: first call in this process (JIT or cache load) {r['compile_time']:.2f} s", flush=True)
    modes = [] if a.no_brian2 else ["runtime"] + (["standalone"] if a.standalone else [])
    for n in a.sizes:
        for duration in a.durations:
            row = {"n": n, "duration": duration}
            for dt in a.dtypes:
                runs = [run_neurosim(n, duration, s, getattr(np, dt)) for s in range(a.repeats)]
                row[f"neurosim_{dt}"] = runs
            for mode in modes:
                row[f"brian2_{mode}"] = [run_brian2(mode, n, duration, s) for s in range(a.repeats)]
            results["rows"].append(row)
            print_row(row, a.dtypes, modes, a.repeats)
    if 4000 in a.sizes:
        for dt in a.dtypes:
            c = cold_neurosim(4000, 1.0, dt)
            results[f"cold_{dt}"] = c
            print(f"cold neurosim {dt} (new process, empty JIT cache, 1 s): total {c['total']:.2f} s "
                  f"(JIT {c['compile_time']:.2f} s, loop {c['loop_time']:.3f} s)")
    if a.json:
        from neurosim.atomic import atomic_write_json

        atomic_write_json(a.json, results)


if __name__ == "__main__":
    main()
