"""Run the classifier trained by ``train_nmnist.py`` on Loihi 2's arithmetic: export it to a
core ``Network`` (``neurosim.nn.to_network``), map it to Lava's LIF and Dense processes,
quantise it to Loihi's integer formats and run it on the Numba engine that is bit-exact with
Lava's ``fixed_pt`` model; compare its decisions with the float torch model's.

    python examples/train_nmnist.py && python examples/deploy_loihi.py [--samples 50] [--quick]
"""
import argparse
import dataclasses

import numpy as np
import torch

from hardware.loihi import map_network, quantize, run_fixed
from neurosim import Population
from neurosim.nn import to_network
from train_nmnist import DATA, DT, build_model, dataset, scores

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--samples", type=int, default=50, help="held-out samples to run")
ap.add_argument("--model", default="runs/examples/nmnist/model.pt")
ap.add_argument("--data", default=str(DATA))
ap.add_argument("--quick", action="store_true", help="5 samples")
a = ap.parse_args()

model = build_model()
model.load_state_dict(torch.load(a.model, weights_only=True)["model"])   # weights only: no unpickled objects
test = dataset(a.data)[1]

agree = correct = 0
n = 5 if a.quick else a.samples
for i in range(n):
    frames, label = test[i]
    x = np.minimum(frames, 1).astype(np.uint8)                 # (T, 2, 34, 34): one spike per pixel and step
    with torch.no_grad():
        torch_class = int(scores(model, torch.from_numpy(x[:, None].astype(np.float32))).argmax(1))
    net = to_network(list(model), x)
    # the LI readout has no spikes: give its population a threshold it never reaches
    pops = [Population(p.name, p.model.replace(v_th=p.model.v_rest + 1.0), p.size) if p.name == "readout" else p
            for p in net.populations]
    net = dataclasses.replace(net, populations=tuple(pops))
    lag = len(net.populations)                                 # one step of synaptic delay per layer
    q, report = quantize(map_network(net, DT, len(x) + lag))
    res, ints = run_fixed(q, record_v=["readout"])
    chip_class = int(np.argmax(ints["readout"]["v"][lag:].max(0)))
    agree += chip_class == torch_class
    correct += chip_class == label
print(f"{n} held-out samples: Loihi 2 fixed point {correct / n:.2f} accurate; "
      f"the same decision as torch (float) in {agree} of {n}")
