#!/usr/bin/env python3
"""PyTorch's word_language_model example (pytorch/examples, RNNModel with an LSTM) on recur's
word-level data, for a side-by-side validation perplexity with `recur eval` (SPEC §4 word text).

Everything is read from the same experiment file recur trains (default experiments/words.yaml):
the text, tokens/lowercase/minCount, seqLen, valFraction, hidden, layers, dropout, batch,
steps, optimizer lr (plain SGD, as the example) and clip. The data pipeline is recur's, restated:
- tokens: a maximal run of letters, marks and digits joined by in-word apostrophes (' or U+2019
  between two of them), else one non-space character; a line break (LF, CRLF, CR) is "\\n";
  other whitespace (JavaScript's \\s) only separates; lowercase folds case first;
- windows i = tokens[i*T .. i*T+T], the last ceil(valFraction*windows) are validation; the
  vocabulary is "<unk>" then the training windows' tokens with count >= minCount by count
  descending, ties by code point (--checkpoint checks it against a recur checkpoint's);
- stateful batches (data.stateful, shuffle false): B streams of L = floor(trainWindows/B)
  consecutive windows, batch j holds window j of every stream, state carried and detached between
  batches, reset every L batches;
- validation: every validation window from a zero state, the mean cross-entropy over its tokens.
The input is one-hot over the vocabulary, as recur's (until model.embedding): nn.LSTM(V, H, layers)
with dropout after every layer (between layers, as nn.LSTM's, and before the head, as the example's)
+ nn.Linear(H, V). Initialisation is PyTorch's (the example's decoder: uniform
+-0.1, bias 0), so the curves differ in detail, not in kind.

  /usr/bin/python3 scripts/compare/word_language_model.py [experiments/words.yaml] [--steps N]
      [--checkpoint runs/words/checkpoint.safetensors] [--threads 2] [--eval-windows N]
"""
import argparse
import json
import math
import os
import struct
import sys
import time
import unicodedata
from collections import Counter

import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

# JavaScript's \s: what only separates tokens.
JS_SPACE = set('\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff') | {chr(c) for c in range(0x2000, 0x200b)}
APOSTROPHES = ("'", '\u2019')


def word_char(ch):
    return unicodedata.category(ch)[0] in 'LMN'


def tokenize(text, lowercase):
    text = text.replace('\r\n', '\n').replace('\r', '\n')
    if lowercase:
        text = text.lower()
    tokens, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if word_char(ch):
            j = i + 1
            while j < n:
                if word_char(text[j]):
                    j += 1
                elif text[j] in APOSTROPHES and j + 1 < n and word_char(text[j + 1]):
                    j += 2
                else:
                    break
            tokens.append(text[i:j])
            i = j
        elif ch == '\n':
            tokens.append('\n')
            i += 1
        elif ch in JS_SPACE:
            i += 1
        else:
            tokens.append(ch)
            i += 1
    return tokens


def build_vocabulary(tokens, min_count):
    counts = Counter(tokens)
    counts.pop('<unk>', None)
    kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    return ['<unk>'] + kept


def checkpoint_vocab(path):
    with open(path, 'rb') as f:
        (length,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(length))
    return json.loads(header['__metadata__']['config'])['vocab']


