"""PyTorch side by side with recur's experiments/seattle-interval.yaml, scored as `recur eval`
scores recur's: mean pinball loss (normalised units, the training loss) over the validation
windows, coverage of [q0.05, q0.95] after sorting each forecast's quantiles, and the MSE/MAE of
the median in °C next to persistence's MSE.

Same data, features temp_max and temp_min at row t and futureFeatures day_sin, day_cos at row
t+1, target temp_max one day after the window, z-score statistics of the training rows, windows
(seqLen 14, stride 1), split (last 20% of days), LSTM 32, head after the last step, 3 outputs
(q 0.05, 0.5, 0.95), pinball loss as SPEC §4 (mean over every output of max(q·e, (q−1)·e),
e = target − prediction), batch 32, 600 steps, Adam lr 0.005, clip 5, the final model.
--init torch (default): PyTorch's own initial draws and numpy's shuffling, an independent run;
--init recur: recur's initial weights and batch order for the seed, so only the arithmetic differs.

Usage: /usr/bin/python3 scripts/compare/seattle_interval.py [--seeds 1,2,3] [--init torch|recur]
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import parse_args, Forecaster, init_like_recur, read_columns, summary, train, train_rows, window_starts, zscore  # noqa: E402

SEQ_LEN, VAL_FRACTION = 14, 0.2
FEATURES, FUTURE, TARGET = ['temp_max', 'temp_min'], ['day_sin', 'day_cos'], 'temp_max'
QUANTILES = torch.tensor([0.05, 0.5, 0.95])


def pinball(y, target):
    """y [B, Q], target [B]: the mean over every output of max(q·e, (q − 1)·e)."""
    e = target[:, None] - y
    return torch.maximum(QUANTILES * e, (QUANTILES - 1) * e).mean()


def main():
    args = parse_args()
    cols = read_columns('data/seattle-weather-calendar.csv', FEATURES + FUTURE)
    n = len(cols[TARGET])
    n_train = train_rows(n, VAL_FRACTION, 0)
    stats = {name: zscore(v, n_train) for name, v in cols.items()}
    z = {name: ((v - stats[name][0]) / stats[name][1]).astype(np.float32) for name, v in cols.items()}
    # Step input at row r: the features of row r, the futureFeatures of row r+1.
    feat = np.stack([z[f] for f in FEATURES], axis=1)
    fut = np.stack([z[f] for f in FUTURE], axis=1)
    step = np.concatenate([feat[:-1], fut[1:]], axis=1)  # rows 0..n-2
    train_starts, val_starts = window_starts(n, n_train, SEQ_LEN, 1)

    def windows(starts):
        x = torch.tensor(np.stack([step[s:s + SEQ_LEN] for s in starts]))
        return x, torch.tensor(z[TARGET][[s + SEQ_LEN for s in starts]])

    x, y = windows(train_starts)
    vx, vy = windows(val_starts)
    mean, std = stats[TARGET]
    truth = cols[TARGET][[s + SEQ_LEN for s in val_starts]]
    last = cols[TARGET][[s + SEQ_LEN - 1 for s in val_starts]]
    reports = []
    for seed in (int(s) for s in args.seeds.split(',')):
        torch.manual_seed(seed)
        model = Forecaster(4, 32, 3)
        if args.init == 'recur':
            init_like_recur(model, seed)
        model = train(model, x, y, pinball, batch=32, steps=600, lr=0.005, seed=seed, recur_order=args.init == 'recur')
        with torch.no_grad():
            out = model(vx)
            loss = pinball(out, vy).item()
        q = np.sort(out.double().numpy(), axis=1) * std + mean
        r = {
            'loss': loss,
            'coverage': float(((truth >= q[:, 0]) & (truth <= q[:, 2])).mean()),
            'mse': float(((q[:, 1] - truth) ** 2).mean()),
            'mae': float(np.abs(q[:, 1] - truth).mean()),
            'baselineMse': float(((last - truth) ** 2).mean()),
        }
        reports.append(r)
        print(json.dumps({'seed': seed, 'windows': len(val_starts), **{k: round(v, 4) for k, v in r.items()}}))
    out = {k: '%.3g ± %.2g' % summary([r[k] for r in reports]) for k in reports[0]}
    print(json.dumps({'seeds': args.seeds, 'init': args.init, 'mean ± sd': out}, ensure_ascii=False))


if __name__ == '__main__':
    main()
