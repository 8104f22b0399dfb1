"""Mapping time on a SpiNNaker-style machine: partition + place + route + compress, for
networks of 10^5 and 10^6 neurons (``--synapses`` targets per neuron, default 20, drawn
uniformly or within ``--local`` neurons of the source), 256 neurons per core, on the smallest square torus of 16-core chips that holds
them (10^5: one 48-chip board; 10^6: 16 x 16 chips). Prints the mapping report: cores and
chips used, routing-table sizes before and after compression (limit 1023), link traffic of
locality-aware against random placement.

    python benchmarks/spinnaker_mapping.py [--sizes 100000 1000000] [--synapses 20]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hardware.spinnaker import Machine, TableOverflow, map_network  # noqa: E402
from neurosim import CubaLIF, Network, Population, Projection  # noqa: E402


def random_network(n: int, k: int, seed: int = 0, local: int = 0) -> Network:
    """``k`` random targets per neuron: anywhere (``local`` = 0) or within ``local``
    neurons of the source (a ring: a sheet of cortex in one dimension)."""
    rng = np.random.default_rng(seed)
    pre = np.repeat(np.arange(n), k)
    post = rng.integers(0, n, n * k) if not local else (pre + rng.integers(-local, local + 1, n * k)) % n
    return Network([Population("p", CubaLIF(), n)], [], [Projection.from_pairs("p", "p", pre, post, 1e-10, n)])


def machine_for(n: int) -> Machine:
    cores = math.ceil(n / 256)
    if cores <= 768:
        return Machine.board()
    side = math.ceil(math.sqrt(cores / 16))
    return Machine.torus(side, side)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--synapses", type=int, default=20)
    ap.add_argument("--local", type=int, nargs="+", default=[0, 2048],
                    help="connection ranges to run: 0 = uniformly random targets, W = targets within W neurons")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    rows = []
    for n, local in [(n, w) for n in a.sizes for w in a.local]:
        t0 = time.perf_counter()
        net = random_network(n, a.synapses, local=local)
        build = time.perf_counter() - t0
        machine = machine_for(n)
        what = f"{n} neurons, {n * a.synapses} synapses, " + (f"targets within {local} neurons" if local else "random targets")
        t0 = time.perf_counter()
        try:
            mapping = map_network(net, machine, "locality")
        except TableOverflow as err:
            print(f"{what} on {machine.n_chips} chips: does not fit after {time.perf_counter() - t0:.1f} s: {err}", flush=True)
            rows.append({"neurons": n, "local": local, "fits": False, "error": str(err), "map_s": time.perf_counter() - t0})
            continue
        total = time.perf_counter() - t0
        r = mapping.report()
        r_rand = map_network(net, machine, "random", seed=1).report()
        row = {"neurons": n, "local": local, "fits": True, "synapses": n * a.synapses, "chips": machine.n_chips, "build_network_s": build, "map_s": total,
               **r, "random_link_traversals": r_rand["link_traversals_per_spike_wave"]}
        rows.append(row)
        print(f"{what} on {machine.n_chips} chips: mapped in {total:.1f} s "
              f"(partition {r['seconds_partition']:.1f}, place {r['seconds_place']:.1f}, route {r['seconds_route']:.1f}, "
              f"compress {r['seconds_compress']:.1f}); {r['cores_used']} cores on {r['chips_used']} chips; tables "
              f"{r['max_table_before']} -> {r['max_table_after']} entries at most ({r['total_entries_before']} -> "
              f"{r['total_entries_after']} in all); link traversals per spike of every neuron: locality "
              f"{r['link_traversals_per_spike_wave']:.3g}, random {r_rand['link_traversals_per_spike_wave']:.3g}", flush=True)
    if a.json:
        from neurosim.atomic import atomic_write_text

        atomic_write_text(a.json, json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