class RNNModel(nn.Module):
    """The example's RNNModel (LSTM) read one-hot, as recur reads tokens: nn.LSTM(V, H, layers)'s
    parameters and initialisation, run step by step so that layer 0's input projection of a
    one-hot token is a column gather of weight_ih_l0 (the same numbers as the dense product,
    without a [T*B, V] one-hot matrix)."""

    def __init__(self, ntoken, nhid, nlayers, dropout):
        super().__init__()
        self.ntoken, self.nhid, self.nlayers = ntoken, nhid, nlayers
        self.drop = nn.Dropout(dropout)
        self.rnn = nn.LSTM(ntoken, nhid, nlayers)
        self.head = nn.Linear(nhid, ntoken)
        nn.init.uniform_(self.head.weight, -0.1, 0.1)
        nn.init.zeros_(self.head.bias)

    def forward(self, x, hidden):
        T, B = x.shape
        if hidden is None:
            zeros = x.new_zeros((self.nlayers, B, self.nhid), dtype=torch.float)
            hidden = (zeros, zeros)
        h0, c0 = hidden
        hs, cs = [], []
        layer_in = None
        for k in range(self.nlayers):
            w_ih, w_hh = getattr(self.rnn, f'weight_ih_l{k}'), getattr(self.rnn, f'weight_hh_l{k}')
            bias = getattr(self.rnn, f'bias_ih_l{k}') + getattr(self.rnn, f'bias_hh_l{k}')
            # [T, B, 4H]: a gather of columns for the one-hot tokens, a product for a layer's input.
            projected = (F.embedding(x, w_ih.t()) if k == 0 else layer_in @ w_ih.t()) + bias
            h, c, outputs = h0[k], c0[k], []
            for t in range(T):
                i, f, g, o = (projected[t] + h @ w_hh.t()).chunk(4, dim=1)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
                outputs.append(h)
            layer_in = self.drop(torch.stack(outputs))  # between layers, and before the head
            hs.append(h)
            cs.append(c)
        return self.head(layer_in), (torch.stack(hs), torch.stack(cs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('experiment', nargs='?', default='experiments/words.yaml')
    ap.add_argument('--steps', type=int, help='default: the experiment\'s train.steps')
    ap.add_argument('--checkpoint', help='a recur checkpoint of the same experiment: its vocabulary must equal ours')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--log-every', type=int, default=50)
    ap.add_argument('--eval-windows', type=int, help='score only the first N validation windows (a quick check); default all, as recur eval')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    with open(args.experiment) as f:
        exp = yaml.safe_load(f)
    data, model, train = exp['data'], exp['model'], exp.get('train', {})
    assert data.get('tokens') == 'word', 'a word-level experiment (data.tokens: word)'
    optimizer = train.get('optimizer', {})
    assert optimizer.get('name') == 'sgd', "the example trains with plain SGD (train.optimizer.name: sgd)"
    T, B = data['seqLen'], train.get('batch', 32)
    steps = args.steps or train.get('steps', 1000)
    lr, clip, seed = optimizer.get('lr', 0.002), train.get('clip', 5.0), exp.get('seed', 1)
    torch.manual_seed(seed)

    path = os.path.join(os.path.dirname(os.path.abspath(args.experiment)), data['path'])
    with open(path, encoding='utf-8-sig') as f:
        tokens = tokenize(f.read(), data.get('lowercase', False))
    windows = (len(tokens) - 1) // T
    val_fraction = data.get('valFraction', 0.05)
    val_windows = math.ceil(val_fraction * windows) if val_fraction > 0 else 0
    train_windows = windows - val_windows
    vocab = build_vocabulary(tokens[: train_windows * T + 1], data.get('minCount', 1))
    if args.checkpoint:
        theirs = checkpoint_vocab(args.checkpoint)
        if theirs != vocab:
            sys.exit(f'vocabulary differs from {args.checkpoint}: {len(vocab)} tokens here, {len(theirs)} there')
        print(f'vocabulary equals {args.checkpoint}\'s ({len(vocab)} tokens)')
    index = {t: i for i, t in enumerate(vocab)}
    ids = torch.tensor([index.get(t, 0) for t in tokens], dtype=torch.long)
    V = len(vocab)
    print(f'{len(tokens)} tokens, V = {V}, {train_windows} training and {val_windows} validation windows of {T}')

    def window_batch(starts):
        """[T, n] inputs and targets of the windows starting at token offsets `starts`."""
        offsets = torch.tensor(starts).unsqueeze(0) + torch.arange(T).unsqueeze(1)
        return ids[offsets], ids[offsets + 1]

    net = RNNModel(V, model['hidden'], model.get('layers', 1), model.get('dropout', 0.0))
    L = train_windows // B
    hidden = None
    started = time.time()
    for step in range(steps):
        j = step % L
        if j == 0:
            hidden = None  # every stream starts each epoch from a zero state
        net.train()
        x, y = window_batch([(r * L + j) * T for r in range(B)])
        if hidden is not None:
            hidden = tuple(h.detach() for h in hidden)
        out, hidden = net(x, hidden)
        loss = F.cross_entropy(out.reshape(-1, V), y.reshape(-1))
        net.zero_grad()
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(net.parameters(), clip)
        with torch.no_grad():
            for p in net.parameters():
                p.add_(p.grad, alpha=-lr)
        if (step + 1) % args.log_every == 0 or step == 0:
            print(f'step {step + 1} loss {loss.item():.4f} ({time.time() - started:.0f} s)', flush=True)

    net.eval()
    scored = min(val_windows, args.eval_windows or val_windows)
    total, count = 0.0, 0
    with torch.no_grad():
        for first in range(0, scored, 64):
            starts = [(train_windows + w) * T for w in range(first, min(first + 64, scored))]
            x, y = window_batch(starts)
            out, _ = net(x, None)
            total += F.cross_entropy(out.reshape(-1, V), y.reshape(-1), reduction='sum').item()
            count += y.numel()
    val_loss = total / count
    print(json.dumps({'steps': steps, 'valLoss': val_loss, 'perplexity': math.exp(val_loss), 'tokens': count}))


if __name__ == '__main__':
    main()
