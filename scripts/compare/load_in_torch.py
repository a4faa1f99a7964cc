#!/usr/bin/env python3
"""A recur checkpoint into PyTorch and back: the two-way interop check of SPEC section 3.

1. Builds the PyTorch module its `config` metadata describes — [nn.Embedding `embedding`]
   [nn.ModuleDict `static` of nn.Embedding per categorical column] nn.LSTM/GRU/RNN `rnn`
   (bidirectional when it says so) nn.Linear `head` (tied: head.weight IS embedding.weight) —
   the golden cases' Model (scripts/goldens/generate.py), and loads the tensors with
   `load_state_dict(strict=True)` after dropping `optim.*`: every name and shape must match.
2. Writes PyTorch's own `state_dict()` back as OUT (default CKPT with .torch.safetensors), F32,
   with the same metadata: `recur eval --checkpoint OUT` must print what it prints for CKPT.

  /usr/bin/python3 scripts/compare/load_in_torch.py CKPT [OUT]
Needs torch and numpy (Debian: python3-torch). Tests never run this.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'goldens'))
from generate import Model, read_safetensors, write_safetensors  # noqa: E402  (the golden cases' module: SPEC section 3's names)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else path.replace('.safetensors', '') + '.torch.safetensors'
    tensors, meta = read_safetensors(path)
    cfg = json.loads(meta['config'])
    categorical = [(c['column'], c['levels'], c['width']) for c in cfg.get('categorical', [])]
    torch.set_default_dtype(torch.float32)
    model = Model(cfg['cell'], cfg['inputSize'], cfg['hidden'], cfg['layers'], cfg['outputSize'], cfg.get('outputs', 'all'),
                  categorical, cfg.get('embedding'), cfg.get('tieWeights', False), cfg.get('bidirectional', False))
    weights = {k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items() if not k.startswith('optim.')}
    model.load_state_dict(weights, strict=True)
    if cfg.get('tieWeights'):
        assert model.head.weight is model.embedding.weight, 'tied: one tensor'
    names = list(model.state_dict())
    print(f'{path}: load_state_dict(strict=True) took all {len(names)} tensors: {", ".join(names)}')
    # Back: PyTorch's state_dict as it is (bias_hh of an LSTM/RNN holds recur's zeros).
    write_safetensors(out, {k: v.detach().numpy() for k, v in model.state_dict().items()}, 'F32', meta)
    print(f'wrote {out}: PyTorch\'s state_dict, F32, the same metadata')


if __name__ == '__main__':
    main()
