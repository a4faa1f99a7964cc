#!/usr/bin/env python3
"""PyTorch float64 golden cases for recur's tests (test/fixtures/golden/<case>/).

Each case is a tiny model trained by torch.nn (nn.LSTM / nn.RNN + nn.Linear) and torch.optim in
float64, the way the anchors' lstm1 case (copied into test/fixtures/golden/lstm1) was made, so the
tests compare recur with an independent implementation. A case folder holds:

  model.safetensors   initial weights, F32, SPEC section 3 (PyTorch names, __metadata__ config
                      with vocab); recur trains from it with train.init
  data.txt            the text (text cases), or data.json: the exact sequences of recur's own
                      `adding` task for the case's seed, dumped by scripts/goldens/dump-adding.mjs
  grads.safetensors   F64: gradient of the mean loss over all sequences at the initial weights
  final.safetensors   F64: the weights after `steps` optimizer steps
  expected.json       per-step loss and pre-clip gradient norm (the values recur logs), loss_init,
                      gradNorm_init, loss_final, and the experiment keys that reproduce the run
                      in recur

This is the golden cases' one format: lstm1 (the anchors', one SGD step, its tensors F32) and gru1
(scripts/goldens/gru.py) are in it too.

The batch is every sequence (text: every window, consecutive windows overlapping by one
character, SPEC section 4), in order, every step; the loss is the mean over all predicted steps.
LSTM and RNN have one bias per gate (recur's, SPEC section 2): their bias_hh is frozen at zero;
a GRU trains both biases, as nn.GRU does.

usage: /usr/bin/python3 scripts/goldens/generate.py [CASE ...]     (default: every case)
       /usr/bin/python3 scripts/goldens/generate.py --verify DIR   (recompute a one-SGD-step text
           case such as lstm1 from DIR's model.safetensors, data.txt and expected.json: loss_init,
           gradNorm_init, grads.safetensors and final.safetensors; prints the differences)
Needs torch and numpy (Debian: python3-torch). Tests never run this; they read its output.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
FIXTURES = os.path.join(REPO, 'test', 'fixtures', 'golden')

TEXT = (
    'The lighthouse keeper counted the waves each morning; some days only a few slow swells '
    'came in, other days the sea threw itself at the rocks. He wrote every number down.'
)

# recur's optimizer defaults (src/main/experiment schema), torch's names.
OPT_DEFAULTS = {'momentum': 0.9, 'beta1': 0.9, 'beta2': 0.999, 'eps': 1e-8, 'nesterov': False}

CASES = {
    # Gradient-norm clipping that binds at every step (the norm is ~0.3), SGD.
    'clip': dict(seed=1003, cell='lstm', layers=1, hidden=8, data='text', seqLen=8, steps=3, clip=0.05,
                 optimizer=dict(name='sgd', lr=0.5)),
    'momentum': dict(seed=1005, cell='lstm', layers=1, hidden=8, data='text', seqLen=8, steps=3, clip=None,
                     optimizer=dict(name='momentum', lr=0.5, momentum=0.9)),
    'nesterov': dict(seed=1006, cell='lstm', layers=1, hidden=8, data='text', seqLen=8, steps=3, clip=None,
                     optimizer=dict(name='momentum', lr=0.5, momentum=0.8, nesterov=True)),
    'sgd-weight-decay': dict(seed=1008, cell='lstm', layers=1, hidden=8, data='text', seqLen=8, steps=3, clip=None,
                             optimizer=dict(name='sgd', lr=0.5, weightDecay=0.1)),
    # Adam with L2 weight decay (coupled, added to the gradient) and a clip that binds.
    'adam': dict(seed=1000, cell='lstm', layers=1, hidden=8, data='text', seqLen=8, steps=4, clip=0.2,
                 optimizer=dict(name='adam', lr=0.01, beta1=0.8, beta2=0.99, eps=1e-6, weightDecay=0.05)),
    'adamw': dict(seed=1001, cell='lstm', layers=1, hidden=8, data='text', seqLen=8, steps=4, clip=None,
                  optimizer=dict(name='adamw', lr=0.01, weightDecay=0.1)),
    'rnn': dict(seed=1007, cell='rnn', layers=1, hidden=8, data='text', seqLen=8, steps=2, clip=None,
                optimizer=dict(name='sgd', lr=0.5)),
    'lstm2': dict(seed=1004, cell='lstm', layers=2, hidden=8, data='text', seqLen=8, steps=2, clip=None,
                  optimizer=dict(name='sgd', lr=0.5)),
    'gru': dict(seed=1009, cell='gru', layers=1, hidden=8, data='text', seqLen=8, steps=3, clip=0.2,
                optimizer=dict(name='adam', lr=0.02)),
    # Mean squared error, one output after the last step, on recur's own adding sequences.
    'adding': dict(seed=1002, cell='lstm', layers=1, hidden=8, data='adding', seqLen=10, trainSize=16, steps=2,
                   clip=None, optimizer=dict(name='sgd', lr=0.5)),
    # Pinball loss (train.loss quantile): a two-column series, horizon 2, three quantiles, so
    # output (k*G + g)*Q + q is exercised; one full-batch SGD step.
    # Categorical series columns (data.categorical): three stores of two kinds, each column an
    # nn.Embedding whose row is concatenated after the features at every step; one Adam step.
    'categorical': dict(seed=1011, cell='lstm', layers=1, hidden=6, data='series-categorical', seqLen=5, rows=16,
                        stores=[('s1', 'x'), ('s2', 'y'), ('s3', 'x')], widths={'store': 2, 'kind': 3}, steps=1,
                        clip=None, optimizer=dict(name='adam', lr=0.05)),
    # Token embedding (nn.Embedding, SPEC section 2) into an LSTM: one full-batch Adam step, so
    # embedding.weight's update (rows of unused tokens stay put) is compared with torch.optim's.
    'embedding': dict(seed=1013, cell='lstm', layers=1, hidden=8, embedding=5, data='text', seqLen=8, steps=1, clip=None,
                      optimizer=dict(name='adam', lr=0.01, eps=1e-6)),
    # word_language_model's --tied: decoder.weight = encoder.weight (E = H), a GRU, one Adam step.
    'tied': dict(seed=1012, cell='gru', layers=1, hidden=6, embedding=6, tied=True, data='text', seqLen=8, steps=1, clip=None,
                 optimizer=dict(name='adam', lr=0.02, eps=1e-6)),
    'quantile': dict(seed=1010, cell='lstm', layers=1, hidden=8, data='series', seqLen=6, rows=30, horizon=2,
                     quantiles=[0.1, 0.5, 0.9], steps=1, clip=None, optimizer=dict(name='sgd', lr=0.5)),
    # Bidirectional, two layers, sequences of their own lengths (pack_padded_sequence), one output
    # after the last step from h_n of both directions: class labels (cross-entropy) and values (MSE).
    'bilstm': dict(seed=1011, cell='lstm', layers=2, hidden=5, data='sequences', target='class', count=12, features=2,
                   lengths=(2, 7), bidirectional=True, steps=2, clip=None, optimizer=dict(name='sgd', lr=0.5)),
    'bigru': dict(seed=1012, cell='gru', layers=2, hidden=5, data='sequences', target='value', count=10, features=3,
                  lengths=(1, 6), bidirectional=True, steps=3, clip=0.3, optimizer=dict(name='adam', lr=0.02)),
}

INIT_RANGE = 0.3


# --------------------------------------------------------------------------------------------
# safetensors (numpy only)

def read_safetensors(path):
    raw = open(path, 'rb').read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop('__metadata__', {})
    out = {}
    for name, e in header.items():
        dtype = {'F32': '<f4', 'F64': '<f8'}[e['dtype']]
        begin, end = e['data_offsets']
        out[name] = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype=dtype).reshape(e['shape']).astype(np.float64)
    return out, meta


def write_safetensors(path, tensors, dtype, metadata=None):
    code, np_dtype = {'F32': ('F32', '<f4'), 'F64': ('F64', '<f8')}[dtype]
    header, chunks, offset = {}, [], 0
    if metadata:
        header['__metadata__'] = metadata
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype=np_dtype).tobytes()
        header[name] = {'dtype': code, 'shape': list(array.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf8')
    text += b' ' * (-len(text) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)) + text + b''.join(chunks))


# --------------------------------------------------------------------------------------------
# the model

class Model(torch.nn.Module):
    """[nn.Embedding (attribute embedding)] + nn.LSTM / nn.RNN (attribute rnn) + nn.Linear
    (attribute head): SPEC section 3's state_dict. Tied: head.weight IS embedding.weight."""

    def __init__(self, cell, input_size, hidden, layers, output_size, outputs, categorical=(), embedding=None, tied=False, bidirectional=False):
        super().__init__()
        kind = {'lstm': torch.nn.LSTM, 'gru': torch.nn.GRU, 'rnn': torch.nn.RNN}[cell]
        if embedding:
            self.embedding = torch.nn.Embedding(input_size, embedding)
        # Categorical columns (column, levels, width): `static.<column>.weight`, before the rnn.
        self.categorical = list(categorical)
        if self.categorical:
            self.static = torch.nn.ModuleDict({c: torch.nn.Embedding(levels, width) for c, levels, width in self.categorical})
        self.rnn = kind((embedding or input_size) + sum(w for _, _, w in self.categorical), hidden, num_layers=layers, bidirectional=bidirectional)
        self.head = torch.nn.Linear(hidden * (2 if bidirectional else 1), output_size)
        if tied:
            self.head.weight = self.embedding.weight
        self.outputs = outputs
        self.bidirectional = bidirectional
        for name, p in self.rnn.named_parameters():
            if name.startswith('bias_hh') and cell != 'gru':
                # LSTM and RNN have one bias per gate in recur (SPEC section 2): bias_hh stays
                # zero and untrained. A GRU's bias_hh is its own trained tensor.
                p.requires_grad_(False)

    def forward(self, x, categories=None):  # x: [T, B, In], token ids [T, B] with an embedding, or (x, lengths) for sequences of their own lengths; categories: [B, C] level ids
        if isinstance(x, tuple):
            # Packed: each sequence runs to its own end, the reverse direction from there back.
            assert self.outputs == 'last' and not self.categorical
            packed = torch.nn.utils.rnn.pack_padded_sequence(x[0], x[1], enforce_sorted=False)
            _, h_n = self.rnn(packed)
            h_n = h_n[0] if isinstance(h_n, tuple) else h_n  # LSTM: (h_n, c_n)
            # h_n [layers * directions, B, H]: the top layer's forward (and reverse) final states.
            last = torch.cat([h_n[-2], h_n[-1]], dim=1) if self.bidirectional else h_n[-1]
            return self.head(last)
        if hasattr(self, 'embedding'):
            x = self.embedding(x)
        if self.categorical:
            rows = torch.cat([self.static[c](categories[:, i]) for i, (c, _, _) in enumerate(self.categorical)], dim=1)
            x = torch.cat([x, rows.unsqueeze(0).expand(x.shape[0], -1, -1)], dim=2)
        h, _ = self.rnn(x)
        return self.head(h if self.outputs == 'all' else h[-1])

    def trained(self):
        return [(n, p) for n, p in self.named_parameters() if p.requires_grad]


