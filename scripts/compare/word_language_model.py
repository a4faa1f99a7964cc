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
The model is the example's RNNModel with the experiment's model.embedding and model.tieWeights
(see RNNModel for the two small differences from recur), so the curves differ in detail, not in kind.

  /usr/bin/python3 scripts/compare/word_language_model.py [experiments/words.yaml] [--steps N]
      [--checkpoint runs/words/checkpoint.safetensors] [--threads 2] [--eval-windows N]
      [--embedding-init uniform|normal]
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
    """The example's RNNModel: nn.Embedding(V, E) (encoder) → nn.LSTM(E, H, layers, dropout) →
    dropout → nn.Linear(H, V) (decoder; --tied: decoder.weight = encoder.weight). As recur's
    dropout (SPEC section 2) it drops every layer's output, not the embedding's (the example also
    drops the embedding output); initialisation is the example's (encoder and decoder uniform
    +-0.1, decoder bias 0; recur's embedding starts so with model.embeddingInitScale 0.1, else
    N(0, 1), which --embedding-init normal keeps here)."""

    def __init__(self, ntoken, ninp, nhid, nlayers, dropout, tied, embedding_init='uniform'):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers, dropout=dropout)
        self.decoder = nn.Linear(nhid, ntoken)
        if embedding_init == 'uniform':
            nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        # 'normal' keeps nn.Embedding's own N(0, 1), which is recur's start (SPEC section 2)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)
        if tied:
            assert ninp == nhid, 'tied weights need embedding = hidden'
            self.decoder.weight = self.encoder.weight

    def forward(self, x, hidden):
        output, hidden = self.rnn(self.encoder(x), hidden)
        return self.decoder(self.drop(output)), hidden


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('experiment', nargs='?', default='experiments/words.yaml')
    ap.add_argument('--steps', type=int, help='default: the experiment\'s train.steps')
    ap.add_argument('--checkpoint', help='a recur checkpoint of the same experiment: its vocabulary must equal ours')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--log-every', type=int, default=50)
    ap.add_argument('--embedding-init', choices=['uniform', 'normal'], default='uniform',
                    help="uniform: the example's U(-0.1, 0.1); normal: nn.Embedding's N(0, 1), as recur starts")
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

    assert model.get('embedding'), 'the example reads words through an embedding (model.embedding)'
    net = RNNModel(V, model['embedding'], model['hidden'], model.get('layers', 1), model.get('dropout', 0.0), model.get('tieWeights', False), args.embedding_init)
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
