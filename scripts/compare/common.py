"""Shared pieces of the PyTorch side-by-side scripts: recur's series windows, init, batch order
and training loop (src/main/data/series-build.ts, batching.ts, src/shared/model/init.ts), in
PyTorch. Only what recur's shipped forecasting experiments use (one series, outputs: last)."""
import argparse
import csv
import math
import os

import numpy as np
import torch
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read_columns(path, names):
    with open(os.path.join(ROOT, path), newline='') as f:
        rows = list(csv.DictReader(f))
    return {name: np.array([float(r[name]) for r in rows]) for name in names}


def train_rows(n, val_fraction, shift):
    """Training model rows: the last ceil(valFraction*n) file rows are validation rows; with
    differencing (shift 1) model row r is the change into file row r+1."""
    return max(0, n - math.ceil(val_fraction * n) - shift)


def zscore(values, n_train):
    """Mean and population standard deviation of the training model rows."""
    mean = values[:n_train].mean()
    std = math.sqrt(((values[:n_train] - mean) ** 2).mean())
    return mean, (std if std > 0 else 1.0)


def window_starts(length, n_train, seq_len, horizon, stride=1):
    """outputs: last. Training windows while their last target is a training row; validation
    windows from the first whose first target is a validation row."""
    hi = length - seq_len - horizon
    train = list(range(0, min(hi, n_train - seq_len - horizon) + 1, stride))
    val = list(range(max(0, n_train - seq_len), hi + 1, stride))
    return train, val


class Forecaster(nn.Module):
    """recur's `cell: lstm` with the head after the last step."""

    def __init__(self, inputs, hidden, outputs, forget_bias=1.0):
        super().__init__()
        self.lstm = nn.LSTM(inputs, hidden, batch_first=True)
        self.head = nn.Linear(hidden, outputs)
        # recur: every tensor U(-1/sqrt(H), 1/sqrt(H)), forget-gate bias 1, and one bias per gate:
        # b_hh stays 0 and untrained, else Adam would move the sum of two biases twice as fast.
        scale = 1 / math.sqrt(hidden)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-scale, scale)
            self.lstm.bias_hh_l0.zero_()
            self.lstm.bias_ih_l0[hidden:2 * hidden] = forget_bias
        self.lstm.bias_hh_l0.requires_grad_(False)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


M32 = 0xFFFFFFFF


def _imul(a, b):
    return (a * b) & M32


def _rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M32


class RecurRng:
    """recur's Rng (src/shared/model/rng.ts): xoshiro128** seeded from (seed, stream) by splitmix32."""

    def __init__(self, seed, stream=0):
        s = (seed & M32) ^ _imul(stream + 1, 0x632BE5AB)
        state = []
        for _ in range(4):
            s = (s + 0x9E3779B9) & M32
            z = s
            z = _imul(z ^ (z >> 16), 0x85EBCA6B)
            z = _imul(z ^ (z >> 13), 0xC2B2AE35)
            state.append((z ^ (z >> 16)) & M32)
        self.s = state if any(state) else [1, 0, 0, 0]

    def next_u32(self):
        s0, s1, s2, s3 = self.s
        result = _imul(_rotl(_imul(s1, 5), 7), 9)
        t = (s1 << 9) & M32
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = _rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result

    def uniform(self):
        hi = self.next_u32() >> 5
        lo = self.next_u32() >> 6
        return (hi * 67108864 + lo) / 9007199254740992

    def permutation(self, n):
        p = list(range(n))
        for i in range(n - 1, 0, -1):
            j = int(self.uniform() * (i + 1))
            p[i], p[j] = p[j], p[i]
        return np.array(p)


def init_like_recur(model, seed):
    """recur's initParams: the draws of Rng(seed, 0) in its parameter layout's order (weight_ih,
    weight_hh, bias_ih, head.weight, head.bias, each row-major), then the forget-gate bias."""
    rng = RecurRng(seed, 0)
    hidden = model.lstm.hidden_size
    scale = 1 / math.sqrt(hidden)
    with torch.no_grad():
        for p in (model.lstm.weight_ih_l0, model.lstm.weight_hh_l0, model.lstm.bias_ih_l0, model.head.weight, model.head.bias):
            draws = [(2 * rng.uniform() - 1) * scale for _ in range(p.numel())]
            p.copy_(torch.tensor(draws, dtype=torch.float32).reshape(p.shape))
        model.lstm.bias_ih_l0[hidden:2 * hidden] = 1.0


def train(model, x, y, loss_fn, batch, steps, lr, seed, clip=5.0, recur_order=False):
    """Adam, global gradient-norm clipping, one shuffled permutation per epoch walked batch by
    batch, the incomplete last batch dropped (recur's BatchSchedule). recur_order: recur's own
    permutations (Rng(seed, 1000 + epoch)); else numpy's."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    rng = np.random.default_rng(seed)
    per_epoch = len(x) // batch
    order = None
    for step in range(steps):
        if step % per_epoch == 0:
            epoch = step // per_epoch
            order = RecurRng(seed, 1000 + epoch).permutation(len(x)) if recur_order else rng.permutation(len(x))
        idx = order[(step % per_epoch) * batch:(step % per_epoch + 1) * batch]
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
    return model


def summary(values):
    """mean ± sample standard deviation over seeds."""
    a = np.array(values, dtype=float)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0


def parse_args():
    """The side-by-side scripts' options (--seeds, --init); PyTorch on one thread."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--seeds', default='1,2,3')
    parser.add_argument('--init', choices=['torch', 'recur'], default='torch',
                        help="torch: PyTorch's own draws and numpy's shuffling; recur: recur's initial weights and batch order for the seed")
    args = parser.parse_args()
    torch.set_num_threads(1)
    return args