def load_weights(model, tensors):
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(tensors[name]))


def state(model):
    """The state_dict (a tied head.weight included, as PyTorch saves it)."""
    return {n: p.detach().numpy().copy() for n, p in model.state_dict().items()}


def mean_loss(model, batch):
    """Mean loss over every predicted step of every sequence of the batch."""
    x, target, kind = batch[:3]
    y = model(x, *batch[3:])
    if kind == 'ce':
        return torch.nn.functional.cross_entropy(y.reshape(-1, y.shape[-1]), target.reshape(-1))
    if kind == 'quantile':
        return pinball(y, *target)
    return torch.nn.functional.mse_loss(y, target)


def loss_and_grads(model, batch):
    """The mean loss; leaves its gradient (float64) in every trained parameter's .grad."""
    model.zero_grad(set_to_none=False)
    loss = mean_loss(model, batch)
    loss.backward()
    return loss.item()


def grad_norm(model):
    """torch.nn.utils.clip_grad_norm_'s total norm (2-norm over every trained tensor)."""
    return math.sqrt(sum(float((p.grad ** 2).sum()) for _, p in model.trained()))


def make_optimizer(model, spec):
    params = [p for _, p in model.trained()]
    o = {**OPT_DEFAULTS, **spec}
    wd = o.get('weightDecay', 0.01 if o['name'] == 'adamw' else 0.0)
    if o['name'] == 'sgd':
        return torch.optim.SGD(params, lr=o['lr'], weight_decay=wd)
    if o['name'] == 'momentum':
        return torch.optim.SGD(params, lr=o['lr'], momentum=o['momentum'], nesterov=o['nesterov'], weight_decay=wd)
    betas = (o['beta1'], o['beta2'])
    if o['name'] == 'adam':
        return torch.optim.Adam(params, lr=o['lr'], betas=betas, eps=o['eps'], weight_decay=wd)
    if o['name'] == 'adamw':
        return torch.optim.AdamW(params, lr=o['lr'], betas=betas, eps=o['eps'], weight_decay=wd)
    raise ValueError(o['name'])


