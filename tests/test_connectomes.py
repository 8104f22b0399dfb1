"""connectomes: every dataset loads in one canonical order; totals match cect and the papers."""
import importlib

import numpy as np
import pytest

import connectomes as C
from connectomes.names import quiet_cect


@pytest.fixture(scope="module")
def all_connectomes():
    return {name: C.load(name) for name in C.available()}


def test_available_names():
    names = set(C.available())
    assert {"cook2019_herm", "white1986_whole", "varshney2011", "openworm"} <= names
    assert {f"witvliet2021_{k}" for k in range(1, 9)} <= names


def test_canonical_order_and_shapes(all_connectomes):
    order = C.neurons()
    assert len(order) == 302 == len(set(order))
    for name, con in all_connectomes.items():
        assert con.neurons == order, name
        assert con.chemical.shape == con.gap.shape == (302, 302)
        np.testing.assert_array_equal(con.gap, con.gap.T, err_msg=name)
        # self-contacts are kept as published (Cook 2019 lists some); they carry no current
        # absent neurons have no connections
        absent = ~con.present
        assert not con.chemical[absent].any() and not con.chemical[:, absent].any() and not con.gap[absent].any()


def test_published_totals_varshney_2011(all_connectomes):
    """Varshney et al. 2011: 279 somatic neurons, 6393 chemical synapses (cect: 6394) and
    890 gap junctions."""
    s = all_connectomes["varshney2011"].summary()
    assert s["neurons_connected"] == 279
    assert s["gap_junctions"] == 890
    assert s["chemical_synapses"] == 6394


@pytest.mark.parametrize("name,n_conn,chem_pairs,gap_pairs", [
    ("cook2019_herm", 302, 3709, 1105),
    ("witvliet2021_8", 180, 1933, 304),
    ("white1986_whole", 299, 2266, 569),
    ("witvliet2021_1", 161, 675, 83),
])
def test_totals(all_connectomes, name, n_conn, chem_pairs, gap_pairs):
    s = all_connectomes[name].summary()
    assert (s["neurons_connected"], s["chemical_connections"], s["gap_junction_pairs"]) == (n_conn, chem_pairs, gap_pairs)


@pytest.mark.parametrize("name", ["cook2019_herm", "witvliet2021_8", "white1986_whole"])
def test_matches_cect_neuron_to_neuron_matrices(all_connectomes, name):
    """Independent of our mapping: cect's own matrices restricted to the 302 neurons."""
    with quiet_cect():
        reader = importlib.import_module(f"cect.readers.{C.DATASETS[name].reader}").get_instance()
    keep = [k for k, n in enumerate(reader.nodes) if n in set(C.neurons())]
    chem = sum(np.asarray(m)[np.ix_(keep, keep)].sum() for c, m in reader.connections.items() if c != "Generic_GJ")
    gap = np.asarray(reader.connections["Generic_GJ"])[np.ix_(keep, keep)].sum()
    con = all_connectomes[name]
    assert con.chemical.sum() == chem and con.gap.sum() == gap


def test_names_are_normalised_and_unknown_names_listed():
    assert C.normalize_name("db01") == "DB1"
    assert C.normalize_name(" aval ") == "AVAL"
    assert C.normalize_name("VA09") == "VA9"
    with pytest.raises(KeyError, match="unknown neuron name 'AVAX'.*AVA"):
        C.normalize_name("AVAX")
    with pytest.raises(KeyError, match="unknown connectome 'cook'.*cook2019_herm"):
        C.load("cook")


def test_classes_types_transmitters():
    classes = {C.neuron_class(n) for n in C.neurons()}
    assert len(classes) == 118  # White et al. 1986
    assert C.neuron_class("RMDDL") == "RMD" and C.neuron_class("RID") == "RID" and C.neuron_class("RIVL") == "RIV"
    assert C.cell_type("ALML") == "sensory" and C.cell_type("AVAL") == "inter" and C.cell_type("DB1") == "motor"
    assert "GABA" in C.transmitters("VD1") and "Acetylcholine" in C.transmitters("AVAL")
    sign = C.synapse_sign()
    assert sign[C.neurons().index("VD1")] == -1 and sign[C.neurons().index("AVAL")] == 1
    assert (sign < 0).sum() == 31  # the GABAergic neurons without ACh/Glu
    assert (C.synapse_sign(glutamate="inhibitory") < 0).sum() > 31


def test_functional_atlas():
    a = C.functional_atlas("wt")
    assert a.dff.shape == (302, 302) and a.in_atlas.sum() == 298
    r, s = a.significant_pairs(0.05)
    assert 1000 < r.size < 1300
    assert np.all(a.q[r, s] < 0.05)
    assert np.all(np.isnan(a.dff[~a.in_atlas]))
    with pytest.raises(ValueError, match="strain"):
        C.functional_atlas("daf2")


def test_cache_is_used_and_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROSIM_CACHE", str(tmp_path))
    first = C.load("witvliet2021_1")
    files = list((tmp_path / "connectomes").glob("witvliet2021_1-*.npz"))
    assert len(files) == 1
    files[0].write_bytes(b"garbage")  # a damaged cache entry is rebuilt, not trusted
    again = C.load("witvliet2021_1")
    np.testing.assert_array_equal(first.chemical, again.chemical)
