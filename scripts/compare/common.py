"""Shared pieces of the PyTorch side-by-side scripts: recur's series windows, init, batch order
and training loop (src/main/data/series-build.ts, batching.ts, src/shared/model/init.ts), in
PyTorch. Only what recur's shipped forecasting experiments use (one series, outputs: last)."""
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
        # recur: every tensor U(-1/sqrt(H), 1/sqrt(H)), one bias per gate (b_hh = 0 here), forget bias 1.
        scale = 1 / math.sqrt(hidden)
        with torch.no_grad():
            for p in self.parameters():
                p.uniform_(-scale, scale)
            self.lstm.bias_hh_l0.zero_()
            self.lstm.bias_ih_l0[hidden:2 * hidden] = forget_bias

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.head(out[:, -1])


def train(model, x, y, loss_fn, batch, steps, lr, seed, clip=5.0):
    """Adam, global gradient-norm clipping, one shuffled permutation per epoch walked batch by
    batch, the incomplete last batch dropped (recur's BatchSchedule; its RNG differs)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-8)
    rng = np.random.default_rng(seed)
    per_epoch = len(x) // batch
    order = None
    for step in range(steps):
        if step % per_epoch == 0:
            order = rng.permutation(len(x))
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
