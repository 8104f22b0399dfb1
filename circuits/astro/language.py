"""Character-level language modelling for AM-SU, the recurrent LIF SNN and the LSTM (trained
by ``circuits.astro.tasks.train_model``).

**Language modelling**: ``../shared/data/text/tinyshakespeare.txt``, characters as one-hot
inputs, the next character as target; the last 10% of the text is held out. Training uses
random windows of ``seq_len`` characters; evaluation runs the held-out text as 16 parallel
streams whose state is carried across chunks, and reports bits per character
(cross-entropy / ln 2).
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from neurosim.atomic import atomic_write_json, atomic_write_text
from neurosim.integrity import save_torch
from neurosim.models import CubaLIF as CubaLIFModel
from neurosim.plotting import pyplot, save_figure
from neurosim import parallel
from neurosim.runlock import locks_folder

from .amsu import SequenceModel, count_parameters, hidden_for_budget
from .tasks import MODEL_NAMES, check_counts, check_models, prepare_task_dir, resume_this, train_model

__all__ = ["load_text", "bits_per_character", "generate", "train_language", "plot_language"]


# ---------------------------------------------------------------------------- language
def load_text(path, test_fraction: float = 0.1):
    """(train ids, test ids, vocabulary): the characters of the UTF-8 file at ``path`` as
    int64 ids into the sorted vocabulary; the last ``test_fraction`` held out. Raises
    ``FileNotFoundError``, and ``ValueError`` for a file that is not UTF-8 text or too short."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no text file at {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text: {exc}") from exc
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction = {test_fraction!r} is invalid: must be in (0, 1)")
    if len(text) < 1000:
        raise ValueError(f"{path} holds {len(text)} characters; language modelling needs at least 1000")
    vocab = sorted(set(text))
    lookup = {c: k for k, c in enumerate(vocab)}
    ids = torch.tensor([lookup[c] for c in text], dtype=torch.int64)
    cut = int(len(ids) * (1 - test_fraction))
    return ids[:cut], ids[cut:], vocab


def _one_hot(ids, n):
    return torch.nn.functional.one_hot(ids, n).float()


def _text_batch(ids, seq_len, batch, n_vocab, generator):
    start = torch.randint(0, ids.numel() - seq_len - 1, (batch,), generator=generator)
    idx = start[None, :] + torch.arange(seq_len + 1)[:, None]  # (T + 1, B)
    chunk = ids[idx]
    return _one_hot(chunk[:-1], n_vocab), chunk[1:]


