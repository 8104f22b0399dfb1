"""Issue #29, security: no input a user hands neurosim makes it run code the user did not write.

Hostile inputs fed here, per area:

* names (item 1): 9 hostile names (quote and newline injection, a call, a backslash, a
  space, non-ASCII, empty, 300 characters, a non-string) into populations and 8 into
  projections built in code (an empty projection name means the default), 2 through
  ``Network.load``, 2 through a NIR graph's metadata (in memory and from a file), and 2
  forced past validation into the PyNN export, whose script is run with a recording
  stand-in for PyNN: 23 in all;
* sweep tasks (item 2): 4 module paths in a spec (``subprocess:run``, ``this:s``, a module
  that writes a file when imported, in the library and through the CLI) and 2 malformed
  task names;
* sweep traces (item 3): 3 traces that would need pickle (an object array, a ragged list,
  a dict), plus ``atomic_savez`` given an object array directly: 4.

33 hostile inputs in all.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import sweep_tasks  # noqa: F401 - tests/sweep_tasks.py: imported by the workers too
from neurosim import CubaLIF, Network, NetworkFileError, Population, Projection, SpikeSource
from neurosim.atomic import atomic_savez
from neurosim.cli import main
from neurosim.network import NAME_RULES
from neurosim.sweep import SweepSpec, register_task, run_sweep

INJECTION = 'x", ) ; __import__("os").system("touch PWNED") ; _ = ("'
HOSTILE = [INJECTION, "a\nimport os", "f(1)", "back\\slash", "with space", "névron", "", "x" * 300, 42]


def _small_network(proj_name="syn", pop_name="pop") -> Network:
    src = SpikeSource("src", 2, [0.001, 0.002], [0, 1])
    pop = Population(pop_name, CubaLIF(), 3)
    return Network([pop], [src], [Projection.from_dense("src", pop_name, np.full((2, 3), 1e-10), name=proj_name)])


# ---------------------------------------------------------------- 1. names
@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_names_are_refused_where_a_network_is_built(name):
    if name != "":  # an empty projection name means the default one, pre->post:target
        with pytest.raises(ValueError, match="name .* is invalid: use"):
            _small_network(proj_name=name)
    with pytest.raises(ValueError, match="name .* is invalid: use"):
        _small_network(pop_name=name)


def test_the_documented_characters_are_accepted():
    assert "'-'" in NAME_RULES["node"] and "'>'" in NAME_RULES["projection"]
    net = _small_network("src->pop:exc.v2", "pop_2-b")
    assert net.projections[0].name == "src->pop:exc.v2"
    assert Projection.from_dense("src", "pop", np.ones((2, 3))).name == "src->pop:exc"  # the default name is valid


def _meta_and_arrays(path):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(bytes(arrays.pop("__meta__")).decode()), arrays


@pytest.mark.parametrize("where", ["projections", "populations"])
def test_hostile_names_in_a_saved_network_are_refused_on_load(tmp_path, where):
    _small_network().save(tmp_path / "good.npz")
    meta, arrays = _meta_and_arrays(tmp_path / "good.npz")
    meta[where][0]["name"] = INJECTION
    with open(tmp_path / "evil.npz", "wb") as f:
        np.savez(f, __meta__=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    with pytest.raises(NetworkFileError, match="name .* is invalid"):
        Network.load(tmp_path / "evil.npz")


@pytest.mark.parametrize("via_file", [False, True])
def test_hostile_projection_names_in_nir_metadata_are_refused(tmp_path, via_file):
    from hardware.nir import NIRConversionError, network_from_nir, network_to_nir, write_graph

    graph = network_to_nir(_small_network(), 1e-3)
    linear = next(n for n in graph.nodes.values() if type(n).__name__ == "Linear")
    linear.metadata["neurosim_projection"] = INJECTION
    if via_file:
        graph = write_graph(graph, tmp_path / "evil.nir")
    with pytest.raises(NIRConversionError, match="neurosim_projection: projection name .* is invalid"):
        network_from_nir(graph)


FAKE_PYNN = '''"""A stand-in for a PyNN back end that records what the exported script asks of it."""
import json, os
_LOG = os.environ["FAKE_PYNN_LOG"]


def _log(*entry):
    with open(_LOG, "a") as f:
        f.write(json.dumps(entry) + "\\n")


def setup(**kw): _log("setup", kw)
def IF_curr_exp(**kw): return "IF_curr_exp"
def SpikeSourceArray(**kw): return "SpikeSourceArray"
def SpikeSourcePoisson(**kw): return "SpikeSourcePoisson"
def FromListConnector(conns): return len(conns)
def run(t): _log("run", t)
def end(): _log("end")


class Population:
    def __init__(self, size, cell, initial_values=None, label=None): _log("Population", size, cell, label)
    def record(self, what): pass


class Projection:
    def __init__(self, pre, post, conn, receptor_type=None, label=None): _log("Projection", conn, receptor_type, label)
'''


def _run_exported(tmp_path, net):
    from hardware.spinnaker.pynn_export import export_pynn

    script = export_pynn(net, tmp_path / "export", 0.005, 1e-3)
    (tmp_path / "fake_pynn.py").write_text(FAKE_PYNN)
    log = tmp_path / "calls.log"
    res = subprocess.run([sys.executable, str(script), "fake_pynn"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tmp_path), "FAKE_PYNN_LOG": str(log)})
    assert res.returncode == 0, res.stderr
    return script, [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.parametrize("element", ["projection", "population"])
def test_the_pynn_script_quotes_names_so_a_hostile_one_runs_no_code(tmp_path, element):
    """Even a name forced past validation reaches the script only as a string literal: the
    script runs, the back end receives the name verbatim, and nothing is executed."""
    import ast

    net = _small_network()
    if element == "projection":
        object.__setattr__(net.projections[0], "name", INJECTION)
    else:  # the population and every reference to it
        object.__setattr__(net.populations[0], "name", INJECTION)
        object.__setattr__(net.projections[0], "post", INJECTION)
    script, calls = _run_exported(tmp_path, net)
    assert not (tmp_path / "PWNED").exists() and not (script.parent / "PWNED").exists()
    labels = [c[-1] for c in calls if c[0] in ("Population", "Projection")]
    assert INJECTION in labels and calls[-1] == ["end"]
    # the name appears in the script as a string constant and nowhere as code
    tree = ast.parse(script.read_text())
    consts = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    assert INJECTION in consts
    assert not any(isinstance(n, ast.Name) and n.id == "__import__" for n in ast.walk(tree))


# ---------------------------------------------------------------- 2. sweep tasks
EVIL_MODULE = "from pathlib import Path\nPath(__file__).with_name('IMPORTED').write_text('ran at import')\ndef run(p):\n    return {}\n"


@pytest.fixture
def evil_module(tmp_path, monkeypatch):
    (tmp_path / "evil_sweep_task.py").write_text(EVIL_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path / "IMPORTED"


@pytest.mark.parametrize("task", ["subprocess:run", "this:s", "evil_sweep_task:run"])
def test_a_spec_cannot_name_a_module_to_run(tmp_path, evil_module, task):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"task": task, "base": {"args": ["touch", str(tmp_path / "PWNED")]}, "grid": {"x": [1]}}))
    with pytest.raises(ValueError, match="module path, which a spec may only name when you opt in"):
        run_sweep(SweepSpec.load(spec), tmp_path / "out", progress=False)
    assert not evil_module.exists() and not (tmp_path / "PWNED").exists()


def test_the_cli_refuses_a_module_task_before_starting_a_cluster(tmp_path, evil_module, capsys):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"task": "evil_sweep_task:run", "grid": {"x": [1]}}))
    assert main(["sweep", str(spec), "--out", str(tmp_path / "out"), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "--allow-module-task" in err and "'cuba'" in err and "'worm'" in err
    assert not evil_module.exists()


@pytest.mark.parametrize("task", ["os.system('x')", "a:b:c"])
def test_malformed_task_names_are_refused(task):
    with pytest.raises(ValueError, match="give a registered task name"):
        SweepSpec(task)


def test_module_tasks_run_only_when_the_caller_opts_in(tmp_path):
    df = run_sweep(SweepSpec("sweep_tasks:square", base={"log": str(tmp_path / "log")}, grid={"x": [2]}), tmp_path / "out",
                   n_workers=1, progress=False, allow_module_tasks=True)
    assert df["y"].tolist() == [4]


# ---------------------------------------------------------------- 3. traces without pickle
def _traces(params):
    kind = params["kind"]
    value = {"object": np.array([{"a": 1}, None], dtype=object), "ragged": [[1, 2], [3]], "dict": np.array({"a": 1})}[kind]
    return {"y": 1.0, "traces": {"bad": value, "good": np.arange(3)}}


def test_traces_that_need_pickle_fail_their_point_and_nothing_is_pickled(tmp_path):
    register_task("pickled_traces", _traces)
    df = run_sweep(SweepSpec("pickled_traces", grid={"kind": ["object", "ragged", "dict"]}, traces=True, retries=0),
                   tmp_path, n_workers=1, progress=False)
    assert (df["status"] == "failed").all()
    assert all("trace 'bad'" in e for e in df["error"]) and df["error"].str.contains("Python objects").sum() == 2
    assert not (tmp_path / "traces").exists() or not any((tmp_path / "traces").iterdir())


def test_atomic_savez_refuses_object_arrays(tmp_path):
    with pytest.raises(ValueError, match="array 'x' holds Python objects"):
        atomic_savez(tmp_path / "a.npz", {"x": np.array([object()]), "y": np.arange(2)})
    assert not (tmp_path / "a.npz").exists() and not list(tmp_path.iterdir())
