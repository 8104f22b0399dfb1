"""Our SpiNNaker mapper against the real tool chain (sPyNNaker 7.4 with PACMAN on a virtual
48-chip SpiNN-5 board) on the same networks: cores and chips used, routing entries before
and after compression (largest table and all chips), and time. sPyNNaker's time is split
as it reports it (provenance database): its mapping stage (partitioning, placement, keys,
routing, tables) and its data generation (synaptic matrices, the data specification);
ours is partition + place + route + compress (median of ``--repeats``). Every projection's
route through sPyNNaker's compressed tables is checked (``ToolchainMapping.unrouted``).

Networks: Brette et al.'s CUBA (4000 neurons, 2% connectivity, 320 k synapses), CUBA
scaled to 32,000 neurons (80 inputs per neuron, 2.56 M synapses) and a 100,000-neuron
network with 20 random targets per neuron (2 M synapses; ``spinnaker_mapping.random_network``).

    python benchmarks/spinnaker_toolchain.py [--networks cuba4000 cuba32000 random100000] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from circuits.reference.cuba import cuba_network  # noqa: E402
from hardware.spinnaker import Machine, map_network  # noqa: E402
from hardware.spinnaker.report import mapping_table  # noqa: E402
from hardware.spinnaker.toolchain import map_with_spynnaker  # noqa: E402
from spinnaker_mapping import random_network  # noqa: E402

NETWORKS = {
    "cuba4000": ("CUBA, 4000 neurons", lambda: cuba_network(4000, seed=0)),
    "cuba32000": ("CUBA, 32,000 neurons (80 inputs each)", lambda: cuba_network(32000, seed=0, n_inputs=80)),
    "random100000": ("100,000 neurons, 20 random targets each", lambda: random_network(100_000, 20)),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", nargs="+", choices=list(NETWORKS), default=list(NETWORKS))
    ap.add_argument("--repeats", type=int, default=3, help="runs of our mapper (median)")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds sPyNNaker may take per network")
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    rows = []
    for key in a.networks:
        title, build = NETWORKS[key]
        net = build()
        n_syn = sum(p.n_synapses for p in net.projections)
        times, ours = [], None
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            ours = map_network(net, Machine.board())
            times.append(time.perf_counter() - t0)
        r_ours = ours.report()
        with tempfile.TemporaryDirectory(prefix="neurosim-spynnaker-") as folder:
            tool = map_with_spynnaker(net, 1e-3, folder=folder, timeout=a.timeout)
            missing = tool.unrouted(net)
        r_tool = tool.report()
        print(f"\n{title}: {sum(p.size for p in net.populations)} neurons, {n_syn} synapses; our mapper median of "
              f"{a.repeats}: {statistics.median(times):.3f} s", flush=True)
        print(mapping_table(r_ours, r_tool))
        print(f"sPyNNaker: {'every projection routed' if not missing else f'{len(missing)} routes missing'}; "
              f"ring-buffer shifts {[p['ring_buffer_shifts'] for p in tool.populations.values()]}", flush=True)
        rows.append({"network": key, "title": title, "synapses": n_syn, "ours": r_ours, "ours_seconds_median": statistics.median(times),
                     "spynnaker": r_tool, "unrouted": len(missing)})
    if a.json:
        from neurosim.atomic import atomic_write_text

        atomic_write_text(a.json, json.dumps(rows, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