@torch.no_grad()
def bits_per_character(model, ids, n_vocab: int, streams: int = 16, chunk: int = 256, max_chars: int | None = None) -> float:
    """Cross-entropy of ``model`` on ``ids`` in bits per character: the text is cut into
    ``streams`` consecutive parts run in parallel, in chunks of ``chunk`` steps, with the
    state carried from chunk to chunk (every character is predicted with all the context
    before it in its part)."""
    model.eval()
    n = (ids.numel() - 1) // streams
    if max_chars is not None:
        n = min(n, max_chars // streams)
    x_ids = ids[: streams * n].reshape(streams, n).t()
    y_ids = ids[1 : streams * n + 1].reshape(streams, n).t()
    state, total = None, 0.0
    for t in range(0, n, chunk):
        logits, state = model(_one_hot(x_ids[t : t + chunk], n_vocab), state)
        total += float(torch.nn.functional.cross_entropy(logits.reshape(-1, n_vocab), y_ids[t : t + chunk].reshape(-1),
                                                         reduction="sum"))
    model.train()
    return total / (streams * n) / math.log(2)


@torch.no_grad()
def generate(model, vocab, prompt: str, length: int, temperature: float = 0.8, seed: int = 0) -> str:
    """Sample ``length`` characters after ``prompt`` (characters from ``vocab``); seeded.
    Raises ``ValueError`` for a prompt with characters outside the vocabulary."""
    lookup = {c: k for k, c in enumerate(vocab)}
    missing = sorted(set(prompt) - set(lookup))
    if missing or not prompt:
        raise ValueError(f"the prompt must be non-empty text over the model's vocabulary; unknown characters: {missing}")
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    logits, state = model(_one_hot(torch.tensor([lookup[c] for c in prompt])[:, None], len(vocab)))
    out = []
    for _ in range(length):
        p = torch.softmax(logits[-1, 0] / temperature, 0)
        k = int(torch.multinomial(p, 1, generator=gen))
        out.append(vocab[k])
        logits, state = model(_one_hot(torch.tensor([[k]]), len(vocab)), state)
    model.train()
    return prompt + "".join(out)


@locks_folder("out_dir")
def train_language(text_path, out_dir="runs/astro_lm", models=("amsu", "lif", "lstm"), n_hidden: int = 256,
                   iterations: int = 2000, batch_size: int = 32, seq_len: int = 128, lr: float = 1e-2,
                   tau_astro: float = 0.1, dt: float = 1e-3, tau_mem: float = 1e-3, tau_syn: float = 0.5e-3,
                   eval_chars: int | None = None, seed: int = 0,
                   resume: bool = False, overwrite: bool = False, progress: bool = True, stop_after: int | None = None,
                   sample_length: int = 400):
    """Train every model on the first 90% of the text and write ``results.json`` (held-out
    bits per character, parameters, hidden units, training seconds), ``bpc.png`` (held-out
    bpc during training) and ``samples.txt`` (a generated sample per model) to ``out_dir``.
    AM-SU has ``n_hidden`` units; the others the largest size within its parameter count.
    One step per character (``dt``); the spiking neurons are ``CubaLIF(tau_mem, tau_syn)``,
    fast by default (1 and 0.5 steps: a next-character readout of spikes needs neurons that
    answer the last characters; longer context comes from recurrence and the astrocytes,
    ``tau_astro`` = 100 characters). ``eval_chars`` limits the held-out characters scored during training (the final score
    uses them all). Raises ``ValueError`` for unknown models or settings out of range,
    ``FileExistsError`` for a folder with results (unless ``resume``/``overwrite``), and
    ``ValueError`` from a resume whose settings differ from a run's checkpoint. Returns the
    results dict (``"complete": True`` once every model finished). Runs data-parallel
    inside a ``torch.distributed`` process group (``neurosim.parallel.spawn(train_language,
    n, ...)``, see ``circuits.astro.tasks.train_model``); rank 0 alone writes and returns the
    results."""
    models = check_models(models)
    check_counts(n_hidden=n_hidden, iterations=iterations, batch_size=batch_size, seq_len=seq_len)
    out = prepare_task_dir(out_dir, resume, overwrite)
    train_ids, test_ids, vocab = load_text(text_path)
    V = len(vocab)
    neuron = CubaLIFModel(tau_mem=tau_mem, tau_syn_e=tau_syn, t_ref=0.0, v_reset=CubaLIFModel().v_rest)
    layer = {"dt": dt, "tau_astro": tau_astro, "neuron": neuron}
    budget = count_parameters(SequenceModel("amsu", V, n_hidden, V, **layer))
    results = {"text": str(text_path), "train_chars": int(train_ids.numel()), "test_chars": int(test_ids.numel()),
               "vocab": V, "budget": budget, "seq_len": seq_len, "runs": []}
    samples = []
    for kind in models:
        opts = {} if kind == "lstm" else layer
        hidden = n_hidden if kind == "amsu" else hidden_for_budget(kind, V, V, budget, **opts)
        torch.manual_seed(seed)
        model = SequenceModel(kind, V, hidden, V, **opts)
        folder = out / kind

        def loss_fn(m, x, y):
            logits, _ = m(x)
            return torch.nn.functional.cross_entropy(logits.reshape(-1, V), y.reshape(-1))

        settings = {"task": "astro-lm", "model": kind, "hidden": hidden, "batch_size": batch_size, "seq_len": seq_len,
                    "eval_chars": eval_chars}
        if kind != "lstm":
            settings.update(dt=dt, tau_astro=tau_astro, tau_mem=tau_mem, tau_syn=tau_syn)
        history = train_model(model, lambda g: _text_batch(train_ids, seq_len, batch_size, V, g), loss_fn,
                              lambda m: {"test_bpc": bits_per_character(m, test_ids, V, max_chars=eval_chars)}, folder,
                              iterations, lr, seed, max(1, iterations // 10), settings, resume=resume_this(folder, resume),
                              overwrite=overwrite, progress=progress, desc=kind, stop_after=stop_after, y_axis=1)
        if not history or not history[-1].get("done"):
            return results
        if not parallel.is_main():  # data-parallel: rank 0 alone evaluates and writes
            continue
        save_torch(folder / "model_state.pt", model.state_dict())
        bpc = bits_per_character(model, test_ids, V)
        results["runs"].append({"model": kind, "hidden": hidden, "parameters": count_parameters(model), "test_bpc": bpc,
                                "seconds": history[-1]["seconds"], "history": [[h["iteration"], h["test_bpc"]] for h in history]})
        samples.append(f"=== {MODEL_NAMES[kind]} (held-out {bpc:.3f} bits/char) ===\n"
                       f"{generate(model, vocab, 'ROMEO:', sample_length, seed=seed)}\n")
        atomic_write_json(out / "results.json", results)
    if parallel.is_main():
        atomic_write_text(out / "samples.txt", "\n".join(samples))
        plot_language(results, out / "bpc.png")
    results["complete"] = True
    return results


def plot_language(results: dict, path) -> None:
    """Held-out bits per character during training, one line per model."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for r in results["runs"]:
        it, bpc = zip(*r["history"])
        ax.plot(it, bpc, "o-", ms=3, label=f"{MODEL_NAMES[r['model']]} ({r['parameters']} params): {r['test_bpc']:.3f}")
    ax.set_xlabel("training iteration")
    ax.set_ylabel("held-out bits per character")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Tiny Shakespeare, last 10% held out", fontsize=10)
    fig.tight_layout()
    save_figure(fig, path)
