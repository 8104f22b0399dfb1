"""Property-based tests (issue #15, criterion 2): random frames, thresholds and timestamps
for the event-camera simulator, random bytes for ``read_events`` and ``Network.load``.
Whatever comes in, the only outcomes are a valid result or the documented error."""
import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import hypothesis.extra.numpy as hnp
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_network import _rich_network

from neurosim import Network, NetworkFileError
from neurosim.events import EVENT_DTYPE, EventCameraSimulator, EventFileError, read_events

# NEUROSIM_FUZZ_EXAMPLES=3000 for a deeper search (about a minute)
FUZZ = settings(max_examples=int(os.environ.get("NEUROSIM_FUZZ_EXAMPLES", 200)), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
_TMP = Path(tempfile.mkdtemp(prefix="neurosim-fuzz-"))
atexit.register(shutil.rmtree, _TMP, True)

_SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf])
intensities = st.floats(min_value=-1.0, max_value=1e6) | _SPECIAL
times_value = st.floats(min_value=-10.0, max_value=1e3) | _SPECIAL


@FUZZ
@given(data=st.data(),
       frames=hnp.arrays(np.float64, hnp.array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=6), elements=intensities),
       threshold=st.floats(min_value=-0.1, max_value=2.0), sigma=st.floats(min_value=0.0, max_value=0.5),
       refractory=st.sampled_from([0.0, 1e-4, 1e-2]), noise=st.sampled_from([0.0, 10.0]))
def test_camera_simulator_only_returns_events_or_documented_errors(data, frames, threshold, sigma, refractory, noise):
    n = frames.shape[0]
    times = data.draw(st.one_of(st.just(np.arange(n) * 0.01), hnp.arrays(np.float64, n, elements=times_value)))
    try:
        sim = EventCameraSimulator(contrast_threshold=threshold, threshold_sigma=sigma, refractory=refractory,
                                   noise_rate=noise, min_threshold=1e-3, max_events=20_000, seed=1)
        ev = sim.simulate(frames, times)
    except ValueError:  # includes EventLimitError
        return
    h, w = frames.shape[1:]
    assert ev.dtype == EVENT_DTYPE and ev.size <= 20_000
    assert np.all((ev["x"] >= 0) & (ev["x"] < w) & (ev["y"] >= 0) & (ev["y"] < h))
    assert np.all(np.diff(ev["t"]) >= 0) and set(np.unique(ev["p"])) <= {0, 1}
    assert ev.size == 0 or (ev["t"][0] >= 0 and ev["t"][-1] <= round((times[-1] - times[0]) * 1e6))


_PREFIXES = {".bin": b"", ".bs2": b"", ".aedat4": b"#!AER-DAT4.0\r\n", ".dat": b"% Date 2017\n\x00\x08", ".txt": b""}


@FUZZ
@given(ext=st.sampled_from(sorted(_PREFIXES)), body=st.binary(max_size=3000), with_header=st.booleans())
def test_read_events_on_random_bytes(ext, body, with_header):
    path = _TMP / f"random{ext}"
    path.write_bytes((_PREFIXES[ext] if with_header else b"") + body)
    try:
        ev = read_events(path)
    except EventFileError:
        return
    assert ev.dtype == EVENT_DTYPE
    assert np.all((ev["x"] >= 0) & (ev["y"] >= 0)) and set(np.unique(ev["p"])) <= {0, 1}
    if ext in (".bin", ".bs2"):
        assert np.all((ev["x"] < 34) & (ev["y"] < 34)) and np.all(np.diff(ev["t"]) >= 0)


@FUZZ
@given(body=st.binary(max_size=3000))
def test_network_load_on_random_bytes(body):
    path = _TMP / "random.npz"
    path.write_bytes(body)
    try:
        Network.load(path)
    except NetworkFileError:
        return


_GOOD = _TMP / "good.npz"
_rich_network().save(_GOOD)
_GOOD_BYTES = _GOOD.read_bytes()


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(_GOOD_BYTES) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_network_load_on_damaged_files(flips):
    data = bytearray(_GOOD_BYTES)
    for pos, value in flips:
        data[pos] = value
    path = _TMP / "damaged.npz"
    path.write_bytes(bytes(data))
    try:
        net = Network.load(path)
    except NetworkFileError:
        return
    assert isinstance(net, Network)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                           max_leaves=20)


@FUZZ
@given(meta=json_values, key=st.sampled_from(["populations", "sources", "projections", "gap_junctions", "inputs", None]))
def test_network_load_on_random_metadata(meta, key):
    with np.load(_GOOD) as z:
        arrays = {k: z[k] for k in z.files}
    good = json.loads(bytes(arrays.pop("__meta__")).decode())
    if key is not None:  # one section replaced (deeper checks), or the whole metadata
        meta = {**good, key: meta}
    path = _TMP / "meta.npz"
    with open(path, "wb") as f:
        np.savez(f, __meta__=np.frombuffer(json.dumps(meta).encode(), np.uint8), **arrays)
    try:
        Network.load(path)
    except NetworkFileError:
        return