# --------------------------------------------------------------------------------------------
# data

def text_batch(text, vocab, seq_len, token_ids=False):
    """Every window of SPEC section 4, time-major one-hot inputs [T, n, V] (or token ids [T, n])
    and targets [T, n]."""
    ids = [vocab.index(ch) for ch in text]
    n = (len(ids) - 1) // seq_len
    x = torch.zeros(seq_len, n, dtype=torch.long) if token_ids else torch.zeros(seq_len, n, len(vocab))
    target = torch.zeros(seq_len, n, dtype=torch.long)
    for i in range(n):
        for t in range(seq_len):
            if token_ids:
                x[t, i] = ids[i * seq_len + t]
            else:
                x[t, i, ids[i * seq_len + t]] = 1
            target[t, i] = ids[i * seq_len + t + 1]
    return (x, target, 'ce'), n


def series_rows(seed, rows):
    """Two columns of a noisy wave, three decimals (what data.csv holds)."""
    gen = np.random.default_rng(seed)
    t = np.arange(rows)
    a = np.round(np.sin(t / 3) + 0.3 * gen.standard_normal(rows), 3)
    b = np.round(np.cos(t / 5) + 0.3 * gen.standard_normal(rows), 3)
    return np.stack([a, b], axis=1)


def series_batch(values, seq_len, horizon, quantiles):
    """SPEC section 4's windows of one series (normalize none, valFraction 0, stride 1, outputs
    last): inputs rows s..s+T-1 [T, n, G]; targets rows s+T..s+T+h-1 [n, h, G]."""
    n = len(values) - seq_len - horizon + 1
    x = torch.tensor(np.stack([values[s:s + seq_len] for s in range(n)], axis=1))
    target = torch.tensor(np.stack([values[s + seq_len:s + seq_len + horizon] for s in range(n)]))
    return (x, (target, torch.tensor(quantiles)), 'quantile'), n


