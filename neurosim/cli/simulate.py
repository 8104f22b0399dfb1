"""``neurosim cuba``: the Brette et al. (2007) CUBA network (``circuits.reference.cuba``)."""
from __future__ import annotations

from .args import INT0, INT1, POSITIVE, number


def add(sub) -> None:
    """Add ``neurosim cuba`` to the subcommands ``sub``."""
    c = sub.add_parser("cuba", help="simulate the Brette et al. (2007) CUBA network and plot a raster")
    c.add_argument("--n", type=number(int, 80), default=4000,
                   help="number of neurons, >= 80 (default 4000; other sizes keep 80 inputs per neuron)")
    c.add_argument("--duration", type=POSITIVE, default=1.0, help="biological time in s (default 1)")
    c.add_argument("--dt", type=POSITIVE, default=1e-4, help="time step in s (default 1e-4)")
    c.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    c.add_argument("--seed", type=INT0, default=0)
    c.add_argument("--out", default="runs/cuba", help="output folder (default runs/cuba)")
    c.add_argument("--raster-neurons", type=INT1, default=500, help="neurons shown in the raster")
    c.add_argument("--threads", type=INT1, default=1,
                   help="threads of the simulation (default 1; the spikes do not depend on it; pays off from ~30,000 neurons)")
    c.add_argument("--checkpoint-every", type=number(float, 0, lo_open=True), default=None, metavar="S",
                   help="run in segments of S s of biological time, checkpointing the state and the spikes so far to "
                        "--out/checkpoint/ after each (continue with --resume)")
    c.add_argument("--resume", action="store_true", help="continue an interrupted --checkpoint-every run in --out")
    c.add_argument("--no-progress", action="store_true")
    c.set_defaults(func=run, parser=c)


def run(a) -> int:
    """``neurosim cuba``: simulate the CUBA network (resumable with checkpoints); returns the exit status."""
    from circuits.reference.cuba import run_cuba

    if a.resume and a.checkpoint_every is None:
        a.parser.error("--resume needs --checkpoint-every (the segment length of the run it continues)")
    s = run_cuba(a.n, a.duration, a.dt, a.dtype, a.seed, a.out, a.raster_neurons, progress=not a.no_progress,
                 checkpoint_every=a.checkpoint_every, resume=a.resume, threads=a.threads)
    print(f"CUBA: {a.n} neurons, {s['synapses']:,} synapses, {a.duration:g} s at dt = {a.dt * 1e3:g} ms ({a.dtype}, "
          f"{s['threads']} thread{'s' if s['threads'] > 1 else ''})")
    print(f"  {s['spikes']:,} spikes, mean rate {s['mean_rate_hz']:.2f} Hz")
    print(f"  simulation loop {s['loop_time_s']:.3f} s (JIT/cache load {s['jit_time_s']:.2f} s), "
          f"{s['synaptic_events_per_s']:.3g} synaptic events/s")
    print(f"  wrote {', '.join(s['files'])}")
    return 0
