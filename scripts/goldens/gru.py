#!/usr/bin/env python3
"""The GRU golden case, computed by PyTorch in float64 (the anchors' method for golden/lstm1).

A two-layer character GRU (nn.GRU + nn.Linear head) on a short text: initial weights drawn
uniform(-0.3, 0.3) and rounded to float32 (BOTH biases random, so b_hn's place inside the reset
gate matters), the mean cross-entropy over every window of seqLen, its gradient, and the weights
after one full-batch SGD step. Writes into test/fixtures/golden/gru1/:
  model.safetensors  initial weights, SPEC §3 names and metadata (PyTorch's own state_dict names)
  data.txt           the text
  grads.safetensors  gradient of the mean loss at the initial weights
  final.safetensors  weights after one SGD step of lr
  expected.json      the golden cases' one format (as generate.py writes it): losses, gradNorms,
                     loss_final, the experiment that reproduces the step; and nn.GRU's state_dict
                     names and shapes (so tests can check recur's checkpoints without Python)
Run with /usr/bin/python3 (torch, numpy); the tests never call Python.
"""
import json
import os
import struct

import numpy as np
import torch

SEED = 2002
SEQ_LEN = 8
HIDDEN = 12
LAYERS = 2
LR = 0.5
TEXT = (
    "Under the old bridge the river kept its own calendar. In spring it ran brown and loud, "
    "carrying branches and the occasional lost boot; by August it had thinned to a clear ribbon "
    "that the children could cross on stones. Nobody remembered who had built the bridge, only "
    "that it had always been there, patient as a cat, waiting for the water to come back.\n"
)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "golden", "gru1")


def write_safetensors(path, tensors, metadata=None):
    """Every tensor as F32 little-endian, in the given order (the format of SPEC §3)."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name, value in tensors.items():
        data = np.ascontiguousarray(value.detach().cpu().numpy().astype("<f4")).tobytes()
        header[name] = {"dtype": "F32", "shape": list(value.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


class Model(torch.nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.rnn = torch.nn.GRU(vocab, HIDDEN, LAYERS)
        self.head = torch.nn.Linear(HIDDEN, vocab)

    def forward(self, x):  # x: [T, B, V] one-hot
        h, _ = self.rnn(x)
        return self.head(h)


def main():
    torch.manual_seed(SEED)
    vocab = "".join(sorted(set(TEXT)))
    V = len(vocab)
    ids = torch.tensor([vocab.index(c) for c in TEXT])
    windows = (len(TEXT) - 1) // SEQ_LEN
    inputs = torch.stack([ids[i * SEQ_LEN:(i + 1) * SEQ_LEN] for i in range(windows)], 1)  # [T, W]
    targets = torch.stack([ids[i * SEQ_LEN + 1:(i + 1) * SEQ_LEN + 1] for i in range(windows)], 1)
    x = torch.nn.functional.one_hot(inputs, V).double()

    model = Model(V).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.empty_like(p).uniform_(-0.3, 0.3).float().double())
    names = list(model.state_dict().keys())

    def loss_of(m):
        y = m(x)
        return torch.nn.functional.cross_entropy(y.reshape(-1, V), targets.reshape(-1))

    loss = loss_of(model)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    grad_norm = torch.sqrt(sum((g * g).sum() for g in grads.values())).item()
    initial = {n: v.clone() for n, v in model.state_dict().items()}
    with torch.no_grad():
        for n, p in model.named_parameters():
            p -= LR * p.grad
        loss1 = loss_of(model).item()

    config = {"cell": "gru", "inputSize": V, "hidden": HIDDEN, "layers": LAYERS, "outputSize": V, "vocab": vocab}
    os.makedirs(OUT, exist_ok=True)
    write_safetensors(os.path.join(OUT, "model.safetensors"), initial, {"config": json.dumps(config)})
    write_safetensors(os.path.join(OUT, "grads.safetensors"), grads)
    write_safetensors(os.path.join(OUT, "final.safetensors"), {n: v for n, v in model.state_dict().items()})
    with open(os.path.join(OUT, "data.txt"), "w", encoding="utf-8") as f:
        f.write(TEXT)
    expected = {
        "case": "gru1",
        "about": f"gru x{LAYERS} H={HIDDEN}, sgd, 1 steps, batch = all {windows} sequences in order; PyTorch {torch.__version__} float64",
        "loss_init": loss.item(), "gradNorm_init": grad_norm,
        "losses": [loss.item()], "gradNorms": [grad_norm], "loss_final": loss1, "clipBinds": [],
        "sequences": windows, "seqLen": SEQ_LEN, "steps": 1,
        "init": "uniform(-0.3,0.3) rounded to float32, both biases",
        "cell": "gru", "layers": LAYERS, "hidden": HIDDEN, "vocabSize": V, "textLength": len(TEXT), "seed": SEED,
        "torch": torch.__version__,
        # The experiment that reproduces the step in recur (paths relative to the case folder).
        "experiment": {
            "data": {"task": "text", "path": "data.txt", "seqLen": SEQ_LEN, "valFraction": 0},
            "train": {
                "batch": windows, "steps": 1, "shuffle": False, "clip": None,
                "optimizer": {"momentum": 0.9, "beta1": 0.9, "beta2": 0.999, "eps": 1e-08, "nesterov": False,
                              "name": "sgd", "lr": LR, "weightDecay": 0.0},
                "init": "model.safetensors", "logEvery": 1,
            },
        },
        "stateDict": {n: list(initial[n].shape) for n in names},
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")
    print(json.dumps({k: expected[k] for k in ("loss_init", "loss_final", "gradNorm_init", "sequences")}))


if __name__ == "__main__":
    main()