def categorical_series(seed, rows, stores):
    """Per store two noisy waves of its own phase and level; columns store, kind, a, b."""
    gen = np.random.default_rng(seed)
    t = np.arange(rows)
    out = []
    for i, (store, kind) in enumerate(stores):
        a = np.round(np.sin(t / 3 + i) + 0.5 * i + 0.3 * gen.standard_normal(rows), 3)
        b = np.round(np.cos(t / 4 - i) - 0.3 * i + 0.3 * gen.standard_normal(rows), 3)
        out.append((store, kind, np.stack([a, b], axis=1)))
    return out


def categorical_batch(series, seq_len, levels):
    """SPEC section 4's windows, series by series (normalize none, valFraction 0, stride 1,
    horizon 1, outputs last), with each window's level ids: `<unk>` 0, then the levels sorted by
    code points (Python's str order)."""
    xs, targets, ids = [], [], []
    for store, kind, values in series:
        for s in range(len(values) - seq_len):
            xs.append(values[s:s + seq_len])
            targets.append(values[s + seq_len])
            ids.append([levels['store'].index(store), levels['kind'].index(kind)])
    x = torch.tensor(np.stack(xs, axis=1))
    return (x, torch.tensor(np.stack(targets)), 'mse', torch.tensor(ids)), len(xs)


def pinball(y, target, quantiles):
    """PyTorch Forecasting's QuantileLoss: mean over every output of max((q-1)e, q e), e = target - y.
    y [n, h*G*Q] is output (k*G + g)*Q + q; torch.maximum splits the gradient at a tie, as recur does."""
    Q = len(quantiles)
    e = target.unsqueeze(-1) - y.reshape(*target.shape, Q)
    return torch.maximum((quantiles - 1) * e, quantiles * e).mean()


