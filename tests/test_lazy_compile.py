"""A network compiles only the code of the features it has (issue #35, cold start): the
engine's kernel takes each optional feature as a tuple or None, and the registries compile
only the models and rules a network uses."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import json, numpy as np
from neurosim import Simulator, SpikeMonitor
from neurosim.engine import kernels, plastic, registry
{build}
r = Simulator(net, dt=1e-4, dtype=np.float32).run(0.01, [SpikeMonitor('{pop}')])
print('PROBE', json.dumps({{
    'neuron_kernels': sorted(k for k, _ in registry._COMPILED),
    'rules': sorted({{k for k, _, _ in registry._PLAST_COMPILED}}),
    'compiled': {{name: len(getattr(mod, name).signatures) for mod, name in [
        (kernels, 'run_chunk'), (kernels, 'deliver_dynamic'), (kernels, 'graded_predict'), (kernels, 'couple_at'),
        (plastic, 'plastic_step')]}},
    'spikes': int(r.spikes['{pop}'].times.size)}}))
"""


def probe(build: str, pop: str, cache: Path) -> dict:
    """Run ``build``'s network in a new process with an empty Numba cache (a kernel loaded
    from the cache does not compile its callees, which would hide what it calls)."""
    out = subprocess.run([sys.executable, "-c", PROBE.format(build=build, pop=pop)], cwd=ROOT, capture_output=True,
                         text=True, timeout=600, env=dict(os.environ, NUMBA_CACHE_DIR=str(cache)))
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("PROBE")]
    assert line, out.stderr[-3000:]
    return json.loads(line[0].split(" ", 1)[1])


def test_cuba_compiles_only_its_neuron_kernel_and_no_optional_feature(tmp_path):
    got = probe("from circuits.reference.cuba import cuba_network\nnet = cuba_network(400)", "cuba", tmp_path)
    assert got["spikes"] > 0
    assert got["neuron_kernels"] == ["", "cuba_lif"]  # "" is the shared no-op in the other places
    assert got["rules"] == []
    assert got["compiled"] == {"run_chunk": 1, "deliver_dynamic": 0, "graded_predict": 0, "couple_at": 0,
                               "plastic_step": 0}


def test_a_plastic_network_compiles_its_rule_and_the_learning_step(tmp_path):
    got = probe("from circuits.reference.song2000 import song_inputs, song_network\n"
                "net = song_network(*song_inputs(50, 0.01, rate=200.0))", "neuron", tmp_path)
    assert got["neuron_kernels"] == ["", "coba_lif"]
    assert got["rules"] == ["", "stdp"]
    assert got["compiled"]["plastic_step"] == 1 and got["compiled"]["graded_predict"] == 0