def sequences_lines(seed, case):
    """Sequences of random lengths, three-decimal features, and a class label or one value each."""
    gen = np.random.default_rng(seed)
    lo, hi = case['lengths']
    lines = []
    for i in range(case['count']):
        n = hi if i == 1 else int(gen.integers(lo, hi + 1))  # the longest somewhere inside the batch
        x = np.round(gen.standard_normal((n, case['features'])), 3)
        if case['target'] == 'class':
            y = 'abc'[i % 3]
        else:
            y = round(float(x[:, 0].sum() * 0.3 + x[0, -1]), 3)
        lines.append({'x': x.tolist(), 'y': y})
    return lines


def sequences_batch(lines, target):
    """Padded time-major inputs [T, n, F] with their lengths; class indices (labels sorted) or values [n, 1]."""
    T = max(len(l['x']) for l in lines)
    F = len(lines[0]['x'][0])
    x = torch.zeros(T, len(lines), F)
    for j, l in enumerate(lines):
        x[:len(l['x']), j] = torch.tensor(l['x'])
    lengths = torch.tensor([len(l['x']) for l in lines])
    if target == 'class':
        labels = sorted({l['y'] for l in lines})
        y = torch.tensor([labels.index(l['y']) for l in lines])
        return ((x, lengths), y, 'ce'), len(labels), T
    return ((x, lengths), torch.tensor([[l['y']] for l in lines]), 'mse'), 1, T


def adding_batch(data):
    """data.json from dump-adding.mjs: inputs [n][T][2], targets [n] → [T, n, 2], [n, 1]."""
    x = torch.tensor(data['inputs']).permute(1, 0, 2).contiguous()
    target = torch.tensor(data['targets']).reshape(-1, 1)
    return (x, target, 'mse'), len(data['targets'])


# --------------------------------------------------------------------------------------------
# cases

def generate(name, case):
    out = os.path.join(FIXTURES, name)
    os.makedirs(out, exist_ok=True)
    seed = case['seed']  # of the initial weights
    categorical = []  # (column, levels, width) of each categorical column
    if case['data'] == 'text':
        text = TEXT
        with open(os.path.join(out, 'data.txt'), 'w', encoding='utf8') as f:
            f.write(text)
        vocab = ''.join(sorted(set(text)))
        batch, n = text_batch(text, vocab, case['seqLen'], token_ids='embedding' in case)
        input_size = output_size = len(vocab)
        outputs = 'all'
        data_keys = {'task': 'text', 'path': 'data.txt', 'seqLen': case['seqLen'], 'valFraction': 0}
        seed_keys = {}
    elif case['data'] == 'series':
        values = series_rows(seed, case['rows'])
        with open(os.path.join(out, 'data.csv'), 'w') as f:
            f.write('a,b\n' + ''.join(f'{a:.3f},{b:.3f}\n' for a, b in values))
        G, h, Q = 2, case['horizon'], len(case['quantiles'])
        batch, n = series_batch(values, case['seqLen'], h, case['quantiles'])
        # The same windows for the float64 network test: inputs [n][T][G], targets [n][h*G] step-major.
        with open(os.path.join(out, 'data.json'), 'w') as f:
            json.dump({'quantiles': case['quantiles'], 'inputs': batch[0].permute(1, 0, 2).tolist(),
                       'targets': batch[1][0].reshape(n, h * G).tolist()}, f)
            f.write('\n')
        vocab = None
        input_size, output_size, outputs = G, h * G * Q, 'last'
        data_keys = {'task': 'series', 'path': 'data.csv', 'features': ['a', 'b'], 'seqLen': case['seqLen'],
                     'horizon': h, 'valFraction': 0, 'normalize': 'none'}
        seed_keys = {}
    elif case['data'] == 'series-categorical':
        series = categorical_series(seed, case['rows'], case['stores'])
        with open(os.path.join(out, 'data.csv'), 'w') as f:
            f.write('store,kind,a,b\n' + ''.join(f'{store},{kind},{a:.3f},{b:.3f}\n' for store, kind, values in series for a, b in values))
        levels = {'store': ['<unk>'] + sorted({s for s, _ in case['stores']}), 'kind': ['<unk>'] + sorted({k for _, k in case['stores']})}
        batch, n = categorical_batch(series, case['seqLen'], levels)
        with open(os.path.join(out, 'data.json'), 'w') as f:
            json.dump({'inputs': batch[0].permute(1, 0, 2).tolist(), 'targets': batch[1].tolist(), 'categories': batch[3].tolist(),
                       'levels': levels}, f)
            f.write('\n')
        vocab = None
        input_size, output_size, outputs = 2, 2, 'last'
        categorical = [(c, len(levels[c]), case['widths'][c]) for c in ('store', 'kind')]
        data_keys = {'task': 'series', 'path': 'data.csv', 'group': 'store', 'features': ['a', 'b'], 'categorical': ['store', 'kind'],
                     'seqLen': case['seqLen'], 'horizon': 1, 'valFraction': 0, 'normalize': 'none'}
        seed_keys = {}
    elif case['data'] == 'sequences':
        lines = sequences_lines(seed, case)
        with open(os.path.join(out, 'data.jsonl'), 'w') as f:
            f.write(''.join(json.dumps(l, separators=(',', ':')) + '\n' for l in lines))
        batch, output_size, T = sequences_batch(lines, case['target'])
        n = len(lines)
        vocab = None
        input_size, outputs = case['features'], 'last'
        case = {**case, 'seqLen': T}
        data_keys = {'task': 'sequences', 'path': 'data.jsonl', 'valFraction': 0, 'normalize': 'none', 'target': case['target']}
        seed_keys = {}
    else:
        path = os.path.join(out, 'data.json')
        if not os.path.exists(path):
            sys.exit(f'{path} is missing: run `npm run build && node scripts/goldens/dump-adding.mjs` first')
        data = json.load(open(path))
        assert data['seqLen'] == case['seqLen'] and len(data['targets']) == case['trainSize']
        batch, n = adding_batch(data)
        vocab = None
        input_size, output_size, outputs = 2, 1, 'last'
        data_keys = {'task': 'adding', 'seqLen': case['seqLen'], 'trainSize': case['trainSize'], 'valSize': data['valSize']}
        seed_keys = {'seed': data['seed']}

    bidirectional = case.get('bidirectional', False)
    model = Model(case['cell'], input_size, case['hidden'], case['layers'], output_size, outputs, categorical,
                  case.get('embedding'), case.get('tied', False), bidirectional)
    gen = torch.Generator().manual_seed(seed)
    init = {}
    for pname, p in model.named_parameters():
        if pname.startswith('static.'):  # as nn.Embedding: N(0, 1)
            w = torch.empty(p.shape, dtype=torch.float32).normal_(generator=gen)
        else:
            w = torch.empty(p.shape, dtype=torch.float32).uniform_(-INIT_RANGE, INIT_RANGE, generator=gen)
        init[pname] = (w if p.requires_grad else torch.zeros_like(w)).numpy().astype(np.float64)
    load_weights(model, init)

    config = {'cell': case['cell'], 'inputSize': input_size, 'hidden': case['hidden'], 'layers': case['layers'],
              'outputSize': output_size, 'recurrence': 'hidden', 'outputs': outputs}
    if 'embedding' in case:
        config['embedding'] = case['embedding']
    if case.get('tied'):
        config['tieWeights'] = True
    if bidirectional:
        config['bidirectional'] = True
    if vocab is not None:
        config['vocab'] = vocab
    if categorical:
        config['categorical'] = [{'column': c, 'levels': levels, 'width': width} for c, levels, width in categorical]
    metadata = {'config': json.dumps(config)}
    # The state_dict as PyTorch saves it: a tied head.weight is written too (the same values).
    write_safetensors(os.path.join(out, 'model.safetensors'), state(model), 'F32', metadata)

    optimizer = make_optimizer(model, case['optimizer'])
    losses, norms = [], []
    for step in range(case['steps']):
        losses.append(loss_and_grads(model, batch))
        norms.append(grad_norm(model))
        if step == 0:
            write_safetensors(os.path.join(out, 'grads.safetensors'),
                              {n_: (p.grad.numpy() if p.grad is not None else np.zeros(p.shape)) for n_, p in model.named_parameters()},
                              'F64', metadata)
        if case['clip'] is not None:
            total = torch.nn.utils.clip_grad_norm_([p for _, p in model.trained()], case['clip'])
            assert abs(float(total) - norms[-1]) < 1e-12 * norms[-1]
        optimizer.step()
    final = state(model)
    write_safetensors(os.path.join(out, 'final.safetensors'), final, 'F64', metadata)
    with torch.no_grad():
        loss_final = mean_loss(model, batch).item()

    clipped = [norm > case['clip'] for norm in norms] if case['clip'] is not None else []
    expected = {
        'case': name,
        'about': f"{case['cell']} x{case['layers']}{' bidirectional' if bidirectional else ''} H={case['hidden']}, {case['optimizer']['name']}"
                 f"{', clip ' + str(case['clip']) if case['clip'] is not None else ''}, {case['steps']} steps, "
                 f"batch = all {n} sequences in order; PyTorch {torch.__version__} float64",
        'loss_init': losses[0],
        'gradNorm_init': norms[0],
        'losses': losses,
        'gradNorms': norms,
        'loss_final': loss_final,
        'clipBinds': clipped,
        'sequences': n,
        'seqLen': case['seqLen'],
        **({'stateDict': {k: list(v.shape) for k, v in model.state_dict().items()}} if bidirectional else {}),
        'steps': case['steps'],
        'init': f'uniform(-{INIT_RANGE},{INIT_RANGE}) float32 from torch.Generator seed {seed}' + ('' if case['cell'] == 'gru' else ', bias_hh = 0'),
        # The experiment that reproduces this run in recur (paths relative to the case folder).
        'experiment': {
            **seed_keys,
            'data': data_keys,
            'train': {
                'batch': n, 'steps': case['steps'], 'shuffle': False, 'clip': case['clip'],
                'optimizer': full_optimizer(case['optimizer']), 'init': 'model.safetensors', 'logEvery': 1,
                **({'loss': 'quantile', 'quantiles': case['quantiles']} if 'quantiles' in case else {}),
            },
        },
    }
    with open(os.path.join(out, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=2)
        f.write('\n')
    print(f"{name}: loss {losses[0]:.6f} -> {loss_final:.6f}, gradNorm {norms[0]:.4f}"
          f"{', clip binds ' + str(clipped) if clipped else ''}")


def full_optimizer(spec):
    """Every optimizer key spelled out, so the case does not depend on recur's defaults."""
    o = {**OPT_DEFAULTS, **spec}
    o.setdefault('weightDecay', 0.01 if o['name'] == 'adamw' else 0.0)
    return o


def verify(folder):
    """Recompute a one-SGD-step text case (lstm1) and print the largest differences."""
    expected = json.load(open(os.path.join(folder, 'expected.json')))
    init, meta = read_safetensors(os.path.join(folder, 'model.safetensors'))
    config = json.loads(meta['config'])
    text = open(os.path.join(folder, 'data.txt'), encoding='utf8').read()
    batch, n = text_batch(text, config['vocab'], expected['seqLen'])
    model = Model(config['cell'], config['inputSize'], config['hidden'], config['layers'], config['outputSize'], 'all')
    load_weights(model, init)
    loss = loss_and_grads(model, batch)
    norm = grad_norm(model)
    grads, _ = read_safetensors(os.path.join(folder, 'grads.safetensors'))
    print(f'windows {n} (expected {expected["sequences"]})')
    print(f'loss_init {loss!r} vs {expected["loss_init"]!r}: diff {abs(loss - expected["loss_init"]):.3g}')
    print(f'gradNorm_init {norm!r} vs {expected["gradNorm_init"]!r}: diff {abs(norm - expected["gradNorm_init"]):.3g}')
    for name, p in model.named_parameters():
        g = p.grad.numpy() if p.grad is not None else np.zeros(p.shape)
        print(f'grad {name}: max |diff| {np.abs(g - grads[name]).max():.3g} (max |g| {np.abs(g).max():.3g})')
    torch.optim.SGD([p for _, p in model.trained()], lr=expected['experiment']['train']['optimizer']['lr']).step()
    final, _ = read_safetensors(os.path.join(folder, 'final.safetensors'))
    for name, w in state(model).items():
        print(f'final {name}: max |diff| {np.abs(w - final[name]).max():.3g}')


if __name__ == '__main__':
    args = sys.argv[1:]
    if args[:1] == ['--verify']:
        verify(args[1])
    else:
        for name in args or sorted(CASES):
            generate(name, CASES[name])
